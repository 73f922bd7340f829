"""Which callables a pickle may import: the allow-list, the deny-list and the rules that apply them.

Names are "module.qualname" as the unpickler resolves them (``find_class(module, name)``, where ``name`` may be a
dotted attribute path). Everything here is data with a comment saying where each entry comes from, plus
``classify_callable``, which applies it. The verdict decides the rule: DANGEROUS -> MW-PKL-001, UNKNOWN ->
MW-PKL-002, ALLOWED/TRUSTED -> nothing.

The allow-list is curated: whole frameworks are never allowed (``torch.load``, ``torch.hub``, ``torch.jit`` and
``torch.fx`` run code; ``numpy.load`` and ``joblib.load`` re-enter pickle). This module never imports any of the
modules it names.
"""

from __future__ import annotations

import _compat_pickle
import re
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache


class Verdict(IntEnum):
    ALLOWED = 0
    TRUSTED = 1  # vouched for by the user's `trusted_callables`
    UNKNOWN = 2
    DANGEROUS = 3


# === allow-list =================================================================================================

# PyTorch tensor rebuilding: torch/_weights_only_unpickler.py (`_tensor_rebuild_functions`, `_get_allowed_globals`)
# in torch 2.x, plus rebuild functions that older torch versions wrote (torch/_utils.py history).
_TORCH_REBUILD: tuple[str, ...] = tuple(f"torch._utils.{name}" for name in (
    "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
    "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor", "_rebuild_sparse_csr_tensor",
    "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor",
    "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass", "_rebuild_nested_tensor",
)) + (
    "torch._tensor._rebuild_from_type", "torch._tensor._rebuild_from_type_v2",
    "torch.nn.parameter.Parameter", "torch.nn.parameter.Buffer", "torch.Tensor", "torch.Size", "torch.device",
    "torch.serialization._get_layout",
)

# Storage classes named by checkpoints' persistent ids: `torch._storage_classes` in torch 2.x (legacy typed
# storages and their CUDA variants, found in old GPU checkpoints) and torch.storage's untyped/typed storage.
_STORAGE_KINDS = ("Double", "Float", "Half", "Long", "Int", "Short", "Char", "Byte", "Bool", "BFloat16",
                  "ComplexDouble", "ComplexFloat", "QUInt8", "QInt8", "QInt32", "QUInt4x2", "QUInt2x4")
TORCH_STORAGE_CLASSES: frozenset[str] = frozenset(
    [f"torch.{kind}Storage" for kind in _STORAGE_KINDS]
    + [f"torch.cuda.{kind}Storage" for kind in _STORAGE_KINDS]
    + ["torch.storage.UntypedStorage", "torch.storage.TypedStorage", "torch.UntypedStorage", "torch.TypedStorage"]
)

# Legacy tensor type objects (`torch._tensor_classes`), referenced by name in old checkpoints.
_TORCH_TENSOR_TYPES: tuple[str, ...] = tuple(
    f"torch.{prefix}{kind}Tensor"
    for prefix in ("", "cuda.", "sparse.", "cuda.sparse.")
    for kind in ("Double", "Float", "Half", "Long", "Int", "Short", "Char", "Byte", "Bool", "BFloat16")
)

# dtypes, layouts, memory formats and quantization schemes, pickled as `torch.<name>` globals
# (torch.storage._dtype_to_storage_type_map / _new_dtypes and the qscheme list in _get_allowed_globals).
_TORCH_VALUES: tuple[str, ...] = tuple(f"torch.{name}" for name in (
    "float64", "float32", "float16", "bfloat16", "complex128", "complex64", "complex32", "int64", "int32", "int16",
    "int8", "uint8", "uint16", "uint32", "uint64", "bool", "qint8", "qint32", "quint8", "quint4x2", "quint2x4",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2",
    "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
    "int1", "int2", "int3", "int4", "int5", "int6", "int7",
    "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
    "float", "double", "half", "long", "int", "short", "cfloat", "cdouble",
    "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc", "_mkldnn", "jagged",
    "contiguous_format", "channels_last", "channels_last_3d", "preserve_format",
    "per_tensor_affine", "per_channel_affine", "per_tensor_symmetric", "per_channel_symmetric",
    "per_channel_affine_float_qparams",
))

# Python standard types as CPython's pickle writes them (Lib/pickle.py save_* and the types' __reduce__),
# e.g. bytes at protocol <= 2 become `_codecs.encode(text, "latin1")`, custom classes at protocol 0/1
# `copyreg._reconstructor(cls, object, None)`. `builtins.type` is conditional, see CONDITIONAL_CALLABLES.
_STDLIB: tuple[str, ...] = (
    "builtins.set", "builtins.frozenset", "builtins.slice", "builtins.range", "builtins.complex",
    "builtins.bytearray", "builtins.object", "builtins.bytes", "builtins.str", "builtins.int", "builtins.float",
    "builtins.bool", "builtins.list", "builtins.dict", "builtins.tuple", "builtins.NoneType", "builtins.Ellipsis",
    "builtins.NotImplemented",
    "_codecs.encode", "copyreg._reconstructor",
    "collections.OrderedDict", "collections.Counter", "collections.defaultdict", "collections.deque",
    "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
    "decimal.Decimal", "fractions.Fraction", "uuid.UUID", "uuid.SafeUUID",
    # Pure paths only: they never touch the file system (pathlib.PurePath; Python 3.13 moved them to _local).
    "pathlib.PurePosixPath", "pathlib.PureWindowsPath", "pathlib._local.PurePosixPath",
    "pathlib._local.PureWindowsPath",
    "argparse.Namespace", "types.SimpleNamespace", "re._compile", "typing.Any",
)

# NumPy: ndarray/dtype/scalar __reduce__ (numpy/_core/src/multiarray/methods.c, descriptor.c), numpy 1.x paths
# (numpy.core) and 2.x paths (numpy._core), masked arrays (numpy/ma/core.py), matrix, random generator state
# (numpy/random/_pickle.py and the bit generator classes), StringDType (numpy/_core/_internal.py).
_NUMPY: tuple[str, ...] = (
    "numpy.ndarray", "numpy.dtype", "numpy.matrix", "numpy.matrixlib.defmatrix.matrix", "numpy.memmap",
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
    "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray", "numpy.ma.MaskedArray",
    "numpy._core._internal._convert_to_stringdtype_kwargs", "numpy.dtypes.StringDType",
    "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
    "numpy.random._pickle.__generator_ctor",
    # numpy < 1.17 pickled RandomState through this constructor (numpy/random/__init__.py of that era).
    "numpy.random.__RandomState_ctor", "numpy.random.mtrand.__RandomState_ctor",
    "numpy.random.mtrand.RandomState", "numpy.random._generator.Generator", "numpy.random._mt19937.MT19937",
    "numpy.random._pcg64.PCG64", "numpy.random._pcg64.PCG64DXSM", "numpy.random._philox.Philox",
    "numpy.random._sfc64.SFC64", "numpy.random.bit_generator.SeedSequence",
) + tuple(f"numpy.{name}" for name in (
    # Scalar types stored as classes, e.g. scikit-learn's `dtype=np.float64` estimator parameters.
    "float64", "float32", "float16", "longdouble", "complex64", "complex128", "clongdouble",
    "int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8", "intp", "uintp", "intc", "uintc",
    "bool_", "bool", "object_", "str_", "bytes_", "void", "datetime64", "timedelta64", "number", "integer",
    "floating", "generic",
))

# joblib: the wrapper NumpyPickler writes instead of each array (joblib/numpy_pickle.py), also under the copy
# scikit-learn < 0.23 vendored. joblib's older NDArrayWrapper/ZNDArrayWrapper are NOT listed: they make
# joblib np.load() a file named in the pickle with allow_pickle=True (joblib/numpy_pickle_compat.py).
ARRAY_WRAPPERS: frozenset[str] = frozenset({
    "joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
})

# scipy.sparse containers (scipy/sparse/_*.py, and the pre-1.8 public module paths).
_SCIPY: tuple[str, ...] = tuple(
    f"scipy.sparse.{module}.{kind}_{flavour}"
    for kind in ("csr", "csc", "coo", "lil", "dok", "dia", "bsr")
    for module in (f"_{kind}", kind)
    for flavour in ("matrix", "array")
)

# Gradient boosting libraries: their models pickle as the Booster plus the scikit-learn wrappers
# (xgboost/core.py, xgboost/sklearn.py, lightgbm/basic.py, lightgbm/sklearn.py).
_BOOSTING: tuple[str, ...] = (
    "xgboost.core.Booster", "xgboost.sklearn.XGBModel", "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor", "xgboost.sklearn.XGBRanker", "xgboost.sklearn.XGBRFClassifier",
    "xgboost.sklearn.XGBRFRegressor",
    "lightgbm.basic.Booster", "lightgbm.sklearn.LGBMModel", "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor", "lightgbm.sklearn.LGBMRanker",
)

# scikit-learn reconstructors that are not classes (sklearn/neighbors/_binary_tree.pxi.tp `newObj`,
# sklearn/metrics/_dist_metrics.pyx.tp `newObj`).
_SKLEARN_FUNCTIONS: tuple[str, ...] = (
    "sklearn.neighbors._kd_tree.newObj", "sklearn.neighbors._ball_tree.newObj",
    "sklearn.metrics._dist_metrics.newObj",
)

# Hugging Face training artefacts: `training_args.bin` is torch.save(TrainingArguments) (transformers/
# training_args.py) with the enums it holds (transformers/trainer_utils.py, debug_utils.py); tokenizers objects
# pickle as their JSON text (tokenizers' __getstate__). Config classes are matched by CLASS_PATTERNS.
_HUGGINGFACE: tuple[str, ...] = (
    "transformers.training_args.TrainingArguments", "transformers.training_args_seq2seq.Seq2SeqTrainingArguments",
    "transformers.training_args.OptimizerNames", "transformers.trainer_utils.IntervalStrategy",
    "transformers.trainer_utils.SaveStrategy", "transformers.trainer_utils.EvaluationStrategy",
    "transformers.trainer_utils.HubStrategy", "transformers.trainer_utils.SchedulerType",
    "transformers.trainer_utils.FSDPOption", "transformers.debug_utils.DebugOption",
    "transformers.trainer_pt_utils.AcceleratorConfig", "transformers.configuration_utils.PretrainedConfig",
    "accelerate.utils.dataclasses.DistributedType", "accelerate.state.PartialState",
    "tokenizers.Tokenizer", "tokenizers.AddedToken",
)

# OmegaConf containers found in PyTorch Lightning checkpoints' hyper_parameters (omegaconf/dictconfig.py,
# listconfig.py, base.py, nodes.py).
_OMEGACONF: tuple[str, ...] = (
    "omegaconf.dictconfig.DictConfig", "omegaconf.listconfig.ListConfig", "omegaconf.base.ContainerMetadata",
    "omegaconf.base.Metadata", "omegaconf.nodes.AnyNode", "omegaconf.nodes.StringNode",
    "omegaconf.nodes.IntegerNode", "omegaconf.nodes.FloatNode", "omegaconf.nodes.BooleanNode",
    "omegaconf.nodes.BytesNode", "omegaconf.nodes.PathNode", "omegaconf.nodes.EnumNode",
)

ALLOWED_CALLABLES: frozenset[str] = frozenset(
    _TORCH_REBUILD + tuple(TORCH_STORAGE_CLASSES) + _TORCH_TENSOR_TYPES + _TORCH_VALUES + _STDLIB + _NUMPY
    + tuple(ARRAY_WRAPPERS) + _SCIPY + _BOOSTING + _SKLEARN_FUNCTIONS + _HUGGINGFACE + _OMEGACONF
)


@dataclass(frozen=True, slots=True)
class ClassPattern:
    """Allow classes (final name part starts upper-case) under a module prefix; ``why`` says where it comes from."""

    module_prefix: str
    why: str


# Module trees whose classes are plain data holders rebuilt with __new__ + __setstate__ / __dict__ update.
CLASS_PATTERNS: tuple[ClassPattern, ...] = (
    ClassPattern("sklearn.", "scikit-learn estimators, transformers and their Cython state holders "
                             "(sklearn.tree._tree.Tree, ...), pickled by estimator.__reduce__"),
    ClassPattern("torch.nn.modules.", "torch.save(model) stores nn.Module subclasses (torch/nn/modules/*.py)"),
    ClassPattern("torch.optim.", "optimizers and LR schedulers saved whole (torch/optim/*.py)"),
)

# Other curated name shapes. Cython's generated `__pyx_unpickle_<Class>(type, checksum, state)` reconstructors,
# as scikit-learn (sklearn/_loss/_loss.pyx) and numpy.random (bit_generator.pyx) write them; Hugging Face model
# configs (transformers/models/<model>/configuration_<model>.py).
NAME_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(sklearn|numpy\.random)(\.[A-Za-z_][A-Za-z0-9_]*)+\.__pyx_unpickle_[A-Za-z_][A-Za-z0-9_]*"),
    re.compile(r"transformers\.models\.[a-z0-9_]+\.configuration_[a-z0-9_]+\.[A-Z][A-Za-z0-9]*Config"),
)

# Allowed callables that call (or instantiate) some of their arguments: those arguments must be imported
# callables, not values the pickle computed. Index lists into the REDUCE argument tuple.
# copyreg._reconstructor(cls, base, state) calls base.__new__/base.__init__ (Lib/copyreg.py);
# defaultdict(factory) calls factory on a missing key; numpy's _reconstruct(subtype, ...) and
# torch's _rebuild_from_type_v2(func, new_type, args, state) call their first arguments (torch/_tensor.py);
# _rebuild_wrapper_subclass(cls, ...) instantiates cls (torch/_utils.py); Cython __pyx_unpickle_X(type, ...).
CALLABLE_ARGUMENTS: dict[str, tuple[int, ...]] = {
    "copyreg._reconstructor": (0, 1),
    "collections.defaultdict": (0,),
    "numpy.core.multiarray._reconstruct": (0,),
    "numpy._core.multiarray._reconstruct": (0,),
    "numpy.ma.core._mareconstruct": (0, 1),
    "torch._tensor._rebuild_from_type": (0, 1),
    "torch._tensor._rebuild_from_type_v2": (0, 1),
    "torch._utils._rebuild_wrapper_subclass": (0,),
}
PYX_UNPICKLE_PREFIX = "__pyx_unpickle_"

# Callables that are harmless in one calling form only. builtins.type(x) returns x's type (CPython pickles
# type(None) as `type(None)`), but type(name, bases, dict) creates classes: allowed only with one argument.
CONDITIONAL_CALLABLES: dict[str, int] = {"builtins.type": 1}

# === deny-list ==================================================================================================

# Whole modules (matched on dotted-name boundaries: "os" covers "os.path.join", not "osmosis").
DENIED_MODULES: tuple[str, ...] = (
    # Processes and the OS (CWE-78): Lib/os.py and its C backends, subprocess, pty, Python 2 process modules.
    "os", "posix", "nt", "_posixsubprocess", "subprocess", "pty", "commands", "popen2", "multiprocessing",
    "concurrent", "threading", "_thread", "thread", "signal", "sys", "asyncio", "sched", "atexit", "resource",
    # Code execution and importing (CWE-94): import machinery, interpreters, debuggers, profilers, doc tools
    # that import by name (pydoc.locate), code objects (types), introspection (inspect, gc).
    "runpy", "importlib", "imp", "pkgutil", "zipimport", "code", "codeop", "inspect", "gc", "ctypes", "_ctypes",
    "cffi", "timeit", "trace", "tracemalloc", "pdb", "bdb", "profile", "cProfile", "pydoc", "doctest",
    "idlelib", "site", "sitecustomize", "usercustomize", "marshal", "_xxsubinterpreters",
    # Deserializers that would re-enter (CWE-502): pickle and its relatives.
    "pickle", "_pickle", "cPickle", "dill", "cloudpickle", "shelve", "jsonpickle", "joblib.numpy_pickle_compat",
    # Network (CWE-918/CWE-200): sockets, HTTP and other protocol clients and servers.
    "socket", "_socket", "ssl", "http", "httplib", "urllib", "urllib2", "urllib3", "requests", "httpx", "aiohttp",
    "ftplib", "smtplib", "telnetlib", "poplib", "imaplib", "nntplib", "xmlrpc", "xmlrpclib", "socketserver",
    "SocketServer", "webbrowser", "paramiko",
    # File system (CWE-73): copying/removing trees, temp files, globbing, file input, path<->URL helpers.
    "shutil", "tempfile", "glob", "fileinput", "linecache", "nturl2path", "mmap",
    # Installing packages runs their code.
    "pip", "setuptools", "distutils", "pkg_resources", "ensurepip", "venv", "zipapp",
    # Logging configuration can eval and listen on a socket (Lib/logging/config.py).
    "logging.config",
    # PyTorch entry points that load, compile or execute code: torch.load/hub/jit/package, TorchScript ops and
    # classes, torch.fx GraphModule reduction exec()s source (torch/fx/graph_module.py), cpp_extension builds and
    # loads native code, torch.storage._load_from_bytes re-enters torch.load (torch/storage.py).
    "torch.load", "torch.hub", "torch.jit", "torch.ops", "torch.classes", "torch.package", "torch.fx",
    "torch.utils.cpp_extension", "torch.multiprocessing", "torch.distributed", "torch.storage._load_from_bytes",
    "torch.serialization.load", "torch.serialization._load", "torch.serialization._legacy_load",
    "torch._C._load_for_lite_interpreter", "torch.compile", "torch._dynamo", "torch._inductor",
    # NumPy: load() re-enters pickle with allow_pickle; testing runs strings; f2py/distutils compile; ctypeslib
    # loads libraries.
    "numpy.load", "numpy.loads", "numpy.lib.npyio.load", "numpy.lib._npyio_impl.load", "numpy.lib.format",
    "numpy.testing", "numpy.f2py", "numpy.distutils", "numpy.ctypeslib",
    # Other frameworks' loaders that execute stored code or re-enter pickle.
    "joblib.load", "joblib.numpy_pickle.load", "pandas.read_pickle", "pandas.io.pickle",
    "keras.models.load_model", "keras.saving", "keras.src.saving", "keras.src.models.model.load_model",
    "tensorflow.keras.models.load_model", "tensorflow.keras.saving", "tensorflow.io", "tensorflow.saved_model",
    "tensorflow.py_function", "tensorflow.numpy_function", "tensorflow.compat.v1.py_func",
    "yaml.load", "yaml.unsafe_load", "yaml.load_all", "yaml.unsafe_load_all",
)

# Single callables (exact "module.qualname").
DENIED_CALLABLES: frozenset[str] = frozenset({
    # Python builtins that evaluate code, reach attributes/globals or open files (Lib/builtins docs); the
    # Python 2 names are mapped to builtins by _compat_pickle but listed for pickles read by other loaders.
    *(f"{module}.{name}" for module in ("builtins", "__builtin__") for name in (
        "eval", "exec", "compile", "open", "getattr", "setattr", "delattr", "__import__", "globals", "locals",
        "vars", "input", "raw_input", "breakpoint", "help", "apply", "execfile", "file", "reload", "exit", "quit")),
    # Gadgets that call or fetch attributes by name: operator.attrgetter/methodcaller/call and functools.partial/
    # reduce build call chains from data (Lib/operator.py, Lib/functools.py).
    "operator.attrgetter", "operator.methodcaller", "operator.call", "_operator.attrgetter",
    "_operator.methodcaller", "_operator.call", "functools.partial", "functools.reduce", "functools.partialmethod",
    "_functools.partial", "_functools.reduce",
    # Code and function objects, module creation (Lib/types.py).
    "types.CodeType", "types.FunctionType", "types.LambdaType", "types.MethodType", "types.BuiltinFunctionType",
    "types.BuiltinMethodType", "types.ModuleType", "types.new_class", "types.GeneratorType",
    # Finalizers run a callable later; copyreg's extension registry rewires EXT opcodes (Lib/copyreg.py).
    "weakref.finalize", "copyreg.add_extension", "copyreg.remove_extension", "copyreg.clear_extension_cache",
    "copyreg.pickle", "copyreg.constructor",
    # Opening files.
    "io.open", "io.open_code", "io.FileIO", "_io.open", "_io.open_code", "_io.FileIO", "codecs.open",
    "platform.popen", "uuid._get_command_stdout",
})

# Final name parts of command-execution and code-loading functions: dangerous under any module that is not
# allow-listed (e.g. a re-export like `somepkg.utils.system`).
DANGEROUS_FINAL_NAMES: frozenset[str] = frozenset({
    "system", "popen", "popen2", "popen3", "popen4", "Popen", "getoutput", "getstatusoutput", "check_output",
    "check_call", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe",
    "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe", "posix_spawn", "posix_spawnp",
    "eval", "exec", "execfile", "run_path", "run_module", "import_module", "load_module", "__import__",
    "startfile", "fork", "forkpty", "_load_from_bytes",
})

# Module names whose appearance as an attribute step in a qualname ("torch.os.system", "numpy.sys.modules")
# means the name walks into a dangerous module through a re-export.
DANGEROUS_ATTRIBUTE_STEPS: frozenset[str] = frozenset({
    "os", "posix", "nt", "subprocess", "sys", "builtins", "__builtins__", "__builtin__", "importlib", "runpy",
    "pickle", "_pickle", "marshal", "ctypes", "socket", "shutil", "pty", "code", "codeop", "inspect", "gc",
})


# === classification =============================================================================================

@dataclass(frozen=True, slots=True)
class Classification:
    verdict: Verdict
    # Canonical "module.qualname" (Python 2 names mapped to Python 3, as CPython's find_class does).
    name: str
    reason: str


def canonical_name(module: str, name: str) -> tuple[str, str]:
    """Map Python 2 module/name pairs to Python 3 ones as CPython's Unpickler does (Lib/_compat_pickle.py)."""
    mapped = _compat_pickle.NAME_MAPPING.get((module, name))
    if mapped is not None:
        return mapped
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


_DENIED_MODULE_SET = frozenset(DENIED_MODULES)


def _denied_prefix(full: str) -> str | None:
    # Walk the dotted prefixes of `full` (a.b.c -> a, a.b, a.b.c): O(parts) set lookups instead of a scan.
    parts = full.split(".")
    for index in range(1, len(parts) + 1):
        prefix = ".".join(parts[:index])
        if prefix in _DENIED_MODULE_SET:
            return prefix
    return None


def _is_dunder(part: str) -> bool:
    return len(part) > 4 and part.startswith("__") and part.endswith("__")


def _trusted(full: str, trusted: frozenset[str]) -> bool:
    if full in trusted:
        return True
    for entry in trusted:
        if entry.endswith(".*") and full.startswith(entry[:-1]):
            return True
    return False


@lru_cache(maxsize=16384)
def classify_callable(module: str, name: str, trusted: frozenset[str] = frozenset()) -> Classification:
    """Decide whether importing ``module``/``name`` from a pickle is allowed, unknown or dangerous.

    The deny-list always wins: ``trusted`` (the user's list) only lifts UNKNOWN callables.
    """
    raw_full = f"{module}.{name}"
    canon_module, canon_name = canonical_name(module, name)
    full = f"{canon_module}.{canon_name}"
    name_parts = canon_name.split(".")

    for candidate in (full, raw_full):
        if candidate in DENIED_CALLABLES:
            return Classification(Verdict.DANGEROUS, full, f"{candidate} is on the deny-list")
        denied = _denied_prefix(candidate)
        if denied is not None:
            return Classification(Verdict.DANGEROUS, full, f"module '{denied}' is on the deny-list")
    if full in ALLOWED_CALLABLES:
        return Classification(Verdict.ALLOWED, full, "on the allow-list")
    if any(pattern.fullmatch(full) for pattern in NAME_PATTERNS):
        return Classification(Verdict.ALLOWED, full, "matches an allow-listed name pattern")
    for part in name_parts:
        if _is_dunder(part):
            return Classification(Verdict.DANGEROUS, full, f"the name reaches the special attribute '{part}'")
    for index, part in enumerate(name_parts[:-1]):
        tail = ".".join(name_parts[index:])
        if part in DANGEROUS_ATTRIBUTE_STEPS or tail in DENIED_CALLABLES or _denied_prefix(tail):
            return Classification(Verdict.DANGEROUS, full, f"the name walks into '{part}' through an attribute")
    if name_parts[-1] in DANGEROUS_FINAL_NAMES:
        return Classification(Verdict.DANGEROUS, full, f"'{name_parts[-1]}' runs commands or loads code")
    if "<locals>" in name_parts or not all(part for part in name_parts) or not canon_module:
        return Classification(Verdict.DANGEROUS, full, "the name is not an importable attribute path")
    final = name_parts[-1]
    if final[:1].isupper():
        for pattern in CLASS_PATTERNS:
            if full.startswith(pattern.module_prefix):
                return Classification(Verdict.ALLOWED, full, f"class allowed by pattern: {pattern.why}")
    if full in CONDITIONAL_CALLABLES:
        return Classification(Verdict.ALLOWED, full, "allowed in its harmless calling form only")
    if trusted and _trusted(full, trusted):
        return Classification(Verdict.TRUSTED, full, "listed in trusted_callables")
    return Classification(Verdict.UNKNOWN, full, "on neither the allow-list nor the deny-list")


def callable_arguments(full: str) -> tuple[int, ...]:
    """Indices of arguments of the allowed callable ``full`` that it calls or instantiates."""
    known = CALLABLE_ARGUMENTS.get(full)
    if known is not None:
        return known
    if full.rsplit(".", 1)[-1].startswith(PYX_UNPICKLE_PREFIX):
        return (0,)
    return ()
