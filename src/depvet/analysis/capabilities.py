"""What calls can do: one table of capabilities, marked on every module before detectors run.

Detector families report rules; these marks let rules about *combinations* (a secret read whose
data reaches a network send, a download that is then executed, a ``.pth`` that spawns a
process) work across families without each family knowing the others' call names.
"""

from __future__ import annotations

import ast

from depvet.analysis.decode import EXEC_NAMES, PROCESS_NAMES
from depvet.analysis.detector import Cap, PyContext
from depvet.analysis.pyfacts import CallSite
from depvet.analysis.staticeval import DECODER_NAMES

# HTTP clients: calls that send a request. GET-like ones fetch; their URL can still carry data.
HTTP_SEND = frozenset(
    {
        "requests.post",
        "requests.put",
        "requests.patch",
        "requests.request",
        "requests.Session.post",
        "httpx.post",
        "httpx.put",
        "httpx.patch",
        "httpx.request",
        "urllib3.request",
        "aiohttp.ClientSession.post",
    }
)
HTTP_FETCH = frozenset(
    {
        "requests.get",
        "requests.head",
        "httpx.get",
        "urllib.request.urlopen",
        "urllib2.urlopen",
        "urllib.urlopen",
        "urllib.request.urlretrieve",
        "urllib.urlretrieve",
        "wget.download",
    }
)
# Connection and pool constructors (urllib3.PoolManager, http.client.HTTPSConnection) open
# nothing: they are NETWORK_CLIENTS, and the request made on them is what gets marked.
# Method names that send on a receiver we usually cannot type (a session, a socket, a pool).
SEND_METHODS = frozenset({"post", "put", "patch", "send", "sendall", "sendto", "sendfile"})
FETCH_METHODS = frozenset(
    {"get", "urlopen", "request", "retrieve", "urlretrieve", "recv", "connect", "connect_ex"}
)
REQUEST_BUILDERS = frozenset({"urllib.request.Request", "urllib2.Request"})
# Creating a socket is not network activity (urllib3 probes IPv6 support at import); connecting is.
SOCKET_CONNECT = frozenset({"socket.create_connection"})
DNS_LOOKUPS = frozenset(
    {
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.getaddrinfo",
        "dns.resolver.resolve",
        "dns.resolver.query",
        "dns.resolver.Resolver.resolve",
        "dns.resolver.Resolver.query",
    }
)
SYSINFO = frozenset(
    {
        "platform.node",
        "socket.gethostname",
        "getpass.getuser",
        "os.getlogin",
        "os.uname",
        "platform.uname",
        "platform.platform",
        "os.getcwd",
        "socket.getfqdn",
    }
)
ENV_GETTERS = frozenset({"os.getenv", "os.environ.get", "os.getenvb"})
# Environment variables that name the host or the user, read by beacons.
HOST_VARIABLES = frozenset(
    {"USER", "USERNAME", "LOGNAME", "HOSTNAME", "COMPUTERNAME", "USERDOMAIN", "HOME", "USERPROFILE", "PWD"}
)
# Calls that join path parts (what a path-reading rule renders as "a/b").
PATH_JOINERS = frozenset(
    {
        "os.path.join",
        "posixpath.join",
        "ntpath.join",
        "pathlib.Path",
        "pathlib.PurePath",
        "pathlib.PosixPath",
        "pathlib.WindowsPath",
        "pathlib.PurePosixPath",
        "pathlib.PureWindowsPath",
    }
)
FILE_WRITE_METHODS = frozenset({"write_text", "write_bytes"})
COPY_CALLS = frozenset({"shutil.copy", "shutil.copyfile", "shutil.copy2", "shutil.move", "os.rename"})
CHMOD_CALLS = frozenset({"os.chmod", "os.fchmod"})

_HTTP_MODULE_PREFIXES = (
    "requests.",
    "httpx.",
    "urllib",
    "urllib3.",
    "aiohttp.",
    "http.client.",
    "httplib.",
    "pycurl.",
)


def tag_calls(ctx: PyContext) -> None:
    """Mark every call of the module with the capabilities it exercises."""
    for call in ctx.facts.calls:
        name = call.name or ""
        if name in PROCESS_NAMES:
            ctx.mark(Cap.PROCESS, call, name, payload=ctx.call_args(call))
        elif name in EXEC_NAMES:
            if call.node.args and not _literal(call.node.args[0]):
                ctx.mark(Cap.DYNAMIC_EXEC, call, name, payload=call.node.args[:1])
        elif name in DECODER_NAMES:
            ctx.mark(Cap.DECODE, call, name)
        elif name in SYSINFO or (name in ENV_GETTERS and _host_variable(call)):
            ctx.mark(Cap.SYSINFO, call, name)
        else:
            _tag_network(ctx, call, name)
            _tag_files(ctx, call, name)


def _tag_network(ctx: PyContext, call: CallSite, name: str) -> None:
    args = ctx.call_args(call)
    if name in HTTP_SEND:
        ctx.mark(Cap.NETWORK_SEND, call, name, payload=args, node=call.node)
        return
    if name in HTTP_FETCH:
        data = ctx.kwarg(call, "data")
        if data is None and name.endswith("urlopen") and len(call.node.args) > 1:
            data = call.node.args[1]
        ctx.mark(Cap.NETWORK_FETCH, call, name, node=call.node)
        # The URL itself can carry data (ctx put the whole environment in a GET path).
        sent = [a for a in args if not _literal(a)]
        if data is not None or sent:
            ctx.mark(Cap.NETWORK_SEND, call, name, payload=sent, node=call.node)
        return
    if name in REQUEST_BUILDERS:
        if ctx.kwarg(call, "data") is not None or len(call.node.args) > 1:
            ctx.mark(Cap.NETWORK_SEND, call, name, payload=args, node=call.node)
        return
    if name in SOCKET_CONNECT:
        ctx.mark(Cap.NETWORK_FETCH, call, name, node=call.node)
        return
    if name in DNS_LOOKUPS:
        if call.node.args and not _literal(call.node.args[0]):
            ctx.mark(Cap.NETWORK_SEND, call, name, payload=call.node.args[:1], node=call.node)
        return
    attr = call.attr
    if attr is None or name.startswith(("self.", "cls.")):
        return
    if name.startswith(_HTTP_MODULE_PREFIXES) or _receiver_is_network(ctx, call):
        if attr in SEND_METHODS:
            ctx.mark(Cap.NETWORK_SEND, call, name or attr, payload=args, node=call.node)
        elif attr in FETCH_METHODS:
            ctx.mark(Cap.NETWORK_FETCH, call, name or attr, node=call.node)


NETWORK_CLIENTS = frozenset(
    {
        "requests.Session",
        "requests.session",
        "httpx.Client",
        "httpx.AsyncClient",
        "socket.socket",
        "socket.create_connection",
        "urllib3.PoolManager",
        "urllib3.connection_from_url",
        "http.client.HTTPConnection",
        "http.client.HTTPSConnection",
        "httplib.HTTPConnection",
        "httplib.HTTPSConnection",
        "aiohttp.ClientSession",
        "ftplib.FTP",
        "smtplib.SMTP",
        "smtplib.SMTP_SSL",
        "telnetlib.Telnet",
        "paramiko.SSHClient",
        "websocket.create_connection",
        "websockets.connect",
    }
)


def _receiver_is_network(ctx: PyContext, call: CallSite) -> bool:
    """``requests.Session().post`` or ``sock.sendall`` where ``sock = socket.socket(...)``."""
    func = call.node.func
    if not isinstance(func, ast.Attribute):
        return False
    receiver = func.value
    if isinstance(receiver, ast.Name):
        bound = ctx.facts.binding(receiver.id, call.line + 1)
        if bound is None:
            return False
        receiver = bound
    while isinstance(receiver, ast.Attribute) and not isinstance(receiver.value, ast.Name):
        receiver = receiver.value
    if isinstance(receiver, ast.withitem):
        receiver = receiver.context_expr
    if isinstance(receiver, ast.Call):
        return ctx.facts_resolve(receiver.func) in NETWORK_CLIENTS
    return False


def _tag_files(ctx: PyContext, call: CallSite, name: str) -> None:
    if name == "builtins.open" and _opens_for_writing(call):
        ctx.mark(Cap.FILE_WRITE, call, "open for writing", payload=call.node.args[:1])
    elif call.attr in FILE_WRITE_METHODS or name in COPY_CALLS:
        ctx.mark(Cap.FILE_WRITE, call, name or (call.attr or ""), payload=ctx.call_args(call))
    elif name in CHMOD_CALLS and _executable_mode(ctx, call):
        ctx.mark(Cap.MAKE_EXECUTABLE, call, name, payload=call.node.args[:1])


def _opens_for_writing(call: CallSite) -> bool:
    mode: ast.expr | None = call.node.args[1] if len(call.node.args) > 1 else None
    for keyword in call.node.keywords:
        if keyword.arg == "mode":
            mode = keyword.value
    return (
        isinstance(mode, ast.Constant)
        and isinstance(mode.value, str)
        and any(c in mode.value for c in "wax+")
    )


def _executable_mode(ctx: PyContext, call: CallSite) -> bool:
    if len(call.node.args) < 2:
        return False
    mode_node = call.node.args[1]
    value = ctx.evaluate(mode_node)
    if isinstance(value, int):
        return bool(value & 0o111)
    return "S_IX" in ast.unparse(mode_node) or "S_IEXEC" in ast.unparse(mode_node)


def _host_variable(call: CallSite) -> bool:
    args = call.node.args
    return bool(args) and isinstance(args[0], ast.Constant) and args[0].value in HOST_VARIABLES


def _literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant)
