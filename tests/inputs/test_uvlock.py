"""uv.lock: registry packages, every source kind, the dependency graph, and every way it can be wrong."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from depvet.errors import InputError
from depvet.inputs import InputKind, ParsedInput, PinnedFile, SourceKind, parse_input

CERTIFI_SDIST = "5e1e6c71ccaa1603fac2b9a249db7b40636fb1c67155b54672c5df1fc6e87d8f"
CERTIFI_WHEEL = "123be5b01e5a31549c3cba610a83c5d31916cf13d1d5d1a0dce697c78b887de7"
IDNA_WHEEL = "3543cb15f59dc9f74e40a512117a34d0f41a92be06dbfd6aa55b7a4160d08879"
REQUESTS_SDIST = "0c3d8cf0d02af4c99f9dbd351591fe5098c1edbcbf854539ac9b5d02df373cf0"
REQUESTS_WHEEL = "217b86f88d2a522c00f60a0c6a44562948f595e25d835b20640a27a5cc96349a"

# The shape `uv lock` writes for a project depending on requests[socks].
GOOD = f"""\
version = 1
revision = 3
requires-python = ">=3.12"

[[package]]
name = "certifi"
version = "2024.8.30"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://files.pythonhosted.org/packages/b0/ee/certifi-2024.8.30.tar.gz", hash = "sha256:{CERTIFI_SDIST.upper()}", size = 168507, upload-time = "2024-08-30T01:55:04.365Z" }}
wheels = [
    {{ url = "https://files.pythonhosted.org/packages/12/90/certifi-2024.8.30-py3-none-any.whl", hash = "sha256:{CERTIFI_WHEEL}", size = 167321, upload-time = "2024-08-30T01:55:02.591Z" }},
]

[[package]]
name = "charset-normalizer"
version = "3.4.0"
source = {{ registry = "https://pypi.org/simple" }}
sdist = {{ url = "https://files.pythonhosted.org/packages/f2/4f/charset_normalizer-3.4.0.tar.gz", hash = "sha256:ecdbe2c8e072d083a37d9d3fbc1f6d37fe43842dbfe2d3052431feb20b98abc6", size = 106620 }}
wheels = [
    {{ url = "https://files.pythonhosted.org/packages/3b/a0/charset_normalizer-3.4.0-cp312-cp312-macosx_10_13_universal2.whl", hash = "sha256:70c6b7bf96763dbc06c64d3b80159b52623915def856e160f017cab519aa9786", size = 194198 }},
    {{ url = "https://files.pythonhosted.org/packages/bf/9b/charset_normalizer-3.4.0-py3-none-any.whl", hash = "sha256:91d7492d9ab3f04bec67aca3a914a14f95e34bf30ad1c19ddfa7a09d42b4caab", size = 49446 }},
]

[[package]]
name = "idna"
version = "3.10"
source = {{ registry = "https://pypi.org/simple" }}
wheels = [
    {{ url = "https://files.pythonhosted.org/packages/76/c6/idna-3.10-py3-none-any.whl", hash = "sha256:{IDNA_WHEEL}", size = 70442 }},
]

[[package]]
name = "myapp"
version = "0.1.0"
source = {{ editable = "." }}
dependencies = [
    {{ name = "requests", extra = ["socks"] }},
]

[package.dev-dependencies]
dev = [
    {{ name = "idna" }},
]

[package.metadata]
requires-dist = [{{ name = "requests", extras = ["socks"], specifier = ">=2.32" }}]

[[package]]
name = "PySocks"
version = "1.7.1"
source = {{ registry = "https://pypi.org/simple" }}
wheels = [
    {{ url = "https://files.pythonhosted.org/packages/8d/59/PySocks-1.7.1-py3-none-any.whl", hash = "sha256:68ad57eb45ab32ded50c2a886f30a5c508f593460ad7741af56ba20b951da1a6", size = 16725 }},
]

[[package]]
name = "requests"
version = "2.32.3"
source = {{ registry = "https://pypi.org/simple" }}
dependencies = [
    {{ name = "certifi" }},
    {{ name = "charset-normalizer" }},
    {{ name = "idna" }},
    {{ name = "urllib3" }},
]
sdist = {{ url = "https://files.pythonhosted.org/packages/63/70/requests-2.32.3.tar.gz", hash = "sha256:{REQUESTS_SDIST}", size = 131218 }}
wheels = [
    {{ url = "https://files.pythonhosted.org/packages/f9/9b/requests-2.32.3-py3-none-any.whl", hash = "sha256:{REQUESTS_WHEEL}", size = 64928 }},
]

[package.optional-dependencies]
socks = [
    {{ name = "pysocks" }},
]

[[package]]
name = "urllib3"
version = "2.2.3"
source = {{ registry = "https://pypi.org/simple" }}
wheels = [
    {{ url = "https://files.pythonhosted.org/packages/ce/d9/urllib3-2.2.3-py3-none-any.whl", hash = "sha256:2f40234faf5e2b5b6cdb250ba764d8848c3134ac17be62fb35a3fc9ff44c0a7a", size = 126338 }},
]
"""


def parse(text: str) -> ParsedInput:
    return parse_input(Path("uv.lock"), text)


def test_good_lock_gives_names_versions_files_and_graph() -> None:
    parsed = parse(GOOD)
    assert parsed.kind is InputKind.UV_LOCK
    assert parsed.path == "uv.lock"
    assert [(p.name, p.version) for p in parsed.packages] == [
        ("certifi", "2024.8.30"),
        ("charset-normalizer", "3.4.0"),
        ("idna", "3.10"),
        ("myapp", "0.1.0"),
        ("PySocks", "1.7.1"),
        ("requests", "2.32.3"),
        ("urllib3", "2.2.3"),
    ]
    packages = {p.name: p for p in parsed.packages}
    certifi = packages["certifi"]
    assert certifi.source is SourceKind.REGISTRY
    assert certifi.index_url == "https://pypi.org/simple"
    assert certifi.files == (
        PinnedFile(
            "certifi-2024.8.30.tar.gz",
            "https://files.pythonhosted.org/packages/b0/ee/certifi-2024.8.30.tar.gz",
            CERTIFI_SDIST,  # lower-cased from the upper-case hex in the lock
            datetime(2024, 8, 30, 1, 55, 4, 365000, tzinfo=UTC),
        ),
        PinnedFile(
            "certifi-2024.8.30-py3-none-any.whl",
            "https://files.pythonhosted.org/packages/12/90/certifi-2024.8.30-py3-none-any.whl",
            CERTIFI_WHEEL,
            datetime(2024, 8, 30, 1, 55, 2, 591000, tzinfo=UTC),
        ),
    )
    assert len(packages["charset-normalizer"].files) == 3
    assert certifi.parents == ("requests",)
    assert packages["requests"].parents == ("myapp",)
    assert packages["idna"].parents == ("myapp", "requests")  # dev group and dependency
    assert packages["PySocks"].parents == ("requests",)  # through the socks extra
    assert packages["PySocks"].normalized_name == "pysocks"
    assert packages["myapp"].source is SourceKind.EDITABLE
    assert packages["myapp"].files == (PinnedFile(None, ".", None),)
    assert packages["myapp"].index_url is None
    assert all(p.line is None and p.markers is None for p in parsed.packages)
    assert parsed.index_urls == ("https://pypi.org/simple",)
    assert parsed.unpinned == ()
    assert parsed.notes == ()


SOURCES = f"""\
version = 1
revision = 2
requires-python = ">=3.12"

[[package]]
name = "workspace-root"
version = "0.0.0"
source = {{ virtual = "." }}
dependencies = [{{ name = "flask" }}, {{ name = "anyio" }}, {{ name = "localwheel" }}]

[[package]]
name = "flask"
version = "3.1.0"
source = {{ git = "https://github.com/pallets/flask?rev=main#7ef2946fb5151b745df30201b8c27790cac53875" }}

[[package]]
name = "anyio"
version = "4.3.0"
source = {{ url = "https://files.pythonhosted.org/packages/14/fd/anyio-4.3.0.tar.gz" }}
sdist = {{ hash = "sha256:{REQUESTS_SDIST}" }}

[[package]]
name = "localwheel"
version = "1.0"
source = {{ path = "vendor/localwheel-1.0-py3-none-any.whl" }}
wheels = [
    {{ filename = "localwheel-1.0-py3-none-any.whl", hash = "sha256:{IDNA_WHEEL}" }},
]

[[package]]
name = "libsrc"
source = {{ directory = "libs/libsrc" }}

[[package]]
name = "internal"
version = "2.0.0"
source = {{ registry = "https://packages.example.com/simple" }}
resolution-markers = [
    "python_full_version >= '3.13'",
    "python_full_version < '3.13'",
]
wheels = [
    {{ url = "https://packages.example.com/files/internal-2.0.0-py3-none-any.whl", hash = "sha512:{REQUESTS_WHEEL * 2}" }},
]
"""


def test_every_source_kind() -> None:
    parsed = parse(SOURCES)
    packages = {p.name: p for p in parsed.packages}
    assert list(packages) == ["flask", "anyio", "localwheel", "libsrc", "internal"]
    flask = packages["flask"]
    assert flask.source is SourceKind.VCS
    assert flask.version == "3.1.0"
    assert flask.files == (
        PinnedFile(
            None,
            "git+https://github.com/pallets/flask?rev=main#7ef2946fb5151b745df30201b8c27790cac53875",
            None,
        ),
    )
    assert flask.parents == ("workspace-root",)
    anyio = packages["anyio"]
    assert anyio.source is SourceKind.URL
    assert anyio.files == (
        PinnedFile(
            "anyio-4.3.0.tar.gz",
            "https://files.pythonhosted.org/packages/14/fd/anyio-4.3.0.tar.gz",
            REQUESTS_SDIST,
        ),
    )
    local = packages["localwheel"]
    assert local.source is SourceKind.PATH
    assert local.files == (
        PinnedFile("localwheel-1.0-py3-none-any.whl", "vendor/localwheel-1.0-py3-none-any.whl", IDNA_WHEEL),
    )
    libsrc = packages["libsrc"]
    assert libsrc.source is SourceKind.DIRECTORY
    assert libsrc.version is None  # uv leaves out dynamic versions of source trees
    internal = packages["internal"]
    assert internal.index_url == "https://packages.example.com/simple"
    assert internal.files[0].sha256 is None  # only SHA-256 is kept
    assert internal.markers == "(python_full_version >= '3.13') or (python_full_version < '3.13')"
    assert parsed.index_urls == ("https://packages.example.com/simple",)
    assert parsed.notes == (
        "uv.lock: skipped 1 virtual package(s) (workspace-root): "
        "a virtual project installs only its dependencies",
    )


def test_a_lock_that_lists_no_packages_is_empty() -> None:
    parsed = parse('version = 1\nrevision = 3\nrequires-python = ">=3.12"\n')
    assert parsed.packages == ()
    assert parsed.unpinned == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('version = 7\n[[package]]\nname = "a"\n', "uv.lock: lock version 7 is not supported (known: 1)"),
        ('version = "1"\n', "uv.lock: lock version '1' is not supported (known: 1)"),
        (
            'revision = 3\n[[package]]\nname = "a"\n',
            "uv.lock: missing key 'version' (the lock schema version)",
        ),
    ],
)
def test_unknown_or_missing_lock_version(text: str, message: str) -> None:
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        parse(text)


def test_malformed_toml() -> None:
    with pytest.raises(InputError, match=r"^uv\.lock: not valid TOML: .*line 3"):
        parse('version = 1\n[[package]]\nname = "requests\n')


@pytest.mark.parametrize(
    ("package", "fragment"),
    [
        (
            'version = "1.0"\nsource = { registry = "https://pypi.org/simple" }',
            "uv.lock: package #1: missing key 'name'",
        ),
        ('name = "a"\nversion = "1.0"', "uv.lock: package 'a': missing key 'source'"),
        ('name = "a"\nsource = { bazaar = "x" }', "uv.lock: package 'a': 'source': no known source kind"),
        ('name = "a"\nsource = { registry = 5 }', "'source': 'registry' must be a string"),
        ('name = 3\nsource = { registry = "x" }', "uv.lock: package #1: 'name' must be a string"),
        (
            'name = "a"\nsource = { registry = "x" }\nwheels = { url = "y" }',
            "uv.lock: package 'a': 'wheels' must be an array",
        ),
        (
            'name = "a"\nsource = { registry = "x" }\nwheels = [{ url = "y", hash = "sha256:abc" }]',
            "uv.lock: package 'a': wheel #1: 'abc' is not a SHA-256 hex digest",
        ),
        (
            'name = "a"\nsource = { registry = "x" }\nsdist = { url = "y", hash = "abc" }',
            "hash 'abc' is not 'algorithm:value'",
        ),
        (
            'name = "a"\nsource = { registry = "x" }\ndependencies = [{ version = "1" }]',
            "uv.lock: package 'a': dependency #1: missing key 'name'",
        ),
    ],
)
def test_missing_or_mistyped_keys(package: str, fragment: str) -> None:
    with pytest.raises(InputError, match=re.escape(fragment)):
        parse(f"version = 1\n\n[[package]]\n{package}\n")


def test_package_must_be_an_array_of_tables() -> None:
    with pytest.raises(InputError, match=re.escape("uv.lock: package #1: must be a table")):
        parse("version = 1\npackage = [1]\n")


def test_control_characters_in_names_never_reach_a_message() -> None:
    with pytest.raises(InputError) as caught:
        parse('version = 1\n[[package]]\nname = "evil\\u001b]0;pwned\\u0007"\n')
    assert str(caught.value) == "uv.lock: package 'evil?]0;pwned?': missing key 'source'"


def test_a_local_folder_registry_gives_paths_relative_to_the_lock() -> None:
    # What `uv lock --find-links ../wheels` writes: wheel paths are relative to the folder.
    text = """\
version = 1
revision = 5
requires-python = ">=3.11"

[[package]]
name = "fakeidna"
version = "1.5"
source = { registry = "../wheels" }
wheels = [
    { path = "fakeidna-1.5-py3-none-any.whl" },
]
"""
    (package,) = parse(text).packages
    assert package.index_url == "../wheels"
    assert package.files == (
        PinnedFile("fakeidna-1.5-py3-none-any.whl", "../wheels/fakeidna-1.5-py3-none-any.whl", None),
    )
