"""Pipfile.lock: registry pins with hashes and indexes, VCS/path/file entries, and bad locks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from depvet.errors import InputError
from depvet.inputs import InputKind, LockedPackage, ParsedInput, PinnedFile, SourceKind, Unpinned, parse_input

REQUESTS_WHEEL = "217b86f88d2a522c00f60a0c6a44562948f595e25d835b20640a27a5cc96349a"
REQUESTS_SDIST = "0c3d8cf0d02af4c99f9dbd351591fe5098c1edbcbf854539ac9b5d02df373cf0"
PYTEST_WHEEL = "2cff3f051a1bc2a795c3544487e98eeef0ad6df2e6522d5e4180335be71d844f"
FILE_WHEEL = "a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa"


def lock() -> dict[str, Any]:
    """The shape `pipenv lock` writes (pipfile-spec 6)."""
    return {
        "_meta": {
            "hash": {"sha256": "59a21198cb95e4081875dbb8baa616663c87efb654305db7c408b3b845ee7fab"},
            "pipfile-spec": 6,
            "requires": {"python_version": "3.12"},
            "sources": [
                {"name": "pypi", "url": "https://pypi.org/simple", "verify_ssl": True},
                {"name": "private", "url": "https://private.example/simple", "verify_ssl": True},
            ],
        },
        "default": {
            "requests": {
                "hashes": [f"sha256:{REQUESTS_SDIST}", f"sha256:{REQUESTS_WHEEL.upper()}"],
                "index": "pypi",
                "markers": "python_version >= '3.8'",
                "version": "==2.32.3",
            },
            "internal-lib": {"hashes": [], "index": "private", "version": "==1.4.0"},
            "mylib": {"editable": True, "path": "."},
            "gitdep": {
                "git": "https://github.com/example/gitdep.git",
                "ref": "7ef2946fb5151b745df30201b8c27790cac53875",
            },
            "wheelurl": {
                "file": "https://example.com/dist/wheelurl-1.0-py3-none-any.whl",
                "hashes": [f"sha256:{FILE_WHEEL}"],
            },
            "vendored": {"path": "vendor/vendored-0.3.tar.gz"},
            "sibling": {"path": "../sibling"},
        },
        "develop": {
            "pytest": {"hashes": [f"sha256:{PYTEST_WHEEL}"], "version": "==8.3.3"},
            "requests": {
                "hashes": [f"sha256:{REQUESTS_SDIST}", f"sha256:{REQUESTS_WHEEL}"],
                "index": "pypi",
                "markers": "python_version >= '3.9'",
                "version": "==2.32.3",
            },
        },
        "docs": {"sphinx": {"version": ">=7"}, "furo": {}},
    }


def parse(data: object) -> ParsedInput:
    return parse_input(Path("Pipfile.lock"), json.dumps(data, indent=4))


def packages_of(parsed: ParsedInput) -> dict[str, LockedPackage]:
    return {p.name: p for p in parsed.packages}


def test_good_lock() -> None:
    parsed = parse(lock())
    assert parsed.kind is InputKind.PIPFILE_LOCK
    packages = packages_of(parsed)
    requests = packages["requests"]
    assert requests.version == "2.32.3"
    assert requests.source is SourceKind.REGISTRY
    assert requests.index_url == "https://pypi.org/simple"
    assert requests.files == (PinnedFile(None, None, REQUESTS_SDIST), PinnedFile(None, None, REQUESTS_WHEEL))
    assert requests.markers == "python_version >= '3.8'"
    assert requests.parents == ()
    assert packages["internal-lib"].index_url == "https://private.example/simple"
    # No "index" key: pipenv installs from the first source.
    assert packages["pytest"].index_url == "https://pypi.org/simple"
    assert packages["pytest"].version == "8.3.3"
    # requests is listed in both default and develop; it is one package, the first one listed.
    assert [p.name for p in parsed.packages].count("requests") == 1
    assert requests.markers == "python_version >= '3.8'"
    assert parsed.index_urls == ("https://pypi.org/simple", "https://private.example/simple")


def test_every_source_kind() -> None:
    packages = packages_of(parse(lock()))
    assert packages["mylib"].source is SourceKind.EDITABLE
    assert packages["mylib"].files == (PinnedFile(None, ".", None),)
    assert packages["gitdep"].source is SourceKind.VCS
    assert packages["gitdep"].files == (
        PinnedFile(
            None, "git+https://github.com/example/gitdep.git@7ef2946fb5151b745df30201b8c27790cac53875", None
        ),
    )
    assert packages["gitdep"].version is None
    assert packages["wheelurl"].source is SourceKind.URL
    assert packages["wheelurl"].files == (
        PinnedFile(
            "wheelurl-1.0-py3-none-any.whl",
            "https://example.com/dist/wheelurl-1.0-py3-none-any.whl",
            FILE_WHEEL,
        ),
    )
    assert packages["vendored"].source is SourceKind.PATH
    assert packages["vendored"].files == (
        PinnedFile("vendored-0.3.tar.gz", "vendor/vendored-0.3.tar.gz", None),
    )
    assert packages["sibling"].source is SourceKind.DIRECTORY
    assert all(packages[n].index_url is None for n in ("mylib", "gitdep", "wheelurl", "vendored", "sibling"))


def test_entries_that_pin_nothing_are_reported() -> None:
    parsed = parse(lock())
    # Custom package categories are sections like default and develop.
    assert parsed.unpinned == (
        Unpinned("sphinx>=7", "version range >=7, not a pin", None),
        Unpinned("furo", "no version", None),
    )


def test_unknown_spec_version() -> None:
    data = lock()
    data["_meta"]["pipfile-spec"] = 5
    with pytest.raises(
        InputError, match=f"^{re.escape('Pipfile.lock: _meta: pipfile-spec 5 is not supported (known: 6)')}$"
    ):
        parse(data)


@pytest.mark.parametrize("text", ['{"_meta": {"pipfile-spec": 6}, "default": {', "not json at all"])
def test_malformed_json(text: str) -> None:
    with pytest.raises(InputError, match=r"^Pipfile\.lock: not valid JSON: "):
        parse_input(Path("Pipfile.lock"), text)


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        del data[key]
    return data


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (["not", "an", "object"], "Pipfile.lock: expected a JSON object at the top level"),
        (_without(lock(), "_meta"), "Pipfile.lock: missing key '_meta'"),
        ({"_meta": {"sources": []}, "default": {}}, "Pipfile.lock: _meta: missing key 'pipfile-spec'"),
        ({"_meta": {"pipfile-spec": "6"}}, "Pipfile.lock: _meta: pipfile-spec '6' is not supported"),
        (
            {"_meta": {"pipfile-spec": 6, "sources": [{"name": "pypi"}]}},
            "_meta.sources entry #1: missing key 'url'",
        ),
        (
            {
                "_meta": {"pipfile-spec": 6, "sources": []},
                "default": {"a": {"version": "==1", "index": "nope"}},
            },
            "Pipfile.lock: default package 'a': index 'nope' is not one of _meta.sources",
        ),
        (
            {"_meta": {"pipfile-spec": 6}, "default": {"a": {"version": "==1", "hashes": ["sha256:xyz"]}}},
            "Pipfile.lock: default package 'a': 'xyz' is not a SHA-256 hex digest",
        ),
        (
            {"_meta": {"pipfile-spec": 6}, "default": {"a": {"version": "==1", "hashes": "sha256:x"}}},
            "'hashes' must be an array",
        ),
        (
            {"_meta": {"pipfile-spec": 6}, "default": {"a": "==1.0"}},
            "Pipfile.lock: default package 'a': must be a table",
        ),
        ({"_meta": {"pipfile-spec": 6}, "default": []}, "Pipfile.lock: section 'default': must be a table"),
    ],
)
def test_missing_or_mistyped_keys(data: object, fragment: str) -> None:
    with pytest.raises(InputError, match=re.escape(fragment)):
        parse(data)


def test_an_empty_lock_is_empty() -> None:
    parsed = parse({"_meta": {"pipfile-spec": 6, "sources": []}, "default": {}, "develop": {}})
    assert parsed.packages == ()
    assert parsed.unpinned == ()
