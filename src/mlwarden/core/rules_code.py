"""Catalogue entries for unsafe ML code and configuration (Python source, notebooks' code cells, YAML/JSON).

Data only: the analyzers in ``mlwarden.supply.code`` emit these ids with evidence; titles, default severities,
fix text and references live here. An analyzer may lower or raise the default for one case (for example a
constant shell command is reported lower than one built from variables); the description says when.

References: CWE ids from MITRE CWE (502 deserialization of untrusted data, 94 code injection, 95 eval injection,
78 OS command injection, 22 path traversal, 295 certificate validation, 489 active debug code, 1327 binding to
an unrestricted IP address, 668 exposure to the wrong sphere, 328 weak hash, 114 process control, 829 inclusion
of functionality from an untrusted control sphere, 494 download of code without integrity check), OWASP-ML06
(OWASP Machine Learning Security Top 10, "AI Supply Chain Attacks") and MITRE ATLAS AML.T0010.003 ("ML Supply
Chain Compromise: Model") / AML.T0011.000 ("User Execution: Unsafe ML Artifacts") where the code loads models.
"""

from __future__ import annotations

from mlwarden.core.findings import Severity
from mlwarden.core.rule import Rule

_C, _H, _M, _L, _I = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
_MODEL_SUPPLY = ("OWASP-ML06", "ATLAS AML.T0010.003", "ATLAS AML.T0011.000")
_DESER = ("CWE-502", *_MODEL_SUPPLY)
_REMOTE_CODE = ("CWE-94", "CWE-829", *_MODEL_SUPPLY)

CODE_RULES: tuple[Rule, ...] = (
    # --- analysis coverage ---------------------------------------------------------------------------------
    Rule("MW-CODE-000", "Python file could not be parsed", _L,
         "The file is not valid Python 3 (Python 2 code, a syntax error, null bytes, binary content or nesting "
         "too deep to parse), so none of the code rules could check it.",
         "Fix the syntax or port the file to Python 3 so it can be analysed; if it is not Python, rename it.",
         ("CWE-636",), "code"),
    # --- deserialization of models and data ----------------------------------------------------------------
    Rule("MW-CODE-001", "torch.load without weights_only=True", _H,
         "torch.load unpickles the file; unless weights_only=True it can import and call anything the file names, "
         "so loading an untrusted checkpoint runs its code. PyTorch 2.6+ defaults to weights_only=True, but older "
         "versions and TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD do not. Critical when weights_only=False is explicit; "
         "medium when the value is not a literal.",
         "Pass weights_only=True (allow-list extra types with torch.serialization.add_safe_globals), or store "
         "weights as safetensors and load them with safetensors.torch.load_file.", _DESER, "code"),
    Rule("MW-CODE-002", "Pickle-based deserialization", _H,
         "pickle, cPickle, dill, cloudpickle, jsonpickle, joblib.load, pandas.read_pickle and shelve rebuild "
         "objects by calling whatever the data names: loading untrusted data runs its code. marshal and shelve are "
         "reported at medium (marshal does not call code by itself, shelve databases are usually the program's own).",
         "Load data only from sources you trust and verify its hash or signature first; prefer data-only formats "
         "(safetensors, JSON, Parquet, ONNX, skops with a reviewed trusted list).", _DESER, "code"),
    Rule("MW-CODE-003", "numpy.load with allow_pickle=True", _H,
         "allow_pickle=True lets numpy.load unpickle object arrays in .npy/.npz files, which runs code from the "
         "file. Low when the value is not a literal (the default, False, is safe).",
         "Keep allow_pickle=False (the default) and store numeric arrays only.", _DESER, "code"),
    Rule("MW-CODE-004", "Keras loading with safe_mode disabled", _H,
         "safe_mode=False (or keras.config.enable_unsafe_deserialization()) lets Keras deserialize Lambda layers "
         "and arbitrary Python callables from the model file, which run code on load (CVE-2024-3660 family).",
         "Keep safe_mode=True (the default); replace Lambda layers with registered custom layers.",
         ("CWE-502", "CWE-94", *_MODEL_SUPPLY), "code"),
    Rule("MW-CODE-005", "skops load with trusted=True", _H,
         "trusted=True makes skops.io accept every type in the file, which removes its protection against "
         "loading arbitrary objects.",
         "Call skops.io.get_untrusted_types on the file, review the list and pass only those types as trusted.",
         _DESER, "code"),
    Rule("MW-CODE-006", "MLflow model loading unpickles the model", _M,
         "mlflow.pyfunc/sklearn/pytorch load_model unpickle (cloudpickle/torch.load) the model's files: a model "
         "URI from an untrusted run or registry runs code when loaded.",
         "Load MLflow models only from registries and runs you control; prefer ONNX or safetensors flavours.",
         _DESER, "code"),
    # --- code and models from a hub ------------------------------------------------------------------------
    Rule("MW-CODE-007", "trust_remote_code=True runs code from the model repository", _H,
         "trust_remote_code=True makes transformers, datasets, sentence-transformers, vLLM and others import and "
         "run Python files downloaded with the model or data set, with the user's privileges. Low when the same "
         "call pins revision= to a 40-hex commit.",
         "Remove trust_remote_code=True if the architecture is supported natively; otherwise review the repository's "
         "code and pin the reviewed commit with revision=\"<40-hex commit>\".", _REMOTE_CODE, "code"),
    Rule("MW-CODE-008", "torch.hub.load runs code from a repository", _H,
         "torch.hub.load/list/help download a GitHub repository and import its hubconf.py, which runs whatever code "
         "the repository holds at that moment. Low when the reference is pinned to a 40-hex commit.",
         "Vendor the model code, or pin \"owner/repo:<40-hex commit>\" after reviewing it, or load from a local "
         "folder with source=\"local\".", ("CWE-94", "CWE-829", "CWE-494", *_MODEL_SUPPLY), "code"),
    Rule("MW-CODE-009", "Hub download not pinned to a commit", _M,
         "from_pretrained, pipeline, load_dataset, hf_hub_download, snapshot_download or SentenceTransformer fetch a "
         "repository by name with no revision or with a branch or tag: whoever controls the repository can change "
         "the files (weights, code, configuration) you get next time. Low when the repository name is not a literal "
         "(it may be a local folder) or a pipeline downloads its task's default model.",
         "Pass revision=\"<40-hex commit sha>\" of a reviewed commit.", ("CWE-494", "CWE-829", "OWASP-ML06",
                                                                         "ATLAS AML.T0010.003"), "code"),
    # --- unsafe YAML ---------------------------------------------------------------------------------------
    Rule("MW-CODE-010", "YAML loaded with an unsafe loader", _H,
         "yaml.load with Loader/UnsafeLoader/CLoader, yaml.unsafe_load and ruamel's typ=\"unsafe\" construct "
         "arbitrary Python objects from tags such as !!python/object/apply, which runs code from the document. "
         "Medium when the loader is not a literal or is missing (an error on PyYAML 6, unsafe before 5.1); low "
         "for FullLoader.",
         "Use yaml.safe_load / yaml.load(..., Loader=yaml.SafeLoader) (or CSafeLoader).", ("CWE-502", "CWE-20"),
         "code"),
    # --- code execution ------------------------------------------------------------------------------------
    Rule("MW-CODE-011", "eval or exec of a non-constant string", _M,
         "The builtin eval/exec runs a string as Python. When the string comes from a file, a model config or a "
         "user it is code injection; restricted globals do not make eval safe. Constant strings are not reported.",
         "Parse data with ast.literal_eval, json or a real parser; dispatch on names through a dict of functions.",
         ("CWE-95", "CWE-94"), "code"),
    Rule("MW-CODE-012", "Shell command", _H,
         "os.system, os.popen, subprocess with shell=True and similar run a command line through the shell: "
         "variables in it are interpreted by the shell (command injection). Low when the command is a constant "
         "or shell= is set from an expression.",
         "Call subprocess.run with a list of arguments and shell=False; validate any value that becomes an argument.",
         ("CWE-78",), "code"),
    Rule("MW-CODE-013", "Tar archive extracted without a filter", _H,
         "TarFile.extractall/extract (and shutil.unpack_archive on tar files) without filter= follow member names "
         "with '..', absolute paths and links, so a downloaded dataset or checkpoint archive can write anywhere. "
         "Low when members= is given (a hand-made filter); medium for shutil.unpack_archive of an unknown format.",
         "Pass filter=\"data\" (Python 3.12+, backported to 3.8.17+/3.9.17+/3.10.12+/3.11.4+), or check every "
         "member's resolved path before extracting.", ("CWE-22", "CWE-59"), "code"),
    Rule("MW-CODE-014", "TLS certificate verification disabled", _H,
         "verify=False (requests, httpx), ssl=False (aiohttp), CERT_NONE or an unverified SSL context accept any "
         "certificate, so a network attacker can replace downloaded models, data or credentials in transit. Medium "
         "when the HTTP client could not be identified.",
         "Keep certificate verification on; point verify= at a CA bundle for private certificate authorities.",
         ("CWE-295",), "code"),
    Rule("MW-CODE-015", "Web debugger enabled", _H,
         "Flask/Dash run(debug=True) and Werkzeug run_simple(use_debugger=True) start the Werkzeug interactive "
         "debugger, which executes Python typed into an error page: anyone who can reach the app runs code. Medium "
         "when the app object could not be identified.",
         "Never enable the debugger outside local development; read it from an environment flag that is off by "
         "default, and serve with a production server.", ("CWE-489", "CWE-94"), "code"),
    Rule("MW-CODE-016", "Gradio app shared through a public link", _M,
         "launch(share=True) opens a public *.gradio.live tunnel to the app: anyone with the link can use the "
         "model, the files it can read and any tools it calls. Low when the app object could not be identified.",
         "Drop share=True; put the app behind authentication (auth=...) or deploy it where access is controlled.",
         ("CWE-668",), "code"),
    Rule("MW-CODE-017", "Server bound to all network interfaces", _M,
         "A model server, demo or dashboard bound to 0.0.0.0 or :: is reachable from every network the machine is "
         "on, not only from this machine. Low when the app object could not be identified.",
         "Bind to 127.0.0.1 for local use; expose services deliberately behind authentication and a firewall.",
         ("CWE-1327", "CWE-668"), "code"),
    Rule("MW-CODE-018", "Weak hash algorithm (MD5/SHA-1)", _L,
         "MD5 and SHA-1 have practical collisions: a hash of this kind does not prove that a downloaded model or "
         "data file is the one expected. Not reported with usedforsecurity=False (a cache key, not an integrity "
         "check).",
         "Use hashlib.sha256 (or stronger) to check integrity; mark non-security uses with usedforsecurity=False.",
         ("CWE-328", "CWE-327"), "code"),
    Rule("MW-CODE-019", "Native library loaded from a computed path", _M,
         "ctypes.CDLL/LoadLibrary, torch.ops.load_library and tf.load_op_library load native code, which runs with "
         "no sandbox; a path computed at run time (a model folder, a download) can load a library an attacker "
         "placed. Medium for the torch/tensorflow custom-op loaders; low for ctypes (packages load their own "
         "libraries that way) and for constant paths; libraries named without a path (found by the system "
         "loader) are not reported.",
         "Load native libraries only from your installed packages; never from model or data folders.",
         ("CWE-114", "CWE-829", "OWASP-ML06"), "code"),
    # --- YAML / JSON configuration -------------------------------------------------------------------------
    Rule("MW-CFG-000", "Configuration file could not be parsed", _I,
         "The YAML or JSON file is malformed (or is a template, for example a Helm chart), so the configuration "
         "rules could not check it; what was read before the error was checked.",
         "Fix the syntax if the file is meant to be plain YAML/JSON.", ("CWE-636",), "config"),
    Rule("MW-CFG-001", "Configuration enables trust_remote_code", _H,
         "trust_remote_code: true in a training, serving or evaluation config makes the loader import and run "
         "Python files from the model repository.",
         "Set trust_remote_code to false, or review the repository code and pin its commit with a 40-hex revision.",
         _REMOTE_CODE, "config"),
    Rule("MW-CFG-002", "Configuration binds a server to all interfaces", _L,
         "host/server_name/bind/listen set to 0.0.0.0 or :: exposes the service on every network of the machine. "
         "Inside a container this is usually intended; on a workstation or VM it is not.",
         "Bind to 127.0.0.1 unless the service must be reachable from other machines, then add authentication.",
         ("CWE-1327",), "config"),
    Rule("MW-CFG-003", "Configuration pins a hub model to a branch or tag", _M,
         "A revision that is not a 40-hex commit sha (such as main or v1.0) beside a hub model id lets the "
         "repository owner change the files you get.",
         "Set the revision to the 40-hex commit sha you reviewed.", ("CWE-494", "OWASP-ML06",
                                                                     "ATLAS AML.T0010.003"), "config"),
    Rule("MW-CFG-004", "Configuration disables TLS certificate verification", _M,
         "verify_ssl: false, insecure_skip_tls_verify: true and similar settings accept any certificate, so "
         "downloads and API calls can be tampered with in transit.",
         "Keep verification on; configure a CA bundle for private certificate authorities.", ("CWE-295",),
         "config"),
    Rule("MW-CFG-005", "YAML document carries Python object tags", _H,
         "Tags such as !!python/object/apply or !!python/name make an unsafe YAML loader import and call Python "
         "callables: whoever loads this file with yaml.load/unsafe_load runs the code it names.",
         "Remove the tags; load configuration only with yaml.safe_load.", ("CWE-502", "CWE-94"), "config"),
)
