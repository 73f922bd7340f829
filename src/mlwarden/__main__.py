"""``python -m mlwarden``: the same as the ``mlwarden`` command."""

from mlwarden.cli.main import run

run()
