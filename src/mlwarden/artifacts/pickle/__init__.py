"""Static pickle analysis: never unpickles anything.

``analyze_pickle`` walks an in-memory stream, ``scan_pickle_bytes`` is the helper other scanners call (it applies
the size limit), ``PickleScanner`` is the registered scanner for the "pickle" format, ``looks_like_pickle`` the
content probe for pickles without magic bytes.
"""

from mlwarden.artifacts.pickle.analyzer import ImportedCallable, PickleSummary, analyze_pickle
from mlwarden.artifacts.pickle.probe import looks_like_pickle
from mlwarden.artifacts.pickle.scanner import PickleScanner, scan_pickle_bytes, scan_pickle_stream

__all__ = [
    "ImportedCallable",
    "PickleScanner",
    "PickleSummary",
    "analyze_pickle",
    "looks_like_pickle",
    "scan_pickle_bytes",
    "scan_pickle_stream",
]
