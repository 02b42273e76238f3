"""Which non-runtime modules (tests/, docs/, examples/…) a package's runtime code imports.

Code under ``tests/`` weighs less because nothing runs it on install or import. A payload
hidden in ``mypkg/tests/helpers.py`` and imported from ``mypkg/__init__.py`` does run on
import; the engine reads such files again as runtime code. Import statements are found with
a pattern over the text rather than from the tree, so files that are not parsed (no token)
and function bodies that are not walked still count.
"""

from __future__ import annotations

import re

from depvet.analysis.files import NON_RUNTIME_DIRS, path_parts

_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(?:\(([^)]*)\)|([^\n#;]+))|import[ \t]+([^\n#;]+))",
    re.MULTILINE,
)
_WORD = re.compile(r"\w+")
# A prefilter token: every import statement holds it (``from . import x`` too), and it adds
# no state to the automaton, whose "import pty" already spells it.
IMPORT_MARK = "import "


def module_parts(path: str) -> tuple[str, ...]:
    """A file's path as module components: ``a/tests/__init__.py`` is ``("a", "tests")``."""
    parts = path_parts(path)
    if not parts or not parts[-1].endswith(".py"):
        return ()
    parts[-1] = parts[-1][:-3]
    if parts[-1] == "__init__":
        parts.pop()
    return tuple(parts)


def imported_modules(path: str, text: str, positions: list[int]) -> set[tuple[str, ...]]:
    """Modules imported where ``text`` says ``import `` (``positions``) that pass through a
    non-runtime folder, as components. A relative import is resolved against ``path``.
    """
    statements = _statements(text, positions)
    lowered = statements.lower()
    if not any(folder in lowered for folder in NON_RUNTIME_DIRS):
        return set()
    package = _package_of(path)
    found: set[tuple[str, ...]] = set()
    for match in _IMPORT.finditer(statements):
        source, grouped, names, plain = match.groups()
        if plain is not None:
            found.update(tuple(_dotted(name).split(".")) for name in plain.split(","))
            continue
        base = _absolute(source, package)
        if base is None:
            continue
        found.add(base)
        found.update((*base, name) for name in _WORD.findall(grouped or names or "") if name != "as")
    return {name for name in found if name and _passes_non_runtime(name)}


def _statements(text: str, positions: list[int]) -> str:
    """The lines holding the positions, a parenthesised name list carried to its end."""
    spans: dict[int, int] = {}
    for position in positions:
        start = text.rfind("\n", 0, position) + 1
        end = text.find("\n", position)
        end = len(text) if end == -1 else end
        if text.find("(", position, end) != -1:
            close = text.find(")", position)
            end = len(text) if close == -1 else close + 1
        spans[start] = max(end, spans.get(start, 0))
    return "\n".join(text[start:end] for start, end in sorted(spans.items()))


def runs_on_import(module: tuple[str, ...], imported: set[tuple[str, ...]]) -> bool:
    """Whether importing any of ``imported`` runs the file whose path components are ``module``.

    Importing ``a.tests.helpers`` runs ``a/tests/__init__.py`` and ``a/tests/helpers.py``, and
    the file may sit under a root (``pkg-1.0/src/``) that is not part of its module name: so a
    tail of the path must equal a head of the import, a non-runtime folder inside that tail.
    """
    for name in imported:
        for size in range(1, min(len(module), len(name)) + 1):
            tail = module[-size:]
            if tail == name[:size] and any(part.lower() in NON_RUNTIME_DIRS for part in tail):
                return True
    return False


def _dotted(text: str) -> str:
    return text.split(" as ")[0].strip()


def _package_of(path: str) -> tuple[str, ...]:
    return tuple(path_parts(path)[:-1])


def _absolute(source: str, package: tuple[str, ...]) -> tuple[str, ...] | None:
    level = len(source) - len(source.lstrip("."))
    module = tuple(p for p in source[level:].split(".") if p)
    if level == 0:
        return module
    if level - 1 > len(package):
        return None
    return package[: len(package) - (level - 1)] + module


def _passes_non_runtime(name: tuple[str, ...]) -> bool:
    return any(part.lower() in NON_RUNTIME_DIRS for part in name)
