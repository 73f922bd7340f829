"""Recognise pickles that carry no magic bytes (protocols 0 and 1) from the head of a file or a string value.

Protocol 2+ pickles start with ``\\x80 <protocol>``; protocol 0/1 pickles start with an ordinary opcode, often a
printable character (``cos\\nsystem\\n...``, ``(lp0\\n...``, ``}q\\x00...``). The probe walks the opcodes of the
head with a stack-effect check (an opcode may only pop what earlier opcodes pushed, memo reads need earlier
writes, text arguments must parse as CPython's loader parses them) and accepts the head when it reaches STOP with
exactly one value, or when a long run of opcodes is valid up to the end of the head.

It is called on every file nothing else identified, so it is cheap and fails fast on prose, JSON, CSV, source
code and random binary. It never raises and never unpickles anything.
"""

from __future__ import annotations

import re

from mlwarden.artifacts.pickle.opcodes import (
    BY_CODE,
    HIGHEST_PROTOCOL,
    PickleFormatError,
    decode_argument,
    opcode_extent,
)

# A head that never reaches STOP must show at least this many valid opcodes to count as a pickle, or an import
# (GLOBAL/INST with dotted-identifier names) followed by at least one more valid opcode: a protocol-0 pickle cut
# after its REDUCE still runs that REDUCE in pickle.load before failing, so it must not pass as text.
MIN_OPCODE_RUN = 12
# ...and the run must mix this many different opcodes (a text of "NNNN..." or "((((..." is all valid opcodes).
MIN_DISTINCT_OPCODES = 4
# Opcodes a pickle must have when more data follows its STOP.
MIN_OPCODES_BEFORE_DATA = 4
# Work bound: opcodes walked before a still-valid stream is accepted.
MAX_PROBE_OPCODES = 4096

# Module and name lines of GLOBAL/INST: dotted Python identifiers (CPython's find_class would fail otherwise).
_DOTTED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_<>][A-Za-z0-9_<>]*)*")

_GLOBAL, _INST, _PROTO, _FRAME, _STOP, _POP = 0x63, 0x69, 0x80, 0x95, 0x2E, 0x30
_PUT_CODES = frozenset({0x70, 0x71, 0x72})  # PUT, BINPUT, LONG_BINPUT
_GET_CODES = frozenset({0x67, 0x68, 0x6A})  # GET, BINGET, LONG_BINGET
_MEMOIZE = 0x94


def looks_like_pickle(head: bytes) -> bool:
    """True if ``head`` (the first bytes of a file) is plausibly a pickle stream of any protocol."""
    return probe_pickle(head, require_stop=False)


# Shortest string values taken for nested pickles: "\x80\x02N." is a complete protocol-2 pickle; without the
# header, short strings such as "N)0." parse as pickles by coincidence, and an import alone needs more bytes.
MIN_NESTED_WITH_HEADER = 4
MIN_NESTED_WITHOUT_HEADER = 8


def looks_like_nested_pickle(value: bytes) -> bool:
    """True if a complete string/bytes value is a pickle: it must parse up to a STOP."""
    if len(value) < MIN_NESTED_WITH_HEADER:
        return False
    if value[0] == _PROTO:
        if not 2 <= value[1] <= HIGHEST_PROTOCOL:
            return False
    elif value[-1] != _STOP or len(value) < MIN_NESTED_WITHOUT_HEADER:
        # A protocol 0/1 pickle stored whole in a string ends with its STOP.
        return False
    return probe_pickle(value, require_stop=True)


def probe_pickle(head: bytes, *, require_stop: bool) -> bool:
    """Walk ``head``'s opcodes with a stack-effect check; see the module docstring. Never raises."""
    try:
        return _walk(head, require_stop)
    except (PickleFormatError, ValueError, IndexError, UnicodeDecodeError, OverflowError):
        return False


def _walk(head: bytes, require_stop: bool) -> bool:
    end = len(head)
    if end == 0:
        return False
    pos = 0
    depth = 0
    fence = 0
    marks: list[int] = []
    memo_keys: set[int] = set()
    proto = 0
    ops = 0
    import_at = -1  # opcode count at the first import seen
    distinct: set[int] = set()
    while pos < end:
        code = head[pos]
        op = BY_CODE[code]
        if op is None:
            return False
        try:
            stop = opcode_extent(head, pos, end)
        except PickleFormatError as exc:
            if exc.truncated and not require_stop:
                return _enough(ops, import_at, len(distinct))
            return False
        if op.arg != "none":
            arg = decode_argument(head, op, pos, stop)
        else:
            arg = None
        if code == _PROTO:
            # Only as the first opcode and for a protocol CPython knows.
            if pos != 0 or not isinstance(arg, int) or arg > HIGHEST_PROTOCOL:
                return False
            proto = arg
        elif code == _FRAME and proto < 4:
            return False
        elif code in (_GLOBAL, _INST):
            assert isinstance(arg, tuple)
            if not (_DOTTED_NAME.fullmatch(arg[0]) and _DOTTED_NAME.fullmatch(arg[1])):
                return False
            if import_at < 0:
                import_at = ops
        elif code in _GET_CODES:
            if arg not in memo_keys:
                return False
        elif code in _PUT_CODES:
            assert isinstance(arg, int)
            if arg < 0:
                return False
            memo_keys.add(arg)
        elif code == _MEMOIZE:
            memo_keys.add(len(memo_keys))

        # Stack effect, counted above the current mark (the fence), as CPython's C unpickler checks it.
        if op.mark == "push":
            marks.append(depth)
            fence = depth
        elif op.mark == "pop":
            if not marks:
                return False
            mark_depth = marks.pop()
            if depth - mark_depth < op.min_slice or mark_depth - op.needs < (marks[-1] if marks else 0):
                return False
            depth = mark_depth - op.pops + op.pushes
            fence = marks[-1] if marks else 0
        elif code == _POP and marks and marks[-1] == depth:
            marks.pop()
            fence = marks[-1] if marks else 0
        else:
            if depth - fence < op.needs:
                return False
            depth += op.pushes - op.pops
        ops += 1
        distinct.add(code)
        pos = stop
        if code == _STOP:
            # A tiny "pickle" followed by more data is a coincidence in text or binary ('C' + length byte + text
            # that happens to end in '.'); real payloads need an import, arguments and a call before STOP.
            return depth == 0 and not marks and ops >= 2 and (stop == end or ops >= MIN_OPCODES_BEFORE_DATA)
        if ops >= MAX_PROBE_OPCODES:
            return len(distinct) >= MIN_DISTINCT_OPCODES
    return not require_stop and _enough(ops, import_at, len(distinct))


def _enough(ops: int, import_at: int, distinct: int) -> bool:
    return (ops >= MIN_OPCODE_RUN and distinct >= MIN_DISTINCT_OPCODES) or (0 <= import_at < ops - 1)
