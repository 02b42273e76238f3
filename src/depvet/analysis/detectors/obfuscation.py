"""Obfuscation: code that hides what it runs. Decoded payloads are re-scanned by the engine;
these rules report the hiding itself."""

from __future__ import annotations

import ast
import base64
import hashlib
import math
import re
import zlib
from collections import Counter
from typing import ClassVar

from depvet.analysis.decode import EXEC_NAMES
from depvet.analysis.detector import Detector, Payload, PyContext, TextContext, hint_index, short
from depvet.analysis.files import FileKind
from depvet.analysis.pyfacts import CallSite
from depvet.model import Category, Severity
from depvet.rules import Example, Rule


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _zb64(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode())).decode()


# Random-looking, but not decodable: base64 of digests with a character that breaks decoding.
_RANDOM = "".join(base64.b64encode(hashlib.sha256(bytes([i])).digest()).decode()[:43] for i in range(12))
_PAYLOAD = "import os\nos.system('id > /tmp/.probe')\n"
_LONG_PAYLOAD = (
    "import os, socket, getpass\nhost = socket.gethostname()\nuser = getpass.getuser()\n"
    "os.system('uname -a > /tmp/.probe; id >> /tmp/.probe; hostname >> /tmp/.probe')\n"
)

EXEC_DECODED = Rule(
    id="DV201",
    name="exec-decoded-code",
    title="Runs code that was hidden in an encoded literal",
    severity=Severity.CRITICAL,
    category=Category.OBFUSCATION,
    description=(
        "The argument of `exec`, `eval` or `compile` is a literal that the code first passes through "
        "decoders (base64, hex, zlib, bz2, lzma, rot13, reversal, character codes...). Legitimate "
        "packages ship readable source; running code that was deliberately encoded is how droppers "
        "hide their payload from reviewers and scanners. depvet decodes it statically, scans the "
        "decoded code as well and shows an excerpt."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import base64\nfrom setuptools import setup\n"
            f"exec(base64.b64decode('{_b64(_PAYLOAD)}'))\nsetup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "import base64\nfrom setuptools import setup\n"
            f"LOGO = base64.b64decode('{_b64('not code, just bytes of a logo')}')\nsetup(name='x')\n"
        ),
    ),
    references=("https://blog.phylum.io/python-obfuscation-techniques/",),
)
EXEC_OPAQUE = Rule(
    id="DV212",
    name="exec-undecodable-literal",
    title="Runs code decrypted or decoded from a literal that depvet cannot decode",
    severity=Severity.CRITICAL,
    category=Category.OBFUSCATION,
    description=(
        "The argument of `exec`, `eval` or `compile` is a long encoded literal passed through a "
        "transformation depvet does not reproduce statically (Fernet or AES decryption, a custom "
        "XOR with a key from elsewhere). Whatever the key, shipping code that can only be read "
        "after decrypting it at run time is hiding it; the stealer families that rotate their "
        "keys per upload do exactly this."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\nfrom fernet import Fernet\n"
            "exec(Fernet(b'_Vlc7fM5cyNKKq5KVkyLylsqHbbhIboyr8Wp0AN9Zf0=').decrypt("
            "b'gAAAAABmBISPfWA3BJCJgESSiiINhNw2xNsOS_vt94EL12kcT8bp23A3taXzNpjVrqFDZaJT7bZpiVpw3eg'))\n"
            "setup(name='x')\n"
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\n\nabout = {}\n"
            "exec(open('pkg/__about__.py').read(), about)\nsetup(name='x', version=about['v'])\n"
        ),
    ),
)
EXEC_COMPUTED = Rule(
    id="DV202",
    name="exec-computed-code",
    title="Runs code computed at run time",
    severity=Severity.MEDIUM,
    category=Category.OBFUSCATION,
    description=(
        "`exec`, `eval` or `compile` receives a value that is neither a literal nor something depvet "
        "can decode statically: code fetched, read or assembled at run time. Template engines and "
        "code generators do this on purpose; on its own it is a note, and it becomes serious next to "
        "a download or a decoder."
    ),
    bad=Example(path="pkg/__init__.py", code="import sys\nexec(sys.stdin.read())\n"),
    good=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\nabout = {}\n"
            "exec(open('pkg/__about__.py').read(), about)\nsetup(name='x', version=about['v'])\n"
        ),
    ),
    false_positives="Code generators (dataclass-like libraries, template engines) at import time.",
)
ENCODED_BLOB = Rule(
    id="DV203",
    name="encoded-code-blob",
    title="Literal blob decodes to code",
    severity=Severity.MEDIUM,
    category=Category.OBFUSCATION,
    description=(
        "A long base64 or hex literal (optionally compressed) decodes to program text, although no "
        "decoder call in sight consumes it. Payloads are often parked like this and decoded by a "
        "helper. depvet decodes it and scans the decoded text too."
    ),
    bad=Example(
        path="pkg/__init__.py",
        code=(f"from ._boot import unpack\nDATA = '{_zb64(_LONG_PAYLOAD)}'\nexec(unpack(DATA))\n"),
    ),
    good=Example(
        path="pkg/__init__.py",
        code=(f"from ._boot import unpack\nDATA = '{_b64('plain text data ' * 12)}'\nexec(unpack(DATA))\n"),
    ),
)
MARSHAL_EXEC = Rule(
    id="DV204",
    name="exec-marshalled-bytecode",
    title="Runs bytecode unmarshalled from a literal",
    severity=Severity.CRITICAL,
    category=Category.OBFUSCATION,
    description=(
        "`exec`/`eval` runs a code object produced by `marshal.loads` of a literal. Compiled "
        "bytecode cannot be read by a reviewer; shipping it inside a source file only makes sense "
        "to hide what it does. depvet does not unmarshal it (marshal is unsafe on hostile data) but "
        "reports the strings it can see in it."
    ),
    bad=Example(
        path="pkg/__init__.py", code="import marshal\nexec(marshal.loads(b'\\xe3\\x00\\x00\\x00payload'))\n"
    ),
    good=Example(
        path="pkg/cache.py",
        code=(
            "import marshal\n\ndef load(path):\n"
            "    with open(path, 'rb') as f:\n        return marshal.load(f)\n"
        ),
    ),
)
HIDDEN_NAME = Rule(
    id="DV205",
    name="hidden-function-name",
    title="Calls a function or imports a module whose name is hidden",
    severity=Severity.HIGH,
    category=Category.OBFUSCATION,
    description=(
        "A builtin, function or module is reached through `getattr`, `__import__` or "
        "`importlib.import_module` with a name that is itself encoded (character codes, reversal, "
        "base64...). Nobody writes `getattr(__builtins__, ''.join(map(chr, [101, 120, 101, 99])))` "
        "except to keep the word `exec` out of a reviewer's sight."
    ),
    bad=Example(
        path="pkg/__init__.py",
        code=("run = getattr(__builtins__, ''.join(map(chr, [101, 120, 101, 99])))\nrun('print(1)')\n"),
    ),
    good=Example(
        path="pkg/__init__.py",
        code=(
            "import importlib\n\ndef plugin(name):\n"
            "    return importlib.import_module('pkg.plugins.' + name)\n"
        ),
    ),
)
CHAR_CODES = Rule(
    id="DV206",
    name="string-from-char-codes",
    title="Builds a string from character codes",
    severity=Severity.LOW,
    category=Category.OBFUSCATION,
    description=(
        "A string is assembled from a list of numeric character codes (`chr` joins, `bytes([...])`). "
        "It keeps words like `exec`, URLs or shell commands out of the source text. The built "
        "string is decoded by depvet and used by the other rules."
    ),
    bad=Example(
        path="pkg/__init__.py",
        code=(
            "URL = ''.join(chr(c) for c in [104, 116, 116, 112, 115, 58, 47, 47, 101, 120, 46, 105, 111])\n"
            "import urllib.request\nurllib.request.urlopen(URL)\n"
        ),
    ),
    good=Example(path="pkg/__init__.py", code="import string\nLETTERS = string.ascii_letters\n"),
)
OBFUSCATOR_MARKER = Rule(
    id="DV207",
    name="obfuscator-signature",
    title="Code produced by a known obfuscator",
    severity=Severity.HIGH,
    category=Category.OBFUSCATION,
    description=(
        "The file carries the signature of a Python obfuscator (PyArmor runtime calls, BlankOBF, "
        "Hyperion-style or PyObfuscate markers, the `_ = lambda __: ...decompress(...[::-1])` "
        "template). Obfuscated packages cannot be reviewed; the stealers on PyPI are almost all "
        "shipped this way."
    ),
    bad=Example(
        path="pkg/__init__.py",
        code=(
            "from .pytransform import pyarmor_runtime\npyarmor_runtime()\n"
            "__pyarmor__(__name__, __file__, b'\\x50\\x59\\x41\\x52\\x4d\\x4f\\x52')\n"
        ),
    ),
    good=Example(path="pkg/__init__.py", code="# This module is not obfuscated.\nVERSION = '1.0'\n"),
    false_positives="Commercial packages protected with PyArmor.",
)
HIDDEN_PAST_SCREEN = Rule(
    id="DV208",
    name="code-hidden-off-screen",
    title="Code hidden after a long run of whitespace",
    severity=Severity.HIGH,
    category=Category.OBFUSCATION,
    description=(
        "A statement follows hundreds of spaces on one line (`print('ok')<400 spaces>;exec(...)`), "
        "so that editors and web views show the line as harmless and the payload sits past the "
        "right edge of the screen."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\nprint('building')" + " " * 300 + ";__import__('os').system('id')\n"
            "setup(name='x')\n"
        ),
    ),
    good=Example(path="pkg/table.py", code="ROW = 'a' + '" + " " * 300 + "'\n"),
)
HIGH_ENTROPY = Rule(
    id="DV209",
    name="high-entropy-literal",
    title="Long random-looking literal",
    severity=Severity.LOW,
    category=Category.OBFUSCATION,
    description=(
        "A string literal of several hundred characters with the entropy of random or encrypted "
        "data that depvet could not decode. Keys, certificates and test vectors look like this too; "
        "encrypted payloads with a key elsewhere do as well."
    ),
    bad=Example(
        path="pkg/__init__.py", code=f"from ._c import decrypt\nKEY = '{_RANDOM}!'\nexec(decrypt(KEY))\n"
    ),
    good=Example(
        path="pkg/__init__.py",
        code="from ._c import render\nTEXT = '" + "the quick brown fox " * 30 + "'\nexec(render(TEXT))\n",
    ),
)
LONG_LINE = Rule(
    id="DV210",
    name="very-long-code-line",
    title="Very long line of code",
    severity=Severity.LOW,
    category=Category.OBFUSCATION,
    description=(
        "A line of Python longer than 5,000 characters that is not a plain data literal: minified "
        "or generated code, or a payload packed onto one line to make review impractical."
    ),
    bad=Example(path="pkg/__init__.py", code="x = 0" + "; x = x + 1" * 600 + "; exec(str(x))\n"),
    good=Example(path="pkg/data.py", code="TABLE = [" + "1, " * 2000 + "]\nexec('pass')\n"),
)
LAMBDA_CHAIN = Rule(
    id="DV211",
    name="lambda-chain",
    title="Deeply nested lambdas",
    severity=Severity.MEDIUM,
    category=Category.OBFUSCATION,
    description=(
        "Lambdas nested three or more deep in one expression, a hallmark of one-line obfuscators "
        "that turn a whole program into a chain of anonymous functions."
    ),
    bad=Example(
        path="pkg/__init__.py",
        code=("run = (lambda a: (lambda b: (lambda c: __import__('os').system(c))(b))(a))\nrun('id')\n"),
    ),
    good=Example(
        path="pkg/util.py", code="key = lambda item: item[1]\npairs = sorted({}.items(), key=key)\n"
    ),
)

_MARKERS = re.compile(
    r"__pyarmor__|pyarmor_runtime|from pytransform import|BlankOBF|Obfuscated (?:by|with) "
    # Obfuscator names (Hyperion, Kramer, Intensio) are also words, moons and surnames: only
    # their self-declarations count.
    r"|pyobfuscate\.com|PlusOBF|__obfuscator__|"
    r"lambda __ ?: ?__import__\(['\"](?:zlib|base64|marshal)['\"]\)"
)
# One of these is in every match of _MARKERS: a cheap pass decides whether the regex runs.
_MARKER_ANCHORS = (
    "pyarmor",
    "pytransform",
    "BlankOBF",
    "Obfuscated ",
    "pyobfuscate",
    "PlusOBF",
    "__obfuscator__",
    "__import__",
)
_OFF_SCREEN = re.compile(r"\S[ \t]{150,};\s*[\w(]")
_TEXT_EXEC_DECODE = re.compile(
    r"\b(?:exec|eval)\s*\(\s*(?:[\w.]+\.)?(?:b64decode|b32decode|b16decode|b85decode|a85decode|"
    r"decompress|unhexlify|loads)\s*\("
)
_LITERAL_DECODERS = frozenset({"literal", "python -c"})
_SETUP_EXEC_IDIOMS = re.compile(r"\bopen\(|read_text\(|\.read\(\)")


class ObfuscationDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = (
        EXEC_DECODED,
        EXEC_COMPUTED,
        EXEC_OPAQUE,
        ENCODED_BLOB,
        MARSHAL_EXEC,
        HIDDEN_NAME,
        CHAR_CODES,
        OBFUSCATOR_MARKER,
        HIDDEN_PAST_SCREEN,
        HIGH_ENTROPY,
        LONG_LINE,
        LAMBDA_CHAIN,
    )
    calls: ClassVar[frozenset[str]] = frozenset(
        {
            *EXEC_NAMES,
            "builtins.getattr",
            "builtins.__import__",
            "importlib.import_module",
            ".join",
        }
    )
    tokens: ClassVar[tuple[str, ...]] = (
        "pyarmor",
        "pytransform",
        "BlankOBF",
        "Obfuscated by",
        "Obfuscated with",
        "pyobfuscate",
        "PlusOBF",
        "__obfuscator__",
        " " * 150,
    )
    text_kinds: ClassVar[frozenset[FileKind]] = frozenset({FileKind.PYTHON})

    def on_call(self, call: CallSite, ctx: PyContext) -> None:
        name = call.name or ""
        if name in EXEC_NAMES:
            self._exec(call, ctx)
        elif call.attr == "join":
            value = ctx.evaluate(call.node)
            if isinstance(value, str) and len(value) >= 4 and "chr-codes" in ctx.decoders_of(call.node):
                ctx.report_at(CHAR_CODES, call, f"builds {value[:80]!r} from character codes")
        else:
            self._hidden_name(call, ctx)

    def _exec(self, call: CallSite, ctx: PyContext) -> None:
        args = call.node.args
        if not args or isinstance(args[0], ast.Constant):
            return
        arg = args[0]
        if _is_marshal_loads(ctx, arg):
            ctx.report_at(MARSHAL_EXEC, call, short(call.node))
            return
        if any(p.line == call.line and p.executed for p in ctx.payloads):
            return  # reported with the decoded payload in on_module
        if ctx.evaluate(arg) is not None:
            return  # a plain literal expression: nothing hidden
        source = ast.unparse(arg) if len(call.node.args) else ""
        if ctx.file.setup_script and _SETUP_EXEC_IDIOMS.search(source):
            return  # exec(open('pkg/version.py').read()): reading its own version
        blob = _opaque_blob(arg)
        if blob is not None:
            ctx.report_at(EXEC_OPAQUE, call, f"{short(call.node, 90)} ({blob} characters of encoded literal)")
            return
        ctx.report_at(EXEC_COMPUTED, call, short(call.node))

    def _hidden_name(self, call: CallSite, ctx: PyContext) -> None:
        args = call.node.args
        index = 1 if call.name == "builtins.getattr" else 0
        if len(args) <= index or isinstance(args[index], ast.Constant):
            return
        value = ctx.evaluate(args[index])
        if isinstance(value, str) and value and ctx.decoders_of(args[index]):
            ctx.report_at(HIDDEN_NAME, call, f"{short(call.node, 80)} -> {value!r}")

    def on_module(self, ctx: PyContext) -> None:
        for payload in ctx.payloads:
            self._payload(ctx, payload)
        text = ctx.text
        marker = _MARKERS.search(text) if hint_index(_MARKER_ANCHORS).contains_any(text) else None
        if marker:
            ctx.report(OBFUSCATOR_MARKER, ctx.line_of(marker.start()), marker.group(0))
        if " " * 150 in text:
            for match in _OFF_SCREEN.finditer(text):
                line = ctx.line_of(match.start())
                ctx.report(HIDDEN_PAST_SCREEN, line, _off_screen_evidence(ctx.line_text(line)))
                break
        self._long_lines(ctx)
        self._lambdas(ctx)
        self._entropy(ctx)

    def _payload(self, ctx: PyContext, payload: Payload) -> None:
        real = [step for step in payload.chain if step not in _LITERAL_DECODERS]
        first = next((line.strip() for line in payload.text.splitlines() if line.strip()), "")[:120]
        context = ctx.context_of(payload.scope)
        if payload.executed and real:
            ctx.report(EXEC_DECODED, payload.line, f"{' > '.join(real)} -> {first}", context)
        elif not payload.executed and real and real[0] in ("base64", "hex"):
            ctx.report(ENCODED_BLOB, payload.line, f"{' > '.join(real)} -> {first}", context)

    def _long_lines(self, ctx: PyContext) -> None:
        if len(ctx.text) < 5000:
            return
        lines = ctx.text.split("\n")
        if max(map(len, lines)) <= 5000:  # in C: the common case costs no loop over the lines
            return
        for number, line in enumerate(lines, start=1):
            if len(line) > 5000 and _looks_like_code(line):
                ctx.report(LONG_LINE, number, f"{len(line)} characters: {line[:80]}")
                return

    def _lambdas(self, ctx: PyContext) -> None:
        for call in ctx.facts.calls:
            func = call.node.func
            if isinstance(func, ast.Lambda) and _lambda_depth(func) >= 3:
                ctx.report_at(LAMBDA_CHAIN, call, short(call.node, 100))
                return
        for scope in (ctx.facts.module,):
            for _names, value in scope.assigns:
                if isinstance(value, ast.Lambda) and _lambda_depth(value) >= 3:
                    ctx.report(LAMBDA_CHAIN, value.lineno, short(value, 100))
                    return

    def _entropy(self, ctx: PyContext) -> None:
        decoded_lines = {p.line for p in ctx.payloads}
        for lit in ctx.facts.strings:
            value = lit.value
            if len(value) < 400 or lit.docstring or lit.line in decoded_lines:
                continue
            if _entropy(value) > 5.2 and " " not in value[:200]:
                ctx.report_at(HIGH_ENTROPY, lit, f"{len(value)} characters, {_entropy(value):.1f} bits/char")
                return

    def on_text(self, ctx: TextContext) -> None:
        # Python that did not parse (often Python 2): the textual forms of the same tricks.
        text = ctx.text
        match = _TEXT_EXEC_DECODE.search(text)
        if match:
            ctx.report(
                EXEC_DECODED, ctx.line_of(match.start()), ctx.line_text(ctx.line_of(match.start())).strip()
            )
        marker = _MARKERS.search(text)
        if marker:
            ctx.report(OBFUSCATOR_MARKER, ctx.line_of(marker.start()), marker.group(0))


_BLOB = re.compile(r"[A-Za-z0-9+/=_\-]{64,}")


def _opaque_blob(expr: ast.expr) -> int | None:
    """Length of the longest encoded-looking literal inside ``expr`` (64 characters or more)."""
    longest = 0
    for node in ast.walk(expr):
        if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
            value = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
            if len(value) > longest and _BLOB.fullmatch(value.strip()):
                longest = len(value)
    return longest or None


def _is_marshal_loads(ctx: PyContext, node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and ctx.facts_resolve(node.func) == "marshal.loads"
        and bool(node.args)
        and not isinstance(node.args[0], ast.Name | ast.Attribute)
    ) or (
        isinstance(node, ast.Call)
        and ctx.facts_resolve(node.func) == "marshal.loads"
        and bool(node.args)
        and ctx.evaluate(node.args[0]) is not None
    )


def _lambda_depth(node: ast.Lambda) -> int:
    inner = [n for n in ast.walk(node.body) if isinstance(n, ast.Lambda)]
    return 1 + max((_lambda_depth(n) for n in inner[:20]), default=0)


def _entropy(value: str) -> float:
    counts = Counter(value)
    total = len(value)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def _looks_like_code(line: str) -> bool:
    stripped = line.strip()
    # A data literal (a long list, string or dict) is not code packed onto one line.
    if stripped[:1] in "[{(\"'" or re.match(r"^[\w.]+\s*=\s*[\[{(\"'brufBRUF]", stripped):
        return stripped.count(";") > 20 or "exec(" in stripped or "lambda" in stripped
    return True


def _off_screen_evidence(line: str) -> str:
    visible = line.rstrip()
    head = visible.split("  ", 1)[0]
    tail = visible.lstrip()[len(head.strip()) :].strip()
    return f"{head.strip()[:60]} [...{len(visible) - len(head) - len(tail)} spaces...] {tail[:100]}"
