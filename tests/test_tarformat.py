"""depvet's tar lister reads every member as tarfile (and so pip) reads it."""

from __future__ import annotations

import contextlib
import io
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depvet.artifacts.tarformat import MemberKind, list_members
from depvet.errors import ArtifactError

_FORMATS = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}


def _kind(info: tarfile.TarInfo) -> MemberKind:
    if info.isdir():
        return MemberKind.DIRECTORY
    if info.issym():
        return MemberKind.SYMLINK
    if info.islnk():
        return MemberKind.HARDLINK
    if info.isdev():
        return MemberKind.DEVICE
    return MemberKind.FILE


def _tarfile_view(raw: bytes) -> list[tuple[str, MemberKind, bytes, str]]:
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
        view = []
        for info in archive:
            kind = _kind(info)
            data = b""
            if kind is MemberKind.FILE:
                stream = archive.extractfile(info)
                assert stream is not None
                data = stream.read()
            view.append((info.name, kind, data, info.linkname))
        return view


def _our_view(raw: bytes) -> list[tuple[str, MemberKind, bytes, str]]:
    listing = list_members(raw)
    assert listing.trailing is None
    return [(m.name, m.kind, raw[m.offset : m.offset + m.size], m.linkname) for m in listing.members]


def _build(
    members: list[tuple[str, str, bytes]], fmt: int, pax_headers: dict[str, str] | None = None
) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt, pax_headers=pax_headers or {}) as archive:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "symlink": tarfile.SYMTYPE,
                "hardlink": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
                "chr": tarfile.CHRTYPE,
            }[kind]
            if kind in ("symlink", "hardlink"):
                info.linkname = data.decode()
            archive.addfile(info)
    return buffer.getvalue()


_LONG = "pkg-1.0/" + "/".join(["d" * 60] * 3) + "/module_with_a_long_name.py"
_SAMPLE = [
    ("pkg-1.0/setup.py", "file", b"from setuptools import setup\nsetup()\n"),
    ("pkg-1.0/pkg", "dir", b""),
    ("pkg-1.0/pkg/__init__.py", "file", b""),
    ("pkg-1.0/pkg/caf\u00e9.py", "file", b"x = 1\n" * 300),
    (_LONG, "file", b"y = 2\n"),
    ("pkg-1.0/link", "symlink", b"../../etc/passwd"),
    ("pkg-1.0/hard", "hardlink", b"pkg-1.0/setup.py"),
    ("pkg-1.0/long-link", "symlink", ("t" * 150).encode()),
    ("pkg-1.0/fifo", "fifo", b""),
    ("pkg-1.0/dev", "chr", b""),
    ("pkg-1.0/exactly-512", "file", b"a" * 512),
]


@pytest.mark.parametrize("fmt", sorted(_FORMATS))
def test_every_format_reads_as_tarfile_reads_it(fmt: str) -> None:
    # ustar stores the long name in its prefix field; only the long link needs GNU or pax.
    members = _SAMPLE if fmt != "ustar" else [m for m in _SAMPLE if m[0] != "pkg-1.0/long-link"]
    raw = _build(members, _FORMATS[fmt])
    assert _our_view(raw) == _tarfile_view(raw)


def test_global_and_extended_pax_headers() -> None:
    raw = _build(_SAMPLE, tarfile.PAX_FORMAT, pax_headers={"comment": "built by a test"})
    assert _our_view(raw) == _tarfile_view(raw)


_NAMES = st.text(alphabet="abcxyz\u00e9\u4e2d/._-", min_size=1, max_size=180).filter(
    lambda name: name.strip("/") and "//" not in name and not name.startswith("/")
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_NAMES, st.binary(max_size=1500)), min_size=1, max_size=6),
    st.sampled_from(sorted(_FORMATS)),
)
def test_generated_archives_agree_with_tarfile(files: list[tuple[str, bytes]], fmt: str) -> None:
    try:
        raw = _build([(name, "file", data) for name, data in files], _FORMATS[fmt])
    except ValueError:
        return  # a name ustar cannot hold
    assert _our_view(raw) == _tarfile_view(raw)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=4000), st.integers(min_value=0, max_value=255))
def test_corrupted_bytes_give_a_listing_or_an_artifact_error(position: int, value: int) -> None:
    raw = bytearray(_build(_SAMPLE, tarfile.PAX_FORMAT))
    raw[position % len(raw)] = value
    with contextlib.suppress(ArtifactError):
        list_members(bytes(raw))


def test_unknown_type_is_read_as_a_file_as_pip_would_extract_it() -> None:
    raw = bytearray(_build([("pkg/hidden.py", "file", b"import os\n")], tarfile.USTAR_FORMAT))
    raw[156] = ord("Z")
    raw[148:156] = b" " * 8
    raw[148:155] = f"{sum(raw[:512]):06o}\x00".encode()
    (member,) = list_members(bytes(raw)).members
    assert member.kind is MemberKind.FILE
    assert bytes(raw[member.offset : member.offset + member.size]) == b"import os\n"


def test_junk_after_the_members_is_reported_not_ignored() -> None:
    raw = _build([("pkg/a.py", "file", b"a = 1\n")], tarfile.USTAR_FORMAT)
    first = 512 + 512  # header and one data block
    raw = raw[:first] + b"\xff" * 512 + raw[first + 512 :]
    listing = list_members(raw)
    assert [m.name for m in listing.members] == ["pkg/a.py"]
    assert listing.trailing is not None
    assert "bad tar header" in listing.trailing


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty file"),
        (b"not a tar" * 100, "bad header checksum"),
        (b"short", "too short"),
    ],
)
def test_what_is_not_a_tar_says_so(raw: bytes, message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        list_members(raw)


def test_a_member_cut_short_is_an_error() -> None:
    raw = _build([("pkg/a.py", "file", b"a" * 2000)], tarfile.USTAR_FORMAT)
    with pytest.raises(ArtifactError, match="truncated"):
        list_members(raw[:1200])


def test_an_all_zero_tar_is_empty() -> None:
    assert list_members(b"\x00" * 10240).members == ()


def test_an_old_tar_with_a_signed_checksum_is_read() -> None:
    raw = bytearray(_build([("pkg/caf\u00e9.py", "file", b"x = 1\n")], tarfile.USTAR_FORMAT))
    header = raw[:512]
    header[148:156] = b" " * 8
    signed = sum(b if b < 128 else b - 256 for b in header)
    assert signed != sum(header)  # the name's UTF-8 bytes are over 127
    raw[148:156] = f"{signed:06o}\x00 ".encode()
    (member,) = list_members(bytes(raw)).members
    assert member.name == "pkg/caf\u00e9.py"
