"""List the members of an uncompressed tar held in memory, without extracting anything.

``tarfile`` builds a ``TarInfo`` object per header in Python and spent 7 s on the headers of
the 296 popular sdists, as long as decompressing them. This reader only slices the fields
depvet needs out of each 512-byte header. It follows ``tarfile``'s reading of the formats
(ustar, GNU long names, pax extended and global headers) because pip extracts sdists with
``tarfile``: a name read differently here than there would let a file hide under another
path. ``tests/test_tarformat.py`` checks both readers agree.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from depvet.errors import ArtifactError

BLOCK = 512
_CHECKSUM = slice(148, 156)
_GNU_TYPES = frozenset(b"LKS")  # their prefix field holds other data
_PAX_TYPES = frozenset(b"xXg")
_LONG_TYPES = frozenset(b"LK")
_PAX_RECORD = re.compile(rb"(\d+) ([^=]+)=")
_SPACES = b" " * 8


class MemberKind(enum.Enum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    DEVICE = "device"


_KINDS = {
    ord("0"): MemberKind.FILE,
    0: MemberKind.FILE,
    ord("7"): MemberKind.FILE,  # contiguous file
    ord("S"): MemberKind.FILE,  # GNU sparse: the stored parts are what there is to read
    ord("1"): MemberKind.HARDLINK,
    ord("2"): MemberKind.SYMLINK,
    ord("3"): MemberKind.DEVICE,
    ord("4"): MemberKind.DEVICE,
    ord("6"): MemberKind.DEVICE,  # fifo
    ord("5"): MemberKind.DIRECTORY,
}


@dataclass(frozen=True, slots=True)
class TarMember:
    name: str
    kind: MemberKind
    offset: int  # where the member's data starts in the tar
    size: int
    linkname: str


@dataclass(frozen=True, slots=True)
class TarListing:
    members: tuple[TarMember, ...]
    # Bytes after the last header that are neither a header nor zero padding: tarfile stops
    # there without a word, a scanner says what it could not read.
    trailing: str | None


def list_members(raw: bytes) -> TarListing:
    """Every member of the tar ``raw``; ``ArtifactError`` when it is not a readable tar."""
    return _Lister(raw).run()


class _Lister:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.members: list[TarMember] = []
        self.global_pax: dict[str, str] = {}
        # Extension headers (pax, GNU long names) waiting for the member they describe.
        # tarfile applies the one nearest the member first, so the outermost one wins.
        self.pending: list[tuple[int, bytes | dict[str, str]]] = []

    def run(self) -> TarListing:
        raw = self.raw
        end = len(raw)
        if end == 0:
            raise ArtifactError("empty file: not a tar archive")
        offset = 0
        trailing: str | None = None
        while offset + BLOCK <= end:
            header = raw[offset : offset + BLOCK]
            if not _valid_checksum(header):
                if header.count(0) == BLOCK:
                    break  # end-of-archive marker
                if offset == 0:
                    raise ArtifactError("not a tar archive (bad header checksum)")
                trailing = f"unreadable data after byte {offset} (bad tar header): not analysed"
                break
            offset = self.header(header, offset)
        else:
            if offset < end and raw.count(0, offset) != end - offset:
                if offset == 0:
                    raise ArtifactError("not a tar archive (too short for a header)")
                trailing = f"a partial tar header at byte {offset}: not analysed"
        if self.pending and trailing is None:
            trailing = "a tar extension header with no member after it"
        return TarListing(tuple(self.members), trailing)

    def header(self, header: bytes, offset: int) -> int:
        """Take in the header at ``offset``; where the next header starts."""
        typeflag = header[156]
        size = _number(header[124:136], offset)
        data_offset = offset + BLOCK
        if typeflag in _PAX_TYPES:
            records = _pax_records(self.data(data_offset, size))
            if typeflag == ord("g"):
                self.global_pax.update(records)
            else:
                self.pending.append((typeflag, {**self.global_pax, **records}))
            return data_offset + _blocks(size)
        if typeflag in _LONG_TYPES:
            self.pending.append((typeflag, self.data(data_offset, size).split(b"\x00", 1)[0]))
            return data_offset + _blocks(size)
        name = _text(header[0:100].split(b"\x00", 1)[0])
        # tarfile reads an unknown type as a regular file's worth of data, and pip extracts it.
        kind = _KINDS.get(typeflag, MemberKind.FILE)
        if typeflag == 0 and name.endswith("/"):
            kind = MemberKind.DIRECTORY  # the old V7 way of writing a directory
        if kind is MemberKind.DIRECTORY:
            name = name.rstrip("/")
        prefix = header[345:500].split(b"\x00", 1)[0]
        if prefix and typeflag not in _GNU_TYPES:
            name = _text(prefix) + "/" + name
        name, linkname, size = self.extend(name, _text(header[157:257].split(b"\x00", 1)[0]), size)
        if typeflag == ord("S"):
            data_offset = self.skip_sparse_map(header, data_offset, name)
        if kind is not MemberKind.FILE:
            self.members.append(TarMember(name, kind, data_offset, 0, linkname))
            return data_offset
        if data_offset + size > len(self.raw):
            raise ArtifactError(
                f"tar member {name} is truncated ({len(self.raw) - data_offset} of {size} bytes)"
            )
        self.members.append(TarMember(name, kind, data_offset, size, linkname))
        return data_offset + _blocks(size)

    def extend(self, name: str, linkname: str, size: int) -> tuple[str, str, int]:
        for extension_type, value in reversed(self.pending):
            if isinstance(value, dict):
                name = value["path"].rstrip("/") if "path" in value else name
                linkname = value.get("linkpath", linkname)
                size = _pax_size(value["size"]) if "size" in value else size
            elif extension_type == ord("L"):
                name = _text(value)
            else:
                linkname = _text(value)
        self.pending.clear()
        return name, linkname, size

    def skip_sparse_map(self, header: bytes, data_offset: int, name: str) -> int:
        """Old GNU sparse: more sparse-map blocks may follow the header before the data."""
        extended = header[482]
        while extended:
            if data_offset + BLOCK > len(self.raw):
                raise ArtifactError(f"tar member {name} is truncated (sparse map)")
            extended = self.raw[data_offset + 504]
            data_offset += BLOCK
        return data_offset

    def data(self, offset: int, size: int) -> bytes:
        if offset + size > len(self.raw):
            raise ArtifactError(f"tar header data at byte {offset} is truncated")
        return self.raw[offset : offset + size]


def _blocks(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _valid_checksum(header: bytes) -> bool:
    stored = header[_CHECKSUM].split(b"\x00", 1)[0].strip()
    if not stored:
        return False
    try:
        expected = int(stored, 8)
    except ValueError:
        return False
    # The checksum field counts as eight spaces (32 each).
    unsigned = sum(header) - sum(header[148:156]) + 256
    if expected == unsigned:
        return True
    blanked = header[:148] + _SPACES + header[156:]
    # Some old tars summed signed bytes; tarfile accepts both.
    return expected == unsigned - 256 * sum(1 for byte in blanked if byte > 127)


def _number(field: bytes, offset: int) -> int:
    if field[0] in (0x80, 0xFF):  # GNU base-256
        value = int.from_bytes(field[1:], "big")
        return value - (1 << (8 * len(field) - 8)) if field[0] == 0xFF else value
    digits = field.split(b"\x00", 1)[0].strip()
    try:
        value = int(digits or b"0", 8)
    except ValueError:
        raise ArtifactError(f"corrupt tar header at byte {offset}: bad size field") from None
    if value < 0:
        raise ArtifactError(f"corrupt tar header at byte {offset}: negative size")
    return value


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _pax_records(data: bytes) -> dict[str, str]:
    """``"%d %s=%s\\n"`` records, each starting with its own length in bytes.

    Like tarfile, reading stops at the first record that does not have that shape.
    """
    records: dict[str, str] = {}
    position = 0
    while (match := _PAX_RECORD.match(data, position)) is not None:
        length = int(match.group(1))
        if length == 0:
            raise ArtifactError("corrupt pax header: a record of length 0")
        value = data[match.end(2) + 1 : match.start(1) + length - 1]
        records[_text(match.group(2))] = _text(value)
        position += length
    return records


def _pax_size(value: str) -> int:
    try:
        return max(int(value), 0)
    except ValueError:
        return 0  # what tarfile makes of it
