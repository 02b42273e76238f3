"""Find what a module would decode and run, and decode it statically.

Three sources of payloads:
- arguments of ``exec``/``eval``/``compile`` and of decoder calls (base64, zlib, rot13...) that
  evaluate to text through the static evaluator;
- ``python -c CODE`` and ``powershell -EncodedCommand B64`` in process arguments;
- long base64/hex literals that no call decodes, tried with the common layer stacks.

Nothing here runs scanned code: decoding is done by the standard library's decoders on bytes.
"""

from __future__ import annotations

import ast
import base64
import binascii
import itertools
import re
import zlib
from collections.abc import Iterator

from depvet.analysis.detector import Payload, PyContext
from depvet.analysis.pyfacts import CallSite
from depvet.analysis.pysource import parse_tolerant
from depvet.analysis.staticeval import DECODER_NAMES, as_payload_text

EXEC_NAMES = frozenset({"builtins.exec", "builtins.eval", "builtins.compile", "builtins.execfile"})
PROCESS_NAMES = frozenset(
    {
        "subprocess.Popen",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
        "os.execv",
        "os.execve",
        "os.execl",
        "os.execlp",
        "os.execvp",
        "os.spawnl",
        "os.spawnv",
        "os.spawnlp",
        "os.spawnvp",
        "pty.spawn",
        "commands.getoutput",
        "os.popen2",
        "os.popen3",
        "os.posix_spawn",
        "os.posix_spawnp",
    }
)
MIN_BLOB = 80
_BLOB = re.compile(rf"^[A-Za-z0-9+/=_\-\s]{{{MIN_BLOB},}}$")
_HEX_BLOB = re.compile(rf"^(?:[0-9a-fA-F]{{2}}){{{MIN_BLOB // 2},}}$")
_PS_ENC = re.compile(
    r"-(?:e|ec|en|enc|enco|encod|encode|encoded|encodedc|encodedco|encodedcom|"
    r"encodedcomm|encodedcomma|encodedcomman|encodedcommand)\s+([A-Za-z0-9+/=]{16,})",
    re.IGNORECASE,
)
_PY_HINT = re.compile(r"\b(import|def|exec|eval|print|lambda|open|os\.|subprocess|socket|urllib|requests)\b")


def find_payloads(ctx: PyContext) -> list[Payload]:
    """Every payload this module decodes, de-duplicated, outermost first."""
    seen: set[str] = set()
    found: list[Payload] = []
    consumed: set[int] = set()
    for payload in _iter_payloads(ctx, consumed):
        if payload.text in seen or not payload.text.strip():
            continue
        seen.add(payload.text)
        found.append(payload)
    for payload in _loose_blobs(ctx, consumed):
        if payload.text not in seen:
            seen.add(payload.text)
            found.append(payload)
    return found


def _iter_payloads(ctx: PyContext, consumed: set[int]) -> Iterator[Payload]:
    for call in ctx.facts.calls:
        name = call.name
        if name in EXEC_NAMES and call.node.args:
            yield from _evaluated(ctx, call, call.node.args[0], consumed, executed=True)
        elif (name in DECODER_NAMES and call.node.args) or (call.attr == "decode" and call.node.args):
            yield from _evaluated(ctx, call, call.node, consumed, executed=False)
        elif name in PROCESS_NAMES:
            yield from _process_payloads(ctx, call, consumed)
        elif call.attr in _WRITERS and call.node.args:
            yield from _written_source(ctx, call)


# A dropper writes a script it carries as a string and starts it later: the string is code too.
_WRITERS = frozenset({"write", "write_text", "writelines"})


def _written_source(ctx: PyContext, call: CallSite) -> Iterator[Payload]:
    value = ctx.evaluate(call.node.args[0])
    if not isinstance(value, str) or len(value) < 80 or value.count("\n") < 3:
        return
    if not _PY_HINT.search(value) or parse_tolerant(value) is None:
        return
    chain = (*ctx.decoders_of(call.node.args[0]), "written as a script")
    yield Payload(value, call.line, chain, False, call.scope)


def _evaluated(
    ctx: PyContext, call: CallSite, expr: ast.expr, consumed: set[int], *, executed: bool
) -> Iterator[Payload]:
    value = ctx.evaluate(expr)
    text = as_payload_text(value)
    decoders = ctx.decoders_of(expr)
    if text is None:
        return
    _consume(expr, consumed)
    if not executed and not decoders:
        return  # a plain literal: nothing was decoded
    if not executed and not _looks_like_code_or_command(text):
        return
    yield Payload(text, call.line, decoders or ("literal",), executed, call.scope)


def _process_payloads(ctx: PyContext, call: CallSite, consumed: set[int]) -> Iterator[Payload]:
    if not call.node.args:
        return
    value = ctx.evaluate(call.node.args[0])
    if isinstance(value, list | tuple):
        argv = [v for v in value if isinstance(v, str)]
    elif isinstance(value, str):
        argv = value.split()
        yield from _powershell(value, call)
    else:
        argv = _partial_argv(ctx, call.node.args[0])
    for flag, code in itertools.pairwise(argv):
        if flag == "-c" and code:
            _consume(call.node.args[0], consumed)
            yield Payload(code, call.line, ("python -c",), True, call.scope)


def _partial_argv(ctx: PyContext, node: ast.expr) -> list[str]:
    """Literal items of a list argument whose other items are not literal (sys.executable)."""
    if not isinstance(node, ast.List | ast.Tuple):
        return []
    items: list[str] = []
    for elt in node.elts:
        value = ctx.evaluate(elt)
        items.append(value if isinstance(value, str) else "")
    return items


def _powershell(command: str, call: CallSite) -> Iterator[Payload]:
    match = _PS_ENC.search(command)
    if match is None or ("powershell" not in command.lower() and "pwsh" not in command.lower()):
        return
    try:
        raw = base64.b64decode(match.group(1) + "=" * (-len(match.group(1)) % 4))
        text = raw.decode("utf-16-le", "replace")
    except (binascii.Error, ValueError):
        return
    yield Payload(text, call.line, ("powershell -EncodedCommand",), True, call.scope)


def _loose_blobs(ctx: PyContext, consumed: set[int]) -> Iterator[Payload]:
    for lit in ctx.facts.strings:
        if lit.docstring or id(lit.node) in consumed or len(lit.value) < MIN_BLOB:
            continue
        value = lit.value.strip()
        decoded = try_decode_blob(value)
        if decoded is None:
            continue
        text, chain = decoded
        if _looks_like_code_or_command(text):
            yield Payload(text, lit.line, chain, False, lit.scope)


def try_decode_blob(value: str) -> tuple[str, tuple[str, ...]] | None:
    """Decode a lone literal with the stacks malware uses most: base64/hex, then compression."""
    raw: bytes | None = None
    first = ""
    if _HEX_BLOB.match(value):
        try:
            raw, first = binascii.unhexlify(value), "hex"
        except (binascii.Error, ValueError):
            raw = None
    elif _BLOB.match(value) and len(set(value)) > 16:
        compact = "".join(value.split())
        try:
            alt = b"-_" if ("-" in compact or "_" in compact) else None
            padded = compact + "=" * (-len(compact) % 4)
            raw = base64.b64decode(padded, alt) if alt else base64.b64decode(padded, validate=True)
            first = "base64"
        except (binascii.Error, ValueError):
            raw = None
    if raw is None:
        return None
    chain: tuple[str, ...] = (first,)
    for _ in range(4):
        inflated = _inflate(raw)
        if inflated is None:
            break
        raw, step = inflated
        chain += (step,)
    text = as_payload_text(raw)
    return (text, chain) if text else None


def _inflate(raw: bytes) -> tuple[bytes, str] | None:
    from depvet.analysis.staticeval import BYTES_DECODERS, Unknown

    for magic, name in (
        (b"\x78", "zlib.decompress"),
        (b"\x1f\x8b", "gzip.decompress"),
        (b"BZh", "bz2.decompress"),
        (b"\xfd7zXZ", "lzma.decompress"),
    ):
        if raw.startswith(magic):
            try:
                return BYTES_DECODERS[name](raw), name
            except (Unknown, zlib.error):
                return None
    return None


def _looks_like_code_or_command(text: str) -> bool:
    return bool(_PY_HINT.search(text)) or any(
        marker in text for marker in ("http://", "https://", "/bin/", "powershell", "curl ", "wget ")
    )


def _consume(expr: ast.expr, consumed: set[int]) -> None:
    for node in ast.walk(expr):
        if isinstance(node, ast.Constant):
            consumed.add(id(node))
