"""Pickle samples for the pickle analyzer's tests, generated here (never committed as binaries).

Malicious samples are written opcode by opcode (or with a class whose __reduce__ returns a harmless
``os.system("true")``) and are never loaded. Benign samples are pickle.dumps / joblib.dump of plain data.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import io
import os
import pickle
import struct
import uuid

import numpy as np

# --- opcode helpers (protocol 0-5 encodings, Lib/pickle.py) ----------------------------------------------------


def proto(n: int) -> bytes:
    return b"\x80" + bytes([n])


def short_binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def binunicode(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def binunicode8(text: str) -> bytes:
    raw = text.encode()
    return b"\x8d" + struct.pack("<Q", len(raw)) + raw


def string0(text: str) -> bytes:
    return b"S'" + text.encode() + b"'\n"


def short_binstring(text: str) -> bytes:
    raw = text.encode()
    return b"U" + bytes([len(raw)]) + raw


def binbytes(raw: bytes) -> bytes:
    return b"B" + struct.pack("<I", len(raw)) + raw


def short_binbytes(raw: bytes) -> bytes:
    return b"C" + bytes([len(raw)]) + raw


def global0(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def binput(index: int) -> bytes:
    return b"q" + bytes([index])


def binget(index: int) -> bytes:
    return b"h" + bytes([index])


MARK, TUPLE, TUPLE1, TUPLE2, REDUCE, BUILD, STOP = b"(", b"t", b"\x85", b"\x86", b"R", b"b", b"."
STACK_GLOBAL, MEMOIZE, EMPTY_TUPLE, EMPTY_DICT, NEWOBJ, NEWOBJ_EX = b"\x93", b"\x94", b")", b"}", b"\x81", b"\x92"
POP, BINPERSID, SETITEMS = b"0", b"Q", b"u"


class SystemCall:
    """Pickles as os.system("true") (harmless even if someone loaded it)."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("true",))


# --- benign ------------------------------------------------------------------------------------------------------


def benign_values() -> dict[str, object]:
    return {
        "dict": {"a": 1, "b": [1, 2.5, "x", None, True], "c": (1, 2), "nested": {"k": {"deep": [b"bytes"]}}},
        "ordered": collections.OrderedDict(z=1, a=2),
        "counter": collections.Counter("hello"),
        "defaultdict": collections.defaultdict(list, {"a": [1]}),
        "deque": collections.deque([1, 2, 3]),
        "sets": [{1, 2, 3}, frozenset({"a"})],
        "scalars": [2**70, -(2**40), 3.25, complex(1, 2), range(5), slice(1, 9, 2), b"\x00\x01", bytearray(b"ab")],
        "dates": [datetime.datetime(2024, 1, 2, 3, 4, 5), datetime.date(2020, 1, 1), datetime.timedelta(3)],
        "exact": [decimal.Decimal("1.5"), fractions.Fraction(1, 3), uuid.UUID(int=7)],
        "text": "an ordinary sentence ending with a period.",
        "numpy": [np.arange(12, dtype=np.int32).reshape(3, 4), np.linspace(0, 1, 5), np.array(3.0),
                  np.float64(2.5), np.int64(7), np.array(["ab", "c"]), np.asfortranarray(np.ones((2, 3))),
                  np.zeros(4, dtype=[("x", "f4"), ("y", "i8")])],
        "random": [np.random.RandomState(0), np.random.default_rng(0)],
        "none_type": type(None),
    }


def benign_pickles() -> list[tuple[str, bytes]]:
    """pickle.dumps of plain data at every protocol, one sample per protocol plus numpy-only ones."""
    samples = []
    values = benign_values()
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        samples.append((f"values-p{protocol}", pickle.dumps(values, protocol=protocol)))
        samples.append((f"numpy-p{protocol}", pickle.dumps(np.arange(1000.0).reshape(10, 100), protocol=protocol)))
    # Several pickles written one after another to the same file.
    stream = io.BytesIO()
    for item in ({"a": 1}, [1, 2, 3], "three"):
        pickle.dump(item, stream, protocol=4)
    samples.append(("concatenated", stream.getvalue()))
    return samples


# --- malicious ---------------------------------------------------------------------------------------------------


def global_os_system_p0() -> bytes:
    """Protocol 0 text: os.system('true') via GLOBAL + REDUCE."""
    return b"cos\nsystem\n(S'true'\ntR."


def stack_global_from_memo() -> bytes:
    """Module and name are memoized (BINPUT), popped, and fetched back with BINGET for STACK_GLOBAL."""
    return (proto(4) + short_binunicode("os") + binput(0) + short_binunicode("system") + binput(1) + POP + POP
            + binget(0) + binget(1) + STACK_GLOBAL + short_binunicode("true") + TUPLE1 + REDUCE + STOP)


def stack_global_binunicode8_and_string() -> bytes:
    """Module as BINUNICODE8, name as a protocol-0 STRING, mixed in one protocol-4 stream."""
    return (proto(4) + binunicode8("subprocess") + string0("check_output") + STACK_GLOBAL
            + MARK + short_binunicode("true") + TUPLE + TUPLE1 + REDUCE + STOP)


def stack_global_dynamic() -> bytes:
    """STACK_GLOBAL whose name is the result of a call: cannot be known statically."""
    return (proto(4) + short_binunicode("os") + global0("builtins", "str") + short_binunicode("system") + TUPLE1
            + REDUCE + STACK_GLOBAL + short_binunicode("true") + TUPLE1 + REDUCE + STOP)


def inst_form() -> bytes:
    return b"(S'true'\nios\nsystem\n."


def obj_form() -> bytes:
    return b"(cos\nsystem\nS'true'\no."


def newobj_ex_form() -> bytes:
    return (proto(4) + short_binunicode("subprocess") + short_binunicode("Popen") + STACK_GLOBAL
            + short_binunicode("true") + TUPLE1 + EMPTY_DICT + NEWOBJ_EX + STOP)


def getattr_import_chain() -> bytes:
    """builtins.getattr(builtins.__import__('os'), 'system')('true')."""
    return (b"cbuiltins\ngetattr\n(cbuiltins\n__import__\n(S'os'\ntRS'system'\ntR(S'true'\ntR.")


def payload_in_second_pickle() -> bytes:
    return pickle.dumps({"weights": [1.0, 2.0]}, protocol=4) + pickle.dumps(SystemCall(), protocol=2)


def ext1_opcode() -> bytes:
    return proto(2) + b"\x82\x01" + EMPTY_TUPLE + REDUCE + STOP


def binpersid_generic() -> bytes:
    return proto(2) + binunicode("some-object-id") + BINPERSID + STOP


def torch_storage_pid(storage_class: str = "FloatStorage") -> bytes:
    """The shape of a torch.save data.pkl tensor: _rebuild_tensor_v2 over a ('storage', ...) persistent id."""
    pid = (MARK + binunicode("storage") + global0("torch", storage_class) + binunicode("0") + binunicode("cpu")
           + b"K\x06" + TUPLE)
    return (proto(2) + global0("torch._utils", "_rebuild_tensor_v2") + MARK + pid + BINPERSID + b"K\x00"
            + b"K\x02K\x03" + TUPLE2 + b"K\x03K\x01" + TUPLE2 + b"\x89" + global0("collections", "OrderedDict")
            + EMPTY_TUPLE + REDUCE + TUPLE + REDUCE + STOP)


def torch_module_pid() -> bytes:
    """Legacy torch.save of a whole module: ('module', cls, source_file, source) loads as the class itself."""
    pid = (MARK + binunicode("module") + global0("torch.nn.modules.linear", "Linear") + b"NN" + TUPLE)
    return proto(2) + pid + BINPERSID + EMPTY_TUPLE + NEWOBJ + EMPTY_DICT + BUILD + STOP


def nested_pickle_in_bytes() -> bytes:
    inner = pickle.dumps(SystemCall(), protocol=3)
    return proto(3) + b"}" + short_binunicode("blob") + binbytes(inner) + b"s" + STOP


def nested_pickle_in_protocol2_bytes() -> bytes:
    """Protocol 2 writes bytes as _codecs.encode(<latin-1 text>, 'latin1'): the inner pickle hides in text."""
    return pickle.dumps({"blob": pickle.dumps(SystemCall(), protocol=2)}, protocol=2)


def truncated_after_global() -> tuple[bytes, int]:
    """A malicious pickle cut inside its argument tuple; returns (data, offset of the cut)."""
    full = global_os_system_p0()
    cut = full.index(b"S'true'") + 3
    return full[:cut], cut


def unknown_callable() -> bytes:
    return b"cmymodule\nhelper\n(S'x'\ntR."


def partial_gadget() -> bytes:
    """functools.partial(os.system, 'true')()."""
    return b"cfunctools\npartial\n(cos\nsystem\nS'true'\ntR)R."


def attrgetter_gadget() -> bytes:
    """operator.attrgetter('system')(builtins.__import__('os'))('true')."""
    return b"coperator\nattrgetter\n(S'system'\ntR(cbuiltins\n__import__\n(S'os'\ntRtR(S'true'\ntR."


def torch_load_from_bytes() -> bytes:
    return proto(2) + global0("torch.storage", "_load_from_bytes") + MARK + short_binbytes(b"PK\x03\x04") \
        + TUPLE + REDUCE + STOP


def python2_builtin_eval() -> bytes:
    return b"c__builtin__\neval\n(S'1+1'\ntR."


def dunder_qualname() -> bytes:
    """builtins + '__dict__.get' through STACK_GLOBAL's dotted qualname (protocol 4)."""
    return (proto(4) + short_binunicode("builtins") + short_binunicode("__dict__.get") + STACK_GLOBAL
            + short_binunicode("eval") + TUPLE1 + REDUCE + STOP)


def reexported_module_qualname() -> bytes:
    """A dotted qualname that walks into os through a re-export: torch + 'os.system'."""
    return (proto(4) + short_binunicode("torch") + short_binunicode("os.system") + STACK_GLOBAL
            + short_binunicode("true") + TUPLE1 + REDUCE + STOP)


def call_of_call_result() -> bytes:
    """REDUCE applied to the result of an allowed call (not an import): MW-PKL-007 only."""
    return b"ccollections\nOrderedDict\n)R)R."


def build_on_import() -> bytes:
    """BUILD sets attributes on an imported class itself (class attribute overwrite)."""
    return b"ccollections\nOrderedDict\n(N}S'x'\nI1\nstb."


def type_three_arguments() -> bytes:
    """builtins.type(name, bases, namespace) creates a class."""
    return b"c__builtin__\ntype\n(S'X'\n)}tR."


def trailing_garbage() -> bytes:
    return pickle.dumps([1, 2], protocol=2) + b"\x00\x01garbage that is not a pickle\xff"


# --- joblib ------------------------------------------------------------------------------------------------------


def joblib_arrays() -> dict[str, object]:
    """Arrays of every layout joblib's NumpyPickler writes inline."""
    return {
        "float": np.linspace(0.0, 1.0, 1001).reshape(7, 143),
        "int": np.arange(-50, 50, dtype=np.int16),
        "object": np.array([1, "two", None, {"k": 3}], dtype=object),
        "zero_d": np.array(42.0),
        "large": np.arange(200_000, dtype=np.float64),  # 1.6 MB
        "fortran": np.asfortranarray(np.arange(24, dtype=np.int64).reshape(4, 6)),
        "unicode": np.array(["alpha", "b"]),
        "bytes": np.array([b"xy", b"z"]),
        "structured": np.zeros(3, dtype=[("a", "f4"), ("b", "i8")]),
        "structured_object": np.array([(1.0, "x")], dtype=[("a", "f8"), ("b", "O")]),
        "empty": np.zeros((3, 0)),
        "datetime": np.array(["2024-01-01"], dtype="M8[D]"),
        "bool": np.array([True, False]),
        "complex": np.array([1 + 2j]),
    }


def joblib_dump(value: object, *, compress: object = 0, protocol: int | None = None) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(value, buffer, compress=compress, protocol=protocol)
    return buffer.getvalue()


class ModelWithPayload:
    """A fake model whose __dict__ holds arrays first and then an object with a malicious __reduce__, so the
    payload is pickled after the array bytes joblib writes inline."""

    def __init__(self) -> None:
        self.coef = np.arange(64, dtype=np.float64)
        self.intercept = np.zeros(3)
        self.hook = SystemCall()
