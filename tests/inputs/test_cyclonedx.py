"""CycloneDX JSON: PyPI components with hashes and graph, other ecosystems skipped with a note."""

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
CERTIFI = "123be5b01e5a31549c3cba610a83c5d31916cf13d1d5d1a0dce697c78b887de7"
IDNA = "3543cb15f59dc9f74e40a512117a34d0f41a92be06dbfd6aa55b7a4160d08879"


def bom(spec: str = "1.5") -> dict[str, Any]:
    """The shape cyclonedx-py writes for an environment, plus a few kinds of component it may hold."""
    return {
        "$schema": f"http://cyclonedx.org/schema/bom-{spec}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
        "version": 1,
        "metadata": {
            "component": {
                "bom-ref": "root-component",
                "type": "application",
                "name": "myapp",
                "version": "0.1.0",
            },
        },
        "components": [
            {
                "bom-ref": "requests==2.32.3",
                "type": "library",
                "name": "requests",
                "version": "2.32.3",
                "purl": "pkg:pypi/requests@2.32.3",
                "externalReferences": [
                    {
                        "type": "distribution",
                        "url": "https://files.pythonhosted.org/packages/f9/9b/requests-2.32.3-py3-none-any.whl",
                        "hashes": [
                            {"alg": "SHA-256", "content": REQUESTS_WHEEL},
                            {"alg": "SHA-512", "content": "ab" * 64},
                        ],
                        "comment": "from file",
                    },
                    {
                        "type": "distribution",
                        "url": "https://files.pythonhosted.org/packages/63/70/requests-2.32.3.tar.gz",
                        "hashes": [{"alg": "SHA-256", "content": REQUESTS_SDIST.upper()}],
                    },
                    {"type": "vcs", "url": "https://github.com/psf/requests"},
                ],
            },
            {
                "bom-ref": "certifi==2024.8.30",
                "type": "library",
                "name": "certifi",
                "version": "2024.8.30",
                "purl": "pkg:pypi/certifi@2024.8.30?file_name=certifi-2024.8.30-py3-none-any.whl"
                "&repository_url=https%3A%2F%2Fmirror.example%2Fsimple",
                "hashes": [{"alg": "SHA-256", "content": CERTIFI}],
            },
            {
                "bom-ref": "vendor-bundle",
                "type": "library",
                "name": "vendor-bundle",
                "purl": "pkg:generic/vendor-bundle@1.0",
                "components": [
                    {
                        "bom-ref": "idna==3.10",
                        "type": "library",
                        "name": "idna",
                        "purl": "pkg:pypi/idna@3.10",
                        "hashes": [{"alg": "SHA-256", "content": IDNA}],
                    },
                    {
                        "bom-ref": "left-pad",
                        "type": "library",
                        "name": "left-pad",
                        "purl": "pkg:npm/left-pad@1.3.0",
                    },
                ],
            },
            {
                "type": "library",
                "name": "gitpkg",
                "version": "0.5.0",
                "purl": "pkg:pypi/gitpkg@0.5.0?vcs_url=git%2Bhttps://github.com/example/gitpkg.git%407ef2946f",
            },
            {
                "type": "library",
                "name": "direct",
                "version": "1.0",
                "purl": "pkg:pypi/direct@1.0?download_url=https://example.com/direct-1.0.tar.gz",
            },
            {"type": "library", "name": "Flask", "version": "3.1.0", "purl": "pkg:PYPI/flask"},
            {"type": "library", "name": "nameless-version", "purl": "pkg:pypi/nameless-version"},
            {"type": "file", "name": "README.md"},
        ],
        "dependencies": [
            {"ref": "root-component", "dependsOn": ["requests==2.32.3"]},
            {"ref": "requests==2.32.3", "dependsOn": ["certifi==2024.8.30", "idna==3.10", "unknown-ref"]},
            {"ref": "certifi==2024.8.30"},
        ],
    }


def parse(data: object, name: str = "bom.json") -> ParsedInput:
    return parse_input(Path(name), json.dumps(data))


def packages_of(parsed: ParsedInput) -> dict[str, LockedPackage]:
    return {p.name: p for p in parsed.packages}


def test_good_bom() -> None:
    parsed = parse(bom())
    assert parsed.kind is InputKind.CYCLONEDX
    packages = packages_of(parsed)
    assert list(packages) == ["requests", "certifi", "idna", "gitpkg", "direct", "Flask"]
    requests = packages["requests"]
    assert requests.version == "2.32.3"
    assert requests.source is SourceKind.REGISTRY
    assert requests.files == (
        PinnedFile(
            "requests-2.32.3-py3-none-any.whl",
            "https://files.pythonhosted.org/packages/f9/9b/requests-2.32.3-py3-none-any.whl",
            REQUESTS_WHEEL,
        ),
        PinnedFile(
            "requests-2.32.3.tar.gz",
            "https://files.pythonhosted.org/packages/63/70/requests-2.32.3.tar.gz",
            REQUESTS_SDIST,
        ),
    )
    assert requests.parents == ("myapp",)
    assert requests.index_url is None
    certifi = packages["certifi"]
    assert certifi.files == (PinnedFile("certifi-2024.8.30-py3-none-any.whl", None, CERTIFI),)
    assert certifi.index_url == "https://mirror.example/simple"
    assert certifi.parents == ("requests",)
    # A component nested in another is read too.
    assert packages["idna"].version == "3.10"
    assert packages["idna"].files == (PinnedFile(None, None, IDNA),)
    assert packages["idna"].parents == ("requests",)
    # The purl has no version; the component's version field has one.
    assert packages["Flask"].version == "3.1.0"
    assert parsed.index_urls == ("https://mirror.example/simple",)


def test_purl_qualifiers_give_the_source() -> None:
    packages = packages_of(parse(bom()))
    assert packages["gitpkg"].source is SourceKind.VCS
    assert packages["gitpkg"].files == (
        PinnedFile(None, "git+https://github.com/example/gitpkg.git@7ef2946f", None),
    )
    assert packages["direct"].source is SourceKind.URL
    assert packages["direct"].files == (
        PinnedFile("direct-1.0.tar.gz", "https://example.com/direct-1.0.tar.gz", None),
    )


def test_non_pypi_components_are_counted_in_a_note() -> None:
    parsed = parse(bom())
    # vendor-bundle (generic), left-pad (npm), README.md (no purl).
    assert parsed.notes == ("bom.json: skipped 3 component(s) that are not PyPI packages",)


def test_a_pypi_component_without_a_version_is_unpinned() -> None:
    assert parse(bom()).unpinned == (Unpinned("pkg:pypi/nameless-version", "no version", None),)


@pytest.mark.parametrize("spec", ["1.2", "1.3", "1.4", "1.5", "1.6"])
def test_known_spec_versions(spec: str) -> None:
    assert len(parse(bom(spec)).packages) == 6


@pytest.mark.parametrize("spec", ["1.1", "1.7", "2.0"])
def test_unknown_spec_version(spec: str) -> None:
    message = f"bom.json: spec version {spec} is not supported (known: 1.2-1.6)"
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        parse(bom(spec))


def test_malformed_json() -> None:
    with pytest.raises(InputError, match=r"^sbom\.cdx\.json: not valid JSON: "):
        parse_input(Path("sbom.cdx.json"), '{"bomFormat": "CycloneDX", "components": [}')


def _component(**fields: object) -> dict[str, Any]:
    data = bom()
    data["components"] = [fields]
    return data


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"specVersion": "1.5"}, "bom.json: not a CycloneDX BOM (missing key 'bomFormat')"),
        ({"bomFormat": "SPDX", "specVersion": "1.5"}, "bom.json: not a CycloneDX BOM (bomFormat is 'SPDX')"),
        ({"bomFormat": "CycloneDX"}, "bom.json: missing key 'specVersion'"),
        (
            {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": {}},
            "bom.json: 'components' must be an array",
        ),
        (
            {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": ["x"]},
            "bom.json: component #1: must be a table",
        ),
        (
            _component(name="a", purl="pkg:pypi/a@1", hashes=[{"alg": "SHA-256", "content": "beef"}]),
            "bom.json: component #1: hash #1: 'beef' is not a SHA-256 hex digest",
        ),
        (_component(name="a", purl="pkg:pypi/a@1", hashes=[{"content": "ab"}]), "hash #1: missing key 'alg'"),
        (_component(name="a", purl="pkg:pypi/@1"), "purl 'pkg:pypi/@1' has no package name"),
        (_component(name="a", purl=7), "bom.json: component #1: 'purl' must be a string"),
        (
            {"bomFormat": "CycloneDX", "specVersion": "1.5", "dependencies": [{"dependsOn": []}]},
            "bom.json: dependency #1: missing key 'ref'",
        ),
    ],
)
def test_missing_or_mistyped_keys(data: object, fragment: str) -> None:
    with pytest.raises(InputError, match=re.escape(fragment)):
        parse(data)


def test_a_bom_with_no_components_is_empty() -> None:
    parsed = parse({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1})
    assert parsed.packages == ()
    assert parsed.notes == ()
