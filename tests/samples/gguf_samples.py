"""GGUF files written by hand with struct (no gguf package), and the chat templates used to test the template
analyser: benign templates in the style of public models, and sandbox-escape payloads with harmless commands.

Layout written here follows ggml's docs/gguf.md: header, metadata key/values, tensor infos, padding to the
alignment, tensor data (each tensor padded to the alignment, as llama.cpp and gguf-py write it).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

# Value types (docs/gguf.md).
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
_SCALAR_FORMATS = {UINT8: "B", INT8: "b", UINT16: "H", INT16: "h", UINT32: "I", INT32: "i", FLOAT32: "f",
                   BOOL: "?", UINT64: "Q", INT64: "q", FLOAT64: "d"}
# ggml types used here: id -> (elements per block, bytes per block).
F32, F16, Q8_0, Q4_K = 0, 1, 8, 12
_GGML = {F32: (1, 4), F16: (1, 2), Q8_0: (32, 34), Q4_K: (256, 144)}


@dataclass(frozen=True)
class GgufWriter:
    """Encodes GGUF pieces for one version (1: u32 lengths/counts, 2/3: u64) and byte order."""

    version: int = 3
    endian: str = "<"

    def _length(self, value: int) -> bytes:
        return struct.pack(self.endian + ("I" if self.version == 1 else "Q"), value)

    def string(self, text: str | bytes) -> bytes:
        raw = text.encode() if isinstance(text, str) else text
        return self._length(len(raw)) + raw

    def scalar(self, value_type: int, value: object) -> bytes:
        return struct.pack(self.endian + _SCALAR_FORMATS[value_type], value)

    def value(self, value_type: int, value: object) -> bytes:
        if value_type == STRING:
            assert isinstance(value, str | bytes)
            return self.string(value)
        if value_type == ARRAY:
            assert isinstance(value, tuple)
            element_type, items = value
            body = b"".join(self.value(element_type, item) for item in items)
            return struct.pack(self.endian + "I", element_type) + self._length(len(items)) + body
        return self.scalar(value_type, value)

    def kv(self, key: str, value_type: int, value: object) -> bytes:
        return self.string(key) + struct.pack(self.endian + "I", value_type) + self.value(value_type, value)

    def raw_kv(self, key: str, value_type: int, payload: bytes) -> bytes:
        """A key/value whose value bytes are given as is (for hostile length fields)."""
        return self.string(key) + struct.pack(self.endian + "I", value_type) + payload

    def tensor_info(self, name: str, dims: list[int], ggml_type: int, offset: int) -> bytes:
        dim_format = "I" if self.version == 1 else "Q"
        packed_dims = b"".join(struct.pack(self.endian + dim_format, d) for d in dims)
        return (self.string(name) + struct.pack(self.endian + "I", len(dims)) + packed_dims
                + struct.pack(self.endian + "IQ", ggml_type, offset))

    def file(self, kvs: list[bytes], infos: list[bytes], data: bytes = b"", *, tensor_count: int | None = None,
             kv_count: int | None = None, alignment: int = 32) -> bytes:
        count_format = "I" if self.version == 1 else "Q"
        head = (b"GGUF" + struct.pack(self.endian + "I", self.version)
                + struct.pack(self.endian + count_format, len(infos) if tensor_count is None else tensor_count)
                + struct.pack(self.endian + count_format, len(kvs) if kv_count is None else kv_count))
        body = head + b"".join(kvs) + b"".join(infos)
        if infos:
            body += b"\x00" * (-len(body) % alignment)
        return body + data


def tensor_bytes(dims: list[int], ggml_type: int) -> int:
    block, block_bytes = _GGML[ggml_type]
    elements = 1
    for d in dims:
        elements *= d
    return elements // block * block_bytes


def pack_tensors(writer: GgufWriter, tensors: list[tuple[str, list[int], int]], alignment: int = 32
                 ) -> tuple[list[bytes], bytes]:
    """Tensor infos and the data section for tensors packed the way llama.cpp expects (padded, in order)."""
    infos: list[bytes] = []
    data = b""
    for index, (name, dims, ggml_type) in enumerate(tensors):
        infos.append(writer.tensor_info(name, dims, ggml_type, len(data)))
        data += bytes([index + 1]) * tensor_bytes(dims, ggml_type)
        data += b"\x00" * (-len(data) % alignment)
    return infos, data


BENIGN_TENSORS: list[tuple[str, list[int], int]] = [
    ("token_embd.weight", [8, 4], F32),
    ("blk.0.attn_q.weight", [64, 2], Q8_0),
    ("blk.0.ffn_up.weight", [256, 1], Q4_K),
    ("output_norm.weight", [8], F16),
]


def tokenizer_kvs(writer: GgufWriter, n_tokens: int) -> list[bytes]:
    tokens = tuple(f"tok{i}" for i in range(n_tokens))
    return [
        writer.kv("tokenizer.ggml.model", STRING, "gpt2"),
        writer.kv("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
        writer.kv("tokenizer.ggml.scores", ARRAY, (FLOAT32, tuple(float(i) for i in range(n_tokens)))),
        writer.kv("tokenizer.ggml.token_type", ARRAY, (INT32, tuple(1 for _ in range(n_tokens)))),
        writer.kv("tokenizer.ggml.bos_token_id", UINT32, 1),
        writer.kv("tokenizer.ggml.add_bos_token", BOOL, True),
    ]


def benign_gguf(*, version: int = 3, endian: str = "<", template: str | None = None, n_tokens: int = 64,
                alignment: int | None = None, extra_kvs: list[bytes] | None = None) -> bytes:
    """A small, valid model: architecture metadata, a tokenizer, a chat template, four packed tensors."""
    writer = GgufWriter(version, endian)
    align = alignment or 32
    kvs = [
        writer.kv("general.architecture", STRING, "llama"),
        writer.kv("general.name", STRING, "tiny benign model"),
        writer.kv("llama.context_length", UINT32, 2048),
        writer.kv("llama.rope.freq_base", FLOAT32, 10000.0),
        writer.kv("general.file_type", UINT32, 7),
        writer.kv("general.tags", ARRAY, (STRING, ("text-generation", "test"))),
        writer.kv("general.nested", ARRAY, (ARRAY, ((UINT8, (1, 2, 3)), (UINT8, ())))),
        *tokenizer_kvs(writer, n_tokens),
        writer.kv("tokenizer.chat_template", STRING, LLAMA3_TEMPLATE if template is None else template),
    ]
    if alignment is not None:
        kvs.insert(0, writer.kv("general.alignment", UINT32, alignment))
    kvs += extra_kvs or []
    infos, data = pack_tensors(writer, BENIGN_TENSORS, align)
    return writer.file(kvs, infos, data, alignment=align)


class VirtualFile(io.RawIOBase):
    """``prefix`` followed by zeros up to ``size`` bytes, counting the bytes handed out."""

    def __init__(self, prefix: bytes, size: int) -> None:
        self.prefix = prefix
        self.size = size
        self.position = 0
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.position, 2: self.size}[whence]
        self.position = base + offset
        return self.position

    def tell(self) -> int:
        return self.position

    def read(self, count: int = -1) -> bytes:
        end = self.size if count < 0 else min(self.size, self.position + count)
        start = self.position
        head = self.prefix[start:end] if start < len(self.prefix) else b""
        out = head + b"\0" * max(0, end - max(start, len(self.prefix)))
        self.position = max(start, end)
        self.bytes_read += len(out)
        return out


# --- hostile files ------------------------------------------------------------------------------------------


def gguf_with_string_length(length: int) -> bytes:
    """A string value whose length field claims ``length`` bytes (2**62: must not allocate)."""
    writer = GgufWriter()
    kv = writer.raw_kv("general.name", STRING, struct.pack("<Q", length) + b"abc")
    return writer.file([kv], [])


def gguf_with_kv_count(count: int) -> bytes:
    writer = GgufWriter()
    return writer.file([writer.kv("general.name", STRING, "x")], [], kv_count=count)


def gguf_with_tensor_count(count: int) -> bytes:
    writer = GgufWriter()
    return writer.file([writer.kv("general.name", STRING, "x")], [], tensor_count=count)


def gguf_with_array_count(count: int, element_type: int = FLOAT32) -> bytes:
    writer = GgufWriter()
    payload = struct.pack("<IQ", element_type, count) + b"\x00" * 64
    return writer.file([writer.raw_kv("tokenizer.ggml.scores", ARRAY, payload)], [])


def gguf_with_string_array_lying_element() -> bytes:
    """A string array whose 3rd string claims 2**40 bytes."""
    writer = GgufWriter()
    payload = struct.pack("<IQ", STRING, 5) + writer.string("a") + writer.string("b") + struct.pack("<Q", 2**40)
    return writer.file([writer.raw_kv("tokenizer.ggml.tokens", ARRAY, payload + b"\x00" * 32)], [])


def gguf_with_unknown_value_type() -> bytes:
    writer = GgufWriter()
    return writer.file([writer.raw_kv("general.weird", 99, b"\x00" * 16),
                        writer.kv("tokenizer.chat_template", STRING, "{{ x }}")], [])


def gguf_with_n_dims(n_dims: int) -> bytes:
    writer = GgufWriter()
    info = writer.string("t") + struct.pack("<I", n_dims) + b"\x01\x00\x00\x00\x00\x00\x00\x00" * 4
    return writer.file([writer.kv("general.name", STRING, "x")], [info + b"\x00" * 64])


def gguf_with_tensors(tensors: list[tuple[str, list[int], int, int]], data_bytes: int,
                      kvs: list[bytes] | None = None) -> bytes:
    """Tensors with explicit offsets (name, dims, type, offset) and a data section of ``data_bytes``."""
    writer = GgufWriter()
    infos = [writer.tensor_info(name, dims, ggml_type, offset) for name, dims, ggml_type, offset in tensors]
    return writer.file(kvs or [writer.kv("general.name", STRING, "x")], infos, b"\x07" * data_bytes)


def gguf_offset_beyond_eof() -> bytes:
    return gguf_with_tensors([("a", [8], F32, 0), ("b", [8], F32, 1 << 40)], 64)


def gguf_overlapping_tensors() -> bytes:
    # 'b' starts inside 'a' (both 64 bytes).
    return gguf_with_tensors([("a", [16], F32, 0), ("b", [16], F32, 32)], 96)


def gguf_with_template(template: str) -> bytes:
    return benign_gguf(template=template)


# --- chat templates -----------------------------------------------------------------------------------------
# Benign templates in the style of public instruction-tuned models (written for these tests): loops,
# conditionals, raise_exception, namespace(), strftime_now, message['role'], .strip(), |tojson, |trim.

LLAMA3_TEMPLATE = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}"
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}"
    "{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

LLAMA31_TOOLS_TEMPLATE = """{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\\n\\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- if tools_in_user_message and not tools is none %}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
    {%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}
{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
            {%- endfor %}
            {{- ")" }}
        {%- else  %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {%- if builtin_tools is defined %}
            {{- "<|eom_id|>" }}
        {%- else %}
            {{- "<|eot_id|>" }}
        {%- endif %}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

CHATML_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>'"
    " + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)

GEMMA_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)

QWEN2_TEMPLATE = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# Qwen3-style: namespace() state, reversed loop, string methods on content, thinking switch.
QWEN3_STYLE_TEMPLATE = """{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if '</think>' in content %}
            {%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index and reasoning_content %}
            {{- '<|im_start|>' + message.role + '\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\\n' + content }}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}"""

# DeepSeek-style: namespace with several fields, tool calls looked up by key, loop controls.
DEEPSEEK_STYLE_TEMPLATE = (
    "{% set ns = namespace(is_first=false, is_tool=false, system_prompt='') %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}"
    "{% set ns.system_prompt = message['content'] %}{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}"
    "{%- for message in messages %}{%- if message['role'] == 'user' %}{%- set ns.is_tool = false -%}"
    "{{'<｜User｜>' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' and message['tool_calls'] is defined %}"
    "{%- for tool in message['tool_calls'] %}{%- if not ns.is_first %}"
    "{{'<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + tool['function']['name']"
    " + '\\n```json\\n' + tool['function']['arguments'] + '\\n```<｜tool▁call▁end｜>'}}"
    "{% set ns.is_first = true %}{%- else %}{% continue %}{%- endif %}{%- endfor %}{%- endif %}"
    "{%- if loop.index > 1000 %}{% break %}{% endif %}{%- endfor %}"
    "{% if add_generation_prompt and not ns.is_tool %}{{'<｜Assistant｜>'}}{% endif %}"
)

# transformers' {% generation %} tag marks assistant tokens for training masks.
GENERATION_TAG_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'assistant' %}{% generation %}"
    "{{ message['content'] }}{% endgeneration %}{% else %}{{ message['content'] }}{% endif %}{% endfor %}"
)

# Macros, dict access with variable keys, |map(attribute=...), |selectattr, |dictsort, filters on ints.
MACRO_STYLE_TEMPLATE = (
    "{%- macro render(m, key='content') -%}{{ m[key] | trim }}{%- endmacro -%}"
    "{%- set roles = messages | map(attribute='role') | list -%}"
    "{%- for m in messages | selectattr('role', 'equalto', 'user') -%}{{ render(m) }}{%- endfor -%}"
    "{%- for k, v in (tools or {}) | dictsort -%}{{ k }}={{ v | tojson }}{%- endfor -%}"
    "{{ (messages | length) | string }}{{ '%s turns' | format(messages | length) }}"
    "{{ '{} turns'.format(messages | length) }}{{ roles | join(', ') | upper }}"
)

BENIGN_TEMPLATES: dict[str, str] = {
    "llama3": LLAMA3_TEMPLATE,
    "llama3.1-tools": LLAMA31_TOOLS_TEMPLATE,
    "chatml": CHATML_TEMPLATE,
    "mistral": MISTRAL_TEMPLATE,
    "gemma": GEMMA_TEMPLATE,
    "qwen2": QWEN2_TEMPLATE,
    "qwen3-style": QWEN3_STYLE_TEMPLATE,
    "deepseek-style": DEEPSEEK_STYLE_TEMPLATE,
    "generation-tag": GENERATION_TAG_TEMPLATE,
    "macros": MACRO_STYLE_TEMPLATE,
}

# Sandbox-escape payloads (public SSTI shapes) with harmless commands. Each must give an escape issue.
MALICIOUS_TEMPLATES: dict[str, str] = {
    "subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "attr-filter": "{{ ''|attr('__class__') }}",
    "cycler-globals-popen": "{{ cycler.__init__.__globals__.os.popen('true').read() }}",
    "lipsum-globals": "{{ lipsum.__globals__['os'].popen('true').read() }}",
    "namespace-init": "{{ namespace.__init__.__globals__ }}",
    "request-items": "{{ request['application']['__globals__']['__builtins__']['__import__']('os') }}",
    "joiner-init": "{{ joiner.__init__.__globals__ }}",
    "self-context": "{{ self._TemplateReference__context.cycler.__init__.__globals__.os }}",
    "config-items": "{{ config.items() }}",
    "url-for-globals": "{{ url_for.__globals__ }}",
    "concat-key": "{{ cycler['__in' ~ 'it__'] }}",
    "plus-key": "{{ x['__cla' + 'ss__'] }}",
    "hex-escape-key": "{{ ''['\\x5f\\x5fclass\\x5f\\x5f'] }}",
    "printf-key": "{{ x['%c%cclass%c%c' % (95, 95, 95, 95)] }}",
    "format-method-key": "{{ x['{}{}'.format('__glo', 'bals__')] }}",
    "join-list-key": "{{ x[['__', 'class', '__']|join] }}",
    "dict-join-key": "{{ x[dict(__class__=1)|join] }}",
    "set-variable": "{% set a = '__cla' %}{% set b = a ~ 'ss__' %}{{ ''|attr(b) }}",
    "set-block": "{% set a %}__globals__{% endset %}{{ x[a] }}",
    "namespace-attr-variable": "{% set ns = namespace(k='__init__') %}{{ x[ns.k] }}",
    "loop-variable": "{% for k in ['__class__'] %}{{ x[k] }}{% endfor %}",
    "reversed": "{{ x['__ssalc__'|reverse] }}",
    "slice-reversed": "{{ x['__ssalc__'[::-1]] }}",
    "replace": "{{ x['_Xclass_X'|replace('X', '_')] }}",
    "dynamic-attr": "{{ x|attr(message['content']) }}",
    "map-attr": "{{ messages|map('attr', '__class__')|list }}",
    "map-attribute-kwarg": "{{ messages|map(attribute='__class__.__mro__')|list }}",
    "str-format-field": "{{ '{0.__class__.__mro__}'.format(x) }}",
    "character-picking": "{{ x[(()|select|string)[24] * 2 ~ 'class' ~ (()|select|string)[24] * 2] }}",
    "eval-name": "{{ eval('1+1') }}",
    "os-name": "{{ os.popen('true') }}",
    "import-name": "{{ __import__('os') }}",
    "include": "{% include 'other.j2' %}",
    "import": "{% import 'macros.j2' as m %}",
    "from-import": "{% from 'macros.j2' import x %}",
    "extends": "{% extends 'base.j2' %}",
    "filter-block": "{% filter attr('__class__') %}{% endfilter %}",
    "mro-method": "{{ x.__class__.mro() }}",
    "getattribute": "{{ x.__getattribute__('__globals__') }}",
    "gi-frame": "{{ (x|select).gi_frame.f_globals }}",
    "in-llama3": LLAMA3_TEMPLATE.replace("{{ content }}", "{{ content }}{{ cycler.__init__.__globals__.os.popen('true').read() }}"),
}
