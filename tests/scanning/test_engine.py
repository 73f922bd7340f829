import os

import pytest

from mlwarden.core.errors import InputError
from mlwarden.core.policy import load_config
from mlwarden.demo import protocol0_payload
from mlwarden.scanning import engine
from mlwarden.scanning.engine import collect_files, scan_paths


def _tree(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "evil.pkl").write_bytes(protocol0_payload())
    (tmp_path / "models" / "notes.txt").write_text("hello\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "evil.pkl").write_bytes(protocol0_payload())
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "evil.pkl").write_bytes(protocol0_payload())
    return tmp_path


def test_walk_skips_git_and_configured_paths_and_reports_paths_under_the_root(tmp_path):
    root = _tree(tmp_path)
    tasks = collect_files([str(root)], skip=["data/**"])
    assert sorted(os.path.relpath(t.path, root) for t in tasks) == ["models/evil.pkl", "models/notes.txt"]
    assert all(t.display.startswith(str(root).replace(os.sep, "/")) for t in tasks)


def test_relative_root_gives_relative_display_paths(tmp_path, monkeypatch):
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    tasks = collect_files(["models"])
    assert sorted(t.display for t in tasks) == ["models/evil.pkl", "models/notes.txt"]


def test_fifo_and_symlinks_are_skipped_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "target.pkl").write_bytes(protocol0_payload())
    os.symlink(tmp_path / "target.pkl", tmp_path / "link.pkl")
    assert [os.path.basename(t.path) for t in collect_files([str(tmp_path)])] == ["target.pkl"]


def test_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        scan_paths([tmp_path / "nope"])
    with pytest.raises(InputError, match="no path"):
        scan_paths([])


def test_unreadable_file_becomes_a_finding_not_a_crash(tmp_path, monkeypatch):
    (tmp_path / "a.pkl").write_bytes(protocol0_payload())

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(engine, "open", refuse, raising=False)
    report = scan_paths([tmp_path], jobs=1)
    assert [f.rule_id for f in report.findings] == ["MW-SCAN-001"]
    assert "Permission denied" in report.findings[0].message


def test_scanner_crash_fails_closed_for_that_file_only(tmp_path, monkeypatch):
    class Broken:
        name = "broken"

        def scan(self, stream, ctx):
            raise ValueError("bug")

    (tmp_path / "a.npy").write_bytes(b"\x93NUMPY\x01\x00" + b"\x00" * 20)
    (tmp_path / "b.pkl").write_bytes(protocol0_payload())
    from mlwarden.scanning import dispatch

    original = dispatch.scanner_for
    monkeypatch.setattr(dispatch, "scanner_for", lambda fmt: Broken() if fmt == "npy" else original(fmt))
    report = scan_paths([tmp_path], jobs=1)
    by_path = {f.location.path.rsplit("/", 1)[-1]: f.rule_id for f in report.findings if f.rule_id == "MW-SCAN-002"}
    assert by_path == {"a.npy": "MW-SCAN-002"}


def test_parallel_and_serial_scans_agree(tmp_path):
    for i in range(12):
        (tmp_path / f"m{i}.pkl").write_bytes(protocol0_payload() if i % 3 == 0 else b"\x80\x04N.")
    serial = scan_paths([tmp_path], jobs=1)
    parallel = scan_paths([tmp_path], jobs=2)
    key = lambda r: sorted((f.location.path, f.rule_id) for f in r.findings)  # noqa: E731
    assert key(serial) == key(parallel)
    assert serial.stats.files_seen == parallel.stats.files_seen == 12


def test_config_skip_and_ignore_are_applied(tmp_path):
    root = _tree(tmp_path)
    (root / "mlwarden.toml").write_text(
        'skip = ["data"]\n[[ignore]]\nrule = "MW-PKL-001"\npath = "*evil.pkl"\nreason = "demo fixture"\n')
    report = scan_paths([root], config=load_config(start=root), jobs=1)
    assert report.findings == []
    assert {f.suppressed for f in report.suppressed} == {"ignored: demo fixture"}
