"""Find leaked secrets in text: known token formats, private keys, passwords in URLs, JWTs, and random-looking
values assigned to secret-like names; mask secrets so that no report ever shows one.

Pure and bounded: text in, ``Hit``s out. This module must never print, log or return a secret unmasked (every
``Hit`` field carries only ``mask_secret`` output), never contact a provider to check a token, and never run
anything it scans.

How it stays fast and safe on hostile text (about 20 ms per MiB of source code on one core):

* Every pattern starts with a literal (``hf_``, ``AKIA``, ``://``, ``token`` ...), so the regex engine's own
  literal search is the pre-filter: each pattern costs one C-level pass over the text and nothing more where its
  literal is absent. (A single alternation of all literals was measured three times slower than the separate
  passes: the engine cannot skip ahead on an alternation.) Patterns that ignore case run over a lower-cased
  copy of the text, made once, so that they too start with a literal; the secret is then read from the original
  text at the same position.
* Only bounded quantifiers over character classes that cannot overlap the delimiter that follows them: no
  catastrophic backtracking. Context the regex engine would be slow to find (the URL scheme before ``://``, the
  variable name before ``token``) is read afterwards, for matches only, from a bounded slice. Patterns run once
  over the whole text, not per line, so a minified 10 MB line costs what many short lines cost, and no Python
  loop walks characters.
* At most ``MAX_SECRETS_PER_TEXT`` secrets are reported per text.

Positions: a ``Hit`` gives the 1-based line of the secret's first character, ``column`` (1-based) and
``start``/``end`` (character span within that line, end exclusive; a span that continues on the next lines, as a
PEM block does, ends at the end of its first line).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import string
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mlwarden.core.findings import Severity
from mlwarden.core.rules import CATALOGUE
from mlwarden.supply.hits import Hit

__all__ = [
    "MAX_SECRETS_PER_TEXT",
    "TOKEN_PATTERNS",
    "TokenPattern",
    "find_secrets",
    "mask_secret",
    "mask_secrets_in",
    "shannon_entropy",
]

MAX_SECRETS_PER_TEXT = 1000
# Longest PEM block looked at (an RSA-8192 key in PKCS#8 is about 6.5 KB of base64).
_MAX_PEM_CHARS = 16_384
# Generic values: shortest value worth an entropy verdict (shorter random strings are not told apart from words).
_MIN_GENERIC_LENGTH = 16
_MIN_GENERIC_HEX_LENGTH = 20

_RULE_PRIVATE_KEY = "MW-SECRET-001"
_RULE_PROVIDER = "MW-SECRET-002"
_RULE_URL = "MW-SECRET-003"
_RULE_GENERIC = "MW-SECRET-004"
_RULE_JWT = "MW-SECRET-005"

_ALNUM = frozenset(string.ascii_letters + string.digits)
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase  # GitHub's checksum alphabet


# ------------------------------------------------------------------------------------------------------------
# Validators: format facts that remove false alarms.


def _base62_value(text: str) -> int:
    value = 0
    for char in text:
        value = value * 62 + _BASE62.index(char)
    return value


def _crc32_checksum_ok(token: str) -> bool:
    """GitHub (2021 format) and npm tokens end in 6 base62 digits of the CRC32 of the 30 random characters
    between the prefix and the checksum (github.blog, "Behind GitHub's new authentication token formats")."""
    body, check = token[-36:-6], token[-6:]
    if not all(char in _ALNUM for char in check):
        return False
    return _base62_value(check) == binascii.crc32(body.encode("ascii"))


def _not_documented_example(token: str) -> bool:
    return not _is_placeholder(token)


def _jwt_ok(token: str) -> bool:
    """The first part must decode to a JSON header naming an algorithm (``alg``) or a type (``typ``)."""
    if hashlib.sha256(token.encode()).hexdigest() in _DOCUMENTED_EXAMPLE_DIGESTS:
        return False
    header = token.split(".", 1)[0]
    try:
        decoded = base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
        value = json.loads(decoded)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and ("alg" in value or "typ" in value)


# ------------------------------------------------------------------------------------------------------------
# The token table. Where the formats come from: each provider's documentation of its token format (AWS IAM
# "Understanding unique ID prefixes", Hugging Face "User access tokens", GitHub blog 2021-04-05 on token formats,
# GitLab "Token prefixes", Slack "Token types", Stripe "API keys", Google "API keys", Azure Storage "Manage
# account access keys", W&B "wandb login", PyPI "API tokens" (macaroons that start with the base64 of the
# caveat "pypi.org"), npm blog 2021-09-23 on its token format), cross-checked against the public rule sets of
# gitleaks and detect-secrets. A regex's group ``secret`` is the secret itself; the rest of the match is context
# (the key name) that is not secret.


@dataclass(frozen=True, slots=True)
class TokenPattern:
    pattern_id: str
    provider: str  # what the message calls it
    regex: re.Pattern[str]  # starts with a literal (see the module docstring); group ``secret`` is the secret
    rule_id: str
    severity: Severity
    validator: Callable[[str], bool] | None = None
    # Literal start of every token of this kind: kept visible in masks so a reader knows what leaked.
    prefix: str = ""
    # The token may not touch a letter, digit or ``_`` before it, nor a letter, digit, ``_`` or ``-`` after it.
    word_boundary: bool = True
    # The regex is written in lower case and runs over the lower-cased text (key names in any case).
    lowercase: bool = False


def _token(pattern_id: str, provider: str, regex: str, severity: Severity, *, prefix: str = "",
           validator: Callable[[str], bool] | None = _not_documented_example,
           lowercase: bool = False) -> TokenPattern:
    # A pattern that matches a key name before the secret has its own boundaries; a bare token needs them.
    return TokenPattern(pattern_id, provider, re.compile(regex, re.ASCII), _RULE_PROVIDER, severity, validator,
                        prefix, word_boundary=not lowercase and regex.startswith("(?P<secret>"),
                        lowercase=lowercase)


_HIGH, _CRIT = Severity.HIGH, Severity.CRITICAL
_AWS_KEY_VALUE = r"[\"']?\s{0,4}[:=]\s{0,4}[\"']?(?P<secret>[a-z0-9/+]{40})(?![a-z0-9/+=])"

TOKEN_PATTERNS: tuple[TokenPattern, ...] = (
    _token("aws-access-key-id", "AWS access key id", r"(?P<secret>A(?:KIA|SIA|BIA|CCA)[A-Z2-7]{16})", _HIGH),
    _token("aws-secret-access-key", "AWS secret access key", r"aws_?secret_?(?:access_?)?key" + _AWS_KEY_VALUE,
           _CRIT, lowercase=True),
    _token("aws-secret-access-key-json", "AWS secret access key", r"secretaccesskey" + _AWS_KEY_VALUE, _CRIT,
           lowercase=True),
    _token("huggingface-user", "Hugging Face user access token", r"(?P<secret>hf_[A-Za-z0-9]{34})", _HIGH,
           prefix="hf_"),
    _token("huggingface-org", "Hugging Face organisation API token", r"(?P<secret>api_org_[A-Za-z0-9]{34})",
           _HIGH, prefix="api_org_"),
    _token("anthropic", "Anthropic API key", r"(?P<secret>sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_\-]{80,120})",
           _HIGH, prefix="sk-ant-"),
    _token("openai-project", "OpenAI API key",
           r"(?P<secret>sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{40,250})", _HIGH, prefix="sk-"),
    _token("openai-legacy", "OpenAI API key", r"(?P<secret>sk-[A-Za-z0-9]{48})", _HIGH, prefix="sk-"),
    _token("github-classic", "GitHub token", r"(?P<secret>gh[pousr]_[A-Za-z0-9]{36})", _HIGH,
           validator=_crc32_checksum_ok, prefix="gh"),
    _token("github-fine-grained", "GitHub fine-grained personal access token",
           r"(?P<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})", _HIGH, prefix="github_pat_"),
    _token("gitlab-pat", "GitLab personal access token", r"(?P<secret>glpat-[A-Za-z0-9_\-]{20,64})", _HIGH,
           prefix="glpat-"),
    _token("slack-token", "Slack token", r"(?P<secret>xox[abposr]-\d{6,16}-[A-Za-z0-9\-]{8,200})", _HIGH,
           prefix="xox"),
    _token("slack-webhook", "Slack incoming webhook URL",
           r"(?P<secret>https://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Z0-9]{6,12}/"
           r"[A-Z0-9]{6,12}/[A-Za-z0-9]{20,40})", _HIGH, prefix="https://hooks.slack.com/"),
    _token("stripe-live-secret", "Stripe live secret key", r"(?P<secret>sk_live_[A-Za-z0-9]{20,247})", _CRIT,
           prefix="sk_live_"),
    _token("stripe-live-restricted", "Stripe live restricted key", r"(?P<secret>rk_live_[A-Za-z0-9]{20,247})",
           _CRIT, prefix="rk_live_"),
    _token("google-api-key", "Google API key", r"(?P<secret>AIza[0-9A-Za-z_\-]{35})", _HIGH, prefix="AIza"),
    _token("azure-storage-key", "Azure storage account key", r"AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)", _CRIT),
    _token("azure-shared-access-key", "Azure shared access key",
           r"SharedAccessKey=(?P<secret>[A-Za-z0-9+/]{43}=)", _CRIT),
    _token("wandb-api-key", "Weights & Biases API key",
           r"wandb(?:_api_key[\"']?\]?\s{0,4}[:=]|\.login\([^)\n]{0,80}?key\s{0,4}=)\s{0,4}[\"']?"
           r"(?P<secret>[0-9a-f]{40})(?![0-9a-z])", _HIGH, lowercase=True),
    _token("wandb-netrc", "Weights & Biases API key (netrc)",
           r"machine\s{1,8}api\.wandb\.ai\b[^\n]{0,200}(?:\n[^\n]{0,200}){0,3}?\bpassword\s{1,8}"
           r"(?P<secret>[0-9a-f]{40})(?![0-9a-z])", _HIGH, lowercase=True),
    _token("pypi-token", "PyPI upload token",
           r"(?P<secret>pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,400})", _CRIT,
           prefix="pypi-"),
    _token("npm-token", "npm access token", r"(?P<secret>npm_[A-Za-z0-9]{36})", _CRIT,
           validator=_crc32_checksum_ok, prefix="npm_"),
)

_PEM_BEGIN = re.compile(
    r"-----BEGIN (?P<kind>(?:RSA |DSA |EC |OPENSSH |ENCRYPTED |PGP |SSH2 ENCRYPTED )?PRIVATE KEY(?: BLOCK)?)-----",
    re.ASCII)
_NOT_BASE64 = re.compile(r"\\n|[^A-Za-z0-9+/=]")

# The lookbehind after the literal (so that the literal still leads the search) rejects an "eyJ" inside a longer
# base64url run at once; possessive repeats never give back what they took. Both keep "eyJeyJeyJ..." linear.
_JWT_TOKEN = re.compile(r"eyJ(?<![A-Za-z0-9_\-]eyJ)[A-Za-z0-9_\-]{8,2000}+\.eyJ[A-Za-z0-9_\-]{8,8000}+\."
                        r"[A-Za-z0-9_\-]{16,2000}+", re.ASCII)

# "://" is the anchor; the scheme before it is read from a bounded slice afterwards.
_URL_CREDENTIALS = re.compile(
    r"://(?P<user>[^\s:/@'\"<>{}\[\]`]{0,128}):(?P<secret>[^\s/@'\"<>`]{1,256})@(?P<host>[A-Za-z0-9.\-_]{1,253})",
    re.ASCII)
_URL_SCHEME = re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,30}$", re.ASCII)
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "::1", "host.docker.internal"})  # noqa: S104

# Names that end in a secret word hold secrets; the value after the separator is judged by entropy. One regex
# per word (each starts with its literal), run over the lower-cased text. Words from the key names of
# detect-secrets' keyword plugin and of the configuration formats ML projects use (.env, YAML, JSON, Python).
_ASSIGNMENT_TAIL = (r"[\"'`]?\]?\s{0,4}(?::=|=>|=|:)\s{0,4}"
                    r"(?:(?P<quote>[\"'`])(?P<quoted>[^\"'`\n]{1,512})(?P=quote)"
                    r"|(?P<bare>[^\s\"'`,;()\[\]{}<>]{1,512}))")
_SECRET_ASSIGNMENTS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(f"(?P<word>{word}){_ASSIGNMENT_TAIL}", re.ASCII)
    for word in ("pass(?:word|wd|phrase)?", "pwd", "secret", "token", "key", "credentials?"))
# Formats whose tokens carry a checksum: a value with this prefix that failed it is a fake (documentation).
_CHECKSUMMED_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "npm_")
# ``key`` alone is too common a name (dict keys, cache keys): only these kinds of key are secrets.
_SECRET_KEY_NAME = re.compile(r"(?:api|access|auth|private|secret|encryption|signing|master)[_\-.]?key$",
                              re.ASCII | re.IGNORECASE)
_AUTHORIZATION = re.compile(
    r"authorization[\"']?\s{0,4}[:=]\s{0,4}[\"']?(?:(?:bearer|token|basic|apikey)\s{1,4})?"
    r"(?P<bare>[a-z0-9._~+/\-]{8,512}={0,2})", re.ASCII)
_NAME_BEFORE = re.compile(r"[A-Za-z0-9_.\-]{0,64}$", re.ASCII)

# What a value that only looks like a secret looks like. Documented examples: AWS's documentation keys (and
# every other "...EXAMPLE..." key AWS documents), the jwt.io sample token (by digest: it is a live-looking JWT).
_PLACEHOLDER_MARKERS = ("example", "xxxx", "****", "....", "…", "<", ">", "${", "{{", "}}", "%(", "changeme",
                        "change_me", "change-me", "your_", "your-", "yourtoken", "yourkey", "yourpass", "_here",
                        "-here", "placeholder", "redacted", "dummy", "sample", "insert", "replace_", "replace-",
                        "todo", "fixme", "notreal", "not_real", "not-a-real")
_DOCUMENTED_EXAMPLE_DIGESTS = frozenset({
    # jwt.io's default example token (HS256, sub 1234567890, name John Doe).
    "7f75367e7881255134e1375e723d1dea8ad5f6a4fdb79d938df1f1754a830606",
})
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}", re.ASCII)
_HEX = re.compile(r"[0-9a-fA-F]+", re.ASCII)
_HASH_HEX_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})  # md5, sha1/git, sha224, sha256, sha384, sha512
_HASH_SCHEMES = re.compile(r"(?:sha\d{1,3}|md5|argon2\w*|pbkdf2\w*|scrypt|bcrypt)[:$]|\$(?:2[abxy]?|argon2\w*|\d)\$",
                           re.ASCII | re.IGNORECASE)
_IDENTIFIER_LIKE = re.compile(r"[A-Za-z_][A-Za-z_]*(?:[.\-][A-Za-z_]+)*|[A-Z][A-Z0-9_]*_[A-Z0-9_]*", re.ASCII)
# Paths: Windows drive, ./ ../ ~/, an absolute path whose first segment is a lower-case word (random base64 may
# start with "/"), or anything ending in a file name with an extension.
_PATH_LIKE = re.compile(r"(?:[A-Za-z]:\\|\.{1,2}/|~/|/[a-z._][a-z0-9._\-]*/)|.*/[^/]*\.[A-Za-z]{1,5}$", re.ASCII)
# Words that make a value a description of a secret rather than one ("my-secret-password-123").
_SECRET_WORDS = ("password", "passwd", "secret", "token", "apikey", "api_key")
_SCHEME_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,30}://", re.ASCII)
_BOOL_WORDS = frozenset({"true", "false", "none", "null", "nil", "undefined", "required", "optional"})

# Entropy thresholds (bits per character). Random hex carries at most 4 bits per char and random base64 at most
# 6, but a short string cannot show more than log2(length), hence the length-dependent cap below. Measured with
# 2,000 random strings per charset (hex, base64, alphanumeric, lower-case + digits) and length (16 to 64): 96 to
# 100 % pass, while identifiers, English phrases and keyboard passwords ("correct-horse-battery-staple") do not.
_HEX_THRESHOLD = 3.0
_TEXT_THRESHOLD = 3.5


def shannon_entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    length = len(value)
    return -sum(count / length * math.log2(count / length) for count in Counter(value).values())


def _is_placeholder(value: str) -> bool:
    lowered = value.lower()
    if lowered.startswith(("$", "%s", "{")) or lowered in _BOOL_WORDS:
        return True
    return any(marker in lowered for marker in _PLACEHOLDER_MARKERS)


def _is_repetitive(value: str) -> bool:
    """One character or one short unit repeated ("aaaa...", "abcabc...", "1234123412341234")."""
    if len(set(value)) <= 3:
        return True
    for unit in range(2, 5):
        if value == (value[:unit] * (len(value) // unit + 1))[: len(value)]:
            return True
    return False


def _looks_random(value: str, *, bare: bool) -> bool:
    """The verdict of the generic rule on a value assigned to a secret-like name."""
    if len(value) < _MIN_GENERIC_LENGTH:
        return False
    if _is_placeholder(value) or _is_repetitive(value) or _HASH_SCHEMES.match(value):
        return False
    if any(word in value.lower() for word in _SECRET_WORDS):
        return False
    if _SCHEME_URL.match(value) or _PATH_LIKE.match(value) or _UUID.fullmatch(value):
        return False
    if _HEX.fullmatch(value):
        if len(value) < _MIN_GENERIC_HEX_LENGTH or len(value) in _HASH_HEX_LENGTHS:
            return False  # hashes, digests, git SHAs
        return shannon_entropy(value) >= _HEX_THRESHOLD
    if value.isdigit():
        return False
    if bare and _IDENTIFIER_LIKE.fullmatch(value):
        return False  # ``token = other_name``, ``password: SOME_CONSTANT`` name a value, they are not one
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value),
                   any(c.isdigit() for c in value), any(not c.isalnum() for c in value)))
    if classes < 2:
        return False
    return shannon_entropy(value) >= min(_TEXT_THRESHOLD, math.log2(len(value)) - 0.7)


# ------------------------------------------------------------------------------------------------------------
# Masking.

# Kept visible: the part that says what kind of secret it is, never any of its random part.
_MASK_PREFIXES: tuple[str, ...] = tuple(sorted(
    {p.prefix for p in TOKEN_PATTERNS if p.prefix} | {"AKIA", "ASIA", "ABIA", "ACCA", "eyJ", "ghp_", "gho_", "ghu_",
                                                      "ghs_", "ghr_", "sk-proj-", "sk-ant-api03-", "xoxb-", "xoxp-",
                                                      "xoxa-", "xoxs-", "xoxr-", "xoxo-"},
    key=len, reverse=True))


def mask_secret(value: str) -> str:
    """``hf_…(37 chars, sha256:1a2b3c4d)``: what kind of secret, its length, and 8 hex digits of its SHA-256 so
    two findings can be told apart without revealing either. Never returns any random part of ``value``."""
    prefix = ""
    header = _PEM_BEGIN.match(value)
    if header is not None:
        prefix = header.group()
    else:
        for candidate in _MASK_PREFIXES:
            if value.startswith(candidate) and len(value) >= len(candidate) + 8:
                prefix = candidate
                break
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{prefix}…({len(value)} chars, sha256:{digest})"


# ------------------------------------------------------------------------------------------------------------
# The scan.


@dataclass(frozen=True, slots=True)
class _Found:
    start: int  # absolute character offsets of the secret in the text (end exclusive)
    end: int
    rule_id: str
    provider: str
    pattern_id: str
    severity: Severity
    evidence: str  # masked


@dataclass(frozen=True, slots=True)
class _Text:
    """The scanned text and its lower-cased twin (same length, same positions) for patterns that ignore case."""

    original: str
    lowered: str

    @classmethod
    def of(cls, text: str) -> _Text:
        lowered = text.lower()
        if len(lowered) != len(text):  # a few non-ASCII letters lower-case to two characters
            lowered = text.translate(_ASCII_LOWER)
        return cls(text, lowered)


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _boundary_ok(text: str, start: int, end: int) -> bool:
    if start > 0 and (text[start - 1] in _ALNUM or text[start - 1] == "_"):
        return False
    return end >= len(text) or (text[end] not in _ALNUM and text[end] not in ("_", "-"))


def _found(start: int, value: str, rule_id: str, provider: str, pattern_id: str, severity: Severity) -> _Found:
    return _Found(start, start + len(value), rule_id, provider, pattern_id, severity, mask_secret(value))


def _scan_tokens(text: _Text) -> Iterator[_Found]:
    for pattern in TOKEN_PATTERNS:
        for match in pattern.regex.finditer(text.lowered if pattern.lowercase else text.original):
            start, end = match.span("secret")
            value = text.original[start:end]
            if pattern.word_boundary and not _boundary_ok(text.original, start, end):
                continue
            if pattern.validator is not None and not pattern.validator(value):
                continue
            yield _found(start, value, pattern.rule_id, pattern.provider, pattern.pattern_id, pattern.severity)


def _scan_private_keys(text: _Text) -> Iterator[_Found]:
    original = text.original
    for match in _PEM_BEGIN.finditer(original):
        kind = match.group("kind")
        # The body ends at the next "-----" (its END line, or the next block's header): base64 has no dashes,
        # and stopping there keeps a text of many headers linear.
        window = original[match.end(): match.end() + _MAX_PEM_CHARS]
        body_end = window.find("-----")
        body = window if body_end < 0 else window[:body_end]
        if len(_NOT_BASE64.sub("", body)) < 64:
            continue  # a header followed by "..." in documentation, not a key
        footer = f"-----END {kind}-----"
        block_end = match.end() + len(body) + (len(footer) if window.startswith(footer, len(body)) else 0)
        if '"private_key"' in original[max(0, match.start() - 40): match.start()]:
            provider = "Google service-account private key"
        else:
            provider = kind.replace("PRIVATE KEY", "private key").replace(" BLOCK", "")
        severity = Severity.HIGH if "ENCRYPTED" in kind else Severity.CRITICAL
        yield _found(match.start(), original[match.start(): block_end], _RULE_PRIVATE_KEY, provider, "private-key",
                     severity)


def _scan_jwts(text: _Text) -> Iterator[_Found]:
    for match in _JWT_TOKEN.finditer(text.original):
        start, end = match.span()
        if _boundary_ok(text.original, start, end) and _jwt_ok(match.group()):
            yield _found(start, match.group(), _RULE_JWT, "JSON Web Token", "jwt", Severity.MEDIUM)


# Passwords and hosts of documentation URLs ("postgres://user:password@host/db").
_URL_PASSWORD_PLACEHOLDERS = frozenset({"password", "passwd", "pass", "pwd", "secret", "pw", "p", "x", "xxx",
                                        "***", "mypassword", "yourpassword", "token", "apikey"})
_URL_PLACEHOLDER_HOSTS = frozenset({"host", "hostname", "server", "domain", "address", "db_host", "dbhost"})


def _scan_url_passwords(text: _Text) -> Iterator[_Found]:
    original = text.original
    for match in _URL_CREDENTIALS.finditer(original):
        scheme = _URL_SCHEME.search(original, max(0, match.start() - 31), match.start())
        if scheme is None:
            continue
        password, host = match.group("secret"), match.group("host").lower()
        if _is_placeholder(password) or password.lower() in _URL_PASSWORD_PLACEHOLDERS:
            continue
        if _is_placeholder(host) or host in _URL_PLACEHOLDER_HOSTS:
            continue
        local = host in _LOCAL_HOSTS or host.endswith(".local")
        yield _found(match.start("secret"), password, _RULE_URL,
                     f"password in a {scheme.group().lower()}:// URL", "url-password",
                     Severity.LOW if local else Severity.HIGH)


def _scan_assignments(text: _Text) -> Iterator[_Found]:
    original = text.original
    for regex in (*_SECRET_ASSIGNMENTS, _AUTHORIZATION):
        for match in regex.finditer(text.lowered):
            group = "quoted" if match.groupdict().get("quoted") is not None else "bare"
            start, end = match.span(group)
            if group == "bare" and end < len(original) and original[end] in "([.":
                continue  # ``password = getpass(...)``, ``token = os.environ["X"]``: an expression, not a value
            raw = original[start:end]
            value = raw.strip()
            start += len(raw) - len(raw.lstrip())
            if value.startswith(_CHECKSUMMED_PREFIXES) or not _looks_random(value, bare=group == "bare"):
                continue  # a token of a checksummed format reaches here only when its checksum is wrong
            if regex is _AUTHORIZATION:
                where = "in an Authorization header"
            else:
                before = _NAME_BEFORE.search(original, max(0, match.start() - 64), match.start())
                name = (before.group() if before else "") + original[match.start("word"): match.end("word")]
                if name.lower().endswith("key") and not _SECRET_KEY_NAME.search(name):
                    continue
                where = f"assigned to '{name}'"
            yield _found(start, value, _RULE_GENERIC, f"high-entropy value {where}", "generic-entropy",
                         Severity.MEDIUM)


# Order is priority: where two detections overlap, the earlier (more specific) one is kept.
_SCANNERS: tuple[Callable[[_Text], Iterator[_Found]], ...] = (
    _scan_private_keys, _scan_tokens, _scan_jwts, _scan_url_passwords, _scan_assignments)


def _scan(text: str) -> list[_Found]:
    """Secrets in ``text`` in text order, overlaps resolved in favour of the more specific detection."""
    if not text:
        return []
    both = _Text.of(text)
    kept: list[_Found] = []  # sorted by start; kept spans never overlap
    for scanner in _SCANNERS:
        for found in scanner(both):
            index = bisect_right([item.start for item in kept], found.start)
            if index > 0 and kept[index - 1].end > found.start:
                continue
            if index < len(kept) and kept[index].start < found.end:
                continue
            kept.insert(index, found)
            if len(kept) >= MAX_SECRETS_PER_TEXT:
                return kept
    return kept


def find_secrets(text: str) -> list[Hit]:
    """Every secret in ``text``, one ``Hit`` each (evidence and message masked), in text order."""
    found = _scan(text)
    if not found:
        return []
    line_starts = [0] + [match.end() for match in re.finditer("\n", text)]
    hits: list[Hit] = []
    for item in found:
        index = bisect_right(line_starts, item.start) - 1
        line_start = line_starts[index]
        line_end = line_starts[index + 1] - 1 if index + 1 < len(line_starts) else len(text)
        start, end = item.start - line_start, min(item.end, line_end) - line_start
        hits.append(Hit(
            rule_id=item.rule_id,
            line=index + 1,
            message=f"{item.provider[:1].upper()}{item.provider[1:]} in plain text",
            evidence=item.evidence,
            column=start + 1,
            start=start,
            end=end,
            severity=item.severity if item.severity != CATALOGUE[item.rule_id].severity else None,
            data={"secret_type": item.pattern_id, "provider": item.provider, "masked": item.evidence},
        ))
    return hits


def mask_secrets_in(text: str) -> str:
    """``text`` with every secret found in it replaced by its mask: the last line of defence over messages and
    evidence that other analyzers build from scanned text."""
    found = _scan(text)
    if not found:
        return text
    parts: list[str] = []
    position = 0
    for item in found:
        parts.append(text[position: item.start])
        parts.append(item.evidence)
        position = item.end
    parts.append(text[position:])
    return "".join(parts)
