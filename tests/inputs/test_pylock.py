"""pylock.toml (PEP 751): files and hashes, every source kind, versions, and malformed locks."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from depvet.errors import InputError
from depvet.inputs import InputKind, ParsedInput, PinnedFile, SourceKind, parse_input

ATTRS = "c75a69e28a550a7e93789579c22aa26b0f5b83b75dc4e08fe092980051e1090a"
CATTRS = "67c7495b760168d931a10233f979b28dc04daf853b30752246f4f8471c6d68d0"
NUMPY_WIN = "83807d445817326b4bcdaaaf8e8e9f1753da04341eceec705c001ff342002e5d"
NUMPY_LINUX = "3b787adbf04b0db1967798dba8da1af07e387908ed1553a0d6e74c084d1ceafe"
NUMPY_SDIST = "0c3d8cf0d02af4c99f9dbd351591fe5098c1edbcbf854539ac9b5d02df373cf0"

# The example of the pylock.toml specification, with an index and an sdist added.
GOOD = f"""\
lock-version = '1.0'
environments = ["sys_platform == 'win32'", "sys_platform == 'linux'"]
requires-python = '==3.12'
created-by = 'mousebender'

[[packages]]
name = 'attrs'
version = '25.1.0'
requires-python = '>=3.8'
index = 'https://pypi.org/simple/'
wheels = [
  {{name = 'attrs-25.1.0-py3-none-any.whl', upload-time = 2025-01-25T11:30:10.164985+00:00, url = 'https://files.pythonhosted.org/packages/fc/30/attrs-25.1.0-py3-none-any.whl', size = 63152, hashes = {{sha256 = '{ATTRS}'}}}},
]
[[packages.attestation-identities]]
environment = 'release-pypi'
kind = 'GitHub'
repository = 'python-attrs/attrs'
workflow = 'pypi-package.yml'

[[packages]]
name = 'cattrs'
version = '24.1.2'
requires-python = '>=3.8'
index = 'https://pypi.org/simple/'
dependencies = [
    {{name = 'attrs'}},
]
wheels = [
  {{url = 'https://files.pythonhosted.org/packages/c8/d5/cattrs-24.1.2-py3-none-any.whl', size = 66446, hashes = {{sha256 = '{CATTRS.upper()}', blake2b = 'ab'}}}},
]

[[packages]]
name = 'numpy'
version = '2.2.3'
marker = "sys_platform == 'win32' or sys_platform == 'linux'"
requires-python = '>=3.10'
sdist = {{name = 'numpy-2.2.3.tar.gz', url = 'https://files.pythonhosted.org/packages/fb/90/numpy-2.2.3.tar.gz', hashes = {{sha256 = '{NUMPY_SDIST}'}}}}
wheels = [
  {{name = 'numpy-2.2.3-cp312-cp312-win_amd64.whl', url = 'https://files.pythonhosted.org/packages/42/6e/numpy-2.2.3-cp312-cp312-win_amd64.whl', size = 12626357, hashes = {{sha256 = '{NUMPY_WIN}'}}}},
  {{name = 'numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', url = 'https://files.pythonhosted.org/packages/39/04/numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', size = 16116679, hashes = {{sha256 = '{NUMPY_LINUX}'}}}},
]

[tool.mousebender]
command = ['.', 'lock', 'cattrs', 'numpy']
"""


def parse(text: str, name: str = "pylock.toml") -> ParsedInput:
    return parse_input(Path(name), text)


def test_good_lock() -> None:
    parsed = parse(GOOD)
    assert parsed.kind is InputKind.PYLOCK
    assert [(p.name, p.version) for p in parsed.packages] == [
        ("attrs", "25.1.0"),
        ("cattrs", "24.1.2"),
        ("numpy", "2.2.3"),
    ]
    attrs, cattrs, numpy = parsed.packages
    assert attrs.files == (
        PinnedFile(
            "attrs-25.1.0-py3-none-any.whl",
            "https://files.pythonhosted.org/packages/fc/30/attrs-25.1.0-py3-none-any.whl",
            ATTRS,
            datetime(2025, 1, 25, 11, 30, 10, 164985, tzinfo=UTC),
        ),
    )
    assert attrs.index_url == "https://pypi.org/simple/"
    assert attrs.source is SourceKind.REGISTRY
    # The dependency table is informational for auditing: exactly what parents are for.
    assert attrs.parents == ("cattrs",)
    assert cattrs.parents == ()
    # A file name missing from the table comes from the URL; hashes are lower-cased.
    assert cattrs.files == (
        PinnedFile(
            "cattrs-24.1.2-py3-none-any.whl",
            "https://files.pythonhosted.org/packages/c8/d5/cattrs-24.1.2-py3-none-any.whl",
            CATTRS,
        ),
    )
    assert [f.filename for f in numpy.files] == [
        "numpy-2.2.3.tar.gz",
        "numpy-2.2.3-cp312-cp312-win_amd64.whl",
        "numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    ]
    assert [f.sha256 for f in numpy.files] == [NUMPY_SDIST, NUMPY_WIN, NUMPY_LINUX]
    assert numpy.markers == "sys_platform == 'win32' or sys_platform == 'linux'"
    assert numpy.index_url is None
    assert parsed.index_urls == ("https://pypi.org/simple/",)
    assert parsed.notes == ()


def test_named_lock_file() -> None:
    assert parse(GOOD, "pylock.dev.toml").kind is InputKind.PYLOCK


SOURCES = f"""\
lock-version = '1.0'
created-by = 'pdm'

[[packages]]
name = 'gitdep'
vcs = {{type = 'git', url = 'https://github.com/example/gitdep.git', requested-revision = 'main', commit-id = '9f8e7d6c5b4a3928176554433221100ffeeddcc0', subdirectory = 'src'}}

[[packages]]
name = 'myproject'
directory = {{path = '.', editable = true}}

[[packages]]
name = 'sibling'
directory = {{path = '../sibling'}}

[[packages]]
name = 'tarball'
version = '1.0'
archive = {{url = 'https://example.com/tarball-1.0.tar.gz', size = 1234, hashes = {{sha256 = '{ATTRS}'}}}}

[[packages]]
name = 'vendored'
version = '0.3'
archive = {{path = 'vendor/vendored-0.3.zip', hashes = {{sha256 = '{CATTRS}'}}}}

[[packages]]
name = 'mirrored'
version = '3.0'
index = 'file:///srv/mirror/simple'
wheels = [{{url = 'file:///srv/mirror/files/mirrored-3.0-py3-none-any.whl', hashes = {{sha256 = '{ATTRS}'}}}}]

[[packages]]
name = 'wheelhouse'
version = '2.0'
wheels = [{{path = 'wheels/wheelhouse-2.0-py3-none-any.whl', hashes = {{SHA256 = '{NUMPY_WIN}'}}}}]
"""


def test_every_source_kind() -> None:
    packages = {p.name: p for p in parse(SOURCES).packages}
    gitdep = packages["gitdep"]
    assert gitdep.source is SourceKind.VCS
    assert gitdep.files == (
        PinnedFile(
            None,
            "git+https://github.com/example/gitdep.git@9f8e7d6c5b4a3928176554433221100ffeeddcc0#subdirectory=src",
            None,
        ),
    )
    assert gitdep.version is None
    assert packages["myproject"].source is SourceKind.EDITABLE
    assert packages["myproject"].files == (PinnedFile(None, ".", None),)
    assert packages["sibling"].source is SourceKind.DIRECTORY
    assert packages["tarball"].source is SourceKind.URL
    assert packages["tarball"].files == (
        PinnedFile("tarball-1.0.tar.gz", "https://example.com/tarball-1.0.tar.gz", ATTRS),
    )
    assert packages["vendored"].source is SourceKind.PATH
    assert packages["vendored"].files == (PinnedFile("vendored-0.3.zip", "vendor/vendored-0.3.zip", CATTRS),)
    # A local mirror is still an index.
    assert packages["mirrored"].source is SourceKind.REGISTRY
    assert packages["mirrored"].index_url == "file:///srv/mirror/simple"
    # Wheels listed only by path come from a local directory, not from an index.
    assert packages["wheelhouse"].source is SourceKind.PATH
    assert packages["wheelhouse"].files[0].sha256 == NUMPY_WIN


def test_newer_minor_version_is_read_with_a_note() -> None:
    parsed = parse(GOOD.replace("lock-version = '1.0'", "lock-version = '1.1'"))
    assert len(parsed.packages) == 3
    assert parsed.notes == ("pylock.toml: lock version 1.1 is newer than 1.0; new keys are ignored",)


@pytest.mark.parametrize("version", ["2.0", "0.9", "one"])
def test_unknown_major_version(version: str) -> None:
    text = GOOD.replace("lock-version = '1.0'", f"lock-version = '{version}'")
    message = f"pylock.toml: lock version {version} is not supported (known: 1.0)"
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        parse(text)


def test_malformed_toml() -> None:
    with pytest.raises(InputError, match=r"^pylock\.toml: not valid TOML: "):
        parse("lock-version = '1.0'\n[[packages]\nname = 'x'\n")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("created-by = 'x'\n[[packages]]\nname = 'a'\n", "pylock.toml: missing key 'lock-version'"),
        ("lock-version = '1.0'\ncreated-by = 'x'\n", "pylock.toml: missing key 'packages'"),
        ("lock-version = 1.0\npackages = []\n", "pylock.toml: 'lock-version' must be a string"),
        (
            "lock-version = '1.0'\n[[packages]]\nname = 'a'\nversion = '1'\n",
            "pylock.toml: package 'a': names no source",
        ),
        (
            "lock-version = '1.0'\n[[packages]]\nname = 'a'\nwheels = [{url = 'https://x/a-1-py3-none-any.whl'}]\n",
            "pylock.toml: package 'a': wheel #1: missing key 'hashes'",
        ),
        (
            "lock-version = '1.0'\n[[packages]]\nname = 'a'\nwheels = [{hashes = {sha256 = 'ab'}}]\n",
            "pylock.toml: package 'a': wheel #1: needs 'url' or 'path'",
        ),
        (
            "lock-version = '1.0'\n[[packages]]\nname = 'a'\nsdist = {url = 'https://x/a.tar.gz', hashes = {sha256 = 'zz'}}\n",
            "'zz' is not a SHA-256 hex digest",
        ),
        (
            "lock-version = '1.0'\n[[packages]]\nname = 'a'\nvcs = {type = 'git', url = 'https://x/a.git'}\n",
            "pylock.toml: package 'a': 'vcs': missing key 'commit-id'",
        ),
        (
            "lock-version = '1.0'\n[[packages]]\nname = 'a'\ndirectory = {editable = 'yes', path = '.'}\n",
            "'editable' must be true or false",
        ),
        (
            "lock-version = '1.0'\n[[packages]]\nversion = '1'\n",
            "pylock.toml: package #1: missing key 'name'",
        ),
    ],
)
def test_missing_or_mistyped_keys(text: str, fragment: str) -> None:
    with pytest.raises(InputError, match=re.escape(fragment)):
        parse(text)
