"""Catalogue entries for leaked secrets and for what notebooks keep in their stored outputs.

Emitted by ``mlwarden.supply.secrets`` (MW-SECRET-*) and ``mlwarden.supply.code.notebooks`` (MW-NB-*). Which token
formats map to which rule, and at which severity, is the table in ``mlwarden.supply.secrets``.

References: CWE-798 "Use of Hard-coded Credentials", CWE-321 "Use of Hard-coded Cryptographic Key", CWE-259
"Use of Hard-coded Password", CWE-312 "Cleartext Storage of Sensitive Information", CWE-359 "Exposure of Private
Personal Information to an Unauthorized Actor", CWE-532 "Insertion of Sensitive Information into Log File",
CWE-209 "Generation of Error Message Containing Sensitive Information", CWE-526 "Cleartext Storage of Sensitive
Information in an Environment Variable", CWE-20 "Improper Input Validation", CWE-400 "Uncontrolled Resource
Consumption"; MITRE ATLAS AML.T0055 "Unsecured Credentials".
"""

from __future__ import annotations

from mlwarden.core.findings import Severity
from mlwarden.core.rule import Rule

_C, _H, _M, _L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW
_CREDS = ("CWE-798", "CWE-312", "ATLAS AML.T0055")
_ROTATE = ("Revoke and rotate the secret now (it is in the history even once removed), then load it at run time "
           "from the environment or a secret manager. Purge it from version control history.")

SECRET_RULES: tuple[Rule, ...] = (
    # --- secrets in code, configuration, notebooks and their outputs --------------------------------------
    Rule("MW-SECRET-001", "Private key in plain text", _C,
         "A PEM private key block (RSA, EC, DSA, OpenSSH, PKCS#8, PGP), possibly inside a Google service-account "
         "JSON file, is stored in the file. Whoever reads the file can impersonate its owner or decrypt traffic. "
         "Passphrase-protected (ENCRYPTED) keys are reported at high.",
         "Revoke the key pair, issue a new one and keep the private key out of the repository (a secret manager, "
         "workload identity instead of service-account key files).", ("CWE-321", *_CREDS), "secret"),
    Rule("MW-SECRET-002", "Access token or API key of a known provider", _H,
         "A token in a known provider format (AWS, Hugging Face, OpenAI, Anthropic, GitHub, GitLab, Slack, Stripe, "
         "Google, Azure, Weights & Biases, PyPI, npm) is stored in the file. Formats with a checksum (GitHub, npm) "
         "are verified. Publishing tokens and cloud secret keys are critical: they let an attacker replace "
         "packages and models or run up cloud bills.", _ROTATE, _CREDS, "secret"),
    Rule("MW-SECRET-003", "Connection URL contains a password", _H,
         "A database, message-queue or HTTP URL carries a password in its user-info part "
         "(scheme://user:password@host). URLs pointing at localhost are reported at low.",
         "Remove the password from the URL and pass it at run time (environment variable, secret manager, "
         "a .pgpass or netrc file outside the repository); change the password.",
         ("CWE-259", *_CREDS), "secret"),
    Rule("MW-SECRET-004", "High-entropy value assigned to a secret-like name", _M,
         "A random-looking value is assigned to a name such as password, token, api_key or secret, or sent in an "
         "Authorization header. Hashes, UUIDs, placeholders and environment look-ups are not reported.",
         _ROTATE, _CREDS, "secret"),
    Rule("MW-SECRET-005", "JSON Web Token in plain text", _M,
         "A signed JSON Web Token is stored in the file. Until it expires it authenticates whoever presents it.",
         "Remove the token and let the service issue it at run time; revoke its session if it is long-lived.",
         ("CWE-798", "CWE-312", "ATLAS AML.T0055"), "secret"),
    # --- notebooks ---------------------------------------------------------------------------------------
    Rule("MW-NB-001", "Personal data in a stored notebook output", _M,
         "A stored output of the notebook shows personal data: e-mail addresses, international phone numbers or "
         "payment card numbers (checked with the Luhn digit and the card brand's prefix and length). Outputs are "
         "committed with the notebook and published with it. Card numbers are reported at high.",
         "Clear the outputs before committing (jupyter nbconvert --clear-output, nbstripout as a git filter) and "
         "show only anonymised or synthetic samples of personal data.",
         ("CWE-359", "CWE-312"), "notebook"),
    Rule("MW-NB-002", "Notebook output keeps an environment dump, request headers or a traceback", _L,
         "A stored output shows the process environment (!env, %env, os.environ), HTTP request headers with "
         "credentials, or a traceback. These reveal variables, tokens, user names, internal host names and paths. "
         "Tracebacks alone are reported at info.",
         "Clear the outputs before committing (nbstripout); never print the environment or request headers.",
         ("CWE-532", "CWE-526", "CWE-209"), "notebook"),
    Rule("MW-NB-003", "Notebook is not a valid nbformat 4 notebook", _M,
         "The .ipynb file is not valid JSON, is not a notebook (no list of cells), uses the old nbformat 3 layout "
         "or holds malformed cells, so it was not, or not fully, analysed. Jupyter may still open parts of it.",
         "Open and re-save the notebook with a current Jupyter, or convert it with "
         "'jupyter nbconvert --to notebook', then scan again.", ("CWE-20",), "notebook"),
    Rule("MW-NB-004", "Notebook only partly analysed (limit reached)", _M,
         "The notebook, one of its outputs, or its number of cells exceeds a scan limit, so part of it was not "
         "searched for secrets and unsafe code. Outputs cut at the per-output limit are reported at low.",
         "Clear large outputs (nbstripout), split the notebook, or review the unscanned part by hand.",
         ("CWE-400",), "notebook"),
)
