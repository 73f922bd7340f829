"""Placeholder probe, replaced by the pickle analyzer's real one."""

from __future__ import annotations


def looks_like_pickle(head: bytes) -> bool:
    return False
