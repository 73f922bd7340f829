"""Tests for mlwarden.integrity.hashing: OMS / model_signing-compatible hashing, settings, comparison."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
from pathlib import Path

import blake3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.errors import InputError, MissingExtraError, MlwardenError, UsageError
from mlwarden.integrity import hashing
from mlwarden.integrity.hashing import (
    HashingLimits,
    check_settings,
    compare_manifests,
    hash_model,
    inspect_model,
    parse_resources,
    parse_serialization,
    resource_algorithm_name,
    resource_sort_key,
    serialization_dict,
    split_shard_name,
    subject_digest,
)
from mlwarden.integrity.model import Difference, HashSettings, Manifest, ResourceDigest

REPO = Path(__file__).resolve().parents[2]
OMS = REPO / ".." / "shared" / "schemas" / "oms-v1.0"
needs_oms = pytest.mark.skipif(not OMS.is_dir(), reason="shared OMS schemas and test vectors not present")
needs_symlinks = pytest.mark.skipif(
    not hasattr(os, "symlink") or os.name == "nt", reason="needs POSIX symlinks"
)

GIT_IGNORES = (".git", ".github", ".gitattributes", ".gitignore")
ALGORITHMS = ("sha256", "blake2b", "blake3")


def _independent(algorithm: str, data: bytes) -> str:
    """Digest computed directly with hashlib / blake3, independently of the module under test."""
    if algorithm == "blake3":
        return blake3.blake3(data).hexdigest()
    return hashlib.new(algorithm, data).hexdigest()


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


# The folder model_signing 1.1.1 hashed to produce the golden digests below (same names, same bytes).
GOLDEN_FILES = {
    "a.bin": b"hello",
    "a/b": b"y",
    "a-c": b"dash",
    "A": b"upper",
    "\u00e9t\u00e9.txt": "caf\u00e9".encode(),
    "deep/er/still/x.dat": bytes(range(256)) * 40,
    "empty": b"",
    "sub/b.bin": b"0123456789abcdefXYZ",
    ".git/config": b"ignored",
}
# Subject digests written by model_signing 1.1.1 (Config().use_*_serialization(...).hash(folder), then
# signing.Payload(manifest)) for GOLDEN_FILES, with its default git ignore paths.
GOLDEN_SUBJECTS = {
    ("files", "sha256", None): ("1eadbef08eca3705e563814fe25c6e60c58567a371be5659f17c4df5710a2570", 8),
    ("files", "blake2b", None): ("70c097c8ba2d8e82aac3f3cb9ce45e082ab69fb8ef6fd3200f140e62acd61f03", 8),
    ("files", "blake3", None): ("4fc4c4dc688b83bf7b5832f0dfe5c4576df077d6c4381aeb91cdd8ecc9772604", 8),
    ("shards", "sha256", 8): ("abd523027d59ce788d8cb33a67913af5918e791b5a642621eed597375c717ac5", 1288),
    ("shards", "blake2b", 100): ("b7dbf71e081832da473b96ffc4d1ec40719236dfa2e52a519a705033de125ccd", 109),
}
GOLDEN_SINGLE_FILE_SUBJECT = "9595c9df90075148eb06860365df33584b75bff782a510c6cd4883a419833d50"  # a.bin alone


# --- agreement with the reference implementation ---------------------------------------------------------


@pytest.mark.parametrize(("method", "hash_type", "shard_size"), list(GOLDEN_SUBJECTS))
def test_subject_digest_matches_model_signing(tmp_path, method, hash_type, shard_size):
    root = _write(tmp_path / "m", GOLDEN_FILES)
    manifest = hash_model(
        root,
        HashSettings(method=method, hash_type=hash_type, shard_size=shard_size, ignore_paths=GIT_IGNORES),
    )
    expected_subject, expected_count = GOLDEN_SUBJECTS[(method, hash_type, shard_size)]
    assert manifest.subject_digest == expected_subject
    assert len(manifest.resources) == expected_count
    assert manifest.model_name == "m" and manifest.subject_algorithm == "sha256"


def test_resources_are_ordered_like_the_reference(tmp_path):
    root = _write(tmp_path / "m", GOLDEN_FILES)
    names = [r.name for r in hash_model(root, HashSettings(ignore_paths=GIT_IGNORES)).resources]
    # PurePosixPath order: component by component, so "a/b" sorts before "a-c" and "a.bin".
    assert names == [
        "A",
        "a/b",
        "a-c",
        "a.bin",
        "deep/er/still/x.dat",
        "empty",
        "sub/b.bin",
        "\u00e9t\u00e9.txt",
    ]
    shards = hash_model(root, HashSettings(method="shards", shard_size=1000, ignore_paths=GIT_IGNORES))
    deep = [r.name for r in shards.resources if r.name.startswith("deep/")]
    assert deep[:3] == [
        "deep/er/still/x.dat:0:1000",
        "deep/er/still/x.dat:1000:2000",
        "deep/er/still/x.dat:2000:3000",
    ]
    assert deep[-1] == "deep/er/still/x.dat:10000:10240"  # numeric, not string, order


def test_single_file_model_is_named_dot_as_the_reference(tmp_path):
    root = _write(tmp_path, GOLDEN_FILES)
    manifest = hash_model(root / "a.bin", HashSettings())
    assert [r.name for r in manifest.resources] == ["."]
    assert manifest.model_name == "a.bin"
    assert manifest.subject_digest == GOLDEN_SINGLE_FILE_SUBJECT
    shards = hash_model(root / "sub" / "b.bin", HashSettings(method="shards", shard_size=8))
    assert [r.name for r in shards.resources] == [".:0:8", ".:8:16", ".:16:19"]


# --- agreement with an independent computation ------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("method", ["files", "shards"])
@pytest.mark.parametrize("workers", [1, 3])
def test_every_algorithm_and_method_agrees_with_hashlib(tmp_path, algorithm, method, workers):
    files = {
        "weights/model.bin": os.urandom(3 * hashing.READ_BUFFER_BYTES + 17),  # several reads
        "weights/tiny.bin": b"x",
        "config.json": b'{"a": 1}',
        "tokenizer/vocab.txt": b"hello\nworld\n" * 100,
    }
    root = _write(tmp_path / "model", files)
    shard_size = 1_000_000 if method == "shards" else None
    s = HashSettings(method=method, hash_type=algorithm, shard_size=shard_size)
    manifest = hash_model(root, s, workers=workers)

    expected: dict[str, str] = {}
    for name, data in files.items():
        if method == "files":
            expected[name] = _independent(algorithm, data)
        else:
            for start in range(0, len(data), shard_size):
                end = min(start + shard_size, len(data))
                expected[f"{name}:{start}:{end}"] = _independent(algorithm, data[start:end])
    assert {r.name: r.digest for r in manifest.resources} == expected
    assert {r.algorithm for r in manifest.resources} == {resource_algorithm_name(s)}
    concatenated = b"".join(bytes.fromhex(r.digest) for r in manifest.resources)
    assert manifest.subject_digest == hashlib.sha256(concatenated).hexdigest()


def test_worker_counts_give_identical_manifests(tmp_path):
    root = _write(tmp_path / "m", {f"d{i % 7}/f{i}.bin": os.urandom(i * 37) for i in range(300)})
    one = hash_model(root, HashSettings(), workers=1)
    assert hash_model(root, HashSettings(), workers=4) == one
    assert hash_model(root, HashSettings()) == one


def test_resource_algorithm_names():
    assert resource_algorithm_name(HashSettings()) == "sha256"
    assert resource_algorithm_name(HashSettings(hash_type="blake3")) == "blake3"
    assert resource_algorithm_name(HashSettings(method="shards", shard_size=8)) == "sha256-sharded-8"
    assert resource_algorithm_name(HashSettings(method="shards", hash_type="blake2b")) == (
        "blake2b-sharded-1000000000"
    )


# --- empty files and folders ------------------------------------------------------------------------------


def test_empty_file_and_empty_folder(tmp_path):
    root = _write(tmp_path / "m", {"empty.bin": b"", "data.bin": b"abc"})
    (root / "nothing").mkdir()
    files = hash_model(root, HashSettings())
    assert {r.name: r.digest for r in files.resources} == {
        "data.bin": hashlib.sha256(b"abc").hexdigest(),
        "empty.bin": hashlib.sha256(b"").hexdigest(),
    }
    shards = hash_model(root, HashSettings(method="shards", shard_size=2))
    # An empty file has no shard at all, as in the reference.
    assert [r.name for r in shards.resources] == ["data.bin:0:2", "data.bin:2:3"]
    empty_folder = tmp_path / "empty"
    empty_folder.mkdir()
    manifest = hash_model(empty_folder, HashSettings())
    assert manifest.resources == () and manifest.subject_digest == hashlib.sha256(b"").hexdigest()
    (tmp_path / "zero").write_bytes(b"")
    assert hash_model(tmp_path / "zero", HashSettings(method="shards", shard_size=4)).resources == ()


def test_model_name_defaults_and_override(tmp_path, monkeypatch):
    root = _write(tmp_path / "my-model", {"a": b"1"})
    assert hash_model(root, HashSettings()).model_name == "my-model"
    assert hash_model(root, HashSettings(), model_name="release-3").model_name == "release-3"
    monkeypatch.chdir(root)
    assert hash_model(Path("."), HashSettings()).model_name == "my-model"


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        hash_model(tmp_path / "nope", HashSettings())


# --- ignore paths -----------------------------------------------------------------------------------------


def test_ignore_paths_match_whole_leading_components(tmp_path):
    root = _write(
        tmp_path / "m",
        {"a/x": b"1", "a.bin": b"2", "ab/y": b"3", "sub/skip/z": b"4", "sub/keep": b"5", "model.sig": b"sig"},
    )
    s = HashSettings(ignore_paths=("a", "sub/skip/", "./model.sig"))
    names = [r.name for r in hash_model(root, s).resources]
    assert names == ["a.bin", "ab/y", "sub/keep"]
    assert hash_model(root, s).settings.ignore_paths == ("a", "model.sig", "sub/skip")


def _refuse(monkeypatch, function_name: str, suffix: str) -> None:
    """Make os.<function_name> fail with EACCES for paths ending in ``suffix`` (tests run as root in CI, where
    chmod 0 does not stop reads)."""
    original = getattr(os, function_name)

    def refusing(path, *args, **kwargs):
        if os.fspath(path).endswith(suffix):
            raise PermissionError(13, "Permission denied")
        return original(path, *args, **kwargs)

    monkeypatch.setattr(os, function_name, refusing)


def test_ignored_folders_are_not_entered(tmp_path, monkeypatch):
    root = _write(tmp_path / "m", {"keep": b"1", ".git/objects/x": b"2"})
    _refuse(monkeypatch, "scandir", "/.git")  # entering it would fail
    assert [r.name for r in hash_model(root, HashSettings(ignore_paths=(".git",))).resources] == ["keep"]
    with pytest.raises(InputError, match="cannot list folder '.git' of the model: Permission denied"):
        hash_model(root, HashSettings())


def test_ignore_paths_do_not_apply_to_a_single_file_model(tmp_path):
    path = _write(tmp_path, {"w.bin": b"abc"}) / "w.bin"
    assert [r.name for r in hash_model(path, HashSettings(ignore_paths=("w.bin",))).resources] == ["."]


@pytest.mark.parametrize("bad", ["/etc", "../x", "a/../../b", ".", "", "./"])
def test_unusable_ignore_paths_are_refused(tmp_path, bad):
    with pytest.raises(UsageError, match="ignore path"):
        hash_model(tmp_path, HashSettings(ignore_paths=(bad,)))


# --- symlinks, special files, bounds ----------------------------------------------------------------------


@needs_symlinks
def test_symlink_is_refused_by_default_and_recorded_by_inspect(tmp_path):
    root = _write(tmp_path / "m", {"real.bin": b"data", "sub/x": b"x"})
    os.symlink("real.bin", root / "link.bin")
    os.symlink("sub", root / "linkdir")
    with pytest.raises(InputError, match=r"symbolic link\(s\) \('link.bin', 'linkdir'\)"):
        hash_model(root, HashSettings())
    snapshot = inspect_model(root, HashSettings())
    assert snapshot.symlinks == ("link.bin", "linkdir")
    assert [r.name for r in snapshot.manifest.resources] == ["real.bin", "sub/x"]


@needs_symlinks
def test_allowed_symlink_is_hashed_as_its_target_and_folders_are_not_entered(tmp_path):
    root = _write(tmp_path / "m", {"real.bin": b"data", "sub/x": b"x"})
    os.symlink("real.bin", root / "link.bin")
    os.symlink("sub", root / "linkdir")
    manifest = hash_model(root, HashSettings(allow_symlinks=True))
    digests = {r.name: r.digest for r in manifest.resources}
    assert digests == {
        "link.bin": hashlib.sha256(b"data").hexdigest(),
        "real.bin": hashlib.sha256(b"data").hexdigest(),
        "sub/x": hashlib.sha256(b"x").hexdigest(),
    }


@needs_symlinks
def test_symlink_out_of_the_root_is_refused_even_when_allowed(tmp_path):
    outside = _write(tmp_path / "outside", {"secret": b"s"})
    root = _write(tmp_path / "m", {"a": b"1"})
    os.symlink(outside / "secret", root / "escape")
    with pytest.raises(InputError, match="points outside the model folder"):
        hash_model(root, HashSettings(allow_symlinks=True))
    os.unlink(root / "escape")
    os.symlink(root / "missing", root / "broken")
    with pytest.raises(InputError, match="broken"):
        hash_model(root, HashSettings(allow_symlinks=True))


@needs_symlinks
def test_symlinked_model_root(tmp_path):
    real = _write(tmp_path / "real", {"a": b"1"})
    os.symlink(real, tmp_path / "alias")
    with pytest.raises(InputError, match="is a symbolic link"):
        hash_model(tmp_path / "alias", HashSettings())
    assert [r.name for r in hash_model(tmp_path / "alias", HashSettings(allow_symlinks=True)).resources] == [
        "a"
    ]


@needs_symlinks
def test_symlink_inside_an_ignored_path_is_not_reported(tmp_path):
    root = _write(tmp_path / "m", {"a": b"1"})
    (root / ".git").mkdir()
    os.symlink("../a", root / ".git" / "link")
    assert inspect_model(root, HashSettings(ignore_paths=(".git",))).symlinks == ()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path):
    root = _write(tmp_path / "m", {"a": b"1"})
    os.mkfifo(root / "pipe")
    with pytest.raises(InputError, match="not a regular file or folder"):
        hash_model(root, HashSettings())


def test_limits_bound_resources_entries_path_length_and_depth(tmp_path):
    root = _write(tmp_path / "m", {"big.bin": b"x" * 100, "a/b/c/d": b"1", "long" * 10: b"2"})
    with pytest.raises(InputError, match="more than the limit of 10"):
        hash_model(root, HashSettings(method="shards", shard_size=1), limits=HashingLimits(max_resources=10))
    with pytest.raises(InputError, match="more than the limit of 2"):
        hash_model(root, HashSettings(), limits=HashingLimits(max_resources=2))
    with pytest.raises(InputError, match="more than 3 files and folders"):
        hash_model(root, HashSettings(), limits=HashingLimits(max_walk_entries=3))
    with pytest.raises(InputError, match="longer than 20 characters"):
        hash_model(root, HashSettings(), limits=HashingLimits(max_path_chars=20))
    with pytest.raises(InputError, match="deeper than 2 levels"):
        hash_model(root, HashSettings(), limits=HashingLimits(max_depth=2))


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses non-UTF-8 file names")
def test_non_utf8_file_name_is_refused(tmp_path):
    root = tmp_path / "m"
    root.mkdir()
    try:
        (root / os.fsdecode(b"bad\xff.bin")).write_bytes(b"1")
    except (OSError, UnicodeEncodeError):
        pytest.skip("file system refuses the name")
    with pytest.raises(InputError, match="not valid UTF-8"):
        hash_model(root, HashSettings())


def test_file_that_changes_while_hashing_is_reported(tmp_path):
    root = _write(tmp_path / "m", {"grow.bin": b"abc"})
    files, _ = hashing._walk(root, check_settings(HashSettings()), hashing.DEFAULT_HASHING_LIMITS)
    tasks = hashing._tasks(files, check_settings(HashSettings()), hashing.DEFAULT_HASHING_LIMITS)
    (root / "grow.bin").write_bytes(b"abcdef")
    with pytest.raises(InputError, match="changed while it was being hashed"):
        hashing._hash_tasks(tasks, hashing._ALGORITHMS["sha256"], 1, follow_symlinks=False)


def test_work_units_run_large_files_alone_and_tiny_ones_together():
    def task(size: int) -> hashing._Task:
        return hashing._Task(hashing._FileToHash(path="/x", name="x", size=size), 0, None, "x")

    mib, kib = 1024 * 1024, 1024
    sizes = [2 * mib, 10 * kib, *([512 * kib] * 20), 5 * mib, 1 * kib]
    units = hashing._work_units([task(size) for size in sizes])
    assert units[:2] == [[22], [0]]  # large ones alone, largest first
    assert units[-1] == [1, 23]  # every tiny file in one unit
    medium = units[2:-1]
    assert [len(unit) for unit in medium] == [16, 4]  # runs of about 8 MiB
    assert sorted(i for unit in units for i in unit) == list(range(len(sizes)))
    assert hashing._work_units([]) == []


def test_unreadable_file_in_the_pool_is_a_clear_error(tmp_path, monkeypatch):
    root = _write(tmp_path / "m", {f"f{i}": b"x" * 10 for i in range(600)})
    _refuse(monkeypatch, "open", "/f7")
    with pytest.raises(InputError, match="cannot open 'f7' in the model: Permission denied"):
        hash_model(root, HashSettings(), workers=2)


def test_blake3_missing_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "blake3", None)  # import blake3 now raises ImportError
    with pytest.raises(MissingExtraError, match=r"mlwarden\[blake3\]") as caught:
        hash_model(_write(tmp_path, {"a": b"1"}), HashSettings(hash_type="blake3"))
    assert caught.value.extra == "blake3"


def test_bad_settings_and_workers_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="only to the 'shards' method"):
        hash_model(tmp_path, HashSettings(shard_size=8))
    with pytest.raises(UsageError, match="unknown hash algorithm 'md5'"):
        hash_model(tmp_path, HashSettings(hash_type="md5"))  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="shard size"):
        hash_model(tmp_path, HashSettings(method="shards", shard_size=0))
    with pytest.raises(UsageError, match="workers"):
        hash_model(tmp_path, HashSettings(), workers=0)
    assert check_settings(HashSettings(method="shards")).shard_size == hashing.DEFAULT_SHARD_SIZE


# --- serialization settings: writing ours, reading a signature's ------------------------------------------


@pytest.mark.parametrize(
    "s",
    [
        HashSettings(),
        HashSettings(hash_type="blake3", ignore_paths=(".git", "model.sig")),
        HashSettings(method="shards", hash_type="blake2b", shard_size=8, allow_symlinks=True),
        HashSettings(method="shards"),
    ],
)
def test_serialization_dict_round_trips_and_validates_against_the_schema(s):
    written = serialization_dict(s)
    assert parse_serialization(written) == check_settings(s)
    assert parse_serialization(json.loads(json.dumps(written))) == check_settings(s)
    if s.method == "files":
        assert "shard_size" not in written
    if not s.ignore_paths:
        assert "ignore_paths" not in written  # as the reference: only when there are some
    if OMS.is_dir():
        jsonschema = pytest.importorskip("jsonschema")
        schema = json.loads((OMS / "predicate.schema.json").read_text())
        validator = jsonschema.Draft202012Validator(schema)
        validator.validate({"resources": [], "serialization": written})


def test_parse_serialization_accepts_the_reference_quirks():
    parsed = parse_serialization(
        {
            "hash_type": "sha256",
            "shard_size": 8.0,  # protobuf Struct numbers are floats
            "method": "shards",
            "ignore_paths": [".gitignore", ".git/", "./model.sig", ".github", ".gitattributes"],
            "allow_symlinks": False,
        }
    )
    assert parsed == HashSettings(
        method="shards",
        hash_type="sha256",
        shard_size=8,
        ignore_paths=(".git", ".gitattributes", ".github", ".gitignore", "model.sig"),
    )
    assert resource_algorithm_name(parsed) == "sha256-sharded-8"
    # Missing keys take OMS defaults; shards without a size take the reference's default.
    assert parse_serialization({}) == HashSettings()
    assert parse_serialization({"method": "shards"}).shard_size == 1_000_000_000


@pytest.mark.parametrize(
    ("serialization", "message"),
    [
        ({"hash_type": "md5"}, "hash algorithm 'md5'"),
        ({"hash_type": 5}, "hash algorithm 5"),
        ({"method": "tensors"}, "serialization method 'tensors'"),
        ({"method": "files", "shard_size": 8}, "shard_size for the 'files' method"),
        ({"method": "shards", "shard_size": 8.5}, "not a whole number"),
        ({"method": "shards", "shard_size": float("inf")}, "not a whole number"),
        ({"method": "shards", "shard_size": float("nan")}, "not a whole number"),
        ({"method": "shards", "shard_size": 0}, "out of range"),
        ({"method": "shards", "shard_size": -8}, "out of range"),
        ({"method": "shards", "shard_size": 2**60}, "out of range"),
        ({"method": "shards", "shard_size": True}, "not a number"),
        ({"method": "shards", "shard_size": "8"}, "not a number"),
        ({"allow_symlinks": "false"}, "not true or false"),
        ({"ignore_paths": ".git"}, "not a list"),
        ({"ignore_paths": [1]}, "not a path"),
        ({"ignore_paths": ["../outside"]}, "leaves the model root"),
        ({"ignore_paths": ["/abs"]}, "absolute"),
        ({"ignore_paths": ["."]}, "model root itself"),
        ({"ignore_paths": ["a\x00b"]}, "NUL"),
        ({"compression": "zstd"}, "unknown setting"),
        ([], "not a JSON object"),
    ],
)
def test_parse_serialization_refuses_what_it_cannot_honour(serialization, message):
    with pytest.raises(InputError, match=message):
        parse_serialization(serialization)


def test_parse_serialization_bounds_ignore_paths():
    with pytest.raises(InputError, match="more than the limit"):
        parse_serialization({"ignore_paths": ["a"] * 11}, limits=HashingLimits(max_ignore_paths=10))
    with pytest.raises(InputError, match="not a path"):
        parse_serialization({"ignore_paths": ["a" * 5000]})


_json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_json_values = st.recursive(
    _json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_near_valid_serialization = st.fixed_dictionaries(
    {},
    optional={
        "method": st.sampled_from(["files", "shards", "x", ""]) | _json_values,
        "hash_type": st.sampled_from(["sha256", "blake2b", "blake3", "SHA256", "md5"]) | _json_values,
        "shard_size": st.integers(-5, 2**64) | st.floats(allow_nan=True) | _json_values,
        "allow_symlinks": st.booleans() | _json_values,
        "ignore_paths": st.lists(st.text(max_size=12) | _json_values, max_size=5) | _json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_json_values, _near_valid_serialization, st.dictionaries(st.text(), _json_values)))
def test_parse_serialization_never_fails_uncontrolled(value):
    try:
        parsed = parse_serialization(value)
    except InputError as error:
        assert "\n" not in str(error) and len(str(error)) < 400
        return
    assert parsed.method in ("files", "shards") and parsed.hash_type in ALGORITHMS
    # What we accept we can write back, and it means the same.
    assert parse_serialization(serialization_dict(parsed)) == parsed


# --- resources and the subject digest ---------------------------------------------------------------------


def _resource(name: str, data: bytes, algorithm: str = "sha256") -> dict[str, str]:
    return {"name": name, "algorithm": algorithm, "digest": hashlib.sha256(data).hexdigest()}


def test_parse_resources_accepts_both_shard_algorithm_spellings():
    s = HashSettings(method="shards", shard_size=8)
    parsed = parse_resources(
        [
            _resource("a:0:8", b"1", "sha256-sharded-8"),
            _resource("dir/b:c:0:3", b"2", "sha256"),
            {**_resource("x:8:9", b"3", "sha256-sharded-8"), "annotations": {"extra": "allowed"}},
        ],
        s,
    )
    assert [r.name for r in parsed] == ["a:0:8", "dir/b:c:0:3", "x:8:9"]


@pytest.mark.parametrize(
    ("resources", "method", "message"),
    [
        ({"name": "a"}, "files", "not a list"),
        (["a"], "files", "not a JSON object"),
        ([{"algorithm": "sha256", "digest": "00" * 32}], "files", "no usable name"),
        ([_resource("a", b"1", "blake2b")], "files", "uses algorithm 'blake2b'"),
        ([_resource("a", b"1", "sha256-sharded-8")], "files", "uses algorithm"),
        ([{"name": "a", "algorithm": "sha256", "digest": "AB" * 32}], "files", "lowercase hex"),
        ([{"name": "a", "algorithm": "sha256", "digest": "ab" * 31}], "files", "lowercase hex"),
        ([_resource("a", b"1"), _resource("a", b"2")], "files", "listed twice"),
        ([_resource("../etc/passwd", b"1")], "files", "not a relative path"),
        ([_resource("/abs", b"1")], "files", "not a relative path"),
        ([_resource("a//b", b"1")], "files", "not a relative path"),
        ([_resource("a", b"1", "sha256-sharded-8")], "shards", "not named 'path:start:end'"),
        ([_resource("a:8:0", b"1", "sha256-sharded-8")], "shards", "byte range"),
        ([_resource("a:0:9", b"1", "sha256-sharded-8")], "shards", "byte range"),
        ([_resource("a:+0:8", b"1", "sha256-sharded-8")], "shards", "not named"),
        ([_resource("a:0:8", b"1", "sha256-sharded-16")], "shards", "uses algorithm"),
    ],
)
def test_parse_resources_refuses_corrupted_lists(resources, method, message):
    s = HashSettings(method=method, shard_size=8 if method == "shards" else None)
    with pytest.raises(InputError, match=message):
        parse_resources(resources, s)


def test_parse_resources_is_bounded():
    with pytest.raises(InputError, match="more than the limit of 2"):
        parse_resources(
            [_resource(f"f{i}", b"") for i in range(3)], HashSettings(), limits=HashingLimits(max_resources=2)
        )


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        _json_values,
        st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "name": st.text(max_size=20) | _json_values,
                    "algorithm": st.sampled_from(["sha256", "sha256-sharded-8", "blake3"]) | _json_values,
                    "digest": st.sampled_from(["00" * 32, "ab" * 64, "zz"]) | _json_values,
                },
            ),
            max_size=5,
        ),
    ),
    st.sampled_from([HashSettings(), HashSettings(method="shards", shard_size=8)]),
)
def test_parse_resources_never_fails_uncontrolled(value, s):
    try:
        parsed = parse_resources(value, s)
    except InputError:
        return
    assert len({r.name for r in parsed}) == len(parsed)
    subject_digest(parsed, method=s.method, order="listed")


def test_subject_digest_order_and_errors():
    a = ResourceDigest("b", "sha256", hashlib.sha256(b"b").hexdigest())
    b = ResourceDigest("a/z", "sha256", hashlib.sha256(b"a").hexdigest())
    canonical = hashlib.sha256(bytes.fromhex(b.digest) + bytes.fromhex(a.digest)).hexdigest()
    assert subject_digest([a, b], method="files") == canonical
    assert subject_digest([a, b], method="files", order="listed") != canonical
    assert subject_digest([], method="files") == hashlib.sha256(b"").hexdigest()
    with pytest.raises(InputError, match="not hexadecimal"):
        subject_digest([ResourceDigest("a", "sha256", "zz")], method="files")


def test_shard_names_and_sort_keys():
    assert split_shard_name("dir/a:b.bin:0:10") == ("dir/a:b.bin", 0, 10)
    assert split_shard_name("a:1") is None and split_shard_name(":0:1") is None
    assert split_shard_name("a:-1:2") is None and split_shard_name("a:1_0:20") is None
    keys = sorted(
        ["a.bin:0:8", "a/b:16:24", "a/b:8:16", "a/b:100:108"], key=lambda n: resource_sort_key(n, "shards")
    )
    assert keys == ["a/b:8:16", "a/b:16:24", "a/b:100:108", "a.bin:0:8"]


@needs_oms
@pytest.mark.parametrize(
    "vector", sorted((OMS / "test-vectors" / "valid").glob("*.bundle.json")) if OMS.is_dir() else []
)
def test_oms_test_vectors_subject_digest(vector):
    bundle = json.loads(vector.read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    predicate = statement["predicate"]
    s = parse_serialization(predicate["serialization"])
    resources = parse_resources(predicate["resources"], s)
    expected = statement["subject"][0]["digest"]["sha256"]
    assert subject_digest(resources, method=s.method, order="listed") == expected
    assert subject_digest(resources, method=s.method) == expected  # the vectors list them in canonical order
    assert ".git" in s.ignore_paths and not s.allow_symlinks


@needs_oms
def test_oms_vector_resources_match_files_we_rebuild(tmp_path):
    # The vectors ship no model files; rebuild the model whose digests a vector lists when we can: here we
    # check that an edited digest no longer matches the subject (what verification calls an edited payload).
    statement = json.loads(
        base64.b64decode(
            json.loads((OMS / "test-vectors" / "valid" / "key.bundle.json").read_text())["dsseEnvelope"][
                "payload"
            ]
        )
    )
    s = parse_serialization(statement["predicate"]["serialization"])
    resources = list(parse_resources(statement["predicate"]["resources"], s))
    resources[0] = ResourceDigest(resources[0].name, resources[0].algorithm, "0" * 64)
    assert (
        subject_digest(resources, method=s.method, order="listed")
        != statement["subject"][0]["digest"]["sha256"]
    )


# --- comparing manifests: every difference kind -----------------------------------------------------------


def _signed(
    tmp_path: Path, files: dict[str, bytes], s: HashSettings = HashSettings()
) -> tuple[Path, Manifest]:
    root = _write(tmp_path / "model", files)
    return root, hash_model(root, s)


def _differences(root: Path, signed: Manifest) -> tuple[Difference, ...]:
    snapshot = inspect_model(root, signed.settings)
    return compare_manifests(signed, snapshot.manifest, symlinks=snapshot.symlinks)


BASE = {"a.bin": b"alpha", "b.bin": b"beta", "c/d.bin": b"delta", "e.txt": b"echo"}


def test_unchanged_model_has_no_difference(tmp_path):
    root, signed = _signed(tmp_path, BASE)
    assert _differences(root, signed) == ()


def test_modified_added_removed(tmp_path):
    root, signed = _signed(tmp_path, BASE)
    (root / "a.bin").write_bytes(b"ALPHA")
    (root / "new.bin").write_bytes(b"new")
    (root / "e.txt").unlink()
    assert _differences(root, signed) == (
        Difference("modified", "a.bin", "content differs from the signed digest"),
        Difference("removed", "e.txt", "signed but missing"),
        Difference("added", "new.bin", "not in the signature"),
    )


def test_renamed_and_moved(tmp_path):
    root, signed = _signed(tmp_path, BASE)
    (root / "a.bin").rename(root / "a2.bin")
    (root / "c" / "d.bin").rename(root / "d.bin")
    assert _differences(root, signed) == (
        Difference("renamed", "a2.bin", "renamed from a.bin"),
        Difference("renamed", "d.bin", "renamed from c/d.bin"),
    )


def test_swapped_contents_name_both_files(tmp_path):
    root, signed = _signed(tmp_path, BASE)
    (root / "a.bin").write_bytes(b"beta")
    (root / "b.bin").write_bytes(b"alpha")
    assert _differences(root, signed) == (
        Difference("swapped", "a.bin", "content of b.bin"),
        Difference("swapped", "b.bin", "content of a.bin"),
    )


def test_content_copied_from_another_signed_file_is_named(tmp_path):
    root, signed = _signed(tmp_path, BASE)
    (root / "e.txt").write_bytes(b"alpha")
    assert _differences(root, signed) == (
        Difference("modified", "e.txt", "now holds the signed content of a.bin"),
    )


def test_three_way_rotation_is_three_modifications(tmp_path):
    root, signed = _signed(tmp_path, BASE)
    (root / "a.bin").write_bytes(b"beta")
    (root / "b.bin").write_bytes(b"echo")
    (root / "e.txt").write_bytes(b"alpha")
    assert [(d.kind, d.path) for d in _differences(root, signed)] == [
        ("modified", "a.bin"),
        ("modified", "b.bin"),
        ("modified", "e.txt"),
    ]


@needs_symlinks
def test_added_symlink_and_symlink_replacing_a_file(tmp_path):
    root, signed = _signed(tmp_path, BASE)
    os.symlink("a.bin", root / "alias.bin")
    (root / "e.txt").unlink()
    os.symlink("/etc/hostname", root / "e.txt")
    differences = _differences(root, signed)
    assert differences == (
        Difference("symlink", "alias.bin", "symbolic link, not allowed by the signature"),
        Difference("symlink", "e.txt", "symbolic link in place of a signed file"),
    )


@needs_symlinks
def test_symlinked_folder_replacing_signed_files(tmp_path):
    root, signed = _signed(tmp_path, BASE)
    (root / "c" / "d.bin").unlink()
    (root / "c").rmdir()
    os.symlink(tmp_path, root / "c")
    assert _differences(root, signed) == (
        Difference("symlink", "c", "symbolic link in place of 1 signed file"),
    )


@pytest.mark.parametrize("hash_type", ALGORITHMS)
def test_shards_are_compared_per_file(tmp_path, hash_type):
    files = {"big.bin": bytes(range(256)) * 4, "small.bin": b"s" * 10, "other.bin": b"o" * 10}
    s = HashSettings(method="shards", hash_type=hash_type, shard_size=256)
    root, signed = _signed(tmp_path, files, s)
    data = bytearray(files["big.bin"])
    data[300] ^= 1
    data[900] ^= 1
    (root / "big.bin").write_bytes(bytes(data))
    (root / "small.bin").write_bytes(b"o" * 10)
    (root / "other.bin").write_bytes(b"s" * 10)
    assert _differences(root, signed) == (
        Difference("modified", "big.bin", "byte range(s) 256:512, 768:1024 differ"),
        Difference("swapped", "other.bin", "content of small.bin"),
        Difference("swapped", "small.bin", "content of other.bin"),
    )
    (root / "big.bin").write_bytes(bytes(data) + b"tail")
    (root / "other.bin").write_bytes(files["other.bin"])
    (root / "small.bin").unlink()
    (root / "sub").mkdir()
    (root / "sub" / "moved.bin").write_bytes(files["small.bin"])
    assert _differences(root, signed) == (
        Difference("modified", "big.bin", "size changed from 1024 to 1028 bytes"),
        Difference("renamed", "sub/moved.bin", "renamed from small.bin"),
    )


def test_identical_files_pair_deterministically(tmp_path):
    root, signed = _signed(tmp_path, {"x1": b"same", "x2": b"same", "keep": b"k"})
    (root / "x1").rename(root / "y1")
    (root / "x2").rename(root / "y2")
    (root / "extra").write_bytes(b"same")
    # Three new names share the content of two missing ones: new names take the missing ones in path order.
    expected = (
        Difference("renamed", "extra", "renamed from x1"),
        Difference("renamed", "y1", "renamed from x2"),
        Difference("added", "y2", "not in the signature"),
    )
    assert _differences(root, signed) == expected
    assert _differences(root, signed) == expected


def test_compare_needs_the_same_method(tmp_path):
    root, signed = _signed(tmp_path, BASE)
    other = hash_model(root, HashSettings(method="shards", shard_size=4))
    with pytest.raises(UsageError, match="signature's own settings"):
        compare_manifests(signed, other)


def test_errors_are_mlwarden_errors_with_one_line(tmp_path):
    for call in (
        lambda: hash_model(tmp_path / "missing", HashSettings()),
        lambda: parse_serialization({"hash_type": "x" * 500}),
    ):
        with pytest.raises(MlwardenError) as caught:
            call()
        assert "\n" not in str(caught.value) and len(str(caught.value)) < 300
