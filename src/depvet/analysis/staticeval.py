"""Evaluate literal expressions of scanned code without running it.

Only a closed set of pure operations is understood: literals, names bound to literals, string
and bytes arithmetic, slicing, ``join``/``chr``/``map`` idioms and the standard library's
decoders (base64/32/16/85, hex, zlib, bz2, lzma, gzip, rot13, reversal). Everything else is
"unknown" (``None``). Every result is bounded by a byte budget, so a decompression bomb or a
``'x' * 10**12`` costs nothing.
"""

from __future__ import annotations

import ast
import base64
import binascii
import builtins
import bz2
import codecs
import lzma
import types
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

Value = str | bytes | int | float | bool | list["Value"] | tuple["Value", ...]

MAX_VALUE_BYTES = 4 * 1024 * 1024
MAX_SEQUENCE = 200_000
MAX_DEPTH = 60


class Unknown(Exception):
    """The expression is not something we evaluate statically."""


@dataclass
class EvalStats:
    """What the evaluation did; used to tell plain literals from decoded payloads."""

    decoders: list[str] = field(default_factory=list)


def _size(value: Value) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return len(value)
    return 8


def _check(value: Value) -> Value:
    if _size(value) > MAX_VALUE_BYTES:
        raise Unknown("value over budget")
    return value


def _as_bytes(value: Value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass")
    if isinstance(value, list | tuple) and all(isinstance(v, int) and 0 <= v < 256 for v in value):
        return bytes(v for v in value if isinstance(v, int))
    raise Unknown("not bytes")


def _as_text(value: Value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise Unknown("not text")


def _bounded_decompress(
    make: Callable[[], zlib._Decompress | bz2.BZ2Decompressor | lzma.LZMADecompressor], data: bytes
) -> bytes:
    engine = make()
    if isinstance(engine, bz2.BZ2Decompressor | lzma.LZMADecompressor):
        out = engine.decompress(data, max_length=MAX_VALUE_BYTES + 1)
    else:
        out = engine.decompress(data, MAX_VALUE_BYTES + 1)
    if len(out) > MAX_VALUE_BYTES:
        raise Unknown("decompressed value over budget")
    return out


def _zlib(data: bytes, wbits: int = zlib.MAX_WBITS) -> bytes:
    try:
        return _bounded_decompress(lambda: zlib.decompressobj(wbits), data)
    except zlib.error as exc:
        raise Unknown(str(exc)) from exc


def _gzip(data: bytes) -> bytes:
    return _zlib(data, 16 + zlib.MAX_WBITS)


def _bz2(data: bytes) -> bytes:
    try:
        return _bounded_decompress(bz2.BZ2Decompressor, data)
    except (OSError, ValueError) as exc:
        raise Unknown(str(exc)) from exc


def _lzma(data: bytes) -> bytes:
    try:
        return _bounded_decompress(lzma.LZMADecompressor, data)
    except lzma.LZMAError as exc:
        raise Unknown(str(exc)) from exc


def _b64(data: bytes, altchars: bytes | None = None) -> bytes:
    cleaned = b"".join(data.split())
    cleaned += b"=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, altchars) if altchars else base64.b64decode(cleaned)
    except (binascii.Error, ValueError) as exc:
        raise Unknown(str(exc)) from exc


def _guarded(fn: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def run(data: bytes) -> bytes:
        try:
            return fn(data)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise Unknown(str(exc)) from exc

    return run


# Byte-to-byte decoders by the qualified name code would call them with.
BYTES_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "base64.b64decode": _b64,
    "base64.standard_b64decode": _b64,
    "base64.decodebytes": _b64,
    "base64.decodestring": _b64,
    "base64.urlsafe_b64decode": lambda d: _b64(d, b"-_"),
    "base64.b32decode": _guarded(lambda d: base64.b32decode(d + b"=" * (-len(d) % 8), casefold=True)),
    "base64.b32hexdecode": _guarded(lambda d: base64.b32hexdecode(d + b"=" * (-len(d) % 8), casefold=True)),
    "base64.b16decode": _guarded(lambda d: base64.b16decode(d, casefold=True)),
    "base64.a85decode": _guarded(base64.a85decode),
    "base64.b85decode": _guarded(base64.b85decode),
    "binascii.a2b_base64": _b64,
    "binascii.unhexlify": _guarded(binascii.unhexlify),
    "binascii.a2b_hex": _guarded(binascii.a2b_hex),
    "bytes.fromhex": _guarded(lambda d: bytes.fromhex(d.decode("latin-1"))),
    "bytearray.fromhex": _guarded(lambda d: bytes.fromhex(d.decode("latin-1"))),
    "zlib.decompress": _zlib,
    "gzip.decompress": _gzip,
    "bz2.decompress": _bz2,
    "lzma.decompress": _lzma,
}

# codecs.decode(x, name) / x.decode(name) with a transforming codec.
CODEC_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "base64": _b64,
    "base_64": _b64,
    "base64_codec": _b64,
    "hex": _guarded(binascii.unhexlify),
    "hex_codec": _guarded(binascii.unhexlify),
    "zlib": _zlib,
    "zip": _zlib,
    "zlib_codec": _zlib,
    "bz2": _bz2,
    "bz2_codec": _bz2,
}
ROT13_NAMES = frozenset({"rot13", "rot_13", "rot-13"})
DECODER_NAMES = frozenset(BYTES_DECODERS) | {"codecs.decode"}

_BUILTIN_NAMES = frozenset(
    {"chr", "ord", "str", "bytes", "bytearray", "list", "tuple", "reversed", "map", "int", "len", "compile"}
)


class StaticEvaluator:
    """Evaluates expressions of one module against the literal bindings it has seen."""

    def __init__(
        self,
        resolve: Callable[[ast.expr], str | None],
        bindings: Callable[[str, int], ast.expr | None] | None = None,
    ) -> None:
        self._resolve = resolve
        self._bindings = bindings or (lambda _name, _line: None)
        self._active: set[tuple[str, int]] = set()
        self.stats = EvalStats()
        self._depth = 0

    def evaluate(self, node: ast.expr) -> Value | None:
        self.stats = EvalStats()
        try:
            return self._eval(node, {})
        except (Unknown, RecursionError, MemoryError, OverflowError, ValueError, TypeError, IndexError):
            return None

    # -- core ------------------------------------------------------------------------------

    def _eval(self, node: ast.expr, local: dict[str, Value]) -> Value:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise Unknown("too deep")
            return _check(self._dispatch(node, local))
        finally:
            self._depth -= 1

    def _dispatch(self, node: ast.expr, local: dict[str, Value]) -> Value:
        match node:
            case ast.Constant(value=str() | bytes() | int() | float() | bool() as value):
                return value
            case ast.Name(id=name):
                return self._name(name, getattr(node, "lineno", 1 << 30), local)
            case ast.JoinedStr(values=parts):
                return "".join(self._formatted(p, local) for p in parts)
            case ast.List(elts=elts) | ast.Tuple(elts=elts):
                if len(elts) > MAX_SEQUENCE:
                    raise Unknown("sequence too long")
                return [self._eval(e, local) for e in elts]
            case ast.BinOp():
                return self._binop(node, local)
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                inner = self._eval(operand, local)
                if isinstance(inner, int | float) and not isinstance(inner, bool):
                    return -inner
                raise Unknown("unary")
            case ast.Subscript():
                return self._subscript(node, local)
            case ast.Call():
                return self._call(node, local)
            case ast.ListComp(elt=elt, generators=gens) | ast.GeneratorExp(elt=elt, generators=gens):
                return self._comprehension(elt, gens, local)
        raise Unknown(type(node).__name__)

    def _name(self, name: str, line: int, local: dict[str, Value]) -> Value:
        if name in local:
            return local[name]
        bound = self._bindings(name, line)
        key = (name, id(bound))
        if bound is None or key in self._active:
            raise Unknown(name)
        self._active.add(key)
        try:
            return self._eval(bound, {})
        finally:
            self._active.discard(key)

    def _formatted(self, part: ast.expr, local: dict[str, Value]) -> str:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            return part.value
        if isinstance(part, ast.FormattedValue) and part.format_spec is None and part.conversion == -1:
            value = self._eval(part.value, local)
            if isinstance(value, str | int):
                return str(value)
        raise Unknown("f-string part")

    def _binop(self, node: ast.BinOp, local: dict[str, Value]) -> Value:
        left = self._eval(node.left, local)
        right = self._eval(node.right, local)
        match node.op:
            case ast.Add():
                if isinstance(left, str) and isinstance(right, str):
                    return left + right
                if isinstance(left, bytes) and isinstance(right, bytes):
                    return left + right
                if isinstance(left, list) and isinstance(right, list):
                    return left + right
                if _is_num(left) and _is_num(right):
                    return left + right  # type: ignore[operator]
            case ast.Mult():
                return self._repeat(left, right)
            case (
                ast.Sub()
                | ast.LShift()
                | ast.RShift()
                | ast.BitXor()
                | ast.BitAnd()
                | ast.BitOr()
                | ast.FloorDiv()
                | ast.Mod()
            ) if isinstance(left, int) and isinstance(right, int):
                return _int_op(node.op, left, right)
            case ast.Mod() if isinstance(left, str) and isinstance(right, str | int):
                return left % right
            case ast.Mod() if isinstance(left, str) and isinstance(right, list):
                return left % tuple(right)
        raise Unknown("binop")

    def _repeat(self, left: Value, right: Value) -> Value:
        if isinstance(left, int) and not isinstance(right, int):
            left, right = right, left
        if isinstance(right, int) and isinstance(left, str | bytes | list):
            if right < 0 or len(left) * right > MAX_VALUE_BYTES:
                raise Unknown("repeat over budget")
            return left * right
        if _is_num(left) and _is_num(right):
            product = left * right  # type: ignore[operator]
            if isinstance(product, int) and product.bit_length() > 256:
                raise Unknown("number too large")
            return product
        raise Unknown("mult")

    def _subscript(self, node: ast.Subscript, local: dict[str, Value]) -> Value:
        base = self._eval(node.value, local)
        if not isinstance(base, str | bytes | list | tuple):
            raise Unknown("subscript base")
        if isinstance(node.slice, ast.Slice):
            parts = [
                None if p is None else self._eval(p, local)
                for p in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            if not all(p is None or isinstance(p, int) for p in parts):
                raise Unknown("slice")
            lower, upper, step = (p if isinstance(p, int) else None for p in parts)
            if step == 0:
                raise Unknown("zero step")
            if step is not None and step < 0 and len(base) > 16:
                self.stats.decoders.append("reversal")
            return base[lower:upper:step]
        index = self._eval(node.slice, local)
        if isinstance(index, int):
            return base[index]
        raise Unknown("index")

    def _comprehension(self, elt: ast.expr, gens: list[ast.comprehension], local: dict[str, Value]) -> Value:
        if len(gens) != 1 or gens[0].is_async or not isinstance(gens[0].target, ast.Name):
            raise Unknown("comprehension shape")
        gen = gens[0]
        source = self._eval(gen.iter, local)
        if not isinstance(source, str | bytes | list | tuple):
            raise Unknown("comprehension source")
        if len(source) > MAX_SEQUENCE:
            raise Unknown("comprehension too long")
        assert isinstance(gen.target, ast.Name)
        var = gen.target.id
        if len(source) > 8 and isinstance(elt, ast.Call) and self._resolve(elt.func) == "builtins.chr":
            self.stats.decoders.append("chr-codes")
        out: list[Value] = []
        for item in source:
            scope = dict(local)
            scope[var] = item
            if all(self._truthy(cond, scope) for cond in gen.ifs):
                out.append(self._eval(elt, scope))
        return out

    def _truthy(self, cond: ast.expr, local: dict[str, Value]) -> bool:
        return bool(self._eval(cond, local))

    # -- calls -----------------------------------------------------------------------------

    def _call(self, node: ast.Call, local: dict[str, Value]) -> Value:
        func = node.func
        lam = self._lambda_of(func, local)
        if lam is not None:
            return self._apply_lambda(lam, node, local)
        shown = self._builtin_shown(node)
        if shown is not None:
            return shown
        hidden = self._hidden_builtin(func, local)
        if hidden is not None:
            return self._known_function(hidden, node, local)
        if isinstance(func, ast.Attribute):
            receiver_name = self._resolve(func.value)
            qualified = self._resolve(func)
            if qualified in BYTES_DECODERS or qualified == "codecs.decode" or qualified == "codecs.encode":
                return self._known_function(qualified, node, local)
            if receiver_name is None or receiver_name not in _MODULE_LIKE:
                return self._method(func.attr, func.value, node, local)
        qualified = self._resolve(func)
        if qualified is None:
            raise Unknown("call target")
        return self._known_function(qualified, node, local)

    def _builtin_shown(self, node: ast.Call) -> str | None:
        """``oct.__str__()``, ``str(hex)``, ``repr(copyright)``: the text Python shows for a builtin.

        Obfuscators index into these to spell ``chr`` or ``exec`` without writing them.
        """
        func = node.func
        target: ast.expr | None = None
        if isinstance(func, ast.Attribute) and func.attr in ("__str__", "__repr__") and not node.args:
            target = func.value
        elif self._resolve(func) in ("builtins.str", "builtins.repr") and len(node.args) == 1:
            target = node.args[0]
        name = self._resolve(target) if isinstance(target, ast.Name) else None
        if name is None or not name.startswith("builtins."):
            return None
        text = builtin_text(name[len("builtins.") :])
        if text is not None:
            self.stats.decoders.append("builtin text")
        return text

    def _hidden_builtin(self, func: ast.expr, local: dict[str, Value]) -> str | None:
        """``getattr(__builtins__, <expression that evaluates to 'chr'>)`` as ``builtins.chr``."""
        if not (isinstance(func, ast.Call) and self._resolve(func.func) == "builtins.getattr"):
            return None
        if len(func.args) < 2 or not isinstance(func.args[0], ast.Name):
            return None
        if func.args[0].id not in ("__builtins__", "builtins"):
            return None
        name = self._eval(func.args[1], local)
        return f"builtins.{name}" if isinstance(name, str) and name.isidentifier() else None

    def _lambda_of(self, func: ast.expr, local: dict[str, Value]) -> ast.Lambda | None:
        """``(lambda x: ...)(arg)`` or ``_(arg)`` where ``_ = lambda x: ...`` (obfuscators' favourite)."""
        if isinstance(func, ast.Lambda):
            return func
        if isinstance(func, ast.Name) and func.id not in local:
            bound = self._bindings(func.id, getattr(func, "lineno", 1 << 30))
            if isinstance(bound, ast.Lambda):
                return bound
        return None

    def _apply_lambda(self, lam: ast.Lambda, node: ast.Call, local: dict[str, Value]) -> Value:
        params = [a.arg for a in lam.args.args]
        if lam.args.vararg or lam.args.kwarg or lam.args.kwonlyargs or len(params) != len(node.args):
            raise Unknown("lambda shape")
        scope = dict(local)
        scope.update(zip(params, self._args(node, local), strict=True))
        return self._eval(lam.body, scope)

    def _args(self, node: ast.Call, local: dict[str, Value]) -> list[Value]:
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise Unknown("starred")
        return [self._eval(a, local) for a in node.args]

    def _kwarg(self, node: ast.Call, name: str, local: dict[str, Value]) -> Value | None:
        for kw in node.keywords:
            if kw.arg == name:
                return self._eval(kw.value, local)
        return None

    def _known_function(self, name: str, node: ast.Call, local: dict[str, Value]) -> Value:
        if name in BYTES_DECODERS:
            args = self._args(node, local)
            if not args:
                raise Unknown("decoder without argument")
            self.stats.decoders.append(name)
            return BYTES_DECODERS[name](_as_bytes(args[0]))
        if name in ("codecs.decode", "codecs.encode"):
            args = self._args(node, local)
            encoding = args[1] if len(args) > 1 else self._kwarg(node, "encoding", local)
            if not args or not isinstance(encoding, str):
                raise Unknown("codecs.decode shape")
            return self._codec(args[0], encoding, name.endswith("decode"))
        if name.startswith("builtins."):
            return self._builtin(name[len("builtins.") :], node, local)
        raise Unknown(name)

    def _codec(self, value: Value, encoding: str, decoding: bool) -> Value:
        enc = encoding.lower().replace("-", "_")
        if enc in {n.replace("-", "_") for n in ROT13_NAMES}:
            self.stats.decoders.append("rot13")
            return codecs.decode(_as_text(value), "rot13")
        if decoding and enc in CODEC_DECODERS:
            self.stats.decoders.append(f"codecs.{enc}")
            return CODEC_DECODERS[enc](_as_bytes(value))
        if decoding and isinstance(value, bytes):
            return value.decode(_text_encoding(enc), "replace")
        if not decoding and isinstance(value, str):
            return value.encode(_text_encoding(enc), "replace")
        raise Unknown("codec")

    def _builtin(self, name: str, node: ast.Call, local: dict[str, Value]) -> Value:  # noqa: C901 - one case per builtin
        if name not in _BUILTIN_NAMES:
            raise Unknown(name)
        if name == "map":
            return self._map(node, local)
        args = self._args(node, local)
        match name, args:
            case "chr", [int() as code]:
                return chr(code)
            case "ord", [str() as ch] if len(ch) == 1:
                return ord(ch)
            case "str", [str() | int() as v]:
                return str(v)
            case "str", [bytes() as v, str() as enc]:
                return v.decode(_text_encoding(enc), "replace")
            case "bytes" | "bytearray", [list() | tuple() | bytes() as v]:
                return _as_bytes(v)
            case "bytes" | "bytearray", [str() as v, str() as enc]:
                return v.encode(_text_encoding(enc), "replace")
            case "list" | "tuple", [str() | bytes() | list() | tuple() as v]:
                return list(v)
            case "reversed", [str() | bytes() | list() | tuple() as v]:
                if len(v) > 16:
                    self.stats.decoders.append("reversal")
                return list(reversed(v))
            case "int", [str() as v, int() as base]:
                return int(v, base)
            case "int", [str() | int() as v]:
                return int(v)
            case "len", [str() | bytes() | list() | tuple() as v]:
                return len(v)
            case "compile", [str() | bytes() as source, *_]:
                # compile() only wraps source for exec/eval; its source is what will run.
                return source
        raise Unknown(name)

    def _map(self, node: ast.Call, local: dict[str, Value]) -> Value:
        if len(node.args) != 2:
            raise Unknown("map shape")
        fn = self._resolve(node.args[0]) or self._hidden_builtin(node.args[0], local)
        source = self._eval(node.args[1], local)
        if not isinstance(source, list | tuple | str | bytes):
            raise Unknown("map source")
        if fn == "builtins.chr":
            if len(source) >= 3:
                self.stats.decoders.append("chr-codes")
            return [chr(v) for v in source if isinstance(v, int)]
        if fn == "builtins.ord":
            return [ord(v) for v in source if isinstance(v, str)]
        if fn == "builtins.str":
            return [str(v) for v in source]
        if fn == "builtins.int":
            return [int(v) for v in source if isinstance(v, str | int)]
        raise Unknown("map function")

    def _method(self, attr: str, receiver: ast.expr, node: ast.Call, local: dict[str, Value]) -> Value:
        if attr in ("fromhex",) and isinstance(receiver, ast.Name) and receiver.id in ("bytes", "bytearray"):
            return self._known_function("bytes.fromhex", node, local)
        target = self._eval(receiver, local)
        args = self._args(node, local)
        return _apply_method(self.stats, target, attr, args)


def builtin_text(name: str) -> str | None:
    """What ``str()`` of a builtin shows, from depvet's own interpreter (nothing scanned runs)."""
    if name in ("copyright", "credits", "license"):
        return _SITE_TEXTS.get(name)
    value = getattr(builtins, name, None)
    if value is None or name.startswith("_"):
        return None
    if isinstance(value, type):
        return f"<class '{name}'>"
    if isinstance(value, types.BuiltinFunctionType):
        return f"<built-in function {name}>"
    return None


# site's banners start the same way in every CPython 3 (obfuscators index their first words).
_SITE_TEXTS = {
    "copyright": "Copyright (c) 2001-2023 Python Software Foundation.\nAll Rights Reserved.",
    "credits": "    Thanks to CWI, CNRI, BeOpen.com, Zope Corporation and a cast of thousands",
    "license": "Type license() to see the full license text",
}


_MODULE_LIKE = frozenset({"base64", "binascii", "zlib", "gzip", "bz2", "lzma", "codecs", "builtins"})


def _apply_method(stats: EvalStats, target: Value, attr: str, args: list[Value]) -> Value:
    match target, attr, args:
        case (str() | bytes()) as sep, "join", [list() | tuple() | str() as items]:
            if isinstance(sep, str):
                return sep.join(_as_text(i) if isinstance(i, str | bytes) else str(i) for i in items)
            return sep.join(_as_bytes(i) for i in items if isinstance(i, bytes | str))
        case bytes() as data, "decode", []:
            return data.decode("utf-8", "replace")
        case bytes() as data, "decode", [str() as enc]:
            return _decode_with(stats, data, enc)
        case str() as text, "decode", [str() as enc]:
            return _decode_with(stats, _as_bytes(text), enc)
        case str() as text, "encode", []:
            return text.encode("utf-8", "replace")
        case str() as text, "encode", [str() as enc]:
            if enc.lower().replace("-", "_") in ("rot13", "rot_13"):
                stats.decoders.append("rot13")
                return codecs.encode(text, "rot13")
            return text.encode(_text_encoding(enc), "replace")
        case (str() | bytes()) as text, "replace", [(str() | bytes()) as old, (str() | bytes()) as new]:
            return text.replace(old, new)  # type: ignore[arg-type]
        case (str() | bytes()) as text, "strip" | "lstrip" | "rstrip" | "lower" | "upper", []:
            return getattr(text, attr)()  # type: ignore[no-any-return]
        case (str() | bytes()) as text, "split", []:
            return list(text.split())
        case (str() | bytes()) as text, "split", [(str() | bytes()) as sep]:
            return list(text.split(sep))  # type: ignore[arg-type]
        case (str() | bytes()) as text, "translate", [(bytes() | str()) as table] if len(table) == 256:
            return text.translate(table)  # type: ignore[arg-type]
    raise Unknown(f"method {attr}")


def _decode_with(stats: EvalStats, data: bytes, encoding: str) -> Value:
    enc = encoding.lower().replace("-", "_")
    if enc in CODEC_DECODERS:
        stats.decoders.append(f"codecs.{enc}")
        return CODEC_DECODERS[enc](data)
    return data.decode(_text_encoding(enc), "replace")


def _text_encoding(enc: str) -> str:
    try:
        codecs.lookup(enc)
    except LookupError as exc:
        raise Unknown(f"codec {enc}") from exc
    if enc.replace("-", "_").lower() in CODEC_DECODERS or enc in ROT13_NAMES:
        raise Unknown("transform codec")
    return enc


def _is_num(value: Value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int_op(op: ast.operator, left: int, right: int) -> int:
    match op:
        case ast.Sub():
            return left - right
        case ast.LShift():
            if right > 64:
                raise Unknown("shift too large")
            return left << right
        case ast.RShift():
            return left >> right
        case ast.BitXor():
            return left ^ right
        case ast.BitAnd():
            return left & right
        case ast.BitOr():
            return left | right
        case ast.FloorDiv():
            return left // right
        case ast.Mod():
            return left % right
    raise Unknown("int op")


def as_payload_text(value: Value | None) -> str | None:
    """A decoded value as text when it is a string or bytes that are mostly printable."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
        if not text:
            return text
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
        if printable / len(text) > 0.85:
            return text
    return None
