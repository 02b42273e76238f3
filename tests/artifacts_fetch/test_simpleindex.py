from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from depvet.artifacts.simpleindex import (
    ACCEPT,
    BadIndexResponse,
    IndexFile,
    IndexTimeout,
    IndexUnreachable,
    ProjectNotFound,
    RefusedRedirect,
    SimpleIndexClient,
    find_release_files,
    parse_html_page,
    parse_json_page,
    redact_url,
    split_credentials,
)
from depvet.errors import DepvetError, InputError

from .conftest import JSON_TYPE, IndexServer, Route

WHEEL = "goodpkg-1.0-py3-none-any.whl"
SDIST = "goodpkg-1.0.tar.gz"
SHA_WHEEL = hashlib.sha256(b"wheel").hexdigest()
SHA_SDIST = hashlib.sha256(b"sdist").hexdigest()
SHA_META = hashlib.sha256(b"metadata").hexdigest()


def json_page(files: Sequence[Mapping[str, object]], api_version: str = "1.1") -> bytes:
    document = {"meta": {"api-version": api_version}, "name": "goodpkg", "versions": ["1.0"], "files": files}
    return json.dumps(document).encode()


def client(timeout: float = 5.0) -> SimpleIndexClient:
    return SimpleIndexClient(timeout=timeout)


def write_page(server: IndexServer, project: str, html: str) -> None:
    page = server.root / "simple" / project
    page.mkdir(parents=True)
    (page / "index.html").write_text(html, encoding="utf-8")


# -- JSON ---------------------------------------------------------------------------------------------


def test_json_page_is_negotiated_and_read(index_server: IndexServer) -> None:
    files = [
        {
            "filename": WHEEL,
            "url": f"../../files/{WHEEL}",
            "hashes": {"sha256": SHA_WHEEL.upper(), "md5": "0" * 32},
            "requires-python": ">=3.8",
            "yanked": "broken build",
            "size": 5,
            "upload-time": "2026-03-24T10:11:12.123456Z",
            "core-metadata": {"sha256": SHA_META},
        },
        {
            "filename": SDIST,
            "url": f"https://files.example/{SDIST}#sha256={SHA_SDIST}",
            "hashes": {},
            "yanked": False,
            "size": 5,
            "dist-info-metadata": True,
        },
    ]
    # The HTML body is what a server that ignored the Accept header would send: nothing to parse.
    index_server.routes["/simple/goodpkg/"] = Route(body=b"<html></html>", json_body=json_page(files))

    found = client().project_files(f"{index_server.url}/simple/", "goodpkg")

    assert index_server.seen[0].accept == ACCEPT
    assert found == [
        IndexFile(
            filename=WHEEL,
            url=f"{index_server.url}/files/{WHEEL}",
            sha256=SHA_WHEEL,
            upload_time=datetime(2026, 3, 24, 10, 11, 12, 123456, tzinfo=UTC),
            yanked="broken build",
            requires_python=">=3.8",
            size=5,
            core_metadata=SHA_META,
        ),
        IndexFile(
            filename=SDIST,
            url=f"https://files.example/{SDIST}",
            sha256=None,
            upload_time=None,
            yanked=False,
            requires_python=None,
            size=5,
            core_metadata=True,
        ),
    ]


def test_project_name_is_normalized_in_the_url(index_server: IndexServer) -> None:
    index_server.routes["/simple/good-pkg-name/"] = Route(json_body=json_page([]))

    assert client().project_files(f"{index_server.url}/simple", "Good_Pkg.-Name") == []
    assert index_server.paths() == ["/simple/good-pkg-name/"]


def test_redirect_is_followed_and_urls_resolve_against_the_final_page(index_server: IndexServer) -> None:
    index_server.routes["/simple/goodpkg/"] = Route(status=301, headers={"Location": "/mirror/goodpkg/"})
    files = [{"filename": SDIST, "url": f"dl/{SDIST}", "hashes": {"sha256": SHA_SDIST}}]
    index_server.routes["/mirror/goodpkg/"] = Route(json_body=json_page(files))

    found = client().project_files(f"{index_server.url}/simple/", "goodpkg")

    assert [f.url for f in found] == [f"{index_server.url}/mirror/goodpkg/dl/{SDIST}"]
    assert index_server.seen[1].accept == ACCEPT  # the negotiation survives the redirect


def test_redirect_off_http_is_refused(index_server: IndexServer) -> None:
    index_server.routes["/simple/goodpkg/"] = Route(
        status=302, headers={"Location": "ftp://127.0.0.1/goodpkg/"}
    )

    with pytest.raises(RefusedRedirect, match=r"refused redirect .* to ftp://127\.0\.0\.1/goodpkg/"):
        client().project_files(f"{index_server.url}/simple/", "goodpkg")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"files": [', "malformed JSON"),
        (b'{"files": ["\xff\xfe"]}', "malformed JSON"),  # not UTF-8
        (b"[]", "not an object"),
        (b'{"meta": {"api-version": "1.0"}}', "'files' is missing"),
        (json_page([{"filename": WHEEL, "hashes": {}}]), r"files\[0\]\.url is missing"),
        (json_page([{"url": WHEEL, "hashes": {}}]), r"files\[0\]\.filename is missing"),
        (json_page([{"filename": WHEEL, "url": WHEEL, "hashes": []}]), r"files\[0\]\.hashes"),
        (json_page([], api_version="2.0"), "simple API version 2.0"),
    ],
)
def test_bad_json_is_a_bad_index_response(index_server: IndexServer, body: bytes, why: str) -> None:
    index_server.routes["/simple/goodpkg/"] = Route(body=body, content_type=JSON_TYPE)

    with pytest.raises(BadIndexResponse, match=why) as info:
        client().project_files(f"{index_server.url}/simple/", "goodpkg")
    assert f"{index_server.url}/simple/goodpkg/" in str(info.value)
    assert "\n" not in str(info.value)


def test_json_optional_fields_of_the_wrong_type_are_ignored() -> None:
    files = [
        {
            "filename": WHEEL,
            "url": WHEEL,
            "hashes": {"sha256": "not-a-digest"},
            "size": True,
            "upload-time": "yesterday",
            "requires-python": 3,
            "yanked": "",
        }
    ]
    [found] = parse_json_page(json_page(files), "https://example.org/simple/goodpkg/")

    assert (found.sha256, found.size, found.upload_time, found.requires_python, found.yanked) == (
        None,
        None,
        None,
        None,
        False,
    )


def test_json_provenance_urls_are_read_and_made_absolute() -> None:
    files: list[dict[str, object]] = [
        {
            "filename": WHEEL,
            "url": WHEEL,
            "hashes": {},
            "provenance": f"../../integrity/goodpkg/1.0/{WHEEL}/provenance",
        },
        {"filename": SDIST, "url": SDIST, "hashes": {}, "provenance": "https://other.example/p#frag"},
        {"filename": "goodpkg-0.9.tar.gz", "url": "goodpkg-0.9.tar.gz", "hashes": {}, "provenance": None},
        {"filename": "goodpkg-0.8.tar.gz", "url": "goodpkg-0.8.tar.gz", "hashes": {}},
    ]

    found = parse_json_page(json_page(files, api_version="1.3"), "https://index.example/simple/goodpkg/")

    assert [f.provenance for f in found] == [
        f"https://index.example/integrity/goodpkg/1.0/{WHEEL}/provenance",
        "https://other.example/p",
        None,
        None,
    ]


@pytest.mark.parametrize("value", [123, True, {"url": "x"}, ["x"], "", "   "])
def test_json_provenance_of_the_wrong_type_is_absent(value: object) -> None:
    files = [{"filename": WHEEL, "url": WHEEL, "hashes": {}, "provenance": value}]

    [found] = parse_json_page(json_page(files), "https://index.example/simple/goodpkg/")

    assert found.provenance is None
    assert found.url == f"https://index.example/simple/goodpkg/{WHEEL}"  # the file itself still counts


def test_provenance_on_the_index_origin_gets_the_index_credentials(index_server: IndexServer) -> None:
    files = [
        {
            "filename": SDIST,
            "url": f"/files/{SDIST}",
            "hashes": {},
            "provenance": f"/files/{SDIST}.provenance",
        },
        {
            "filename": WHEEL,
            "url": f"/files/{WHEEL}",
            "hashes": {},
            "provenance": f"https://cdn.example/{WHEEL}.prov",
        },
    ]
    index_server.routes["/simple/goodpkg/"] = Route(json_body=json_page(files))
    origin = f"127.0.0.1:{index_server.port}"

    found = client().project_files(f"http://__token__:s3cr%40t@{origin}/simple/", "goodpkg")

    assert found[0].provenance == f"http://__token__:s3cr%40t@{origin}/files/{SDIST}.provenance"
    assert found[1].provenance == f"https://cdn.example/{WHEEL}.prov"  # another host never gets them
    # Without credentials in the index URL nothing is added.
    [plain, _] = client().project_files(f"{index_server.url}/simple/", "goodpkg")
    assert plain.provenance == f"http://{origin}/files/{SDIST}.provenance"


# -- HTML ---------------------------------------------------------------------------------------------

HTML_PAGE = f"""<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.1"><title>Links for goodpkg</title></head>
<body><h1>Links for goodpkg</h1>
<a href="../../files/{WHEEL}#sha256={SHA_WHEEL}" data-requires-python="&gt;=3.8"
   data-core-metadata="sha256={SHA_META}" data-dist-info-metadata="true">{WHEEL}</a><br>
<a href="/files/{SDIST}#md5=0123" data-yanked>{SDIST}</a><br>
<a href="https://files.example/goodpkg-0.9.tar.gz" data-yanked="security hole"
   data-dist-info-metadata="true"> goodpkg-0.9.tar.gz </a>
<a>no href</a>
</body></html>
"""


def test_html_page_is_read(index_server: IndexServer) -> None:
    write_page(index_server, "goodpkg", HTML_PAGE)

    found = client().project_files(f"{index_server.url}/simple/", "goodpkg")

    assert found == [
        IndexFile(
            WHEEL, f"{index_server.url}/files/{WHEEL}", SHA_WHEEL, None, False, ">=3.8", None, SHA_META
        ),
        IndexFile(SDIST, f"{index_server.url}/files/{SDIST}", None, None, True, None, None, False),
        IndexFile(
            "goodpkg-0.9.tar.gz",
            "https://files.example/goodpkg-0.9.tar.gz",
            None,
            None,
            "security hole",
            None,
            None,
            True,
        ),
    ]


def test_html_base_element_and_missing_anchor_text() -> None:
    page = (
        '<html><head><base href="https://mirror.example/pkgs/"></head><body><a href="goodpkg-1.0.tar.gz"></a>'
    )

    [found] = parse_html_page(page, "https://index.example/simple/goodpkg/")

    assert (found.filename, found.url) == (SDIST, f"https://mirror.example/pkgs/{SDIST}")


def test_html_data_provenance_is_read_and_made_absolute() -> None:
    page = f"""<html><head><meta name="pypi:repository-version" content="1.3"></head><body>
<a href="../../files/{WHEEL}" data-provenance="https://index.example/integrity/goodpkg/1.0/{WHEEL}/provenance">{WHEEL}</a>
<a href="../../files/{SDIST}" data-provenance="../../files/{SDIST}.provenance">{SDIST}</a>
<a href="../../files/goodpkg-0.9.tar.gz">goodpkg-0.9.tar.gz</a>
<a href="../../files/goodpkg-0.8.tar.gz" data-provenance>goodpkg-0.8.tar.gz</a>
</body></html>"""

    found = parse_html_page(page, "https://index.example/simple/goodpkg/")

    assert [f.provenance for f in found] == [
        f"https://index.example/integrity/goodpkg/1.0/{WHEEL}/provenance",
        f"https://index.example/files/{SDIST}.provenance",
        None,
        None,  # an attribute without a value names no URL
    ]


def test_html_relative_data_provenance_follows_the_base_element_like_href() -> None:
    page = f'<base href="https://mirror.example/pkgs/"><a href="{SDIST}" data-provenance="{SDIST}.provenance">{SDIST}</a>'

    [found] = parse_html_page(page, "https://index.example/simple/goodpkg/")

    assert found.provenance == f"https://mirror.example/pkgs/{SDIST}.provenance"


@pytest.mark.parametrize(
    ("html", "why"),
    [
        ('<meta name="pypi:repository-version" content="2.0"><a href="x.whl">x.whl</a>', "version 2.0"),
        ("<![bogus[ x ]]>", "not parseable HTML"),
    ],
)
def test_bad_html_is_a_bad_index_response(html: str, why: str) -> None:
    with pytest.raises(BadIndexResponse, match=why):
        parse_html_page(html, "https://index.example/simple/goodpkg/")


def test_unexpected_content_type_is_a_bad_index_response(index_server: IndexServer) -> None:
    index_server.routes["/simple/goodpkg/"] = Route(body=b'{"files": []}', content_type="application/json")

    with pytest.raises(BadIndexResponse, match="'application/json', not a simple index page"):
        client().project_files(f"{index_server.url}/simple/", "goodpkg")


def test_local_directory_index(tmp_path: Path) -> None:
    project = tmp_path / "mirror" / "goodpkg"
    project.mkdir(parents=True)
    (project / "index.html").write_text(f'<a href="{SDIST}#sha256={SHA_SDIST}">{SDIST}</a>', encoding="utf-8")
    index_url = (tmp_path / "mirror").as_uri() + "/"

    [found] = client().project_files(index_url, "goodpkg")
    assert (found.url, found.sha256) == (f"{index_url}goodpkg/{SDIST}", SHA_SDIST)

    with pytest.raises(ProjectNotFound, match="requests is not on index"):
        client().project_files(index_url, "requests")


# -- failures -----------------------------------------------------------------------------------------


def test_missing_project_is_project_not_found(index_server: IndexServer) -> None:
    index_url = f"{index_server.url}/simple/"

    with pytest.raises(ProjectNotFound) as info:
        client().project_files(index_url, "requests")

    assert str(info.value) == f"requests is not on index {index_url} (404)"


def test_index_down_is_unreachable(dead_url: str) -> None:
    with pytest.raises(IndexUnreachable) as info:
        client().project_files(f"{dead_url}/simple/", "goodpkg")

    assert str(info.value) == f"cannot reach index {dead_url}/simple/: connection refused"


def test_slow_index_times_out(index_server: IndexServer) -> None:
    index_server.routes["/simple/goodpkg/"] = Route(json_body=json_page([]), delay=5)
    started = time.monotonic()

    with pytest.raises(IndexTimeout) as info:
        client(timeout=0.3).project_files(f"{index_server.url}/simple/", "goodpkg")

    assert str(info.value) == f"timed out after 0.3 s reading {index_server.url}/simple/goodpkg/"
    assert time.monotonic() - started < 3


def test_index_that_stops_mid_page_times_out(index_server: IndexServer) -> None:
    index_server.routes["/simple/goodpkg/"] = Route(json_body=json_page([]), stall_after=10)

    with pytest.raises(IndexTimeout):
        client(timeout=0.3).project_files(f"{index_server.url}/simple/", "goodpkg")


def test_truncated_page_is_unreachable_not_malformed(index_server: IndexServer) -> None:
    body = json_page([])
    index_server.routes["/simple/goodpkg/"] = Route(
        body=body, content_type=JSON_TYPE, declared_length=len(body) + 100
    )

    with pytest.raises(
        IndexUnreachable, match=f"connection closed after {len(body)} of {len(body) + 100} bytes"
    ):
        client().project_files(f"{index_server.url}/simple/", "goodpkg")


@pytest.mark.parametrize("status", [401, 403, 500])
def test_other_http_errors_are_bad_index_responses(index_server: IndexServer, status: int) -> None:
    index_server.routes["/simple/goodpkg/"] = Route(status=status)

    with pytest.raises(BadIndexResponse, match=f"HTTP {status}"):
        client().project_files(f"{index_server.url}/simple/", "goodpkg")


def test_invalid_project_name_never_becomes_a_path() -> None:
    with pytest.raises(InputError, match="not a valid project name"):
        client().project_files("https://index.example/simple/", "../../etc/passwd")


def test_unsupported_index_scheme() -> None:
    with pytest.raises(IndexUnreachable, match="unsupported scheme 'ftp'"):
        client().project_files("ftp://index.example/simple/", "goodpkg")


def test_errors_are_depvet_errors() -> None:
    for cls in (IndexUnreachable, IndexTimeout, ProjectNotFound, BadIndexResponse, RefusedRedirect):
        assert issubclass(cls, DepvetError)


# -- credentials --------------------------------------------------------------------------------------


def test_credentials_become_a_header_and_stay_out_of_messages(index_server: IndexServer) -> None:
    files = [
        {"filename": SDIST, "url": f"/files/{SDIST}", "hashes": {}},
        {"filename": WHEEL, "url": f"https://cdn.example/{WHEEL}", "hashes": {}},
    ]
    index_server.routes["/simple/goodpkg/"] = Route(json_body=json_page(files))
    index_url = f"http://__token__:s3cr%40t@127.0.0.1:{index_server.port}/simple/"

    found = client().project_files(index_url, "goodpkg")

    expected = "Basic " + base64.b64encode(b"__token__:s3cr@t").decode()
    assert index_server.seen[0].authorization == expected
    # Same origin as the index: the file needs the same credentials; another host never gets them.
    assert found[0].url == f"http://__token__:s3cr%40t@127.0.0.1:{index_server.port}/files/{SDIST}"
    assert found[1].url == f"https://cdn.example/{WHEEL}"

    with pytest.raises(ProjectNotFound) as info:
        client().project_files(index_url, "requests")
    assert "s3cr" not in str(info.value)
    assert f"http://__token__:***@127.0.0.1:{index_server.port}/simple/" in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw@host/simple/", "https://user:***@host/simple/"),
        ("https://TOKEN@host/simple/", "https://***@host/simple/"),
        ("https://u:p@ss@host/simple/", "https://u:***@host/simple/"),
        ("https://host/simple/?a=b@c", "https://host/simple/?a=b@c"),
        ("https://host/simple/", "https://host/simple/"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_split_credentials() -> None:
    assert split_credentials("https://host/simple/") == ("https://host/simple/", None)
    clean, header = split_credentials("https://me:pw@host/simple/")
    assert clean == "https://host/simple/"
    assert header == "Basic " + base64.b64encode(b"me:pw").decode()


# -- release selection --------------------------------------------------------------------------------


def _file(filename: str) -> IndexFile:
    return IndexFile(filename, f"https://files.example/{filename}", None, None, False, None, None)


def test_find_release_files_picks_one_release() -> None:
    names = [
        WHEEL,
        "goodpkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        SDIST,
        "GoodPkg-1.0.0.zip",  # PEP 440: 1.0.0 == 1.0
        "goodpkg-1.0.tar.bz2",  # pre-PEP 625 sdist
        "goodpkg-1.0.1.tar.gz",
        "goodpkg-10.tar.gz",
        "goodpkg-extra-1.0.tar.gz",
        "goodpkg-1.0-py3.8.egg",
        "goodpkg-1.0.win32.exe",
        "not a filename",
    ]
    found = find_release_files([_file(n) for n in names], "GoodPkg", "1.0")

    assert [f.filename for f in found] == [
        WHEEL,
        "goodpkg-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        SDIST,
        "GoodPkg-1.0.0.zip",
        "goodpkg-1.0.tar.bz2",
    ]


def test_find_release_files_with_an_invalid_version_finds_nothing() -> None:
    assert find_release_files([_file(SDIST)], "goodpkg", "not-a-version!") == []
