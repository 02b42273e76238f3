"""One walk over a module's AST that records what detectors need.

The walk resolves call targets through imports and aliases (``from os import system as s``,
``__import__('os').system``, ``getattr(__builtins__, 'exec')``), records string literals,
assignments and calls per scope, and works out which scopes run without anyone calling them:
module level of a package module (import time), ``setup.py`` with its command classes (install
time), and the functions those call. Detectors never walk the tree themselves.
"""

from __future__ import annotations

import ast
import builtins
import enum
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from depvet.model import RunContext

BUILTIN_NAMES = frozenset(dir(builtins)) | {"__builtins__"}

# setuptools/distutils commands whose subclassing in setup.py runs code at install or build time.
SETUP_COMMANDS = frozenset(
    {
        "install",
        "develop",
        "egg_info",
        "build_py",
        "build_ext",
        "build",
        "sdist",
        "bdist_wheel",
        "bdist_egg",
        "bdist",
        "install_lib",
        "install_scripts",
        "install_data",
        "install_headers",
        "easy_install",
        "build_clib",
        "build_scripts",
        "test",
        "editable_wheel",
        "dist_info",
    }
)
# Callables that run a function they are given right away or at exit.
_RUNNERS = frozenset(
    {
        "atexit.register",
        "threading.Thread",
        "multiprocessing.Process",
        "threading.Timer",
        "_thread.start_new_thread",
    }
)


class ScopeKind(enum.StrEnum):
    MODULE = "module"
    CLASS = "class"
    FUNCTION = "function"
    MAIN_BLOCK = "main-block"  # if __name__ == "__main__": runs only as a script


@dataclass(eq=False)
class Scope:
    kind: ScopeKind
    name: str
    line: int
    parent: Scope | None
    bases: tuple[str, ...] = ()
    context: RunContext = RunContext.CALLED
    assigns: list[tuple[tuple[str, ...], ast.expr]] = field(default_factory=list)
    local_calls: set[str] = field(default_factory=set)
    # First and last line of a body that was not walked: its calls are read from the text only
    # if run context ever reaches it (most cold functions of an import-time module it never does).
    cold_lines: tuple[int, int] | None = None
    returns: list[ast.expr] = field(default_factory=list)
    params: tuple[str, ...] = ()
    node: ast.AST | None = None

    @functools.cached_property
    def qualname(self) -> str:
        """Dotted name inside the module; a scope's name and parents never change once made."""
        parts: list[str] = []
        scope: Scope | None = self
        while scope is not None and scope.kind is not ScopeKind.MODULE:
            parts.append(scope.name)
            scope = scope.parent
        return ".".join(reversed(parts)) or "<module>"

    def enclosing_function(self) -> Scope | None:
        scope: Scope | None = self
        while scope is not None and scope.kind is not ScopeKind.FUNCTION:
            scope = scope.parent
        return scope


@dataclass(eq=False, slots=True)
class CallSite:
    node: ast.Call
    name: str | None  # resolved dotted name ('subprocess.Popen', 'builtins.exec'), None if unknown
    attr: str | None  # the last attribute for method calls on any receiver ('read_text')
    scope: Scope

    @property
    def line(self) -> int:
        return self.node.lineno


@dataclass(eq=False, slots=True)
class StringLit:
    value: str
    node: ast.Constant
    scope: Scope
    docstring: bool

    @property
    def line(self) -> int:
        return self.node.lineno


@dataclass
class ModuleFacts:
    tree: ast.Module
    module: Scope
    scopes: list[Scope]
    calls: list[CallSite]
    strings: list[StringLit]
    aliases: dict[str, str]
    functions: dict[str, list[Scope]]
    classes: dict[str, list[Scope]]
    bindings: dict[str, list[tuple[int, Scope, ast.expr]]]
    scope_of_node: dict[int, Scope]

    def binding(self, name: str, before_line: int) -> ast.expr | None:
        """The latest assignment to ``name`` above a line (flow-insensitive across scopes)."""
        candidates = self.bindings.get(name)
        if not candidates:
            return None
        best: tuple[int, ast.expr] | None = None
        for line, _where, value in candidates:
            if line >= before_line:
                continue
            if best is None or line >= best[0]:
                best = (line, value)
        if best is None and len(candidates) == 1:
            return candidates[0][2]  # a module constant used above its definition (in a function)
        return best[1] if best else None


class NameResolver:
    """Resolves expressions to dotted names through a module's imports and aliases."""

    def __init__(self, aliases: dict[str, str], defined: set[str]) -> None:
        self.aliases = aliases
        self.defined = defined

    def resolve(self, node: ast.expr) -> str | None:
        match node:
            case ast.Name(id=name):
                if name in self.aliases:
                    return self.aliases[name]
                if name in ("__builtins__", "builtins"):
                    return "builtins"
                if name in BUILTIN_NAMES and name not in self.defined:
                    return f"builtins.{name}"
                return name
            case ast.Attribute(value=value, attr=attr):
                base = self.resolve(value)
                if base is None:
                    return None
                if attr == "__dict__":
                    return base
                if base == "builtins" or (
                    base.startswith("builtins.")
                    and base.count(".") == 1
                    and base[len("builtins.") :] in ("__builtins__",)
                ):
                    return f"builtins.{attr}"
                return f"{base}.{attr}"
            case ast.Call():
                return self.import_call(node) or self._getattr_call(node)
            case ast.Subscript(value=value, slice=ast.Constant(value=str() as key)):
                base = self.resolve(value)
                if base in ("builtins", "builtins.globals", "builtins.vars") or (
                    base and base.endswith(".__dict__")
                ):
                    return f"builtins.{key}" if base != "sys.modules" else key
                if base == "sys.modules":
                    return key
        return None

    def import_call(self, node: ast.Call) -> str | None:
        func = self.resolve(node.func) if not isinstance(node.func, ast.Call) else None
        if func in ("builtins.__import__", "importlib.import_module", "importlib.__import__") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                return arg.value
            text = self._static_string(arg)
            if text:
                return text
        return None

    def _getattr_call(self, node: ast.Call) -> str | None:
        if self.resolve(node.func) != "builtins.getattr" or len(node.args) < 2:
            return None
        base = self.resolve(node.args[0])
        attr = self._static_string(node.args[1])
        if base and attr:
            return f"builtins.{attr}" if base == "builtins" else f"{base}.{attr}"
        return None

    def _static_string(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        from depvet.analysis.staticeval import StaticEvaluator

        value = StaticEvaluator(self.resolve_simple).evaluate(node)
        return (
            value
            if (isinstance(value, str) and value.isidentifier()) or (isinstance(value, str) and "." in value)
            else None
        )

    def resolve_simple(self, node: ast.expr) -> str | None:
        # Resolution without getattr/import evaluation, for the evaluator nested in resolve().
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            if node.id in BUILTIN_NAMES and node.id not in self.defined:
                return f"builtins.{node.id}"
            return node.id
        if isinstance(node, ast.Attribute):
            base = self.resolve_simple(node.value)
            return f"{base}.{node.attr}" if base else None
        return None


_LEAVES = (ast.Load, ast.Store, ast.Del, ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
_BARE_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\(")
_SELF_CALL = re.compile(r"\b(?:self|cls)\.([A-Za-z_]\w*)\s*\(")


class _Walker:
    def __init__(
        self,
        tree: ast.Module,
        base: RunContext,
        setup_script: bool,
        hot_lines: frozenset[int] | None,
        source: str | None,
        extents: dict[int, int],
        weak_lines: frozenset[int] = frozenset(),
    ) -> None:
        self.tree = tree
        self.extents = extents
        self.base = base
        self.setup_script = setup_script
        self.hot_lines = hot_lines
        self.weak_lines = weak_lines
        self.source = source
        self._source_lines: list[str] | None = None
        self.module = Scope(ScopeKind.MODULE, "<module>", 1, None, node=tree)
        self.scopes: list[Scope] = [self.module]
        self.calls: list[CallSite] = []
        self.strings: list[StringLit] = []
        self.aliases: dict[str, str] = {}
        self.defined: set[str] = set()
        self.names = NameResolver(self.aliases, self.defined)
        self.resolve = self.names.resolve
        self.functions: dict[str, list[Scope]] = {}
        self.classes: dict[str, list[Scope]] = {}
        self.bindings: dict[str, list[tuple[int, Scope, ast.expr]]] = {}
        self.scope_of_node: dict[int, Scope] = {}
        self.docstrings: set[int] = set()
        self.module_assigns: list[tuple[str, ast.expr]] = []

    # -- walking ---------------------------------------------------------------------------

    def run(self) -> ModuleFacts:
        self._note_docstring(self.tree)
        self._walk_body(self.tree.body, self.module)
        self._resolve_all()
        self._assign_contexts()
        return ModuleFacts(
            self.tree,
            self.module,
            self.scopes,
            self.calls,
            self.strings,
            self.aliases,
            self.functions,
            self.classes,
            self.bindings,
            self.scope_of_node,
        )

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        # Flow-insensitive: an alias imported anywhere resolves everywhere in the module.
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    self.aliases[top] = top
            return
        base = ("." * node.level) + (node.module or "")
        for alias in node.names:
            if alias.name != "*":
                self.aliases[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    def _note_docstring(self, node: _WithBody) -> None:
        docstring = _docstring(node)
        if docstring is not None:
            self.docstrings.add(id(docstring))

    def _walk_body(self, body: list[ast.stmt], scope: Scope) -> None:
        for stmt in body:
            self._visit(stmt, scope)

    def _visit(self, node: ast.AST, scope: Scope) -> None:  # noqa: C901 - a dispatch table
        stack: list[tuple[ast.AST, Scope]] = [(node, scope)]
        pop, push = stack.pop, stack.append
        while stack:
            current, where = pop()
            kind = type(current)
            if kind is ast.Name:
                continue
            if kind is ast.Constant:
                self._constant(current, where)  # type: ignore[arg-type]
                continue
            if kind is ast.Call:
                self.calls.append(CallSite(current, None, None, where))  # type: ignore[arg-type]
            elif kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
                self._function(current, where)  # type: ignore[arg-type]
                continue
            elif kind is ast.ClassDef:
                self._class(current, where)  # type: ignore[arg-type]
                continue
            elif kind is ast.Import or kind is ast.ImportFrom:
                self._import(current)  # type: ignore[arg-type]
                continue
            elif kind is ast.If and where.kind is ScopeKind.MODULE and _is_main_guard(current):  # type: ignore[arg-type]
                block = Scope(ScopeKind.MAIN_BLOCK, "__main__", current.lineno, where, node=current)  # type: ignore[attr-defined]
                self.scopes.append(block)
                for child in reversed(current.body):  # type: ignore[attr-defined]
                    push((child, block))
                for child in reversed(current.orelse):  # type: ignore[attr-defined]
                    push((child, where))
                continue
            elif kind is ast.Assign or kind is ast.AnnAssign or kind is ast.AugAssign:
                self._assign(current, where)  # type: ignore[arg-type]
            elif kind is ast.For or kind is ast.AsyncFor or kind is ast.comprehension:
                where.assigns.append((_target_names(current.target), current.iter))  # type: ignore[attr-defined]
            elif kind is ast.withitem:
                item: ast.withitem = current  # type: ignore[assignment]
                if item.optional_vars is not None:
                    where.assigns.append((_target_names(item.optional_vars), item.context_expr))
            elif kind is ast.NamedExpr:
                named: ast.NamedExpr = current  # type: ignore[assignment]
                where.assigns.append(((named.target.id,), named.value))
            elif kind is ast.Return:
                ret: ast.Return = current  # type: ignore[assignment]
                if ret.value is not None:
                    where.returns.append(ret.value)
            for field_name in current._fields:
                value = getattr(current, field_name, None)
                if type(value) is list:
                    for item_node in reversed(value):
                        if isinstance(item_node, ast.AST) and not isinstance(item_node, _LEAVES):
                            push((item_node, where))
                elif isinstance(value, ast.AST) and not isinstance(value, _LEAVES):
                    push((value, where))

    def _cold(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """A body with no token on any of its lines but weak ones in its docstring: nothing a
        detector wants is in it."""
        if self.hot_lines is None:
            return False
        hot_lines, weak_lines = self.hot_lines, self.weak_lines
        span: tuple[int, int] | None = None
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
            if line not in hot_lines:
                continue
            if line not in weak_lines:
                return False
            if span is None:
                docstring = _docstring(node)
                if docstring is None:
                    return False
                span = (docstring.lineno, docstring.end_lineno or docstring.lineno)
            if not span[0] <= line <= span[1]:
                return False
        return True

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, parent: Scope) -> None:
        for deco in node.decorator_list:
            self._visit(deco, parent)
        for default in [*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]]:
            self._visit(default, parent)
        args = node.args
        params = tuple(a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])
        scope = Scope(ScopeKind.FUNCTION, node.name, node.lineno, parent, params=params, node=node)
        self.scopes.append(scope)
        self.defined.add(node.name)
        self.functions.setdefault(node.name, []).append(scope)
        self.scope_of_node[id(node)] = scope
        if self._cold(node):
            self._remember_cold_body(node, scope)
            return
        self._note_docstring(node)
        self._walk_body(node.body, scope)

    def _remember_cold_body(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> None:
        # The body is not walked, but calls it makes still carry run context onwards.
        if self.source is not None:
            scope.cold_lines = (node.lineno, self.extents.get(node.lineno) or node.end_lineno or node.lineno)

    def _read_cold_calls(self, scope: Scope) -> None:
        assert self.source is not None
        assert scope.cold_lines is not None
        if self._source_lines is None:
            self._source_lines = self.source.split("\n")
        first, last = scope.cold_lines
        scope.cold_lines = None
        text = "\n".join(self._source_lines[first - 1 : last])
        for name in _BARE_CALL.findall(text):
            scope.local_calls.update(_candidates(scope, name))
        owner = _enclosing_class(scope)
        if owner is not None:
            scope.local_calls.update(f"{owner.qualname}.{attr}" for attr in _SELF_CALL.findall(text))

    def _class(self, node: ast.ClassDef, parent: Scope) -> None:
        for expr in [*node.decorator_list, *node.bases, *[k.value for k in node.keywords]]:
            self._visit(expr, parent)
        scope = Scope(ScopeKind.CLASS, node.name, node.lineno, parent, node=node)
        self.scopes.append(scope)
        self.defined.add(node.name)
        self.classes.setdefault(node.name, []).append(scope)
        self.scope_of_node[id(node)] = scope
        stubbed_until = self.extents.get(node.lineno)
        if stubbed_until is not None and self.source is not None:
            # A cold class trimmed to a stub: instantiating it may call anything its methods
            # call, so its whole text stands in for a constructor (a class body that runs on
            # import reaches no method, and neither does this stand-in).
            constructor = Scope(ScopeKind.FUNCTION, "__init__", node.lineno, scope, node=node)
            constructor.cold_lines = (node.lineno, stubbed_until)
            self.scopes.append(constructor)
        self._note_docstring(node)
        self._walk_body(node.body, scope)

    def _constant(self, node: ast.Constant, scope: Scope) -> None:
        value = node.value
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str) and len(value) >= 3:
            self.strings.append(StringLit(value, node, scope, id(node) in self.docstrings))

    def _assign(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign, scope: Scope) -> None:
        value = node.value
        if value is None:
            return
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names: tuple[str, ...] = ()
        for target in targets:
            names += _target_names(target)
            if isinstance(target, ast.Name) and not isinstance(node, ast.AugAssign):
                self.bindings.setdefault(target.id, []).append((node.lineno, scope, value))
                if scope.kind is ScopeKind.MODULE:
                    self.module_assigns.append((target.id, value))
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            # x += y keeps x's earlier value: record as x = x + y for the evaluator.
            previous = ast.copy_location(ast.Name(id=node.target.id, ctx=ast.Load()), node)
            combined = ast.copy_location(ast.BinOp(left=previous, op=node.op, right=value), node)
            self.bindings.setdefault(node.target.id, []).append((node.lineno, scope, combined))
        scope.assigns.append((names, value))

    # -- after the walk: names resolve once every import and definition is known ------------

    def _resolve_all(self) -> None:
        for target, value in self.module_assigns:
            resolved = self._alias_value(value)
            if resolved:
                self.aliases.setdefault(target, resolved)
        for scope in self.scopes:
            if scope.kind is ScopeKind.CLASS and isinstance(scope.node, ast.ClassDef):
                scope.bases = tuple(b for b in (self.resolve(base) for base in scope.node.bases) if b)
        defined = self.defined
        for call in self.calls:
            node = call.node
            func = node.func
            call.name = self.resolve(func)
            call.attr = func.attr if isinstance(func, ast.Attribute) else None
            scope = call.scope
            if isinstance(func, ast.Name) and func.id in defined:
                scope.local_calls.update(_candidates(scope, func.id))
            elif (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in ("self", "cls")
            ):
                owner = _enclosing_class(scope)
                if owner is not None:
                    scope.local_calls.add(f"{owner.qualname}.{func.attr}")
            if call.name in _RUNNERS or (call.name and call.name.endswith(".submit")):
                # The function handed to a thread, an executor or atexit runs from here.
                handed = [*node.args, *[k.value for k in node.keywords if k.arg in ("target", "function")]]
                for arg in handed:
                    if isinstance(arg, ast.Name) and arg.id in defined:
                        scope.local_calls.update(_candidates(scope, arg.id))

    def _alias_value(self, value: ast.expr) -> str | None:
        """``run = os.system`` / ``b = __import__('base64')``: a name that aliases a callable."""
        if isinstance(value, ast.Name | ast.Attribute):
            resolved = self.resolve(value)
            if resolved and ("." in resolved or resolved.startswith("builtins.")):
                return resolved
        if isinstance(value, ast.Call):
            return self.names.import_call(value)
        return None

    # -- run contexts ----------------------------------------------------------------------

    def _assign_contexts(self) -> None:
        auto = self.base if self.base.runs_automatically else None
        for scope in self.scopes:
            if scope.kind is ScopeKind.MAIN_BLOCK or self.base is RunContext.NON_RUNTIME:
                scope.context = (
                    RunContext.NON_RUNTIME if self.base is RunContext.NON_RUNTIME else RunContext.CALLED
                )
            elif scope.kind is ScopeKind.MODULE:
                scope.context = self.base
            else:
                scope.context = RunContext.CALLED
        if auto is None:
            return
        roots: list[Scope] = [self.module]
        roots += [s for s in self.scopes if s.kind is ScopeKind.CLASS and _class_body_runs(s)]
        if self.setup_script:
            roots += [s for s in self.scopes if s.kind is ScopeKind.CLASS and _is_command_class(s)]
        self._propagate(roots, auto)

    def _propagate(self, roots: list[Scope], context: RunContext) -> None:
        by_qualname: dict[str, Scope] = {}
        children: dict[int, list[Scope]] = {}
        for scope in self.scopes:
            if scope.kind in (ScopeKind.FUNCTION, ScopeKind.CLASS):
                by_qualname.setdefault(scope.qualname, scope)
            if scope.parent is not None:
                children.setdefault(id(scope.parent), []).append(scope)
        seen: set[int] = set()
        work = list(roots)
        while work:
            scope = work.pop()
            if id(scope) in seen:
                continue
            seen.add(id(scope))
            if scope.kind is not ScopeKind.MAIN_BLOCK:
                scope.context = context
            if scope.cold_lines is not None:
                self._read_cold_calls(scope)
            for child in children.get(id(scope), ()):
                # Nested class bodies run with their parent; methods of a setup.py command
                # class run when pip runs the command.
                if (child.kind is ScopeKind.CLASS and scope.kind is not ScopeKind.FUNCTION) or (
                    child.kind is ScopeKind.FUNCTION
                    and scope.kind is ScopeKind.CLASS
                    and self.setup_script
                    and _is_command_class(scope)
                ):
                    work.append(child)
            for key in scope.local_calls:
                target = by_qualname.get(key)
                if target is None:
                    continue
                if target.kind is ScopeKind.FUNCTION:
                    work.append(target)
                else:  # instantiating a class runs its constructor
                    work.extend(
                        f
                        for f in children.get(id(target), ())
                        if f.kind is ScopeKind.FUNCTION and f.name in ("__init__", "__new__", "__post_init__")
                    )


def _candidates(scope: Scope, name: str) -> list[str]:
    """Qualified names a bare call ``name()`` in ``scope`` may refer to, innermost first."""
    found: list[str] = []
    current: Scope | None = scope
    while current is not None and current.kind is not ScopeKind.MODULE:
        if current.kind is ScopeKind.FUNCTION:
            found.append(f"{current.qualname}.{name}")
        current = current.parent
    found.append(name)
    return found


def _enclosing_class(scope: Scope) -> Scope | None:
    current: Scope | None = scope
    while current is not None:
        if current.kind is ScopeKind.CLASS:
            return current
        current = current.parent
    return None


def _class_body_runs(scope: Scope) -> bool:
    # Class bodies run when their module is imported; only their methods wait to be called.
    return scope.parent is not None and scope.parent.kind is ScopeKind.MODULE


def _is_command_class(scope: Scope) -> bool:
    return any(base.rsplit(".", 1)[-1] in SETUP_COMMANDS for base in scope.bases)


def _is_main_guard(node: ast.If) -> bool:
    test = node.test
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        # if sys.platform != "win32" and __name__ == "__main__":
        return any(_is_name_main(value) for value in test.values)
    return _is_name_main(test)


def _is_name_main(test: ast.expr) -> bool:
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        sides = [test.left, *test.comparators]
        names = [s.id for s in sides if isinstance(s, ast.Name)]
        consts = [s.value for s in sides if isinstance(s, ast.Constant)]
        return names == ["__name__"] and consts == ["__main__"]
    return False


def _target_names(target: ast.expr) -> tuple[str, ...]:
    match target:
        case ast.Name(id=name):
            return (name,)
        case ast.Tuple(elts=elts) | ast.List(elts=elts):
            return tuple(n for e in elts for n in _target_names(e))
        case ast.Starred(value=value):
            return _target_names(value)
        case ast.Subscript(value=value) | ast.Attribute(value=value):
            # keys[x] = v / self.data = v taint the container they store into.
            return _target_names(value) + ((dotted(target),) if isinstance(target, ast.Attribute) else ())
    return ()


_WithBody = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _docstring(node: _WithBody) -> ast.Constant | None:
    """The string constant that opens a module's, class's or function's body."""
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        return first.value if isinstance(first.value.value, str) else None
    return None


def dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    return "?"


def extract_facts(
    tree: ast.Module,
    base: RunContext,
    *,
    setup_script: bool = False,
    hot_lines: frozenset[int] | None = None,
    source: str | None = None,
    extents: dict[int, int] | None = None,
    weak_lines: frozenset[int] = frozenset(),
) -> ModuleFacts:
    """Facts of a module; with ``hot_lines``, function bodies with none of them are not walked.

    ``extents`` maps the line of each stub that stands for a cold definition (see ``trim``) to
    the last line of the original, whose calls ``source`` still holds.
    """
    source = source if hot_lines is not None else None
    return _Walker(tree, base, setup_script, hot_lines, source, extents or {}, weak_lines).run()


def resolver(facts: ModuleFacts) -> Callable[[ast.expr], str | None]:
    """A resolve function bound to a module's aliases, for the static evaluator."""
    return NameResolver(facts.aliases, set(facts.functions) | set(facts.classes)).resolve
