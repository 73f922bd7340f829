"""The top-level command: bare invocations print their help exactly once and exit 0."""

import pytest

from mlwarden.cli.main import run


@pytest.mark.parametrize("argv", [[], ["db"]])
def test_bare_command_prints_help_once(argv, capsys):
    with pytest.raises(SystemExit) as info:
        run(argv)
    out, err = capsys.readouterr()
    assert info.value.code == 0
    assert (out + err).count("Usage:") == 1
