"""Stream the blobs of a container image: count and hash their bytes, inflate them, walk tar headers.

A multi-GB layer passes through once, a chunk at a time; nothing here seeks backwards or keeps
more than a chunk, one header and what a caller asks to read. Tar headers are read as
``depvet.artifacts.tarformat`` reads them (and so as ``tarfile`` does: ustar, GNU long names,
pax); that module lists a tar held in memory, this one reads a stream, with the same field
helpers so that both name a member alike.
"""

from __future__ import annotations

import bz2
import enum
import hashlib
import lzma
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from depvet.artifacts.tarformat import (  # the one reading of tar header fields in depvet
    _GNU_TYPES,
    _KINDS,
    _LONG_TYPES,
    _PAX_TYPES,
    BLOCK,
    MemberKind,
    _number,
    _pax_records,
    _pax_size,
    _text,
    _valid_checksum,
)
from depvet.errors import ArtifactError, LimitExceeded
from depvet.hunt.imagelimits import ByteBudget, ImageError, ImageLimits

CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"


class Compression(enum.StrEnum):
    NONE = "tar"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    ZSTD = "zstd"  # OCI allows it; Python 3.11 has no decoder: reported, not read


def sniff_compression(head: bytes) -> Compression:
    """What a blob is compressed with, by its magic bytes (media types are only a claim)."""
    if head.startswith(GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(ZSTD_MAGIC):
        return Compression.ZSTD
    if head.startswith(BZIP2_MAGIC):
        return Compression.BZIP2
    if head.startswith(XZ_MAGIC):
        return Compression.XZ
    return Compression.NONE


class RawReader(Protocol):
    def read(self, size: int, /) -> bytes: ...


class Blocks(Protocol):
    """What ``TarStream`` reads from: short reads and skips only at the end."""

    @property
    def position(self) -> int: ...

    def read(self, size: int, /) -> bytes: ...

    def skip(self, size: int, /) -> int: ...


class FileSection:
    """``size`` bytes of an open file from ``offset``: a blob stored inside a tar, or a whole file."""

    def __init__(self, handle: BinaryIO, offset: int, size: int) -> None:
        self._handle = handle
        self._next = offset
        self._left = size

    def read(self, size: int, /) -> bytes:
        size = min(size, self._left)
        if size <= 0:
            return b""
        self._handle.seek(self._next)
        data = self._handle.read(size)
        self._next += len(data)
        self._left -= len(data)
        if len(data) < size:
            self._left = 0  # the file is shorter than its tar header said: the reader sees the end
        return data


class FileBlocks:
    """A plain tar file read header by header, seeking over member data."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        self._size = size
        self._position = 0
        handle.seek(0)

    @property
    def position(self) -> int:
        return self._position

    def read(self, size: int, /) -> bytes:
        self._handle.seek(self._position)
        data = self._handle.read(max(0, min(size, self._size - self._position)))
        self._position += len(data)
        return data

    def skip(self, size: int, /) -> int:
        skipped = max(0, min(size, self._size - self._position))
        self._position += skipped
        return skipped


class BlobStream:
    """The bytes of one blob: raw bytes are counted and hashed, and come out decompressed.

    ``position`` counts decompressed bytes handed out, so a tar member's ``offset`` is where its
    data lies in the uncompressed layer (and in the blob itself when ``compression`` is NONE).
    """

    def __init__(
        self,
        raw: RawReader,
        *,
        where: str,
        limits: ImageLimits,
        budget: ByteBudget | None,
        algorithm: str = "sha256",
        hash_output: bool = False,
    ) -> None:
        self._raw = raw
        self._where = where
        self._limits = limits
        self._budget = budget
        self._algorithm = algorithm
        self._raw_hash = hashlib.new(algorithm)
        self._out_hash: hashlib._Hash | None = None
        self.raw_size = 0
        self.produced = 0
        self._position = 0
        self._buffer = bytearray()
        self._start = 0
        self._pending = self._read_raw(CHUNK)
        self.compression = sniff_compression(self._pending)
        self._engine: _Engine | None = None
        self._between = False  # a compressed stream ended: another may follow (multi-member gzip)
        self._done = False
        self._raw_done = False
        if self.compression in (Compression.GZIP, Compression.BZIP2, Compression.XZ):
            self._engine = _Engine(self.compression)
        # A plain tar is its own uncompressed form: its raw digest serves unless that is not sha256.
        if hash_output and (self._engine is not None or algorithm != "sha256"):
            self._out_hash = hashlib.new("sha256")
        self._hash_output = hash_output

    @property
    def position(self) -> int:
        return self._position

    def digest(self) -> str:
        """``algorithm:hex`` of the raw bytes read so far (all of them after ``drain``)."""
        return f"{self._algorithm}:{self._raw_hash.hexdigest()}"

    def output_digest(self) -> str | None:
        """sha256 of the decompressed bytes produced so far, when asked for (a layer's diff_id)."""
        if not self._hash_output:
            return None
        if self._out_hash is None:
            return self.digest()
        return f"sha256:{self._out_hash.hexdigest()}"

    def read(self, size: int, /) -> bytes:
        while len(self._buffer) - self._start < size:
            chunk = self._produce()
            if not chunk:
                break
            self._buffer += chunk
        end = min(self._start + size, len(self._buffer))
        data = bytes(self._buffer[self._start : end])
        self._start = end
        self._position += len(data)
        self._compact()
        return data

    def skip(self, size: int, /) -> int:
        taken = min(size, len(self._buffer) - self._start)
        self._start += taken
        left = size - taken
        while left > 0:
            chunk = self._produce()
            if not chunk:
                break
            if len(chunk) > left:
                self._buffer += chunk[left:]
                taken += left
                left = 0
            else:
                taken += len(chunk)
                left -= len(chunk)
        self._position += taken
        self._compact()
        return taken

    def drain(self, *, decompress: bool = False) -> None:
        """Read the blob to its end, so its digest covers every byte (the tar may end early)."""
        if decompress:
            while self.skip(CHUNK):
                pass
        while self._read_raw(CHUNK):
            pass

    def _compact(self) -> None:
        if self._start > CHUNK and self._start * 2 > len(self._buffer):
            del self._buffer[: self._start]
            self._start = 0

    def _read_raw(self, size: int) -> bytes:
        data = self._raw.read(size)
        self.raw_size += len(data)
        self._raw_hash.update(data)
        return data

    def _produce(self) -> bytes:
        """The next decompressed chunk; empty at the end of the blob."""
        while not self._done:
            chunk = self._step()
            if chunk:
                self._account(chunk)
                return chunk
        return b""

    def _step(self) -> bytes:
        if self._engine is None:
            data = self._pending or self._read_raw(CHUNK)
            self._pending = b""
            if not data:
                self._done = True
            return data
        if self._between:
            return self._next_member()
        engine = self._engine
        if not self._pending and engine.needs_input and not self._raw_done:
            self._pending = self._read_raw(CHUNK)
            self._raw_done = not self._pending
        try:
            chunk, self._pending = engine.feed(self._pending)
        except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            raise ImageError(f"{self._where}: corrupt {self.compression} stream ({exc})") from exc
        if engine.eof:
            self._pending = engine.unused_data + self._pending
            self._between = True
        elif not chunk and not self._pending and self._raw_done:
            raise ImageError(f"{self._where}: the {self.compression} stream is truncated")
        return chunk

    def _next_member(self) -> bytes:
        """After one compressed stream: another one, or the end (trailing bytes are only hashed)."""
        if len(self._pending) < len(XZ_MAGIC) and not self._raw_done:
            more = self._read_raw(CHUNK)
            self._raw_done = not more
            self._pending += more
        if not self._pending or sniff_compression(self._pending) is not self.compression:
            self._done = True
            return b""
        self._engine = _Engine(self.compression)
        self._between = False
        return b""

    def _account(self, chunk: bytes) -> None:
        self.produced += len(chunk)
        limits = self._limits
        if self._out_hash is not None:
            self._out_hash.update(chunk)
        if self._budget is not None:
            self._budget.spend(len(chunk), self._where)
        if self.produced > limits.max_layer_bytes:
            raise LimitExceeded(
                f"{self._where} expands to more than {limits.max_layer_bytes // (1024 * 1024)} MiB: not read"
            )
        if (
            self._engine is not None
            and self.produced > limits.ratio_floor_bytes
            and self.produced > limits.max_ratio * max(self.raw_size, 1)
        ):
            raise LimitExceeded(
                f"{self._where} expands more than {limits.max_ratio:.0f}x ({self.raw_size} bytes to over "
                f"{self.produced}): decompression bomb, not read"
            )


class _Engine:
    """One gzip, bzip2 or xz stream, fed input and drained a chunk of output at a time."""

    def __init__(self, compression: Compression) -> None:
        self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS) if compression is Compression.GZIP else None
        self._other: bz2.BZ2Decompressor | lzma.LZMADecompressor | None = None
        if compression is Compression.BZIP2:
            self._other = bz2.BZ2Decompressor()
        elif compression is Compression.XZ:
            self._other = lzma.LZMADecompressor()

    @property
    def needs_input(self) -> bool:
        if self._zlib is not None:
            return True  # zlib keeps no input of its own: what it did not take comes back
        assert self._other is not None
        return self._other.needs_input

    @property
    def eof(self) -> bool:
        if self._zlib is not None:
            return self._zlib.eof
        assert self._other is not None
        return self._other.eof

    @property
    def unused_data(self) -> bytes:
        if self._zlib is not None:
            return self._zlib.unused_data
        assert self._other is not None
        return self._other.unused_data

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        """Output of at most a chunk, and the input it did not take yet."""
        if self._zlib is not None:
            chunk = self._zlib.decompress(data, CHUNK)
            return chunk, self._zlib.unconsumed_tail
        assert self._other is not None
        return self._other.decompress(data, max_length=CHUNK), b""


@dataclass(frozen=True, slots=True)
class TarHeader:
    name: str  # as the tar names it (pax and GNU long names applied), not normalised
    kind: MemberKind
    size: int  # bytes of data that follow (0 for links, directories and devices)
    offset: int  # where the data starts, counted in the uncompressed tar
    linkname: str
    mtime: float | None


class TarStream:
    """The members of a tar read from ``Blocks``, in order; ``read`` reads the current one's data."""

    def __init__(self, blocks: Blocks, *, where: str, max_members: int, max_extension_bytes: int) -> None:
        self._blocks = blocks
        self._where = where
        self._max_members = max_members
        self._max_extension = max_extension_bytes
        self._current = ""
        self._left = 0  # data bytes of the current member not read yet
        self._padding = 0
        self.ended = False  # the end-of-archive marker was read: the tar is not cut short
        self.members = 0

    def read(self, size: int, /) -> bytes:
        """At most ``size`` bytes of the current member's data (empty at its end)."""
        size = min(size, self._left)
        data = self._blocks.read(size)
        if len(data) < size:
            self._truncated()
        self._left -= len(data)
        return data

    def __iter__(self) -> Iterator[TarHeader]:
        pending: list[tuple[int, bytes | dict[str, str]]] = []
        global_pax: dict[str, str] = {}
        while True:
            self._finish_member()
            offset = self._blocks.position
            header = self._blocks.read(BLOCK)
            if not header:
                return  # the data ends without an end-of-archive marker; ``ended`` says so
            if len(header) < BLOCK:
                raise ImageError(f"{self._where} is truncated (a partial tar header at byte {offset})")
            if not _valid_checksum(header):
                if header.count(0) == BLOCK:
                    self.ended = True
                    return
                what = "not a tar archive" if offset == 0 else f"a corrupt tar header at byte {offset}"
                raise ImageError(f"{self._where}: {what}")
            try:
                member = self._member(header, offset, pending, global_pax)
            except ImageError:
                raise
            except ArtifactError as exc:
                raise ImageError(f"{self._where}: {exc}") from exc
            if member is not None:
                self.members += 1
                if self.members > self._max_members:
                    raise LimitExceeded(
                        f"{self._where} holds more than {self._max_members} members: not read"
                    )
                yield member

    def _member(
        self,
        header: bytes,
        offset: int,
        pending: list[tuple[int, bytes | dict[str, str]]],
        global_pax: dict[str, str],
    ) -> TarHeader | None:
        """The member this header starts, or None for an extension header (kept in ``pending``)."""
        typeflag = header[156]
        size = _number(header[124:136], offset)
        if typeflag in _PAX_TYPES or typeflag in _LONG_TYPES:
            data = self._extension(size, offset)
            if typeflag in _LONG_TYPES:
                pending.append((typeflag, data.split(b"\x00", 1)[0]))
            elif typeflag == ord("g"):
                global_pax.update(_pax_records(data))
            else:
                pending.append((typeflag, {**global_pax, **_pax_records(data)}))
            return None
        name = _text(header[0:100].split(b"\x00", 1)[0])
        kind = _KINDS.get(typeflag, MemberKind.FILE)  # tarfile reads an unknown type as a file
        if typeflag == 0 and name.endswith("/"):
            kind = MemberKind.DIRECTORY
        if kind is MemberKind.DIRECTORY:
            name = name.rstrip("/")
        prefix = header[345:500].split(b"\x00", 1)[0]
        if prefix and typeflag not in _GNU_TYPES:
            name = _text(prefix) + "/" + name
        linkname = _text(header[157:257].split(b"\x00", 1)[0])
        mtime = _mtime(header)
        for extension_type, value in reversed(pending):  # the one nearest the member first
            if isinstance(value, dict):
                name = value["path"].rstrip("/") if "path" in value else name
                linkname = value.get("linkpath", linkname)
                size = _pax_size(value["size"]) if "size" in value else size
                mtime = _pax_mtime(value.get("mtime"), mtime)
            elif extension_type == ord("L"):
                name = _text(value)
            else:
                linkname = _text(value)
        pending.clear()
        if typeflag == ord("S"):
            self._skip_sparse_map(header, name)
        if kind is not MemberKind.FILE:
            size = 0  # header-only types: tarfile and Go's archive/tar read no data after them
        self._current = name
        self._left = size
        self._padding = -size % BLOCK
        return TarHeader(name, kind, size, self._blocks.position, linkname, mtime)

    def _extension(self, size: int, offset: int) -> bytes:
        if size > self._max_extension:
            raise ImageError(
                f"{self._where}: a tar extension header of {size} bytes at byte {offset} "
                f"(over {self._max_extension}): not read"
            )
        data = self._blocks.read(size)
        if len(data) < size:
            raise ImageError(f"{self._where} is truncated (in a tar extension header at byte {offset})")
        self._blocks.skip(-size % BLOCK)
        return data

    def _skip_sparse_map(self, header: bytes, name: str) -> None:
        extended = header[482]
        while extended:
            block = self._blocks.read(BLOCK)
            if len(block) < BLOCK:
                raise ImageError(f"{self._where} is truncated (in the sparse map of {name})")
            extended = block[504]

    def _finish_member(self) -> None:
        if self._left:
            if self._blocks.skip(self._left) < self._left:
                self._truncated()
            self._left = 0
        if self._padding:
            self._blocks.skip(self._padding)  # a missing last padding is no loss of data
            self._padding = 0

    def _truncated(self) -> None:
        raise ImageError(f"{self._where} is truncated (in the data of {self._current!r})")


def _mtime(header: bytes) -> float | None:
    try:
        return float(_number(header[136:148], 0))
    except ArtifactError:
        return None


def _pax_mtime(value: str | None, default: float | None) -> float | None:
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        return default
