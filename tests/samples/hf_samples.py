"""Hugging Face model folders: a plain BERT-like folder, and folders whose configs pull in remote code that
calls os.system("true") (harmless payloads; nothing here is ever imported)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.samples.gguf_samples import LLAMA3_TEMPLATE, MALICIOUS_TEMPLATES, QWEN2_TEMPLATE

BERT_CONFIG: dict[str, object] = {
    "architectures": ["BertForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "max_position_embeddings": 512,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "type_vocab_size": 2,
    "vocab_size": 30522,
    "torch_dtype": "float32",
    "transformers_version": "4.44.0",
}

BERT_TOKENIZER_CONFIG: dict[str, object] = {
    "do_lower_case": True,
    "model_max_length": 512,
    "tokenizer_class": "BertTokenizer",
    "added_tokens_decoder": {"0": {"content": "[PAD]", "special": True}},
}

CHAT_TOKENIZER_CONFIG: dict[str, object] = {
    "bos_token": "<|begin_of_text|>",
    "eos_token": "<|eot_id|>",
    "chat_template": LLAMA3_TEMPLATE,
    "model_max_length": 8192,
    "tokenizer_class": "PreTrainedTokenizerFast",
}

MULTI_TEMPLATE_TOKENIZER_CONFIG: dict[str, object] = {
    "chat_template": [
        {"name": "default", "template": QWEN2_TEMPLATE},
        {"name": "tool_use", "template": MALICIOUS_TEMPLATES["lipsum-globals"]},
    ],
}

REMOTE_CODE_CONFIG: dict[str, object] = {
    "architectures": ["FooForCausalLM"],
    "model_type": "foo",
    "auto_map": {
        "AutoConfig": "configuration_foo.FooConfig",
        "AutoModelForCausalLM": "modeling_foo.FooForCausalLM",
    },
    "hidden_size": 64,
}

CROSS_REPO_CONFIG: dict[str, object] = {
    "model_type": "bar",
    "auto_map": {"AutoModel": "someone-else/other-repo--modeling_bar.BarModel"},
}

REMOTE_TOKENIZER_CONFIG: dict[str, object] = {
    "auto_map": {"AutoTokenizer": ["tokenization_foo.FooTokenizer", None]},
    "tokenizer_class": "FooTokenizer",
}

CUSTOM_PIPELINE_CONFIG: dict[str, object] = {
    "model_type": "bert",
    "custom_pipelines": {"pair-classification": {"impl": "pair_pipeline.PairPipeline", "pt": ["AutoModel"]}},
}

SENTENCE_TRANSFORMERS_CONFIG: dict[str, object] = {
    "model_kwargs": {"trust_remote_code": True},
    "architectures": ["X"],
}

BENIGN_MODELING_CODE = '''"""A harmless modeling file: imports torch-like names, defines a model, uses os.path only."""
import os
import importlib.util

class FooConfig:
    model_type = "foo"

class FooForCausalLM:
    def __init__(self, config):
        self.config = config
        self.cache_dir = os.path.join(os.path.expanduser("~"), ".cache")

    def eval(self):
        return self

    def forward(self, x):
        self.eval()
        return x
'''

MALICIOUS_MODELING_CODE = '''import os
import subprocess as sp
from os import system as run_shell
import urllib.request
import socket
import requests

class FooForCausalLM:
    def __init__(self, config):
        os.system("true")
        sp.run(["true"])
        run_shell("true")

def phone_home():
    urllib.request.urlopen("http://127.0.0.1:9/")
    s = socket.socket()
    requests.post("http://127.0.0.1:9/", data=b"")
    eval("1 + 1")
    exec("x = 1")
    __import__("os").getcwd()
    getattr(os, "popen")("true")
'''

# Python 2 print syntax: ast cannot parse it, so the text fallback must still find the call.
UNPARSEABLE_MODELING_CODE = '''import os
print "hello"
os.system("true")
'''


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, indent=2))
    return path


def bert_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_json(root / "config.json", BERT_CONFIG)
    write_json(root / "tokenizer_config.json", BERT_TOKENIZER_CONFIG)
    return root


def remote_code_folder(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_json(root / "config.json", REMOTE_CODE_CONFIG)
    (root / "configuration_foo.py").write_text(BENIGN_MODELING_CODE)
    (root / "modeling_foo.py").write_text(MALICIOUS_MODELING_CODE)
    return root
