"""Tests for the Python AST rules: every rule has positives (direct and through aliases) and safe look-alikes."""

from __future__ import annotations

import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlwarden.core.findings import Severity
from mlwarden.core.rules import CATALOGUE
from mlwarden.supply.code.python_rules import (
    CALL_RULES,
    analyze_python_source,
    apply_inline_suppressions,
    classify_repo_reference,
    is_commit_revision,
    split_source_lines,
)
from mlwarden.supply.hits import Hit

SHA = "0123456789abcdef0123456789abcdef01234567"
C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW


def analyze(source: str) -> list[Hit]:
    return analyze_python_source(textwrap.dedent(source))


def effective(hit: Hit) -> Severity:
    return hit.severity or CATALOGUE[hit.rule_id].severity


def only(source: str, rule_id: str) -> Hit:
    hits = [h for h in analyze(source) if h.rule_id == rule_id]
    assert len(hits) == 1, (rule_id, hits)
    return hits[0]


# (rule id, expected severity, source). Each source holds exactly one hit of that rule.
POSITIVES: list[tuple[str, Severity, str]] = [
    # --- MW-CODE-001 torch.load ---------------------------------------------------------------------------
    ("MW-CODE-001", H, "import torch\ntorch.load(path)"),
    ("MW-CODE-001", C, "import torch\ntorch.load(path, weights_only=False)"),
    ("MW-CODE-001", M, "import torch\ntorch.load(path, weights_only=flag)"),
    ("MW-CODE-001", L, "import torch\ntorch.load(path, **kwargs)"),
    ("MW-CODE-001", H, "from torch import load as l\nl(path)"),
    ("MW-CODE-001", H, "import torch as t\nt.load(path, map_location='cpu')"),
    ("MW-CODE-001", H, "import torch\nloader = torch.load\nloader(path)"),
    ("MW-CODE-001", H, "import torch\ndef f(p):\n    loader = torch.load\n    return loader(p)"),
    ("MW-CODE-001", H, "def f(p):\n    return loader(p)\nimport torch\nloader = torch.load"),
    ("MW-CODE-001", H, "import torch.serialization\ntorch.serialization.load(path)"),
    ("MW-CODE-001", C, "import functools, torch\nload = functools.partial(torch.load, weights_only=False)\nload(p)"),
    ("MW-CODE-001", H, "torch.load(path)  # a notebook cell: torch was imported in another cell"),
    # --- MW-CODE-002 pickle family --------------------------------------------------------------------------
    ("MW-CODE-002", H, "import pickle\npickle.load(f)"),
    ("MW-CODE-002", H, "import pickle as pk\npk.loads(data)"),
    ("MW-CODE-002", H, "import cPickle as pickle\npickle.loads(data)"),
    ("MW-CODE-002", H, "from pickle import loads as l\nl(data)"),
    ("MW-CODE-002", H, "import pickle\nu = pickle.Unpickler\nu(f).load()"),
    ("MW-CODE-002", H, "import dill\ndill.load(f)"),
    ("MW-CODE-002", H, "import cloudpickle\ncloudpickle.loads(b)"),
    ("MW-CODE-002", H, "import jsonpickle\njsonpickle.decode(text)"),
    ("MW-CODE-002", H, "import joblib\njoblib.load('model.joblib')"),
    ("MW-CODE-002", H, "from sklearn.externals import joblib\njoblib.load(p)"),
    ("MW-CODE-002", H, "import pandas as pd\npd.read_pickle(p)"),
    ("MW-CODE-002", H, "pd.read_pickle(p)"),
    ("MW-CODE-002", M, "import shelve\nshelve.open(p)"),
    ("MW-CODE-002", M, "import marshal\nmarshal.loads(b)"),
    # --- MW-CODE-003 numpy allow_pickle --------------------------------------------------------------------
    ("MW-CODE-003", H, "import numpy as np\nnp.load(f, allow_pickle=True)"),
    ("MW-CODE-003", H, "import numpy\nnumpy.load(f, None, True)"),
    ("MW-CODE-003", H, "from numpy import load as npload\nnpload(f, allow_pickle=True)"),
    ("MW-CODE-003", L, "import numpy as np\nnp.load(f, allow_pickle=allow)"),
    # --- MW-CODE-004 Keras safe_mode ------------------------------------------------------------------------
    ("MW-CODE-004", H, "import keras\nkeras.models.load_model(p, safe_mode=False)"),
    ("MW-CODE-004", H, "import tensorflow as tf\ntf.keras.models.load_model(p, safe_mode=False)"),
    ("MW-CODE-004", H, "from tensorflow import keras\nkeras.saving.load_model(p, safe_mode=False)"),
    ("MW-CODE-004", H, "from keras.models import load_model as lm\nlm(p, safe_mode=False)"),
    ("MW-CODE-004", H, "import keras\nkeras.config.enable_unsafe_deserialization()"),
    ("MW-CODE-004", L, "import keras\nkeras.models.load_model(p, safe_mode=mode)"),
    # --- MW-CODE-005 skops ----------------------------------------------------------------------------------
    ("MW-CODE-005", H, "import skops.io as sio\nsio.load(p, trusted=True)"),
    ("MW-CODE-005", H, "from skops.io import loads\nloads(data, trusted=True)"),
    # --- MW-CODE-006 MLflow ---------------------------------------------------------------------------------
    ("MW-CODE-006", M, "import mlflow\nmlflow.pyfunc.load_model(uri)"),
    ("MW-CODE-006", M, "from mlflow import pyfunc\npyfunc.load_model(uri)"),
    ("MW-CODE-006", M, "import mlflow.sklearn as ms\nms.load_model(uri)"),
    # --- MW-CODE-007 trust_remote_code ----------------------------------------------------------------------
    ("MW-CODE-007", H, "from transformers import AutoModel\nAutoModel.from_pretrained(name, trust_remote_code=True)"),
    ("MW-CODE-007", H, "from datasets import load_dataset as ld\nld(name, trust_remote_code=True)"),
    ("MW-CODE-007", H, "kwargs = {'trust_remote_code': True, 'device_map': 'auto'}"),
    ("MW-CODE-007", H, "from vllm import LLM\nLLM(model=name, trust_remote_code=True)"),
    ("MW-CODE-007", L, f"import transformers\ntransformers.AutoModel.from_pretrained('org/x', revision='{SHA}', "
                       "trust_remote_code=True)"),
    # --- MW-CODE-008 torch.hub ------------------------------------------------------------------------------
    ("MW-CODE-008", H, "import torch\ntorch.hub.load('pytorch/vision', 'resnet18')"),
    ("MW-CODE-008", H, "from torch import hub\nhub.load('owner/repo:v1.0', 'model')"),
    ("MW-CODE-008", H, "import torch\ntorch.hub.list(repo)"),
    ("MW-CODE-008", L, f"import torch\ntorch.hub.load('owner/repo:{SHA}', 'model')"),
    # --- MW-CODE-009 unpinned hub downloads -----------------------------------------------------------------
    ("MW-CODE-009", M, "from transformers import AutoModel\nAutoModel.from_pretrained('org/name')"),
    ("MW-CODE-009", M, "from transformers import AutoModel\nAutoModel.from_pretrained('org/name', revision='main')"),
    ("MW-CODE-009", M, "import transformers as tr\ntr.AutoTokenizer.from_pretrained('gpt2')"),
    ("MW-CODE-009", M, "from transformers import AutoModelForCausalLM as M\nM.from_pretrained('org/x')"),
    ("MW-CODE-009", M, "tok = AutoTokenizer.from_pretrained('org/x')  # notebook cell without the import"),
    ("MW-CODE-009", M, "from diffusers import StableDiffusionPipeline\nStableDiffusionPipeline.from_pretrained('a/b')"),
    ("MW-CODE-009", M, "from peft import PeftModel\nPeftModel.from_pretrained(base, 'org/adapter')"),
    ("MW-CODE-009", M, "from peft import AutoPeftModelForCausalLM as A\nA.from_pretrained('org/adapter')"),
    ("MW-CODE-009", L, "from transformers import AutoModel\nAutoModel.from_pretrained(model_name)"),
    ("MW-CODE-009", L, "from transformers import AutoModel\nAutoModel.from_pretrained('output')"),
    ("MW-CODE-009", M, "from transformers import pipeline\npipeline('text-classification', model='org/x')"),
    ("MW-CODE-009", M, "from transformers import pipeline\npipeline('ner', 'org/x', revision='v2')"),
    ("MW-CODE-009", L, "from transformers import pipeline\npipeline('sentiment-analysis')"),
    ("MW-CODE-009", M, "from datasets import load_dataset\nload_dataset('org/data')"),
    ("MW-CODE-009", L, "from datasets import load_dataset\nload_dataset('imdb')"),
    ("MW-CODE-009", M, "from huggingface_hub import hf_hub_download\nhf_hub_download('org/x', 'model.bin')"),
    ("MW-CODE-009", M, "import huggingface_hub as hh\nhh.snapshot_download(repo_id='org/x')"),
    ("MW-CODE-009", M, "from sentence_transformers import SentenceTransformer\nSentenceTransformer('org/mini-l6')"),
    ("MW-CODE-009", L, "def f(model_cls):\n    return model_cls.from_pretrained('org/x')"),
    # --- MW-CODE-010 YAML -----------------------------------------------------------------------------------
    ("MW-CODE-010", M, "import yaml\nyaml.load(f)"),
    ("MW-CODE-010", H, "import yaml\nyaml.load(f, Loader=yaml.Loader)"),
    ("MW-CODE-010", H, "import yaml\nyaml.load(f, yaml.UnsafeLoader)"),
    ("MW-CODE-010", H, "from yaml import load, CLoader as Loader\nload(f, Loader=Loader)"),
    ("MW-CODE-010", H, "import yaml as y\ny.unsafe_load(f)"),
    ("MW-CODE-010", H, "import yaml\nyaml.load_all(f, Loader=yaml.UnsafeLoader)"),
    ("MW-CODE-010", L, "import yaml\nyaml.full_load(f)"),
    ("MW-CODE-010", L, "import yaml\nyaml.load(f, Loader=yaml.FullLoader)"),
    ("MW-CODE-010", M, "import yaml\nyaml.load(f, Loader=get_loader())"),
    ("MW-CODE-010", H, "import yaml\nclass L(yaml.UnsafeLoader):\n    pass\nyaml.load(f, Loader=L)"),
    ("MW-CODE-010", H, "from ruamel.yaml import YAML\nYAML(typ='unsafe').load(f)"),
    # --- MW-CODE-011 eval / exec ----------------------------------------------------------------------------
    ("MW-CODE-011", M, "eval(expression)"),
    ("MW-CODE-011", M, "exec(code, namespace)"),
    ("MW-CODE-011", M, "import builtins\nbuiltins.eval(text)"),
    ("MW-CODE-011", M, "run = eval\nrun(text)"),
    ("MW-CODE-011", M, "eval(f'{a} + {b}')"),
    # --- MW-CODE-012 shell ----------------------------------------------------------------------------------
    ("MW-CODE-012", H, "import subprocess\nsubprocess.run(cmd, shell=True)"),
    ("MW-CODE-012", H, "import subprocess as sp\nsp.Popen(f'ls {d}', shell=True)"),
    ("MW-CODE-012", L, "import subprocess\nsubprocess.check_output('nvidia-smi', shell=True)"),
    ("MW-CODE-012", L, "import subprocess\nsubprocess.call(cmd, shell=use_shell)"),
    ("MW-CODE-012", H, "import os\nos.system(f'rm -rf {path}')"),
    ("MW-CODE-012", L, "import os\nos.system('clear')"),
    ("MW-CODE-012", H, "from os import system\nsystem(command)"),
    ("MW-CODE-012", H, "import os\nos.popen('cat ' + name)"),
    ("MW-CODE-012", H, "import subprocess\nsubprocess.getoutput(cmd)"),
    # --- MW-CODE-013 tar extraction -------------------------------------------------------------------------
    ("MW-CODE-013", H, "import tarfile\nwith tarfile.open(p) as tar:\n    tar.extractall(d)"),
    ("MW-CODE-013", H, "import tarfile\ntf = tarfile.open(p, 'r:gz')\ntf.extract(member, d)"),
    ("MW-CODE-013", H, "import tarfile\ntarfile.open(p).extractall()"),
    ("MW-CODE-013", H, "from tarfile import open as topen\nwith topen(p) as t:\n    t.extractall()"),
    ("MW-CODE-013", H, "import tarfile\nwith tarfile.TarFile(p) as t:\n    t.extractall(d, filter='fully_trusted')"),
    ("MW-CODE-013", H, "import tarfile\ntarfile.open(p).extractall(d, filter=tarfile.fully_trusted_filter)"),
    ("MW-CODE-013", L, "import tarfile\ntarfile.open(p).extractall(d, members=safe_members(t))"),
    ("MW-CODE-013", M, "import shutil\nshutil.unpack_archive(p, d)"),
    # --- MW-CODE-014 TLS ------------------------------------------------------------------------------------
    ("MW-CODE-014", H, "import requests\nrequests.get(url, verify=False)"),
    ("MW-CODE-014", H, "import requests\ns = requests.Session()\ns.post(url, json=body, verify=False)"),
    ("MW-CODE-014", H, "from requests import get as fetch\nfetch(url, verify=False)"),
    ("MW-CODE-014", H, "import httpx\nhttpx.Client(verify=False)"),
    ("MW-CODE-014", M, "def f(session):\n    return session.get(url, verify=False)"),
    ("MW-CODE-014", H, "import ssl\nctx = ssl._create_unverified_context()"),
    ("MW-CODE-014", H, "import ssl\nssl._create_default_https_context = ssl._create_unverified_context"),
    ("MW-CODE-014", H, "import ssl\nctx.verify_mode = ssl.CERT_NONE"),
    ("MW-CODE-014", H, "import aiohttp\naiohttp.TCPConnector(ssl=False)"),
    ("MW-CODE-014", H, "import urllib3\nurllib3.PoolManager(cert_reqs='CERT_NONE')"),
    # --- MW-CODE-015 debugger -------------------------------------------------------------------------------
    ("MW-CODE-015", H, "from flask import Flask\napp = Flask(__name__)\napp.run(debug=True)"),
    ("MW-CODE-015", H, "import flask as fl\nserver = fl.Flask('x')\nserver.run('127.0.0.1', 5000, True)"),
    ("MW-CODE-015", M, "class S:\n    def start(self):\n        self.app.run(debug=True)"),
    ("MW-CODE-015", M, "app = create_app()\napp.run(debug=True)"),
    ("MW-CODE-015", H, "from werkzeug.serving import run_simple\nrun_simple('localhost', 5000, app, use_debugger=True)"),
    ("MW-CODE-015", H, "import dash\napp = dash.Dash(__name__)\napp.run_server(debug=True)"),
    # --- MW-CODE-016 gradio share ---------------------------------------------------------------------------
    ("MW-CODE-016", M, "import gradio as gr\ngr.Interface(fn=f, inputs='text', outputs='text').launch(share=True)"),
    ("MW-CODE-016", M, "import gradio as gr\nwith gr.Blocks() as demo:\n    pass\ndemo.launch(share=True)"),
    ("MW-CODE-016", L, "demo.launch(share=True)  # demo built in another notebook cell"),
    # --- MW-CODE-017 bind all interfaces --------------------------------------------------------------------
    ("MW-CODE-017", M, "from flask import Flask\napp = Flask(__name__)\napp.run(host='0.0.0.0')"),
    ("MW-CODE-017", M, "import uvicorn\nuvicorn.run(app, host='0.0.0.0', port=8000)"),
    ("MW-CODE-017", M, "import gradio as gr\ndemo = gr.Blocks()\ndemo.launch(server_name='0.0.0.0')"),
    ("MW-CODE-017", M, "import socket\ns = socket.socket()\ns.bind(('0.0.0.0', 8080))"),
    ("MW-CODE-017", M, "from http.server import HTTPServer\nHTTPServer(('', 8000), Handler)"),
    ("MW-CODE-017", L, "def main(app):\n    app.run(host='::')"),
    # --- MW-CODE-018 weak hashes ----------------------------------------------------------------------------
    ("MW-CODE-018", L, "import hashlib\nhashlib.md5(data).hexdigest()"),
    ("MW-CODE-018", L, "import hashlib\nhashlib.sha1()"),
    ("MW-CODE-018", L, "import hashlib\nhashlib.new('MD5', data)"),
    ("MW-CODE-018", L, "from hashlib import md5 as digest\ndigest(data)"),
    # --- MW-CODE-019 native libraries -----------------------------------------------------------------------
    ("MW-CODE-019", L, "import ctypes\nctypes.CDLL(path)"),
    ("MW-CODE-019", L, "import ctypes\nctypes.CDLL('./libcustom.so')"),
    ("MW-CODE-019", L, "from ctypes import cdll\ncdll.LoadLibrary(os.path.join(d, 'lib.so'))"),
    ("MW-CODE-019", M, "import torch\ntorch.ops.load_library(model_dir + '/ops.so')"),
    ("MW-CODE-019", M, "import tensorflow as tf\ntf.load_op_library(path)"),
]

# (rule id, source): the rule stays quiet.
SAFE: list[tuple[str, str]] = [
    ("MW-CODE-001", "import torch\ntorch.load(path, weights_only=True)"),
    ("MW-CODE-001", "import torch\nfrom functools import partial\nload = partial(torch.load, weights_only=True)\n"
                    "load(p)"),
    ("MW-CODE-001", "model.load(path)"),
    ("MW-CODE-001", "def f(torch):\n    return torch.load(path)"),
    ("MW-CODE-001", "from mylib import load\nload(path)"),
    ("MW-CODE-001", "from .serialization import load\nload(path)"),
    ("MW-CODE-001", "import torch\ntorch.save(obj, path)"),
    ("MW-CODE-001", "from torch import *\nload(path)"),
    ("MW-CODE-001", "'''torch.load(path)'''"),
    ("MW-CODE-002", "import pickle\npickle.dump(obj, f)\npickle.dumps(obj)"),
    ("MW-CODE-002", "import joblib\njoblib.dump(model, p)"),
    ("MW-CODE-002", "import pickle\nclass Restricted(pickle.Unpickler):\n    def find_class(self, m, n):\n"
                    "        raise ValueError\nRestricted(f).load()"),
    ("MW-CODE-002", "import json\njson.loads(text)"),
    ("MW-CODE-003", "import numpy as np\nnp.load(f)"),
    ("MW-CODE-003", "import numpy as np\nnp.load(f, allow_pickle=False)"),
    ("MW-CODE-004", "import keras\nkeras.models.load_model(p)"),
    ("MW-CODE-004", "import keras\nkeras.models.load_model(p, safe_mode=True)"),
    ("MW-CODE-005", "import skops.io as sio\nsio.load(p, trusted=['sklearn.linear_model.LogisticRegression'])"),
    ("MW-CODE-005", "import skops.io as sio\nsio.load(p)"),
    ("MW-CODE-006", "import mlflow\nmlflow.onnx.load_model(uri)\nmlflow.log_metric('x', 1)"),
    ("MW-CODE-007", "from transformers import AutoModel\nAutoModel.from_pretrained('./m', trust_remote_code=False)"),
    ("MW-CODE-007", "from transformers import AutoModel\nAutoModel.from_pretrained('./m', trust_remote_code=flag)"),
    ("MW-CODE-007", "doc = 'pass trust_remote_code=True to load it'"),
    ("MW-CODE-008", "import torch\ntorch.hub.load('./hub_dir', 'model', source='local')"),
    ("MW-CODE-008", "import torch\ntorch.hub.download_url_to_file(url, dst)"),
    ("MW-CODE-009", f"from transformers import AutoModel\nAutoModel.from_pretrained('org/name', revision='{SHA}')"),
    ("MW-CODE-009", "from transformers import AutoModel\nAutoModel.from_pretrained('./local_dir')"),
    ("MW-CODE-009", "from transformers import AutoModel\nAutoModel.from_pretrained('/models/bert')"),
    ("MW-CODE-009", "from transformers import AutoModel\nAutoModel.from_pretrained('~/models/bert')"),
    ("MW-CODE-009", "from transformers import AutoModel\nAutoModel.from_pretrained('runs/exp1/checkpoint-500')"),
    ("MW-CODE-009", "from transformers import AutoModel\nAutoModel.from_pretrained('pytorch_model.bin')"),
    ("MW-CODE-009", "from transformers import AutoModel\nAutoModel.from_pretrained('org/x', revision=rev)"),
    ("MW-CODE-009", "from transformers import AutoModel\nAutoModel.from_pretrained(name, **kwargs)"),
    ("MW-CODE-009", "from datasets import load_dataset\nload_dataset('csv', data_files='train.csv')"),
    ("MW-CODE-009", "class M:\n    @classmethod\n    def build(cls, path):\n        return cls.from_pretrained(path)"),
    ("MW-CODE-009", "from transformers import pipeline\npipeline('ner', model=model, tokenizer=tok)"),
    ("MW-CODE-010", "import yaml\nyaml.safe_load(f)\nyaml.safe_load_all(f)\nyaml.dump(obj)"),
    ("MW-CODE-010", "import yaml\nyaml.load(f, Loader=yaml.SafeLoader)"),
    ("MW-CODE-010", "import yaml\nyaml.load(f, yaml.CSafeLoader)"),
    ("MW-CODE-010", "import yaml\nclass L(yaml.SafeLoader):\n    pass\nyaml.load(f, Loader=L)"),
    ("MW-CODE-010", "try:\n    from yaml import CSafeLoader as Loader\nexcept ImportError:\n"
                    "    from yaml import SafeLoader as Loader\nimport yaml\nyaml.load(f, Loader=Loader)"),
    ("MW-CODE-010", "from ruamel.yaml import YAML\nYAML(typ='safe').load(f)\nYAML().load(f)"),
    ("MW-CODE-011", "eval('1 + 1')"),
    ("MW-CODE-011", "model.eval()\nnet.eval()"),
    ("MW-CODE-011", "import ast\nast.literal_eval(text)"),
    ("MW-CODE-011", "def eval(x):\n    return x\neval(data)"),
    ("MW-CODE-011", "import torch\ntorch.eval(x)"),
    ("MW-CODE-012", "import subprocess\nsubprocess.run(['ls', '-l', path])"),
    ("MW-CODE-012", "import subprocess\nsubprocess.run(cmd, shell=False)"),
    ("MW-CODE-012", "import subprocess\nsubprocess.run(['git', 'status'], shell=flag)"),
    ("MW-CODE-012", "import os\nos.path.join(a, b)\nos.makedirs(d)"),
    ("MW-CODE-013", "import tarfile\nwith tarfile.open(p) as tar:\n    tar.extractall(d, filter='data')"),
    ("MW-CODE-013", "import tarfile\ntarfile.open(p).extractall(d, filter=tarfile.data_filter)"),
    ("MW-CODE-013", "import tarfile\nwith tarfile.open(p) as tar:\n    f = tar.extractfile(member)"),
    ("MW-CODE-013", "import zipfile\nzipfile.ZipFile(p).extractall(d)"),
    ("MW-CODE-013", "import shutil\nshutil.unpack_archive('data.zip', d)"),
    ("MW-CODE-013", "import shutil\nshutil.unpack_archive(p, d, filter='data')"),
    ("MW-CODE-013", "def f(archive):\n    archive.extractall(d)"),
    ("MW-CODE-014", "import requests\nrequests.get(url)\nrequests.get(url, verify=True)"),
    ("MW-CODE-014", "import requests\nrequests.get(url, verify='/etc/ssl/ca.pem')"),
    ("MW-CODE-014", "import ssl\nctx = ssl.create_default_context()\nif ctx.verify_mode == ssl.CERT_NONE:\n"
                    "    raise SystemExit"),
    ("MW-CODE-014", "cache.get(key, verify=True)"),
    ("MW-CODE-015", "from flask import Flask\napp = Flask(__name__)\napp.run(debug=False)\napp.run()"),
    ("MW-CODE-015", "import asyncio\nasyncio.run(main(), debug=True)"),
    ("MW-CODE-015", "def f(trainer):\n    trainer.run(debug=True)"),
    ("MW-CODE-016", "import gradio as gr\ndemo = gr.Blocks()\ndemo.launch()\ndemo.launch(share=False)"),
    ("MW-CODE-017", "from flask import Flask\napp = Flask(__name__)\napp.run(host='127.0.0.1')"),
    ("MW-CODE-017", "import uvicorn\nuvicorn.run(app)"),
    ("MW-CODE-017", "import socket\ns = socket.socket()\ns.bind(('', 0))"),
    ("MW-CODE-017", "HOST = '0.0.0.0'"),
    ("MW-CODE-018", "import hashlib\nhashlib.md5(data, usedforsecurity=False)"),
    ("MW-CODE-018", "import hashlib\nhashlib.sha256(data)\nhashlib.new('sha256')\nhashlib.new(name)"),
    ("MW-CODE-019", "import ctypes\nctypes.CDLL('libc.so.6')\nctypes.CDLL(None)"),
    ("MW-CODE-019", "import ctypes, ctypes.util\nctypes.CDLL(ctypes.util.find_library('c'))"),
]


@pytest.mark.parametrize(("rule_id", "severity", "source"), POSITIVES,
                         ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(POSITIVES)])
def test_positive(rule_id: str, severity: Severity, source: str) -> None:
    hit = only(source, rule_id)
    assert effective(hit) is severity, hit
    assert hit.message and hit.evidence
    assert hit.line >= 1 and hit.column is not None and hit.column >= 1


@pytest.mark.parametrize(("rule_id", "source"), SAFE, ids=[f"{r}-{i}" for i, (r, _) in enumerate(SAFE)])
def test_safe_look_alike(rule_id: str, source: str) -> None:
    assert [h for h in analyze(source) if h.rule_id == rule_id] == []


def test_every_code_rule_has_positives_and_safe_look_alikes() -> None:
    code_rules = {r for r in CATALOGUE if r.startswith("MW-CODE-") and r != "MW-CODE-000"}
    assert code_rules == {r for r, _, _ in POSITIVES}
    assert code_rules == {r for r, _ in SAFE}
    assert {rule.rule_id for rule in CALL_RULES} <= set(CATALOGUE)
    for rule_id in code_rules:
        rule = CATALOGUE[rule_id]
        assert rule.area == "code" and rule.remediation
        assert any(ref.startswith("CWE-") for ref in rule.references)


# --- unparseable input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    'print "python 2"\n',
    "x = 1\x00\n",
    "def f(:\n",
    "1" + "+1" * 200_000,  # RecursionError while building the AST
    "-" * 100_000 + "1",  # the parser's stack limit (MemoryError)
    "(" * 300 + ")" * 300,  # too many nested parentheses
    "\udcff = 1",
])
def test_unparseable_source_gives_one_low_hit(source: str) -> None:
    hits = analyze_python_source(source)
    assert [h.rule_id for h in hits] == ["MW-CODE-000"]
    assert effective(hits[0]) is L
    assert hits[0].evidence is None


def test_unparseable_hit_points_at_the_error_line() -> None:
    hits = analyze_python_source("import torch\nx = 1\ny = = 2\n")
    assert hits[0].rule_id == "MW-CODE-000" and hits[0].line == 3


def test_byte_order_mark_is_ignored() -> None:
    assert [h.rule_id for h in analyze_python_source("\ufeffimport pickle\npickle.loads(b)\n")] == ["MW-CODE-002"]


def test_deep_but_parseable_trees_are_walked_without_recursion() -> None:
    sources = [
        "import pickle\nx = " + "a." * 1500 + "b\npickle.loads(x)",
        "import pickle\nf" + "()" * 1500 + "\npickle.loads(x)",
        "import pickle\nx = " + " + ".join(["a"] * 1500) + "\npickle.loads(x)",
        "import pickle\nx = " + "not " * 1500 + "a\npickle.loads(x)",
        "import pickle\nx" + ".a()" * 800 + ".loads(b)\npickle.loads(x)",
        "import pickle\nx = [" + "lambda: " * 1000 + "1]\npickle.loads(x)",
    ]
    for source in sources:
        assert [h.rule_id for h in analyze_python_source(source)] == ["MW-CODE-002"]


# --- resolution details --------------------------------------------------------------------------------------


def test_rebinding_a_name_hides_the_import() -> None:
    source = """
        import pickle
        pickle = SafeSerializer()
        pickle.loads(data)
        for torch in modules:
            torch.load(path)
    """
    assert analyze(source) == []


def test_function_parameters_and_comprehension_variables_shadow_modules() -> None:
    source = """
        import pickle, torch
        def restore(pickle):
            return pickle.loads(data)
        values = [torch.load(p) for torch in loaders]
        use = lambda torch: torch.load(p)
    """
    assert analyze(source) == []


def test_class_attributes_are_not_seen_by_methods() -> None:
    source = """
        import pickle
        class Store:
            pickle = None
            def get(self, blob):
                return pickle.loads(blob)
    """
    assert [h.rule_id for h in analyze(source)] == ["MW-CODE-002"]


def test_none_fallback_keeps_the_import() -> None:
    source = """
        try:
            from huggingface_hub import hf_hub_download
        except ImportError:
            hf_hub_download = None
        def fetch():
            return hf_hub_download("org/x", "config.json")
    """
    assert [h.rule_id for h in analyze(source)] == ["MW-CODE-009"]


def test_assignment_resolves_the_value_before_binding() -> None:
    assert [h.rule_id for h in analyze("import torch\ntorch = torch.load\ntorch(p)")] == ["MW-CODE-001"]


def test_alias_is_named_in_the_message() -> None:
    hit = only("from torch import load as l\nl(path)", "MW-CODE-001")
    assert "`l` is torch.load" in hit.message
    assert hit.evidence == "l(path)"
    assert hit.data == {"callee": "torch.load"}


def test_method_name_matches_say_so() -> None:
    hit = only("def f(session):\n    session.get(url, verify=False)", "MW-CODE-014")
    assert "matched by method name" in hit.message


# --- evidence, positions and secrets -------------------------------------------------------------------------


def test_evidence_is_a_short_rendering_of_the_call() -> None:
    hit = only("import torch\ntorch.load(path, map_location='cpu')", "MW-CODE-001")
    assert hit.evidence == "torch.load(path, map_location='cpu')"
    long_call = "import pickle\npickle.loads(" + ", ".join(f"'{'x' * 50}{i}'" for i in range(30)) + ")"
    assert len(only(long_call, "MW-CODE-002").evidence or "") <= 200


def test_secrets_never_reach_evidence_or_message() -> None:
    token = "hf_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA"
    password = "correct-horse-battery"
    source = f"""
        import requests, torch
        requests.get(url, verify=False, headers={{"Authorization": "Bearer {token}"}})
        requests.post(url, auth=("user", "{password}"), verify=False)
        requests.get("https://x.example/?key={token}", verify=False)
        torch.load(download("org/x", token="{token}"))
        torch.load("{token}")
    """
    hits = analyze(source)
    assert len(hits) == 5
    for hit in hits:
        text = f"{hit.message} {hit.evidence} {hit.data}"
        assert token not in text and password not in text


def test_line_and_column_count_characters() -> None:
    hits = analyze_python_source("import pickle\nx = 'é€'; pickle.loads(b)\n")
    assert (hits[0].line, hits[0].column) == (2, 11)  # 'é€' are 2 characters, 5 bytes


def test_lines_follow_python_line_endings() -> None:
    source = "import pickle\r\nx = 1\rpickle.loads(b)\n"
    assert analyze_python_source(source)[0].line == 3
    assert split_source_lines(source)[2] == "pickle.loads(b)"


def test_hits_are_sorted_by_position() -> None:
    hits = analyze("import os, pickle\nos.system(c)\npickle.loads(b)\neval(x)")
    assert [h.line for h in hits] == [2, 3, 4]


# --- inline suppression --------------------------------------------------------------------------------------


def test_inline_suppression_needs_the_rule_id_and_a_reason() -> None:
    source = textwrap.dedent("""
        import torch, pickle
        torch.load(p)  # mlwarden: ignore[MW-CODE-001] checkpoint written by this job
        torch.load(p)  # mlwarden: ignore[MW-CODE-001]
        pickle.loads(b)  # mlwarden: ignore[MW-CODE-001] wrong id
    """)
    pairs = apply_inline_suppressions(analyze_python_source(source), source)
    assert [(h.rule_id, reason) for h, reason in pairs] == [
        ("MW-CODE-001", "checkpoint written by this job"), ("MW-CODE-001", None), ("MW-CODE-002", None)]
    assert apply_inline_suppressions([], source) == []


# --- shared helpers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "kind"), [
    ("org/name", "hub"), ("gpt2", "hub"), ("bert-base-uncased", "hub"), ("meta-llama/Llama-2-7b-hf", "hub"),
    ("output", "ambiguous"), ("imdb", "ambiguous"),
    ("./local", "local"), ("/abs/path", "local"), ("~/m", "local"), ("a/b/c", "local"), ("C:\\models", "local"),
    ("model.safetensors", "local"), ("org--name/x", "local"), ("", "local"), ("https://x.example/m", "local"),
])
def test_classify_repo_reference(value: str, kind: str) -> None:
    assert classify_repo_reference(value) == kind


def test_is_commit_revision() -> None:
    assert is_commit_revision(SHA)
    assert not is_commit_revision("main") and not is_commit_revision(SHA[:39]) and not is_commit_revision(SHA + "0")


# --- hostile input -------------------------------------------------------------------------------------------

_SEED = textwrap.dedent("""
    import torch, pickle as pk, yaml, subprocess, tarfile
    from transformers import AutoModel
    from flask import Flask
    app = Flask(__name__)
    loader = torch.load
    def restore(path, flag):
        with tarfile.open(path) as tar:
            tar.extractall("out")
        yaml.load(open(path), Loader=yaml.Loader)
        subprocess.run(f"cp {path} x", shell=True)
        AutoModel.from_pretrained("org/name", trust_remote_code=True)
        return loader(path), pk.loads(flag), eval(path)
    class Model:
        x = [torch.load(p) for p in paths]
    app.run(debug=True, host="0.0.0.0")
""")


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.text(max_size=400))
def test_random_text_never_raises(text: str) -> None:
    for hit in analyze_python_source(text):
        assert isinstance(hit, Hit) and hit.line >= 1


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, len(_SEED)), st.integers(0, 8), st.text(max_size=6)), max_size=6))
def test_mutated_code_never_raises(edits: list[tuple[int, int, str]]) -> None:
    text = _SEED
    for position, removed, inserted in edits:
        text = text[:position] + inserted + text[position + removed:]
    hits = analyze_python_source(text)
    for hit, _reason in apply_inline_suppressions(hits, text):
        assert hit.rule_id in CATALOGUE
        assert len(hit.evidence or "") <= 200


def test_seed_reports_each_concern() -> None:
    ids = [h.rule_id for h in analyze_python_source(_SEED)]
    for rule_id in ("MW-CODE-001", "MW-CODE-002", "MW-CODE-007", "MW-CODE-009", "MW-CODE-010", "MW-CODE-011",
                    "MW-CODE-012", "MW-CODE-013", "MW-CODE-015", "MW-CODE-017"):
        assert rule_id in ids
