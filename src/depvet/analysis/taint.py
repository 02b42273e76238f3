"""Data flow inside one module: does data from a source expression reach a sink expression?

Flow-insensitive and deliberately simple: a name is tainted when any assignment to it (in its
scope, or at module level for globals) has a tainted value; storing into a container or an
attribute (``keys[p] = ...``, ``self.data = ...``, ``parts.append(...)``) taints the container;
a local function whose return value is tainted taints its calls; a local function that sends a
parameter taints calls that pass tainted data in that position. Method calls do not taint their
receiver in general (``request.add_header(key)`` does not make the request secret), which is
what keeps SDKs that sign requests with a key clean.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from depvet.analysis.pyfacts import ModuleFacts, Scope, ScopeKind, dotted

_MUTATORS = frozenset(
    {"append", "extend", "update", "add", "insert", "write", "writelines", "setdefault", "put", "appendleft"}
)
MAX_ROUNDS = 6


@dataclass
class Taint:
    """Taint of one module seeded by a set of source expressions."""

    facts: ModuleFacts
    source_nodes: frozenset[int]
    _names: dict[int, set[str]] = field(default_factory=dict)
    _returning: set[str] = field(default_factory=set)  # names of local functions returning taint

    def __post_init__(self) -> None:
        self._summarise_functions()

    # -- queries ---------------------------------------------------------------------------

    def tainted(self, expr: ast.expr, scope: Scope) -> bool:
        return self._expr(expr, self.names_in(scope))

    def names_in(self, scope: Scope) -> set[str]:
        key = id(scope)
        if key not in self._names:
            inherited: set[str] = set()
            for outer in _enclosing(scope):
                inherited |= self.names_in(outer)
            self._names[key] = self._fixpoint(scope, inherited, self.source_nodes)
        return self._names[key]

    # -- internals -------------------------------------------------------------------------

    def _summarise_functions(self) -> None:
        functions = [s for s in self.facts.scopes if s.kind is ScopeKind.FUNCTION and s.returns]
        for _ in range(3):
            before = len(self._returning)
            self._names.clear()
            for function in functions:
                names = self.names_in(function)
                if any(self._expr(r, names) for r in function.returns):
                    self._returning.add(function.name)
            if len(self._returning) == before:
                break
        self._names.clear()

    def _fixpoint(self, scope: Scope, seed: set[str], nodes: frozenset[int]) -> set[str]:
        names = set(seed)
        assigns = list(scope.assigns) + list(_mutations(scope))
        for _ in range(MAX_ROUNDS):
            grew = False
            for targets, value in assigns:
                if targets and not set(targets) <= names and self._expr(value, names, nodes):
                    names.update(targets)
                    grew = True
            if not grew:
                break
        return names

    def _expr(self, expr: ast.expr, names: set[str], nodes: frozenset[int] | None = None) -> bool:
        sources = self.source_nodes if nodes is None else nodes
        for node in ast.walk(expr):
            if id(node) in sources:
                return True
            if isinstance(node, ast.Name) and node.id in names:
                return True
            if isinstance(node, ast.Attribute) and dotted(node) in names:
                return True
            if isinstance(node, ast.Call) and self._returning and _callee(node) in self._returning:
                return True
        return False


def params_reaching(facts: ModuleFacts, scope: Scope, sinks: Iterable[ast.expr]) -> set[int]:
    """Positions of ``scope``'s parameters whose value reaches one of the sink expressions."""
    reached: set[int] = set()
    for index, param in enumerate(scope.params):
        if param in ("self", "cls"):
            continue
        analysis = Taint(facts, frozenset())
        names = analysis._fixpoint(scope, {param}, frozenset())
        if any(analysis._expr(sink, names) for sink in sinks):
            reached.add(index)
    return reached


def _mutations(scope: Scope) -> Iterable[tuple[tuple[str, ...], ast.expr]]:
    """``parts.append(x)`` stores x into parts: an assignment for the analysis."""
    node = scope.node
    if node is None:
        return
    body = node.body if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef) else []
    for sub in _own_nodes(body):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr in _MUTATORS
            and sub.args
        ):
            receiver = dotted(sub.func.value)
            if receiver != "?":
                for arg in sub.args:
                    yield (receiver.split(".")[0], receiver), arg


def _own_nodes(body: list[ast.stmt]) -> Iterable[ast.AST]:
    """Nodes of a body without descending into nested functions and classes."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
                stack.append(child)


def _callee(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in ("self", "cls")
    ):
        return func.attr
    return None


def _enclosing(scope: Scope) -> list[Scope]:
    chain: list[Scope] = []
    current = scope.parent
    while current is not None:
        if current.kind in (ScopeKind.MODULE, ScopeKind.FUNCTION):
            chain.append(current)
        current = current.parent
    return chain
