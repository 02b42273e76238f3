"""Index each layer of an image, then stack the layers into the filesystem a container sees.

Indexing a layer streams it once and keeps, per member, its path, kind, size, time and where its
bytes are:

* a layer stored as a plain tar in a plain file (``docker save``; uncompressed OCI blobs) keeps
  only the offset: the checks re-read a member in place, so memory does not grow with the image;
* a compressed layer cannot be re-read at an offset without inflating it again, so its bytes are
  kept while it streams past, by ``Keeper``: the files the checks always read (``.pth``,
  ``*.dist-info/METADATA`` and ``RECORD``, ``sitecustomize.py``, systemd units, cron, shell rc and
  autostart files: at most ``MAX_READ`` each, up to ``max_kept_startup_bytes`` in all), and
  any other file up to ``small_file_bytes`` (1 MiB) for IOC hash and domain checks, until
  ``max_kept_bytes`` (256 MiB) is spent. When the caller passes the checks' own path filter
  (``wants``), exactly the files it names are kept instead, and no other: the hunt's
  ``FileChecker`` reads files by path only, so that costs the least memory. Layers are read from
  the top of the stack down, so the application's layers are kept before the base OS's. A file
  not kept still has its path, size and time; reading it raises ``OSError`` with the reason,
  and the hunt reports how many small files were not kept.

Stacking follows the OCI image-spec (``layer.md``, "Whiteouts"): ``.wh.<name>`` deletes
``<name>`` from the layers below; ``.wh..wh..opq`` hides everything the layers below put in its
directory; whiteouts never apply to the layer that holds them. A hard link takes its target's
bytes; a symbolic link is recorded as a link and never followed. Every file a later layer
deletes, hides or replaces is kept aside as history: its bytes still ship in the image.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from depvet.artifacts.tarformat import MemberKind
from depvet.errors import ArtifactError, BudgetExhausted
from depvet.hunt.imageformat import Blob, short_digest
from depvet.hunt.imagelimits import ByteBudget, ImageError, ImageLimits, UnsupportedLayer
from depvet.hunt.imagetar import BlobStream, Compression, TarStream
from depvet.hunt.vfs import MAX_READ

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"

# Paths whose bytes the checks always read (start-up code, install records, persistence).
_PACKAGE_FILES = ("METADATA", "RECORD", "entry_points.txt", "PKG-INFO")
_STARTUP_FILES = frozenset({"sitecustomize.py", "usercustomize.py"})
_SHELL_RC = frozenset(
    {
        ".bashrc",
        ".bash_profile",
        ".bash_login",
        ".bash_logout",
        ".profile",
        ".zshrc",
        ".zshenv",
        ".zprofile",
        ".zlogin",
        ".cshrc",
        ".tcshrc",
        ".kshrc",
    }
)
_SYSTEM_PREFIXES = (
    "/etc/systemd/",
    "/usr/lib/systemd/",
    "/lib/systemd/",
    "/etc/cron",  # cron.d, cron.daily, ..., crontab
    "/var/spool/cron/",
    "/etc/xdg/autostart/",
    "/etc/profile",  # profile and profile.d
    "/etc/bash.bashrc",
    "/etc/zsh/",
    "/etc/init.d/",
    "/etc/rc.local",
    "/etc/ld.so.preload",
    "/etc/supervisor/",
)
_HOME_PARTS = ("/.config/systemd/user/", "/.config/autostart/", "/.config/fish/")


def worth_keeping(path: str) -> bool:
    """A path the hunt's checks always read: its bytes are kept from a compressed layer."""
    base = posixpath.basename(path)
    if base in _STARTUP_FILES or base in _SHELL_RC:
        return True
    if "-packages/" in path:  # site-packages, dist-packages
        if base.endswith(".pth"):
            return True
        parent = posixpath.basename(posixpath.dirname(path))
        if parent.endswith((".dist-info", ".egg-info")) and base in _PACKAGE_FILES:
            return True
    return path.startswith(_SYSTEM_PREFIXES) or any(part in path for part in _HOME_PARTS)


@dataclass(frozen=True, slots=True)
class InPlace:
    """A member's bytes at an offset of a plain file: re-read on demand."""

    file: Path
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class NotKept:
    reason: str


Data = InPlace | bytes | NotKept


@dataclass(frozen=True, slots=True)
class LayerEntry:
    path: str  # absolute in the image: "/usr/lib/python3.11/site-packages/x.pth"
    kind: MemberKind
    size: int
    mtime: datetime | None
    data: Data | None  # regular files only
    linkname: str = ""  # a symlink's target as written; a hard link's target path in the image


@dataclass(frozen=True, slots=True)
class LayerIndex:
    digest: str  # of the blob as stored
    diff_id: str | None  # sha256 of the uncompressed tar, when asked for
    compression: Compression
    size: int  # of the blob as stored
    entries: tuple[LayerEntry, ...]
    whiteouts: tuple[str, ...]  # paths deleted from the layers below
    opaque: tuple[str, ...]  # directories whose contents from the layers below are hidden
    notes: tuple[str, ...]  # one line each: absolute names read as relative, no end marker
    dropped: tuple[str, ...]  # one line each: members not read (names escaping the root)
    kept: tuple[int, int]  # bytes kept by ``Keeper``: (always-read files, other small files)


@dataclass(slots=True)
class Keeper:
    """Which bytes of a compressed layer's files stay in memory (see the module docstring)."""

    limits: ImageLimits
    # The checks' own choice of paths they read (``FileChecker.wants``): when given, exactly
    # those files (and ``worth_keeping`` ones) are kept, and no other small file is.
    wants: Callable[[str], bool] | None = None
    startup: int = 0
    other: int = 0
    spent_files: int = 0  # small files not kept once the budget was spent
    large_files: int = 0  # files over small_file_bytes not kept

    def keep(self, path: str, size: int) -> int | str:
        """How many leading bytes of the file to keep, or why none are."""
        if size == 0:
            return 0
        wanted = min(size, MAX_READ)
        limits = self.limits
        chosen = worth_keeping(path) or (self.wants is not None and self.wants(path))
        if chosen and self.startup + wanted <= limits.max_kept_startup_bytes:
            self.startup += wanted
            return wanted
        if self.wants is not None and not chosen:
            return "in a compressed layer, on a path the checks do not read"
        if size > limits.small_file_bytes:
            self.large_files += 1
            return (
                f"{size} bytes in a compressed layer: only files up to {limits.small_file_bytes} bytes "
                "are kept for the checks"
            )
        if self.other + size > limits.max_kept_bytes:
            self.spent_files += 1
            return (
                f"in a compressed layer, after the {limits.max_kept_bytes // (1024 * 1024)} MiB kept "
                "for the checks were spent"
            )
        self.other += size
        return size

    def release(self, kept: tuple[int, int]) -> None:
        """Give back what a layer kept when the layer is thrown away (a digest mismatch)."""
        self.startup -= kept[0]
        self.other -= kept[1]


def layer_path(name: str) -> tuple[str | None, str | None]:
    """The absolute path a layer member lands on, and a one-line issue with its name.

    Names that climb out of the root (``../x``) are not read: Docker refuses such a layer. A
    leading ``/`` is dropped, as Docker and tar do, and reported.
    """
    depth = 0
    for part in name.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return None, f"member name escapes the image root: {name!r} (not read)"
        elif part not in ("", "."):
            depth += 1
    issue = f"absolute member name {name!r} (read as inside the image)" if name.startswith("/") else None
    return posixpath.normpath("/" + name.lstrip("/")), issue


def index_layer(
    blob: Blob,
    *,
    where: str,
    limits: ImageLimits,
    budget: ByteBudget,
    keeper: Keeper,
    expected: str | None = None,
    diff_id: str | None = None,
) -> LayerIndex:
    """Read one layer blob to its end and check it against its digest and diff_id.

    ``ImageError`` (``LimitExceeded``) when the layer cannot be used: the caller skips it.
    A blob that does not hash to ``expected`` is reported as such even when it is also corrupt.
    """
    algorithm = expected.partition(":")[0] if expected else "sha256"
    stream = BlobStream(
        blob.reader,
        where=where,
        limits=limits,
        budget=budget,
        algorithm=algorithm,
        hash_output=diff_id is not None,
    )
    kept_before = (keeper.startup, keeper.other)
    try:
        if stream.compression is Compression.ZSTD:
            raise UnsupportedLayer(
                f"{where} is zstd-compressed: not supported (no zstd decoder in Python 3.11)"
            )
        index = _read_layer(stream, blob, where, limits, keeper)
        stream.drain(decompress=diff_id is not None)
    except BudgetExhausted:
        raise
    except (ArtifactError, OSError) as exc:
        keeper.release((keeper.startup - kept_before[0], keeper.other - kept_before[1]))
        if expected is not None and not isinstance(exc, UnsupportedLayer):
            actual = expected
            with contextlib.suppress(ArtifactError, OSError):
                stream.drain()
                actual = stream.digest()
            if actual != expected:
                raise _mismatch(where, actual, expected) from exc
        if isinstance(exc, OSError):
            raise ImageError(f"{where} cannot be read: {exc.strerror or exc}") from exc
        raise
    kept = (keeper.startup - kept_before[0], keeper.other - kept_before[1])
    problem: ImageError | None = None
    if expected is not None and stream.digest() != expected:
        problem = _mismatch(where, stream.digest(), expected)
    elif diff_id is not None and stream.output_digest() != diff_id:
        problem = ImageError(
            f"{where}: its uncompressed tar hashes to {short_digest(stream.output_digest() or '')}, "
            f"the image config's diff_id is {short_digest(diff_id)} (layer not read)"
        )
    if problem is not None:
        keeper.release(kept)
        raise problem
    return replace(
        index,
        digest=stream.digest(),
        diff_id=stream.output_digest(),
        compression=stream.compression,
        size=stream.raw_size,
        kept=kept,
    )


def _mismatch(where: str, actual: str, expected: str) -> ImageError:
    return ImageError(
        f"{where}: digest mismatch, the blob hashes to {short_digest(actual)}, the manifest says "
        f"{short_digest(expected)} (layer not read)"
    )


def _read_layer(
    stream: BlobStream, blob: Blob, where: str, limits: ImageLimits, keeper: Keeper
) -> LayerIndex:
    in_place = blob.stored_at if stream.compression is Compression.NONE else None
    tar = TarStream(
        stream,
        where=where,
        max_members=limits.max_layer_members,
        max_extension_bytes=limits.max_extension_bytes,
    )
    entries: list[LayerEntry] = []
    whiteouts: list[str] = []
    opaque: list[str] = []
    notes: list[str] = []
    dropped: list[str] = []
    for header in tar:
        path, issue = layer_path(header.name)
        if issue is not None:
            (notes if path is not None else dropped).append(issue)
        if path is None or path == "/":
            continue
        parent, base = posixpath.split(path)
        if base == OPAQUE:
            opaque.append(parent)
            continue
        if base.startswith(WHITEOUT):
            if not base.startswith(OPAQUE[:8]) and base != WHITEOUT:  # .wh..wh.* is aufs metadata
                whiteouts.append(posixpath.join(parent, base[len(WHITEOUT) :]))
            continue
        data: Data | None = None
        linkname = header.linkname
        if header.kind is MemberKind.FILE:
            if in_place is not None:
                data = InPlace(in_place.file, in_place.offset + header.offset, header.size)
            else:
                decision = keeper.keep(path, header.size)
                data = tar.read(decision) if isinstance(decision, int) else NotKept(decision)
        elif header.kind is MemberKind.HARDLINK:
            target, _ = layer_path(linkname)
            if target is None:
                dropped.append(f"hard link {path} points out of the image root: {linkname!r} (not followed)")
                continue
            linkname = target
        entries.append(LayerEntry(path, header.kind, header.size, _when(header.mtime), data, linkname))
    if not tar.ended:
        notes.append("it ends without a tar end-of-archive marker: it may be cut short")
    return LayerIndex(
        digest="",
        diff_id=None,
        compression=stream.compression,
        size=0,
        entries=tuple(entries),
        whiteouts=tuple(whiteouts),
        opaque=tuple(opaque),
        notes=tuple(notes),
        dropped=tuple(dropped),
        kept=(0, 0),
    )


def _when(mtime: float | None) -> datetime | None:
    if mtime is None:
        return None
    try:
        return datetime.fromtimestamp(mtime, UTC)
    except (OverflowError, OSError, ValueError):
        return None


# -- stacking --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Node:
    kind: MemberKind
    layer: int  # position (0 = base) of the layer that put it there
    size: int
    mtime: datetime | None
    data: Data | None  # regular files, hard links resolved to their target's bytes
    linkname: str  # symbolic links: the target as written, never resolved
    entry: LayerEntry | None  # None for a directory no entry named (implied by a file under it)


@dataclass(frozen=True, slots=True)
class Removed:
    """A file a later layer (or a later entry of its own layer) removed from the view."""

    path: str
    node: Node
    removed_by: int  # layer position
    how: str  # "deleted by", "hidden by an opaque directory in", "replaced by"


@dataclass
class Overlay:
    """The filesystem after each applied layer; ``removed`` is what the layers took away."""

    nodes: dict[str, Node] = field(default_factory=dict)
    children: dict[str, set[str]] = field(default_factory=lambda: {"/": set()})
    removed: list[Removed] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)

    def apply(self, position: int, layer: LayerIndex) -> None:
        # Whiteouts apply to the layers below only: before this layer's own entries.
        for path in layer.whiteouts:
            self._remove(path, position, "deleted by")
        for directory in layer.opaque:
            for child in sorted(self.children.get(directory, ())):
                self._remove(child, position, "hidden by an opaque directory in")
        for entry in layer.entries:
            self._add(position, entry)

    def files(self) -> list[tuple[str, Node]]:
        return sorted((p, n) for p, n in self.nodes.items() if n.kind is MemberKind.FILE)

    def links(self) -> dict[str, str]:
        return {p: n.linkname for p, n in sorted(self.nodes.items()) if n.kind is MemberKind.SYMLINK}

    def _add(self, position: int, entry: LayerEntry) -> None:
        path = entry.path
        self._ensure_parents(path, position)
        existing = self.nodes.get(path)
        if existing is not None:
            if existing.kind is MemberKind.DIRECTORY and entry.kind is MemberKind.DIRECTORY:
                self.nodes[path] = self._node(position, entry, entry.kind)
                return
            self._remove(path, position, "replaced by", replacing=entry)
        node = self._resolve(position, entry)
        if node is None:
            return
        self.nodes[path] = node
        self.children.setdefault(posixpath.dirname(path), set()).add(path)
        if node.kind is MemberKind.DIRECTORY:
            self.children.setdefault(path, set())

    def _resolve(self, position: int, entry: LayerEntry) -> Node | None:
        if entry.kind is not MemberKind.HARDLINK:
            return self._node(position, entry, entry.kind)
        target = self.nodes.get(entry.linkname)
        if target is None or target.kind not in (MemberKind.FILE, MemberKind.SYMLINK):
            self.issues.append(
                f"hard link {entry.path} points to {entry.linkname}, which is not a file in the image "
                "(not followed)"
            )
            return None
        return Node(target.kind, position, target.size, entry.mtime, target.data, target.linkname, entry)

    @staticmethod
    def _node(position: int, entry: LayerEntry, kind: MemberKind) -> Node:
        return Node(kind, position, entry.size, entry.mtime, entry.data, entry.linkname, entry)

    def _ensure_parents(self, path: str, position: int) -> None:
        missing: list[str] = []
        parent = posixpath.dirname(path)
        while parent != "/" and parent not in self.nodes:
            missing.append(parent)
            parent = posixpath.dirname(parent)
        for directory in reversed(missing):
            self.nodes[directory] = Node(MemberKind.DIRECTORY, position, 0, None, None, "", None)
            self.children.setdefault(posixpath.dirname(directory), set()).add(directory)
            self.children.setdefault(directory, set())

    def _remove(self, path: str, position: int, how: str, replacing: LayerEntry | None = None) -> None:
        if path not in self.nodes:
            return
        self.children.get(posixpath.dirname(path), set()).discard(path)
        todo = [path]
        while todo:
            current = todo.pop()
            node = self.nodes.pop(current)
            todo.extend(self.children.pop(current, ()))
            # The same blob applied twice (a repeated layer) replaces a file with itself: no history.
            if node.kind is MemberKind.FILE and (replacing is None or node.entry is not replacing):
                self.removed.append(Removed(current, node, position, how))
