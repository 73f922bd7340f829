"""Catalogue entries for the trust policy: signed by whom, with what, how long ago, and what else is there.

Emitted by ``mlwarden.integrity.policy.evaluate`` (MW-TRUST-001 to 006) and by
``mlwarden.integrity.provenance.verify_provenance`` (MW-TRUST-007). A verified signature only proves that
*somebody* holding a key signed the model; these rules decide whether that somebody, that algorithm, that age and
that set of files are acceptable. Deny by default: each rule fires when the policy cannot show the model is fine.

References: CWE-345 "Insufficient Verification of Data Authenticity", CWE-347 "Improper Verification of
Cryptographic Signature", CWE-295 "Improper Certificate Validation", CWE-327 "Use of a Broken or Risky
Cryptographic Algorithm", CWE-324 "Use of a Key Past its Expiration Date", CWE-494 "Download of Code Without
Integrity Check", CWE-502 "Deserialization of Untrusted Data", CWE-1357 "Reliance on Insufficiently Trustworthy
Component"; ``OWASP-ML06`` (AI Supply Chain Attacks), ATLAS AML.T0010.003 "ML Supply Chain Compromise: Model".
"""

from __future__ import annotations

from mlwarden.core.findings import Severity
from mlwarden.core.rule import Rule

_C, _H = Severity.CRITICAL, Severity.HIGH
_SUPPLY = ("OWASP-ML06", "ATLAS AML.T0010.003")
_AREA = "trust"

TRUST_RULES: tuple[Rule, ...] = (
    Rule("MW-TRUST-001", "Signer is not trusted", _H,
         "The signature verified, but its key fingerprint (or, for certificates, its subject and issuer) is not "
         "in the trust policy. Anyone can sign a model with a key of their own: a valid signature proves nothing "
         "until its signer is trusted. Reported at low when enough other trusted signatures exist.",
         "Confirm with the publisher, out of band, that the fingerprint is theirs, then add it to [trust] "
         "trusted_keys (or the certificate's subject and issuer to trusted_certificates).",
         ("CWE-345", "CWE-295", *_SUPPLY), _AREA),
    Rule("MW-TRUST-002", "Signature or hash algorithm not allowed", _H,
         "The signature uses a signing algorithm, or the signed manifest a hash algorithm, that the policy does "
         "not list in [trust] algorithms / hash_algorithms, so the signature does not count.",
         "Re-sign the model with an allowed algorithm, or list the algorithm in the policy if it is acceptable "
         "(ml-dsa-65 is accepted only when listed).", ("CWE-327", *_SUPPLY), _AREA),
    Rule("MW-TRUST-003", "Too few trusted signatures", _H,
         "The policy requires signatures by k distinct trusted signers over the same model, and fewer verified. "
         "Missing signatures, signatures that failed verification (bad signature, edited model) and signatures "
         "that another trust rule rejected do not count; the same signer counted twice counts once.",
         "Have the model signed by enough trusted signers (mlwarden sign), or fix what the other findings and "
         "the evidence name.", ("CWE-347", "CWE-494", *_SUPPLY), _AREA),
    Rule("MW-TRUST-004", "Signature too old, dated in the future, or of unknown age", _H,
         "The policy sets max_signature_age_days and this signature is older, is dated in the future, or its "
         "signing time is unknown (no time in the verdict, no record in the signing registry, and no signing "
         "certificate recent enough to bound the age). Deny by default: an unknown age is not a young age.",
         "Re-sign the model, or verify on the machine whose registry recorded the signing, or raise "
         "max_signature_age_days.", ("CWE-324", *_SUPPLY), _AREA),
    Rule("MW-TRUST-005", "File not covered by any signature", _H,
         "The model folder holds a file that the signature does not cover. An unsigned pytorch_model.bin beside "
         "signed safetensors is exactly the attack: loaders pick the pickle and run its code. Denied unless the "
         "policy sets allow_unsigned_files; then the file is scanned and this finding is informational.",
         "Remove the file, or re-sign the model with it, or (knowingly) set allow_unsigned_files = true.",
         ("CWE-345", "CWE-494", *_SUPPLY), _AREA),
    Rule("MW-TRUST-006", "Unsigned file allowed by policy failed the model scan", _C,
         "allow_unsigned_files let an unsigned file through, and the model scanner found something at high or "
         "above in it (a code-execution payload, an unscannable file). Allowing unsigned files never allows "
         "dangerous ones.", "Remove the file; do not load the model until it is gone.",
         ("CWE-502", "CWE-494", *_SUPPLY), _AREA),
    Rule("MW-TRUST-007", "Provenance statement invalid or not bound to this model", _H,
         "The SLSA provenance statement's signature does not verify with the model signer's key, the statement "
         "is malformed, or its subject digest differs from the model's signed root digest, so the provenance "
         "(datasets, code commit, base model) cannot be believed for this model.",
         "Regenerate the provenance with 'mlwarden sign --provenance' using the same key as the signature.",
         ("CWE-347", "CWE-345", *_SUPPLY), _AREA),
)
