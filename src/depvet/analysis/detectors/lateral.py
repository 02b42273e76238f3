"""Lateral movement: from the machine a package runs on to the cluster or host around it.

Kubernetes: privileged, host-namespace or host-root pods and daemonsets created through the API,
``kubectl`` or raw HTTP; the pod's service-account token used against the API server; secrets
listed across all namespaces. Docker: the socket used to start a container that mounts the host's
root or shares its PID namespace. Paths and URLs are resolved with the credentials family's
``PathResolver`` (variables, constants, joins, parameters).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from depvet.analysis.decode import PROCESS_NAMES
from depvet.analysis.detector import Cap, Detector, PyContext, TextContext, hint_index, short
from depvet.analysis.detectors.credentials import UNKNOWN, PathResolver, command_text, display
from depvet.analysis.files import FileKind
from depvet.analysis.pyfacts import CallSite, Scope
from depvet.model import Category, Severity
from depvet.rules import Example, Rule

_LITELLM = "https://docs.litellm.ai/blog/security-update-march-2026"
_K8S_POD_SECURITY = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
_ATTACK_CONTAINER = "https://attack.mitre.org/techniques/T1610/"
_ATTACK_ESCAPE = "https://attack.mitre.org/techniques/T1611/"

K8S_PRIVILEGED_WORKLOAD = Rule(
    id="DV701",
    name="k8s-privileged-workload",
    title="Creates a privileged or host-mounting Kubernetes pod or daemonset",
    severity=Severity.CRITICAL,
    category=Category.LATERAL_MOVEMENT,
    description=(
        "Code creates a pod, daemonset, deployment or job (Kubernetes client `create_namespaced_*`, "
        "`kubectl apply/create/run`, or a POST to the API server) whose spec is privileged together "
        "with the host's PID, network or IPC namespace, or mounts the host's root filesystem through "
        "`hostPath: /`. Such a pod owns the node. LiteLLM 1.82.8 created `node-setup-*` pods like this "
        "in kube-system on every node to install a backdoor on the hosts."
    ),
    bad=Example(
        path="k8sinit/__init__.py",
        code=(
            "from kubernetes import client, config\nconfig.load_incluster_config()\n"
            "pod = {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'node-setup'},\n"
            "       'spec': {'hostPID': True, 'hostNetwork': True,\n"
            "                'containers': [{'name': 'x', 'image': 'alpine',\n"
            "                                'securityContext': {'privileged': True},\n"
            "                                'volumeMounts': [{'name': 'host', 'mountPath': '/host'}]}],\n"
            "                'volumes': [{'name': 'host', 'hostPath': {'path': '/'}}]}}\n"
            "client.CoreV1Api().create_namespaced_pod(namespace='kube-system', body=pod)\n"
        ),
    ),
    good=Example(
        path="k8sinit/__init__.py",
        code=(
            "from kubernetes import client\n\ndef launch(api: client.CoreV1Api):\n"
            "    pod = {'apiVersion': 'v1', 'kind': 'Pod', 'metadata': {'name': 'worker'},\n"
            "           'spec': {'containers': [{'name': 'w', 'image': 'python:3.12',\n"
            "                    'securityContext': {'privileged': False, 'runAsNonRoot': True}}]}}\n"
            "    return api.create_namespaced_pod(namespace='jobs', body=pod)\n"
        ),
    ),
    false_positives="Cluster tooling that deploys node agents (CNI plugins, monitoring daemonsets) "
    "from Python; such code lives in operators, not in libraries installed from PyPI.",
    references=(_LITELLM, _K8S_POD_SECURITY, _ATTACK_CONTAINER),
)
K8S_PRIVILEGED_MANIFEST = Rule(
    id="DV702",
    name="k8s-privileged-manifest",
    title="Defines a privileged, host-namespace or host-root pod spec",
    severity=Severity.MEDIUM,
    category=Category.LATERAL_MOVEMENT,
    description=(
        "Code builds a pod spec (dict, YAML/JSON text or client model objects) that is privileged "
        "with host namespaces or mounts the host's root with `hostPath: /`, but no call that submits "
        "it was found in the same module. Reported so that a reviewer checks where it goes."
    ),
    bad=Example(
        path="nodeagent/spec.py",
        code=(
            "import subprocess\n"
            "SPEC = '''\napiVersion: v1\nkind: Pod\nspec:\n  hostPID: true\n  containers:\n"
            "  - name: x\n    image: alpine\n    securityContext:\n      privileged: true\n'''\n"
        ),
    ),
    good=Example(
        path="nodeagent/spec.py",
        code=(
            "import subprocess\n"
            "SPEC = '''\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n"
            "  - name: x\n    image: alpine\n    securityContext:\n      privileged: false\n'''\n"
        ),
    ),
    false_positives="Deployment tooling and operators that template node agents.",
    references=(_K8S_POD_SECURITY,),
)
K8S_TOKEN_API = Rule(
    id="DV703",
    name="k8s-api-with-service-account-token",
    title="Uses the pod's service-account token against the Kubernetes API",
    severity=Severity.HIGH,
    category=Category.LATERAL_MOVEMENT,
    description=(
        "Code reads the service-account token of the pod it runs in "
        "(`/var/run/secrets/kubernetes.io/serviceaccount/token`) and calls the API server "
        "(`https://kubernetes.default.svc`, `$KUBERNETES_SERVICE_HOST`) or `kubectl --token` itself. "
        "A package that does this at install or import time is acting with the workload's cluster "
        "identity, which is the first step of the LiteLLM 1.82.8 cluster takeover."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os, requests\nfrom setuptools import setup\n"
            "token = open('/var/run/secrets/kubernetes.io/serviceaccount/token').read()\n"
            "api = 'https://' + os.environ['KUBERNETES_SERVICE_HOST']\n"
            "requests.get(api + '/api/v1/namespaces', headers={'Authorization': 'Bearer ' + token}, "
            "verify=False)\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\n"
            "setup(name='x', description='Runs in-cluster using kubernetes.default.svc')\n"
        ),
    ),
    false_positives="The kubernetes client's in-cluster configuration does this inside its loader "
    "functions (one level lower); controllers and operators run in-cluster on purpose.",
    references=(_LITELLM, "https://attack.mitre.org/techniques/T1528/"),
)
K8S_SECRETS_ENUM = Rule(
    id="DV704",
    name="k8s-secrets-enumeration",
    title="Lists Kubernetes secrets across all namespaces",
    severity=Severity.HIGH,
    category=Category.LATERAL_MOVEMENT,
    description=(
        "Code lists secrets in every namespace: `list_secret_for_all_namespaces()`, a GET of "
        "`/api/v1/secrets`, or `kubectl get secrets --all-namespaces`. Applications read their own "
        "secrets by name in their own namespace; dumping all of them is credential harvesting, as "
        "LiteLLM 1.82.8 did with any service-account token it found."
    ),
    bad=Example(
        path="clusterstats/__init__.py",
        code=(
            "import subprocess\n"
            "DUMP = subprocess.check_output(\n"
            "    ['kubectl', 'get', 'secrets', '--all-namespaces', '-o', 'json'])\n"
        ),
    ),
    good=Example(
        path="clusterstats/__init__.py",
        code=(
            "from kubernetes import client\n\ndef db_password(api: client.CoreV1Api):\n"
            "    return api.read_namespaced_secret('db', 'myapp').data['password']\n"
        ),
    ),
    false_positives="Secret-inventory and backup tools for cluster administrators.",
    references=(_LITELLM, "https://attack.mitre.org/techniques/T1552/007/"),
)
DOCKER_HOST_TAKEOVER = Rule(
    id="DV705",
    name="docker-host-takeover",
    title="Starts a container that mounts the host root or shares its PID namespace",
    severity=Severity.CRITICAL,
    category=Category.LATERAL_MOVEMENT,
    description=(
        "Code uses the Docker daemon (the docker SDK, raw requests to `/var/run/docker.sock`, or "
        "`docker run`) to start a container that bind-mounts the host's `/`, or is privileged and "
        "shares the host's PID namespace. Either gives root on the host to whoever controls the "
        "container; it is how malware escapes from a CI job or a container into the machine."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import docker\nfrom setuptools import setup\nclient = docker.from_env()\n"
            "client.containers.run('alpine', 'chroot /host sh -c \"id\"', privileged=True,\n"
            "                      volumes={'/': {'bind': '/host', 'mode': 'rw'}}, detach=True)\n"
            "setup(name='x')\n"
        ),
    ),
    good=Example(
        path="builder/__init__.py",
        code=(
            "import docker\n\ndef build(tag, workdir):\n    client = docker.from_env()\n"
            "    return client.containers.run('python:3.12', 'make', volumes={workdir: "
            "{'bind': '/src', 'mode': 'ro'}}, remove=True)\n"
        ),
    ),
    false_positives="Node-debugging tools that intentionally open a host shell.",
    references=(_ATTACK_ESCAPE, _ATTACK_CONTAINER),
)
DOCKER_SOCKET_ACCESS = Rule(
    id="DV706",
    name="docker-socket-access",
    title="Talks to the Docker daemon socket directly",
    severity=Severity.MEDIUM,
    category=Category.LATERAL_MOVEMENT,
    description=(
        "Code connects to `/var/run/docker.sock` itself (a raw socket, `http+unix://`, "
        "`curl --unix-socket`) rather than through the docker SDK. Access to the socket is root on "
        "the host; reported so that a reviewer checks what is sent to the daemon."
    ),
    bad=Example(
        path="dockping/__init__.py",
        code=(
            "import socket\ns = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            "s.connect('/var/run/docker.sock')\ns.sendall(b'GET /containers/json HTTP/1.0\\r\\n\\r\\n')\n"
        ),
    ),
    good=Example(
        path="dockping/__init__.py",
        code=(
            "import docker\n\ndef running():\n"
            "    client = docker.DockerClient(base_url='unix:///var/run/docker.sock')\n"
            "    return client.containers.list()\n"
        ),
    ),
    false_positives="Lightweight Docker clients that avoid the SDK dependency.",
    references=(_ATTACK_ESCAPE,),
)

RULES: tuple[Rule, ...] = (
    K8S_PRIVILEGED_WORKLOAD,
    K8S_PRIVILEGED_MANIFEST,
    K8S_TOKEN_API,
    K8S_SECRETS_ENUM,
    DOCKER_HOST_TAKEOVER,
    DOCKER_SOCKET_ACCESS,
)

# -- pod specs ---------------------------------------------------------------------------------

_TRUE_KEYS = {
    "privileged": "privileged",
    "hostpid": "hostPID",
    "host_pid": "hostPID",
    "hostnetwork": "hostNetwork",
    "host_network": "hostNetwork",
    "hostipc": "hostIPC",
    "host_ipc": "hostIPC",
}
_NAMESPACES = frozenset({"hostPID", "hostNetwork", "hostIPC"})
_DANGER_WORDS = ("privileged", "hostpath", "host_path")
_TEXT_FEATURES = (
    (re.compile(r"""(?i)["']?privileged["']?\s*[:=]\s*["']?true\b"""), "privileged"),
    (re.compile(r"""["']?hostPID["']?\s*[:=]\s*["']?true\b""", re.IGNORECASE), "hostPID"),
    (re.compile(r"""["']?hostNetwork["']?\s*[:=]\s*["']?true\b""", re.IGNORECASE), "hostNetwork"),
    (re.compile(r"""["']?hostIPC["']?\s*[:=]\s*["']?true\b""", re.IGNORECASE), "hostIPC"),
    (
        re.compile(r"""["']?hostPath["']?\s*:\s*\{?\s*["']?path["']?\s*:\s*["']?/["']?\s*(?:[,}\n]|$)"""),
        "hostPath /",
    ),
    (re.compile(r"--privileged\b"), "privileged"),
)
_MAX_WALK = 4000


@dataclass
class Features:
    found: dict[str, int] = field(default_factory=dict)  # feature -> first line

    def add(self, name: str, line: int) -> None:
        self.found.setdefault(name, line)

    def dangerous(self) -> bool:
        names = set(self.found)
        return "hostPath /" in names or ("privileged" in names and bool(names & _NAMESPACES))

    def describe(self) -> str:
        return ", ".join(sorted(self.found))

    def line(self) -> int:
        return min(self.found.values()) if self.found else 0


def _text_features(text: str, line: int, out: Features) -> None:
    for pattern, name in _TEXT_FEATURES:
        if pattern.search(text):
            out.add(name, line)


def _expr_features(resolver: PathResolver, roots: list[tuple[ast.expr, Scope]], out: Features) -> None:
    """Pod-spec features inside expressions, following names to their values (bounded)."""
    seen: set[int] = set()
    work = list(roots)
    budget = _MAX_WALK
    while work and budget > 0:
        expr, scope = work.pop()
        for node in ast.walk(expr):
            budget -= 1
            if budget <= 0:
                break
            _node_features(node, out)
            if isinstance(node, ast.Name | ast.Attribute) and id(node) not in seen:
                seen.add(id(node))
                for item in resolver.possible(node, scope):
                    if item.node is not node and id(item.node) not in seen:
                        seen.add(id(item.node))
                        work.append((item.node, item.scope))


def _node_features(node: ast.AST, out: Features) -> None:
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if not isinstance(key, ast.Constant) or not isinstance(key.value, str):
                continue
            name = _TRUE_KEYS.get(key.value.lower())
            if name and _is_true(value):
                out.add(name, line)
            elif key.value in ("hostPath", "host_path") and _root_path(value):
                out.add("hostPath /", line)
    elif isinstance(node, ast.Call):
        for keyword in node.keywords:
            name = _TRUE_KEYS.get((keyword.arg or "").lower())
            if name and _is_true(keyword.value):
                out.add(name, line)
        func = node.func
        callee = (
            func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        )
        if callee.endswith("HostPathVolumeSource") and _root_path(node):
            out.add("hostPath /", line)
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) < 20000:
        _text_features(node.value, line, out)


def _is_true(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and (node.value is True or node.value in ("true", "True"))


def _root_path(node: ast.expr) -> bool:
    """``{'path': '/'}`` or ``V1HostPathVolumeSource(path='/')``."""
    if isinstance(node, ast.Dict):
        return any(
            isinstance(k, ast.Constant)
            and k.value == "path"
            and isinstance(v, ast.Constant)
            and v.value == "/"
            for k, v in zip(node.keys, node.values, strict=True)
        )
    if isinstance(node, ast.Call):
        values = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "path")]
        return any(isinstance(v, ast.Constant) and v.value == "/" for v in values)
    return False


# -- Kubernetes sinks --------------------------------------------------------------------------

_K8S_CREATE = re.compile(
    r"^(?:create|patch|replace)_namespaced_(?:pod|daemon_set|deployment|job|stateful_set|replica_set|"
    r"cron_job|replication_controller)$|^create_from_(?:dict|yaml|directory)$"
)
_K8S_WORKLOAD_URL = re.compile(r"/(?:pods|daemonsets|deployments|jobs|statefulsets|replicasets|cronjobs)\b")
_KUBECTL_CREATE = re.compile(r"\bkubectl\b.*\b(?:apply|create|run|replace|patch|debug)\b")
_KUBECTL_SECRETS = re.compile(r"\bkubectl\b.*\bget\s+secrets?\b.*(?:\s-A\b|--all-namespaces)")
_KUBECTL_TOKEN = re.compile(r"\bkubectl\b.*--token\b")
_API_SERVER = re.compile(r"kubernetes\.default|%kubernetes_service_host%|\$\{?kubernetes_service_host", re.I)
_ALL_SECRETS_URL = re.compile(r"/api/v1/secrets(?:$|[?\x00\s\"'])")
_SEND_ATTRS = frozenset({"post", "put", "patch", "request", "urlopen", "Request", "get", "fetch", "open"})

# -- Docker ------------------------------------------------------------------------------------

_DOCKER_SOCKET = re.compile(r"docker\.sock", re.IGNORECASE)
_DOCKER_RUN_CALLS = frozenset({"run", "create", "create_container", "create_host_config", "create_service"})
_DOCKER_ROOT_MOUNT = re.compile(
    r"""(?:^|[\s"'\[,=])/:/|(?:-v|--volume|--mount)[= ]+(?:type=bind,\s*)?(?:source=|src=)?/(?:[:,\s]|$)"""
)
_DOCKER_PID_HOST = re.compile(r"--pid[= ]host|\"PidMode\"\s*:\s*\"host\"", re.IGNORECASE)
_DOCKER_RUN = re.compile(r"\bdocker\b(?:\s+-H\s+\S+)?\s+(?:container\s+)?(?:run|create)\b")


def _docker_call_features(resolver: PathResolver, call: CallSite) -> Features:
    """Host access asked of the docker SDK in one call's keyword arguments."""
    out = Features()
    line = call.line
    for keyword in call.node.keywords:
        arg = keyword.arg or ""
        value = keyword.value
        if arg == "privileged" and _is_true(value):
            out.add("privileged", line)
        elif arg in ("pid_mode", "network_mode", "ipc_mode") and _constant(value) == "host":
            out.add({"pid_mode": "hostPID", "network_mode": "hostNetwork"}.get(arg, "hostIPC"), line)
        elif arg in ("volumes", "binds", "mounts") and _mounts_root(resolver, value, call.scope):
            out.add("hostPath /", line)
    return out


def _mounts_root(resolver: PathResolver, value: ast.expr, scope: Scope) -> bool:
    for item in resolver.possible(value, scope):
        node = item.node
        if isinstance(node, ast.Dict) and any(
            isinstance(k, ast.Constant) and k.value == "/" for k in node.keys
        ):
            return True
        if any(text.startswith("/:") for text in resolver.render(node, item.scope)):
            return True
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call) and any(
                k.arg == "source" and _constant(k.value) == "/" for k in sub.keywords
            ):
                return True
    return False


def _constant(node: ast.expr) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def _is_docker_client(ctx: PyContext, call: CallSite) -> bool:
    name = call.name or ""
    if name.startswith(("docker.", "aiodocker.")):
        return True
    func = call.node.func
    receiver = func.value if isinstance(func, ast.Attribute) else None
    base = receiver
    while isinstance(base, ast.Attribute):
        base = base.value
    if isinstance(base, ast.Name):
        bound = ctx.facts.binding(base.id, call.line + 1)
        if isinstance(bound, ast.Call) and (ctx.facts_resolve(bound.func) or "").startswith(
            ("docker.", "aiodocker.")
        ):
            return True
    return isinstance(receiver, ast.Attribute) and receiver.attr == "containers" and "docker" in ctx.text


# -- the detector ------------------------------------------------------------------------------

_GATE = (
    "kubectl",
    "kubernetes",
    "serviceaccount",
    "docker",
    "privileged",
    "hostpid",
    "host_pid",
    "hostpath",
    "host_path",
    "hostnetwork",
    "host_network",
    "/api/v1/",
    "namespaced",
)


@dataclass
class _Module:
    """What one module does towards a cluster or a Docker daemon."""

    creates: list[CallSite] = field(default_factory=list)  # k8s workload submissions
    api_calls: list[CallSite] = field(default_factory=list)  # requests to the API server


class LateralMovementDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = RULES
    # The kubernetes client itself uses pods, secrets and service accounts in hundreds of
    # modules: those are context tokens; a daemonset, the node-wide foothold, stays strong.
    tokens: ClassVar[tuple[str, ...]] = (
        "docker.sock",
        "kubernetes.default",
        "KUBERNETES_SERVICE_HOST",
        "create_namespaced_daemon_set",
        "hostPID",
        "host_pid",
        "pid_mode",
        "privileged=True",
        "create_host_config",
    )
    context_tokens: ClassVar[tuple[str, ...]] = (
        "/serviceaccount",  # the mounted token, not Google's gserviceaccount.com e-mails
        "list_secret_for_all_namespaces",
        "create_namespaced_pod",
        "kubectl",
        "privileged",
        "hostPath",
        "host_path",
        "hostNetwork",
        "host_network",
        "containers.run",
        "docker run",
        "/api/v1/",
    )
    text_kinds: ClassVar[frozenset[FileKind]] = frozenset(
        {FileKind.SHELL, FileKind.BATCH, FileKind.POWERSHELL, FileKind.PYTHON}
    )

    def on_module(self, ctx: PyContext) -> None:
        if not hint_index(_GATE).contains_any(ctx.lower_text()):
            return
        resolver = PathResolver(ctx)
        module = _Module()
        for call in ctx.facts.calls:
            self._call(ctx, resolver, call, module)
        # A dangerous pod spec needs "privileged" or a hostPath, each spelled in the module's own
        # literals: the kubernetes client's 2,000 modules need no walk of every assignment.
        if hint_index(_DANGER_WORDS).contains_any(ctx.lower_text()):
            self._manifests(ctx, resolver, module)
        self._token_api(ctx, module)

    # -- per call --------------------------------------------------------------------------

    def _call(self, ctx: PyContext, resolver: PathResolver, call: CallSite, module: _Module) -> None:
        name = call.name or ""
        attr = call.attr or name.rsplit(".", 1)[-1]
        if name in PROCESS_NAMES:
            self._command(ctx, resolver, call, module)
            return
        if _K8S_CREATE.match(attr):
            module.creates.append(call)
            body = [k.value for k in call.node.keywords if k.arg in ("body", "data", "yaml_objects")]
            body += call.node.args[1:2]
            features = Features()
            _expr_features(resolver, [(b, call.scope) for b in body], features)
            if features.dangerous():
                ctx.report_at(K8S_PRIVILEGED_WORKLOAD, call, f"{short(call.node, 90)}: {features.describe()}")
            return
        if attr == "list_secret_for_all_namespaces":
            ctx.report_at(K8S_SECRETS_ENUM, call)
            return
        if attr in _DOCKER_RUN_CALLS and _is_docker_client(ctx, call):
            features = _docker_call_features(resolver, call)
            if features.dangerous() or ("privileged" in features.found and "hostPID" in features.found):
                ctx.report_at(DOCKER_HOST_TAKEOVER, call, f"{short(call.node, 100)}: {features.describe()}")
            return
        if attr in _SEND_ATTRS or attr in ("connect", "connect_ex", "create_connection", "HTTPConnection"):
            self._request(ctx, resolver, call, module)

    def _request(self, ctx: PyContext, resolver: PathResolver, call: CallSite, module: _Module) -> None:
        args = [*call.node.args[:2], *(k.value for k in call.node.keywords if k.arg in ("url", "address"))]
        urls = [u for a in args for u in resolver.render(a, call.scope) if u != UNKNOWN]
        if any(_API_SERVER.search(u) for u in urls):
            module.api_calls.append(call)
        if any(_ALL_SECRETS_URL.search(u) for u in urls):
            ctx.report_at(K8S_SECRETS_ENUM, call, f"{short(call.node, 100)}")
        if any(_K8S_WORKLOAD_URL.search(u) for u in urls) and (call.attr or "") in (
            "post",
            "put",
            "patch",
            "request",
        ):
            module.creates.append(call)
            features = Features()
            _expr_features(resolver, [(a, call.scope) for a in ctx.call_args(call)], features)
            if features.dangerous():
                ctx.report_at(K8S_PRIVILEGED_WORKLOAD, call, f"{short(call.node, 90)}: {features.describe()}")
        socket_urls = [u for u in urls if _DOCKER_SOCKET.search(u)]
        if socket_urls and not (call.name or "").startswith("docker."):
            ctx.report_at(
                DOCKER_SOCKET_ACCESS, call, f"{short(call.node, 100)} ({display(socket_urls[0])[:60]})"
            )

    def _command(self, ctx: PyContext, resolver: PathResolver, call: CallSite, module: _Module) -> None:
        texts = [display(t) for t in resolver.render(command_text(call.node), call.scope)]
        for text in texts:
            if _KUBECTL_SECRETS.search(text):
                ctx.report_at(K8S_SECRETS_ENUM, call, text[:160])
            if _KUBECTL_TOKEN.search(text) or _API_SERVER.search(text):
                module.api_calls.append(call)
            if _KUBECTL_CREATE.search(text):
                module.creates.append(call)
                features = Features()
                _text_features(text, call.line, features)
                stdin = [k.value for k in call.node.keywords if k.arg in ("input", "stdin")]
                _expr_features(resolver, [(s, call.scope) for s in stdin], features)
                if features.dangerous():
                    ctx.report_at(K8S_PRIVILEGED_WORKLOAD, call, text[:160])
            if _DOCKER_RUN.search(text) and _docker_text_dangerous(text):
                ctx.report_at(DOCKER_HOST_TAKEOVER, call, text[:160])
            if _DOCKER_SOCKET.search(text) and re.search(r"--unix-socket|unix://", text):
                ctx.report_at(DOCKER_SOCKET_ACCESS, call, text[:160])

    # -- per module ------------------------------------------------------------------------

    def _manifests(self, ctx: PyContext, resolver: PathResolver, module: _Module) -> None:
        features = Features()
        for lit in ctx.facts.strings:
            if not lit.docstring:
                _text_features(lit.value, lit.line, features)
        roots = [(value, scope) for scope in ctx.facts.scopes for _names, value in scope.assigns]
        roots += [
            (a, c.scope) for c in ctx.facts.calls for a in ctx.call_args(c) if not isinstance(a, ast.Constant)
        ]
        _expr_features(resolver, [r for r in roots if isinstance(r[0], ast.Dict | ast.Call)], features)
        if not features.dangerous():
            return
        line = features.line()
        if module.creates:
            site = module.creates[0]
            ctx.report_at(K8S_PRIVILEGED_WORKLOAD, site, f"pod spec with {features.describe()} (line {line})")
        elif "privileged" in features.found or "hostPath /" in features.found:
            ctx.report(K8S_PRIVILEGED_MANIFEST, line, f"pod spec with {features.describe()}")

    def _token_api(self, ctx: PyContext, module: _Module) -> None:
        if not module.api_calls:
            return
        token_reads = [m for m in ctx.marks_of(Cap.SECRET_READ) if "serviceaccount" in m.detail.lower()]
        uses_token = bool(token_reads) or any("serviceaccount/token" in s.value for s in ctx.facts.strings)
        if not uses_token:
            return
        for call in module.api_calls[:3]:
            ctx.report_at(K8S_TOKEN_API, call, f"{short(call.node, 110)} with the service-account token")

    # -- text ------------------------------------------------------------------------------

    def on_text(self, ctx: TextContext) -> None:
        lowered = ctx.text.lower()
        if not any(token in lowered for token in ("kubectl", "docker", "serviceaccount", "kubernetes")):
            return
        token_file = "serviceaccount/token" in ctx.text
        hints = ctx.hint_lines(_TEXT_HINTS, limit=2000)
        for number, line in _lines(ctx.text):
            if number in hints:
                self._text_line(ctx, number, line, token_file)

    def _text_line(self, ctx: TextContext, number: int, line: str, token_file: bool) -> None:
        text = line.strip()
        if _KUBECTL_CREATE.search(line):
            features = Features()
            _text_features(line, number, features)
            if features.dangerous() or "--privileged" in line:
                ctx.report(K8S_PRIVILEGED_WORKLOAD, number, text)
        if _KUBECTL_SECRETS.search(line):
            ctx.report(K8S_SECRETS_ENUM, number, text)
        if token_file and (_API_SERVER.search(line) or _KUBECTL_TOKEN.search(line)):
            ctx.report(K8S_TOKEN_API, number, text)
        if _DOCKER_RUN.search(line) and _docker_text_dangerous(line):
            ctx.report(DOCKER_HOST_TAKEOVER, number, text)
        elif _DOCKER_SOCKET.search(line) and re.search(r"--unix-socket|unix://", line):
            if "containers/create" in line and re.search(
                r'"Privileged"\s*:\s*true|"Binds"\s*:\s*\[\s*"/:', line
            ):
                ctx.report(DOCKER_HOST_TAKEOVER, number, text)
            else:
                ctx.report(DOCKER_SOCKET_ACCESS, number, text)


def _docker_text_dangerous(text: str) -> bool:
    privileged = "--privileged" in text
    return bool(_DOCKER_ROOT_MOUNT.search(text)) or (privileged and bool(_DOCKER_PID_HOST.search(text)))


# Every text pattern of this family needs one of these on its line.
_TEXT_HINTS = ("kubectl", "docker", "kubernetes", "/api/", "/apis/", ".sock", "containers/create")


def _lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.lstrip()
        if len(line) > 4000 or stripped.startswith(("#", "REM ", "rem ", "::")):
            continue
        yield number, line
