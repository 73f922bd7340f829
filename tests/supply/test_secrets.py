"""Tests of the secret scanner: every token family, checksums, look-alikes that must stay quiet, masking,
positions, speed on large and hostile text, and fuzzing.

Every token here is FAKE: random characters in the provider's format, built at run time (prefixes are
concatenated) so that the repository never holds a string that looks like a live token.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import string
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.findings import Severity
from mlwarden.core.rules import CATALOGUE
from mlwarden.supply.hits import Hit
from mlwarden.supply.secrets import (
    TOKEN_PATTERNS,
    find_secrets,
    mask_secret,
    mask_secrets_in,
    shannon_entropy,
)

ALNUM = string.ascii_letters + string.digits
BASE64 = ALNUM + "+/"
HEX = "0123456789abcdef"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_rng = random.Random(20240611)


def rand(length: int, alphabet: str = ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(length))


def base62(value: int, width: int = 6) -> str:
    digits = ""
    while value:
        value, digit = divmod(value, 62)
        digits = BASE62[digit] + digits
    return digits.rjust(width, "0")


def checksummed(prefix: str) -> str:
    """A GitHub/npm-style token: prefix + 30 random base62 chars + base62(CRC32 of those 30)."""
    body = rand(30)
    return prefix + body + base62(binascii.crc32(body.encode()))


def wrong_checksum(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_jwt() -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": rand(12), "exp": 1999999999}).encode())
    return f"{header}.{payload}.{rand(43, ALNUM + '-_')}"


def pem(kind: str = "RSA PRIVATE KEY", lines: int = 12) -> str:
    body = "\n".join(rand(64, BASE64) for _ in range(lines))
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


def only(hits: list[Hit]) -> Hit:
    assert len(hits) == 1, hits
    return hits[0]


def assert_masked(hit: Hit, secret: str) -> None:
    """The secret appears in no field of the hit, the evidence has the mask's shape."""
    assert secret not in repr(hit)
    assert hit.evidence is not None and re.search(r"…\(\d+ chars, sha256:[0-9a-f]{8}\)$", hit.evidence)


# ---------------------------------------------------------------------------------------------------------------
# Token families: (name, line builder returning (text, secret), rule, severity, visible prefix).

Family = tuple[str, Callable[[], tuple[str, str]], str, Severity, str]


def _in(template: str, secret: str) -> tuple[str, str]:
    return template.format(secret), secret


FAMILIES: list[Family] = [
    ("aws-key-id", lambda: _in("aws_access_key_id = {}", "AK" + "IA" + rand(16, string.ascii_uppercase + "234567")),
     "MW-SECRET-002", Severity.HIGH, "AKIA"),
    ("aws-sts-key-id", lambda: _in('"AccessKeyId": "{}"', "AS" + "IA" + rand(16, string.ascii_uppercase + "234567")),
     "MW-SECRET-002", Severity.HIGH, "ASIA"),
    ("aws-secret", lambda: _in("aws_secret_access_key = {}", rand(40, BASE64)), "MW-SECRET-002", Severity.CRITICAL,
     ""),
    ("aws-secret-env", lambda: _in("export AWS_SECRET_ACCESS_KEY='{}'", rand(40, BASE64)), "MW-SECRET-002",
     Severity.CRITICAL, ""),
    ("aws-secret-json", lambda: _in('{{"SecretAccessKey": "{}"}}', rand(40, BASE64)), "MW-SECRET-002",
     Severity.CRITICAL, ""),
    ("hf-user", lambda: _in('login(token="{}")', "hf" + "_" + rand(34)), "MW-SECRET-002", Severity.HIGH, "hf_"),
    ("hf-org", lambda: _in("HF_ORG_TOKEN={}", "api" + "_org_" + rand(34)), "MW-SECRET-002", Severity.HIGH,
     "api_org_"),
    ("openai-legacy", lambda: _in('openai.api_key = "{}"', "sk" + "-" + rand(48)), "MW-SECRET-002", Severity.HIGH,
     "sk-"),
    ("openai-project", lambda: _in("OPENAI_API_KEY={}", "sk" + "-proj-" + rand(156, ALNUM + "-_")), "MW-SECRET-002",
     Severity.HIGH, "sk-proj-"),
    ("anthropic", lambda: _in('client = Anthropic(api_key="{}")', "sk" + "-ant-api03-" + rand(93, ALNUM + "-_") + "AA"),
     "MW-SECRET-002", Severity.HIGH, "sk-ant-api03-"),
    ("github-pat", lambda: _in("GITHUB_TOKEN={}", checksummed("gh" + "p_")), "MW-SECRET-002", Severity.HIGH, "ghp_"),
    ("github-oauth", lambda: _in("token: {}", checksummed("gh" + "o_")), "MW-SECRET-002", Severity.HIGH, "gho_"),
    ("github-user-server", lambda: _in("{}", checksummed("gh" + "u_")), "MW-SECRET-002", Severity.HIGH, "ghu_"),
    ("github-server", lambda: _in("x = '{}'", checksummed("gh" + "s_")), "MW-SECRET-002", Severity.HIGH, "ghs_"),
    ("github-refresh", lambda: _in("x = '{}'", checksummed("gh" + "r_")), "MW-SECRET-002", Severity.HIGH, "ghr_"),
    ("github-fine-grained", lambda: _in("GH_PAT={}", "github" + "_pat_" + rand(22) + "_" + rand(59)),
     "MW-SECRET-002", Severity.HIGH, "github_pat_"),
    ("gitlab", lambda: _in("CI_TOKEN={}", "gl" + "pat-" + rand(20, ALNUM + "-_")), "MW-SECRET-002", Severity.HIGH,
     "glpat-"),
    ("slack-bot", lambda: _in("SLACK_BOT={}", "xo" + "xb-" + rand(12, string.digits) + "-" + rand(13, string.digits)
                                            + "-" + rand(24)), "MW-SECRET-002", Severity.HIGH, "xoxb-"),
    ("slack-user", lambda: _in("SLACK_USER={}", "xo" + "xp-" + rand(12, string.digits) + "-" + rand(12, string.digits)
                                              + "-" + rand(13, string.digits) + "-" + rand(32, HEX)),
     "MW-SECRET-002", Severity.HIGH, "xoxp-"),
    ("slack-webhook", lambda: _in('url = "{}"', "https://hooks.slack.com/services/T" + rand(8, string.ascii_uppercase)
                                  + "/B" + rand(8, string.ascii_uppercase) + "/" + rand(24)),
     "MW-SECRET-002", Severity.HIGH, "https://hooks.slack.com/"),
    ("stripe-secret", lambda: _in("stripe.api_key = '{}'", "sk" + "_live_" + rand(24)), "MW-SECRET-002",
     Severity.CRITICAL, "sk_live_"),
    ("stripe-restricted", lambda: _in("STRIPE={}", "rk" + "_live_" + rand(24)), "MW-SECRET-002", Severity.CRITICAL,
     "rk_live_"),
    ("google-api-key", lambda: _in("GOOGLE_API_KEY={}", "AI" + "za" + rand(35, ALNUM + "-_")), "MW-SECRET-002",
     Severity.HIGH, "AIza"),
    ("azure-storage", lambda: ("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + (key := rand(86, BASE64)
                                                                                               + "==")
                               + ";EndpointSuffix=core.windows.net", key), "MW-SECRET-002", Severity.CRITICAL, ""),
    ("azure-service-bus", lambda: ("Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey="
                                   + (key := rand(43, BASE64) + "="), key), "MW-SECRET-002", Severity.CRITICAL, ""),
    ("wandb-env", lambda: _in("WANDB_API_KEY={}", rand(40, HEX)), "MW-SECRET-002", Severity.HIGH, ""),
    ("wandb-login", lambda: _in('wandb.login(key="{}")', rand(40, HEX)), "MW-SECRET-002", Severity.HIGH, ""),
    ("wandb-netrc", lambda: _in("machine api.wandb.ai\n  login user\n  password {}\n", rand(40, HEX)),
     "MW-SECRET-002", Severity.HIGH, ""),
    ("pypi", lambda: _in("password = {}", "py" + "pi-AgEIcHlwaS5vcmc" + rand(140, ALNUM + "-_")), "MW-SECRET-002",
     Severity.CRITICAL, "pypi-"),
    ("npm", lambda: _in("//registry.npmjs.org/:_authToken={}", checksummed("np" + "m_")), "MW-SECRET-002",
     Severity.CRITICAL, "npm_"),
    ("private-key-rsa", lambda: ((block := pem()), block.rstrip("\n")), "MW-SECRET-001", Severity.CRITICAL,
     "-----BEGIN RSA PRIVATE KEY-----"),
    ("private-key-openssh", lambda: ((block := pem("OPENSSH PRIVATE KEY")), block.rstrip("\n")), "MW-SECRET-001",
     Severity.CRITICAL, "-----BEGIN OPENSSH PRIVATE KEY-----"),
    ("private-key-encrypted", lambda: ((block := pem("ENCRYPTED PRIVATE KEY")), block.rstrip("\n")),
     "MW-SECRET-001", Severity.HIGH, "-----BEGIN ENCRYPTED PRIVATE KEY-----"),
    ("database-url", lambda: _in("DATABASE_URL=postgres://admin:{}@db.internal.corp:5432/prod", rand(16)),
     "MW-SECRET-003", Severity.HIGH, ""),
    ("mongodb-srv-url", lambda: _in('uri = "mongodb+srv://app:{}@cluster0.abcde.mongodb.net/db"', rand(20)),
     "MW-SECRET-003", Severity.HIGH, ""),
    ("jwt", lambda: _in("Cookie: session={}", fake_jwt()), "MW-SECRET-005", Severity.MEDIUM, "eyJ"),
    ("generic-password", lambda: _in('DB_PASSWORD = "{}"', rand(20)), "MW-SECRET-004", Severity.MEDIUM, ""),
    ("generic-yaml", lambda: _in("  api_key: {}", rand(32)), "MW-SECRET-004", Severity.MEDIUM, ""),
    ("generic-json", lambda: _in('{{"client_secret": "{}"}}', rand(24, ALNUM + "-_~.")), "MW-SECRET-004",
     Severity.MEDIUM, ""),
    ("generic-bearer", lambda: _in("headers = {{'Authorization': 'Bearer {}'}}", rand(40, ALNUM + "._-")),
     "MW-SECRET-004", Severity.MEDIUM, ""),
    ("generic-hex", lambda: _in("SECRET_TOKEN={}", rand(48, HEX)), "MW-SECRET-004", Severity.MEDIUM, ""),
]


@pytest.mark.parametrize("family", FAMILIES, ids=[family[0] for family in FAMILIES])
def test_every_family_is_found_and_masked(family: Family) -> None:
    _, build, rule_id, severity, prefix = family
    text, secret = build()
    hit = only(find_secrets(text))
    assert hit.rule_id == rule_id
    assert (hit.severity or CATALOGUE[rule_id].severity) == severity
    assert_masked(hit, secret)
    assert hit.evidence is not None and hit.evidence.startswith(prefix + "…")
    assert f"({len(secret)} chars" in hit.evidence
    assert hit.data is not None and hit.data["masked"] == hit.evidence
    assert secret not in mask_secrets_in(text)


def test_all_patterns_emit_catalogue_secret_rules() -> None:
    for pattern in TOKEN_PATTERNS:
        assert CATALOGUE[pattern.rule_id].area == "secret"
    for rule_id in ("MW-SECRET-001", "MW-SECRET-002", "MW-SECRET-003", "MW-SECRET-004", "MW-SECRET-005"):
        rule = CATALOGUE[rule_id]
        assert rule.area == "secret" and "CWE-798" in rule.references


# ---------------------------------------------------------------------------------------------------------------
# Checksums and documented examples.

def test_github_token_with_valid_checksum_is_found_and_wrong_checksum_is_not() -> None:
    token = checksummed("gh" + "p_")
    assert only(find_secrets(token)).rule_id == "MW-SECRET-002"
    assert find_secrets(wrong_checksum(token)) == []
    assert find_secrets(f"GITHUB_TOKEN={wrong_checksum(token)}") == []  # nor by the entropy rule: it is checked


def test_npm_token_checksum() -> None:
    token = checksummed("np" + "m_")
    assert len(find_secrets(token)) == 1
    assert find_secrets(wrong_checksum(token)) == []


@pytest.mark.parametrize("text", [
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE\nAWS_SECRET_ACCESS_KEY=je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    # jwt.io's sample token
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIy"
    "fQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
])
def test_documented_examples_are_quiet(text: str) -> None:
    assert find_secrets(text) == []


# ---------------------------------------------------------------------------------------------------------------
# Look-alikes that must stay quiet.

NEGATIVES = [
    # hashes, digests, git SHAs, UUIDs
    'api_key = "d41d8cd98f00b204e9800998ecf8427e"',
    "token = da39a3ee5e6b4b0d3255bfef95601890afd80709",
    'revision = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"',
    'secret_token: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
    "password: 123e4567-e89b-12d3-a456-426614174000",
    'TOKEN = "550e8400e29b41d4a716446655440000"',
    # placeholders
    'HF_TOKEN = "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
    'token = "<your-token>"',
    "password: changeme",
    "API_KEY=${API_KEY}",
    "export OPENAI_API_KEY=$OPENAI_API_KEY",
    'api_key = "your-api-key-here"',
    "secret = '****************'",
    'password = "{{ vault_password }}"',
    "token: REPLACE_WITH_YOUR_TOKEN",
    'api_key = "sk-..."',
    "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----",
    # look-ups, expressions, names
    'token = os.environ["HF_TOKEN"]',
    "password = os.getenv('DB_PASSWORD')",
    "password = getpass.getpass()",
    "api_key = settings.OPENAI_API_KEY",
    "token = hf_token_from_cli",
    "secret_key = SECRET_KEY_SETTING",
    'auth_token = f"{prefix}{suffix}"',
    # secret-like names that are not secrets, and short or low-entropy values
    "max_new_tokens = 2048",
    "tokenizer = AutoTokenizer.from_pretrained(checkpoint)",
    'pad_token = "<|endoftext|>"',
    'eos_token: "</s>"',
    'password = "hunter2"',
    'password = "aaaaaaaaaaaaaaaaaaaaaaaaaaaa"',
    'secret = "abcabcabcabcabcabcabc"',
    'password_hash = "pbkdf2_sha256$260000$' + "a" * 22 + '$' + "b" * 43 + '"',
    "c.NotebookApp.password = 'argon2:$argon2id$v=19$m=10240,t=10,p=8$abcdefghijklmnop$qrstuvwxyz'",
    'cache_key = "' + "Zq8" * 8 + '"',
    'monkey = "Zq8xP2mW9vL4tR7nK3bY"',
    'token_path = "/home/user/.cache/huggingface/token"',
    'auth_url = "https://login.example.org/oauth2/token"',
    'password = "my-secret-password-123"',
    # URLs without a real password
    "postgres://user:password@host/db",
    "postgresql://postgres:${POSTGRES_PASSWORD}@db:5432/app",
    'f"postgresql://{user}:{password}@{host}/{db}"',
    "https://github.com/huggingface/transformers",
    "mysql://root:@localhost/test",
    # prose
    "Set the token: run `huggingface-cli login` and paste it.",
    "Authorization failed for this request.",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_are_quiet(text: str) -> None:
    assert find_secrets(text) == []


def test_local_database_url_is_low() -> None:
    password = rand(14)
    hit = only(find_secrets(f"redis://:{password}@localhost:6379/0"))
    assert hit.rule_id == "MW-SECRET-003" and hit.severity == Severity.LOW
    assert_masked(hit, password)


def test_token_inside_a_url_is_reported_once_as_its_provider() -> None:
    token = "gl" + "pat-" + rand(20)
    hit = only(find_secrets(f"git clone https://oauth2:{token}@gitlab.com/group/repo.git"))
    assert hit.rule_id == "MW-SECRET-002" and "GitLab" in hit.message


def test_service_account_json_private_key() -> None:
    key = "\\n".join(rand(64, BASE64) for _ in range(20))
    document = json.dumps({"type": "service_account", "project_id": "p", "private_key_id": rand(40, HEX),
                           "client_email": "svc@p.iam.gserviceaccount.com"}, indent=1)
    text = document[:-2] + f',\n "private_key": "-----BEGIN PRIVATE KEY-----\\n{key}\\n-----END PRIVATE KEY-----\\n"\n}}'
    hit = only(find_secrets(text))
    assert hit.rule_id == "MW-SECRET-001" and hit.severity is None  # critical, the rule's default
    assert "service-account" in hit.message
    assert key[:40] not in repr(hit)


def test_jwt_needs_a_json_header() -> None:
    not_json = b64url(b"not a json header at all") + "." + b64url(b'{"a": 1}') + "." + rand(30)
    assert find_secrets("eyJ" + not_json[3:]) == []


# ---------------------------------------------------------------------------------------------------------------
# Positions and masks.

def test_positions_are_line_and_span_within_the_line() -> None:
    token = "hf" + "_" + rand(34)
    key = "AK" + "IA" + rand(16, string.ascii_uppercase)
    text = f"first line\n\n    x = ['{token}']  # two\nid={key}\n"
    first, second = find_secrets(text)
    lines = text.split("\n")
    assert (first.line, first.column, first.start, first.end) == (3, 11, 10, 47)
    assert lines[2][first.start: first.end] == token
    assert (second.line, second.start, second.end) == (4, 3, 23)
    assert lines[3][second.start: second.end] == key


def test_multi_line_private_key_span_ends_with_its_first_line() -> None:
    block = pem()
    hit = only(find_secrets("key = '''\n" + block + "'''"))
    assert (hit.line, hit.start, hit.end) == (2, 0, len("-----BEGIN RSA PRIVATE KEY-----"))
    assert f"({len(block.rstrip())} chars" in (hit.evidence or "")


def test_mask_secret_shape_and_identity() -> None:
    token = "hf" + "_" + rand(34)
    other = "hf" + "_" + rand(34)
    masked = mask_secret(token)
    assert re.fullmatch(r"hf_…\(37 chars, sha256:[0-9a-f]{8}\)", masked)
    assert mask_secret(token) == masked and mask_secret(other) != masked
    assert token[3:] not in masked
    assert re.fullmatch(r"…\(5 chars, sha256:[0-9a-f]{8}\)", mask_secret("hf_ab"))  # too short to show a prefix


def test_mask_secrets_in_replaces_every_secret_and_is_idempotent() -> None:
    secrets = ["hf" + "_" + rand(34), checksummed("gh" + "p_"), rand(20)]
    text = f"a={secrets[0]} b={secrets[1]}\npassword = '{secrets[2]}'\nplain text stays"
    masked = mask_secrets_in(text)
    assert all(secret not in masked for secret in secrets)
    assert masked.endswith("\nplain text stays") and masked.startswith("a=hf_…(37 chars")
    assert mask_secrets_in(masked) == masked
    assert mask_secrets_in("nothing to see") == "nothing to see"


def test_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)


# ---------------------------------------------------------------------------------------------------------------
# Speed and hostile text.

def _timed(text: str) -> float:
    start = time.perf_counter()
    find_secrets(text)
    mask_secrets_in(text)
    return time.perf_counter() - start


def test_one_mebibyte_of_code_is_fast() -> None:
    line = "    tokens = tokenizer(batch['text'], max_length=512, padding='max_length')  # key: value\n"
    text = line * (1024 * 1024 // len(line))
    assert _timed(text) < 1.0  # about 0.04 s on one core; the bound leaves room for slow CI machines


@pytest.mark.parametrize("text", [
    "x" * 3_000_000,  # one minified line
    "eyJ" + "a" * 1_000_000,
    "eyJ" + "a" * 100 + "." + "eyJ" * 300_000,
    "://" + ":" * 500_000,
    "://a:" + "b" * 1_000_000,
    "password=" * 200_000,
    "token: '" * 200_000,
    "-----BEGIN RSA PRIVATE KEY-----" * 30_000,
    "AKIA" * 250_000,
    "machine api.wandb.ai " * 50_000,
    ("hf" + "_" + "a" * 33 + " ") * 30_000,
])
def test_hostile_text_is_bounded(text: str) -> None:
    assert _timed(text) < 3.0


def test_number_of_hits_is_capped() -> None:
    tokens = " ".join("hf" + "_" + rand(34) for _ in range(1200))
    assert len(find_secrets(tokens)) == 1000


# ---------------------------------------------------------------------------------------------------------------
# Fuzzing.

_SECRETISH = st.sampled_from(["hf_", "AKIA", "sk-", "ghp_", "://", "@", ":", "=", "password", "token", "eyJ",
                              "-----BEGIN RSA PRIVATE KEY-----", "\n", "'", '"', "AccountKey=", "wandb", " "])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(_SECRETISH, st.text(max_size=60)), max_size=40))
def test_fuzz_find_secrets_never_raises_and_spans_stay_in_their_line(parts: list[str]) -> None:
    text = "".join(parts)
    lines = text.split("\n")
    for hit in find_secrets(text):
        assert 1 <= hit.line <= len(lines)
        assert hit.start is not None and hit.end is not None
        assert 0 <= hit.start < hit.end <= len(lines[hit.line - 1])
        value = lines[hit.line - 1][hit.start: hit.end]
        assert value not in (hit.evidence or "") or len(value) < 3
    masked = mask_secrets_in(text)
    assert mask_secrets_in(masked) == masked


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=" \t\n=:;,.()[]{}'\"#", max_size=30), st.text(alphabet=" \t\n=:;,.()[]{}'\"#", max_size=30))
def test_fuzz_a_token_between_separators_is_always_found(before: str, after: str) -> None:
    token = "hf" + "_" + rand(34)
    hits = [hit for hit in find_secrets(before + token + after) if hit.rule_id == "MW-SECRET-002"]
    assert len(hits) == 1
    assert token not in repr(hits)
