"""The rule catalogue: every ``rule_id`` mlwarden can emit, defined once, with its default severity,
references and fix text. Scanners emit only the id and the evidence; titles and advice come from here.

References use these schemes: ``CWE-n`` (MITRE CWE), ``OWASP-ML06`` (OWASP Machine Learning Security Top 10,
2023 edition: ML06 is "AI Supply Chain Attacks", ML10 "Model Poisoning"), ``ATLAS AML.Tnnnn`` (MITRE ATLAS
techniques: AML.T0010.003 "ML Supply Chain Compromise: Model", AML.T0011.000 "User Execution: Unsafe ML
Artifacts").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlwarden.core.errors import UsageError
from mlwarden.core.findings import Finding, Location, Severity
from mlwarden.core.rule import Rule
from mlwarden.core.rules_code import CODE_RULES
from mlwarden.core.rules_deps import DEPENDENCY_RULES
from mlwarden.core.rules_integrity import INTEGRITY_RULES
from mlwarden.core.rules_privacy import PRIVACY_RULES
from mlwarden.core.rules_risk import RISK_RULES
from mlwarden.core.rules_secrets import SECRET_RULES
from mlwarden.core.rules_trust import TRUST_RULES

__all__ = ["CATALOGUE", "Rule", "all_rules", "get_rule", "make_finding"]


_C, _H, _M, _L, _I = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO
_SUPPLY = ("OWASP-ML06", "ATLAS AML.T0010.003", "ATLAS AML.T0011.000")
_DESER = ("CWE-502", *_SUPPLY)

_ARTIFACT_RULES: tuple[Rule, ...] = (
    # --- scan engine and formats -------------------------------------------------------------------------
    Rule("MW-SCAN-001", "File could not be read", _H,
         "The file could not be opened or read, so nothing is known about what it would do when loaded.",
         "Check permissions and that the file is complete, then scan again.", ("CWE-636",), "engine"),
    Rule("MW-SCAN-002", "Scanner failed on this file", _H,
         "An internal error stopped the analysis of this file; it was not fully scanned (fail closed).",
         "Report the file's format to the mlwarden maintainers; treat the file as untrusted until it scans.",
         ("CWE-636",), "engine"),
    Rule("MW-FMT-001", "Model file could not be fully parsed (unscannable)", _H,
         "The file looks like a model format but is malformed, truncated or uses a construct the parser rejects. "
         "Frameworks are often more lenient than their specification, so what was not parsed may still run.",
         "Re-export the model from a trusted source; do not load this file.", ("CWE-20", *_SUPPLY)),
    Rule("MW-FMT-002", "File content does not match its name", _M,
         "The file's content is of a different format than its extension says (for example a pickle named "
         ".safetensors or .json). Misnamed and polyglot files are used to slip past name-based checks.",
         "Rename the file to its real format, or better, re-export it in a safe format.", ("CWE-434", *_SUPPLY)),
    Rule("MW-FMT-004", "Encrypted artifact: its content was not scanned", _L,
         "The file is encrypted at rest (mlwarden's MLWENC format), so the scanner cannot see what it holds. "
         "mlwarden.load decrypts in memory and scans before loading; any other loader would not.",
         "Load it only through mlwarden.load (or decrypt it and scan the plaintext before use).",
         ("CWE-311",)),
    Rule("MW-FMT-003", "Resource limit reached while scanning", _H,
         "A size, count or nesting limit was reached, so part of the file was not analysed.",
         "Inspect the file by hand or raise the limit in the configuration if the file is legitimate.",
         ("CWE-400", "CWE-409")),
    # --- pickle ------------------------------------------------------------------------------------------
    Rule("MW-PKL-001", "Pickle calls a dangerous callable", _C,
         "Loading this pickle imports and may call a callable that can run commands, execute code, touch the "
         "file system or network, or re-enter a deserializer. This is how malicious models run code on load.",
         "Do not load this file. Obtain the model from a trusted source in a data-only format such as safetensors.",
         _DESER),
    Rule("MW-PKL-002", "Pickle imports a callable that is not on the allow-list", _H,
         "Loading this pickle imports a callable that is neither known safe nor known dangerous. New bypasses "
         "use exactly such callables, so it is reported until someone vouches for it.",
         "Review the callable; if it is safe, add it to `trusted_callables` in mlwarden.toml.", _DESER),
    Rule("MW-PKL-003", "Pickle uses the extension registry", _H,
         "EXT1/EXT2/EXT4 opcodes import callables through copyreg's extension registry, hiding their names.",
         "Do not load this file; the callables it imports cannot be known statically.", _DESER),
    Rule("MW-PKL-004", "Pickle uses persistent ids outside PyTorch's storage scheme", _H,
         "Persistent ids hand arbitrary objects to the loader's persistent_load hook.",
         "Do not load this file with a custom unpickler; re-export the model.", _DESER),
    Rule("MW-PKL-005", "Pickle contains another pickle", _H,
         "A string or bytes value inside the pickle is itself a pickle, which loader code may unpickle again.",
         "Treat the nested pickle as a separate untrusted payload; its own findings are reported too.", _DESER),
    Rule("MW-PKL-006", "Pickle stream is malformed or truncated", _H,
         "The opcode stream breaks off or contains invalid data; findings up to the reported offset are kept.",
         "Re-export the file; a broken stream can hide a payload from scanners while a loader accepts it.",
         ("CWE-20", *_DESER)),
    Rule("MW-PKL-007", "Pickle calls a callable it does not import", _M,
         "REDUCE/BUILD/OBJ/NEWOBJ act on a value that is not a known import, e.g. a method fetched at load time.",
         "Review the pickle's opcodes (python -m pickletools) before loading it.", _DESER),
    # --- PyTorch / NumPy / joblib ------------------------------------------------------------------------
    Rule("MW-TORCH-001", "TorchScript code uses dangerous operations", _C,
         "The TorchScript archive's code calls operations that touch files, the system or load native code.",
         "Do not load this archive with torch.jit.load; rebuild it from trusted source.", ("CWE-94", *_SUPPLY)),
    Rule("MW-TORCH-002", "TorchScript archive carries code", _I,
         "TorchScript archives carry Python-like code that runs when the model is executed.",
         "Review the code listed in the evidence.", ("CWE-94",)),
    Rule("MW-NPY-001", "NumPy array holds Python objects (pickle)", _M,
         "An object-dtype array is stored as a pickle and needs allow_pickle=True to load.",
         "Store numeric data with a numeric dtype; never load with allow_pickle=True from untrusted sources.",
         _DESER),
    # --- Keras / TensorFlow ------------------------------------------------------------------------------
    Rule("MW-KERAS-001", "Keras model contains a Lambda layer", _C,
         "Lambda layers carry marshalled Python bytecode or a function reference that runs when the model "
         "is loaded or called (CVE-2024-3660 and its variants).",
         "Replace the Lambda layer with a registered custom layer and re-save; load with safe_mode=True.",
         ("CWE-94", "CVE-2024-3660", *_SUPPLY)),
    Rule("MW-KERAS-002", "Keras model references objects from outside Keras", _H,
         "The model config names classes or functions from modules other than keras, which are imported on load.",
         "Check every referenced module; load only with the custom objects you expect.", ("CWE-829", *_SUPPLY)),
    Rule("MW-KERAS-003", "Keras content that safe_mode would refuse", _H,
         "The config holds content that Keras' safe_mode rejects (marshalled code, Python functions by name).",
         "Never load it with safe_mode=False.", ("CWE-502", *_SUPPLY)),
    Rule("MW-TF-001", "TensorFlow graph uses file-system operations", _H,
         "Operations such as ReadFile, WriteFile or MatchingFiles read or write files when the graph runs.",
         "Review why the model touches files; remove these ops before serving.", ("CWE-73", *_SUPPLY)),
    Rule("MW-TF-002", "TensorFlow graph runs Python or loads native code", _C,
         "PyFunc/EagerPyFunc run arbitrary Python; custom op libraries load native code.",
         "Do not load this SavedModel.", ("CWE-94", *_SUPPLY)),
    # --- ONNX --------------------------------------------------------------------------------------------
    Rule("MW-ONNX-001", "ONNX external data escapes the model folder", _C,
         "A tensor's external-data location is absolute or climbs out with '..', so loading reads any file.",
         "Keep external data beside the model with relative paths inside its folder.", ("CWE-22", *_SUPPLY)),
    Rule("MW-ONNX-002", "ONNX model uses a custom operator domain", _M,
         "Operators from a non-standard domain need a custom runtime library to run.",
         "Make sure the operator library comes from a trusted source.", ("CWE-829", *_SUPPLY)),
    # --- GGUF / safetensors ------------------------------------------------------------------------------
    Rule("MW-GGUF-001", "GGUF chat template can escape the Jinja sandbox", _C,
         "The tokenizer.chat_template uses constructs that reach Python internals (CVE-2024-34359 style).",
         "Replace the chat template with a reviewed one; render templates only in a hardened sandbox.",
         ("CWE-1336", "CVE-2024-34359", *_SUPPLY)),
    Rule("MW-GGUF-002", "GGUF header or metadata is invalid", _H,
         "Counts, lengths or offsets in the GGUF header do not fit the file (hostile length fields).",
         "Do not load this file; re-download it from a trusted source.", ("CWE-20", "CWE-789")),
    Rule("MW-ST-001", "safetensors header is invalid", _H,
         "The header length, JSON, dtypes, shapes or offsets are inconsistent with the file.",
         "Do not load this file; re-export it.", ("CWE-20",)),
    # --- archives ----------------------------------------------------------------------------------------
    Rule("MW-ARC-001", "Archive member path escapes the extraction folder", _C,
         "A member name is absolute or contains '..', so extracting it writes outside the target folder.",
         "Do not extract this archive.", ("CWE-22",)),
    Rule("MW-ARC-002", "Archive contains links or special files", _H,
         "Symbolic links, hard links or device files in an archive can redirect extraction.",
         "Do not extract this archive.", ("CWE-59",)),
    Rule("MW-ARC-003", "Archive is irregular in a way loaders tolerate", _M,
         "Bad CRCs, set encryption flags, duplicate or overlapping members: frameworks still load such archives, "
         "and scanners that give up on them are bypassed.",
         "Re-create the archive with a standard tool.", ("CWE-20", *_SUPPLY)),
    Rule("MW-ARC-004", "Archive expands beyond limits (archive bomb)", _H,
         "Members expand to far more data than the archive holds, or nest too deep.",
         "Do not extract this archive.", ("CWE-409",)),
    # --- Hugging Face model folders ----------------------------------------------------------------------
    Rule("MW-HF-001", "Model config loads remote code (auto_map)", _H,
         "config.json maps model classes to Python files that trust_remote_code=True would import and run.",
         "Review the referenced code; load without trust_remote_code or pin a reviewed revision.",
         ("CWE-94", *_SUPPLY)),
    Rule("MW-HF-002", "Model folder ships Python code", _M,
         "Python files in a model folder run when loaded with trust_remote_code=True.",
         "Review the code before enabling trust_remote_code.", ("CWE-94", *_SUPPLY)),
    Rule("MW-HF-003", "Tokenizer chat template can escape the Jinja sandbox", _H,
         "The chat_template in a tokenizer config reaches Python internals (attributes such as __globals__, "
         "web-framework globals, other templates). transformers renders it in Jinja's sandbox, but other "
         "runtimes render chat templates without one (CVE-2024-34359 style).",
         "Replace the chat template with a reviewed one; render templates only in a hardened sandbox.",
         ("CWE-1336", "CVE-2024-34359", *_SUPPLY)),
)

# Supply-chain rules live in their own modules (one per area) so each area's table stays readable.
_RULES: tuple[Rule, ...] = (*_ARTIFACT_RULES, *DEPENDENCY_RULES, *CODE_RULES, *SECRET_RULES, *INTEGRITY_RULES,
                           *TRUST_RULES, *PRIVACY_RULES,
                           *RISK_RULES)

CATALOGUE: dict[str, Rule] = {rule.rule_id: rule for rule in _RULES}


def get_rule(rule_id: str) -> Rule:
    try:
        return CATALOGUE[rule_id]
    except KeyError:
        raise UsageError(f"unknown rule '{rule_id}': run 'mlwarden rules' to list the rule ids") from None


def all_rules() -> tuple[Rule, ...]:
    return _RULES


def make_finding(
    rule_id: str,
    location: Location,
    message: str,
    *,
    evidence: str | None = None,
    severity: Severity | None = None,
    scanner: str = "",
    data: Mapping[str, Any] | None = None,
) -> Finding:
    """Build a finding for a catalogue rule. A scanner may raise or lower the default severity for one case."""
    rule = CATALOGUE[rule_id]  # KeyError here is a programming error in a scanner, not user input
    return Finding(
        rule_id=rule.rule_id,
        severity=severity or rule.severity,
        title=rule.title,
        message=message,
        location=location,
        evidence=evidence,
        remediation=rule.remediation,
        references=rule.references,
        scanner=scanner,
        data=data,
    )
