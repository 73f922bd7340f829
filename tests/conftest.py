"""Test-wide settings.

Hypothesis runs derandomized (the same examples on every run) so that CI is deterministic; run with
``HYPOTHESIS_PROFILE=explore`` to let it search new examples locally (and keep any counterexample as a test).
"""

import os

from hypothesis import settings

settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))
