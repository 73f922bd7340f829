"""Catalogue entries for model signatures: what a verification found (tampering, bad signatures).

References: CWE-345 "Insufficient Verification of Data Authenticity", CWE-347 "Improper Verification of
Cryptographic Signature", CWE-354 "Improper Validation of Integrity Check Value", CWE-295 "Improper Certificate
Validation", CWE-327 "Use of a Broken or Risky Cryptographic Algorithm" (for algorithms a verifier cannot check),
``OWASP-ML06`` (AI Supply Chain Attacks) and ATLAS AML.T0010 "ML Supply Chain Compromise".
"""

from __future__ import annotations

from mlwarden.core.findings import Severity
from mlwarden.core.rule import Rule

_SUPPLY = ("OWASP-ML06", "ATLAS AML.T0010")
_TAMPERED = ("CWE-345", "CWE-354", *_SUPPLY)
_RESIGN = "If the change is legitimate, sign the model again ('mlwarden sign'); otherwise restore it from a " \
          "trusted source and do not load it."

INTEGRITY_RULES: tuple[Rule, ...] = (
    Rule("MW-SIG-001", "Signed file was modified", Severity.CRITICAL,
         "A file listed in the signature has different content now: its digest no longer matches the signed one.",
         _RESIGN, _TAMPERED, "integrity"),
    Rule("MW-SIG-002", "File was added after signing", Severity.HIGH,
         "The model folder holds a file the signature does not list. A loader may pick it up (an extra "
         "pickle, a config that points elsewhere), so unsigned files fail verification by default.",
         "Remove the file, or sign the model again with it included.", _TAMPERED, "integrity"),
    Rule("MW-SIG-003", "Signed file was removed", Severity.HIGH,
         "A file listed in the signature is missing from the model folder.",
         "Restore the missing file from a trusted source, or sign the model again without it.", _TAMPERED,
         "integrity"),
    Rule("MW-SIG-004", "Signed file was renamed or moved", Severity.HIGH,
         "A file with the signed content exists under another name: the content is intact, but loaders find "
         "files by name, so a rename can swap which weights or configs are used.",
         "Move the file back to its signed name, or sign the model again.", _TAMPERED, "integrity"),
    Rule("MW-SIG-005", "Signed files swapped contents", Severity.CRITICAL,
         "Files listed in the signature now hold each other's signed content (for example two weight files "
         "exchanged), which keeps every digest in the manifest but changes what the model loads.",
         _RESIGN, _TAMPERED, "integrity"),
    Rule("MW-SIG-006", "Symbolic link in a signed model", Severity.HIGH,
         "The model folder contains a symbolic link the signature does not allow. A link can point a loader at "
         "any file on the machine while the signed files stay untouched.",
         "Replace the link with the real file and sign again, or remove it.", ("CWE-59", *_TAMPERED),
         "integrity"),
    Rule("MW-SIG-007", "Signature does not verify (wrong key or corrupted signature)", Severity.CRITICAL,
         "The signature was made with another key than the one given, or its signature bytes are corrupted, or "
         "no key able to check it was given. Nothing in the signature can be trusted.",
         "Verify with the signer's public key (or CA root); if it still fails, obtain the model and its "
         "signature again from a trusted source.", ("CWE-347", *_SUPPLY), "integrity"),
    Rule("MW-SIG-008", "Signature file is corrupted or not an OMS signature", Severity.HIGH,
         "The signature file could not be read as a Sigstore bundle holding a DSSE envelope with an OMS in-toto "
         "statement (bad JSON, missing or malformed fields, wrong media or predicate type, over the size or "
         "nesting limits).",
         "Obtain the signature again, or sign the model again with 'mlwarden sign' or model-signing.",
         ("CWE-347", "CWE-20", *_SUPPLY), "integrity"),
    Rule("MW-SIG-009", "Signed payload was edited", Severity.CRITICAL,
         "The statement inside the signature was changed after signing: the signature no longer verifies over "
         "it with the signer's own key, or its subject digest does not match the resources it lists.",
         "Do not trust the model or the signature; obtain both again from a trusted source.",
         ("CWE-347", "CWE-354", *_SUPPLY), "integrity"),
    Rule("MW-SIG-010", "Unsupported or non-OMS signing method", Severity.HIGH,
         "The signature uses an algorithm or method that is outside OMS (an mlwarden extension such as "
         "ML-DSA-65: informational when allowed, but other OMS verifiers cannot check it) or that "
         "mlwarden cannot verify offline (keyless Sigstore, unsupported key types).",
         "Sign with ECDSA P-256 or P-384 for OMS interoperability, or allow the extension in the trust policy.",
         ("CWE-347", "CWE-327", *_SUPPLY), "integrity"),
    Rule("MW-SIG-011", "Signing certificate chain is not valid", Severity.HIGH,
         "The certificate chain in the signature does not lead to a trusted root, a certificate is expired or "
         "not yet valid, an intermediate is not a CA, or the signing certificate may not sign "
         "(key usage lacks digitalSignature).",
         "Verify with the right root (--ca); renew expired certificates and sign again with a certificate "
         "issued for signing.", ("CWE-295", *_SUPPLY), "integrity"),
    Rule("MW-SIG-012", "Model could not be read for verification", Severity.HIGH,
         "A file of the model could not be read or hashed with the signature's settings, so the model was not "
         "verified (fail closed).",
         "Check permissions and that the files are complete, then verify again.", ("CWE-345", *_SUPPLY),
         "integrity"),
)
