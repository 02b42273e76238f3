"""Hunt inside a container image without running it: the files a container would see, and the
files its layers deleted but still ship.

``read_image`` reads a ``docker save`` tarball or an OCI image layout (a directory, or a tar of
one; see ``imageformat``), indexes each layer (``imagelayers``: plain layers are re-read in
place, compressed ones keep a bounded set of bytes), stacks the layers with their whiteouts,
and returns the final filesystem as ``VirtualFile``s plus the history: files a later layer
deleted, hid or replaced. ``hunt_image`` runs the hunt's per-file checks on both; a finding on
history is one severity lower than the same finding in the running filesystem, and says which
layer added the file and which removed it.

Image contents are data: nothing is extracted, imported or run; no path inside the image is
ever opened on the host, and links are recorded, never followed.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Protocol, cast

from depvet.artifacts.limits import MIB
from depvet.artifacts.tarformat import BLOCK
from depvet.errors import ArtifactError, BudgetExhausted, DepvetError
from depvet.hunt.imageformat import (
    Container,
    ImagePlan,
    digest_of_name,
    member_name,
    open_container,
    plan_image,
    short_digest,
)
from depvet.hunt.imagelayers import Data, InPlace, Keeper, LayerIndex, NotKept, Overlay, index_layer
from depvet.hunt.imagelimits import DEFAULT_IMAGE_LIMITS, ByteBudget, ImageError, ImageLimits
from depvet.hunt.imagetar import CHUNK, BlobStream, Compression, FileBlocks, TarStream, sniff_compression
from depvet.hunt.model import Finding, ImageSummary, Skipped
from depvet.hunt.vfs import MAX_READ, VirtualFile

__all__ = [
    "CheckTree",
    "HistoricFile",
    "ImageError",
    "ImageHunt",
    "ImageLayer",
    "ImageView",
    "hunt_image",
    "is_image",
    "read_image",
]

_SNIFF_MEMBERS = 4096  # tar headers is_image looks at before it says no
_SNIFF_BYTES = 4 * MIB  # of a gzipped tar
_MARKERS = frozenset({"manifest.json", "oci-layout"})


class CheckTree(Protocol):
    """``depvet.hunt.filechecks.check_tree``: every per-file check of the hunt, on a tree."""

    def __call__(
        self,
        files: Iterable[VirtualFile],
        *,
        environment: str,
        layer_of: Callable[[str], str | None] | None = None,
    ) -> list[Finding]: ...


@dataclass(frozen=True, slots=True)
class ImageLayer:
    number: int  # 1 is the base layer
    digest: str | None  # of the blob as stored (a legacy layer.tar: computed, as nothing names it)
    compression: str | None  # "tar", "gzip", ...; None when the layer was not read
    read: bool  # False: skipped (see ``skipped``), its files and deletions are missing


@dataclass(frozen=True, slots=True)
class HistoricFile:
    """A file a layer added and a later layer removed: not in the running filesystem, still in the image."""

    file: VirtualFile
    layer: ImageLayer  # the layer that added it
    removed_by: int  # number of the layer that removed it
    how: str  # "deleted by", "hidden by an opaque directory in", "replaced by"

    @property
    def note(self) -> str:
        digest = f" ({short_digest(self.layer.digest)})" if self.layer.digest else ""
        if self.removed_by == self.layer.number:
            removed = "replaced later in the same layer"
        else:
            removed = f"{self.how} layer {self.removed_by}"
        added = f"in layer {self.layer.number}{digest}"
        return f"{added}, {removed}: not in the running filesystem, still in the image"


@dataclass(frozen=True, slots=True)
class ImageView:
    path: str  # as given: the prefix of every ``VirtualFile.shown``
    format: str  # "docker-save" or "oci"
    layers: tuple[ImageLayer, ...]
    files: tuple[VirtualFile, ...]  # the final filesystem: regular files, hard links resolved
    history: tuple[HistoricFile, ...]
    links: Mapping[str, str]  # symbolic links of the final filesystem: path -> target as written
    file_layers: Mapping[str, str | None]  # path of a final file -> digest of the layer that added it
    tags: tuple[str, ...] = ()
    platform: str | None = None
    notes: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    def layer_of(self, path: str) -> str | None:
        """The digest of the layer that added a final file, by its path or its ``shown`` name."""
        return self.file_layers.get(self.inner(path))

    def inner(self, path: str) -> str:
        """``/tmp/img.tar!/usr/x`` -> ``/usr/x``; an inner path is returned as it is."""
        prefix = f"{self.path}!"
        return path[len(prefix) :] if path.startswith(prefix) else path


@dataclass(frozen=True, slots=True)
class ImageHunt:
    summary: ImageSummary
    findings: tuple[Finding, ...]  # worst first; the final filesystem's, then the history's
    skipped: tuple[Skipped, ...]
    files: int  # regular files the checks were given: the final filesystem's and the history's
    notes: tuple[str, ...] = ()  # which image and platform was read, what was not kept
    tags: tuple[str, ...] = ()
    platform: str | None = None
    layers: tuple[str | None, ...] = ()  # layer digests, base first


def hunt_image(
    path: Path,
    *,
    check_tree: CheckTree | None = None,
    wants: Callable[[str], bool] | None = None,
    limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
) -> ImageHunt:
    """Run the hunt's file checks on an image; ``DepvetError`` (one line) when it cannot be read.

    ``wants``, the checks' path filter (``FileChecker.wants``), lets compressed layers keep only
    the files the checks will read (see ``depvet.hunt.imagelayers``).
    """
    checks = check_tree if check_tree is not None else _default_check_tree()
    view = read_image(path, wants=wants, limits=limits)
    environment = view.path
    final = [
        _with_layer(finding, view.layer_of(finding.path) or view.layer_of(f"{finding.path}/METADATA"))
        for finding in checks(view.files, environment=environment, layer_of=view.layer_of)
    ]
    history, deleted = _check_history(view, checks, environment)
    findings = sorted([*final, *history], key=lambda f: -f.severity.rank)
    summary = ImageSummary(
        path=view.path,
        format=view.format,
        layers=len(view.layers),
        findings=len(findings),
        deleted_later=tuple(sorted(deleted)),
    )
    return ImageHunt(
        summary=summary,
        findings=tuple(findings),
        skipped=view.skipped,
        files=len(view.files) + len(view.history),
        notes=view.notes,
        tags=view.tags,
        platform=view.platform,
        layers=tuple(layer.digest for layer in view.layers),
    )


def read_image(
    path: Path,
    *,
    wants: Callable[[str], bool] | None = None,
    limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
) -> ImageView:
    """The final filesystem and the history of the image at ``path``."""
    try:
        container = open_container(path, limits)
        plan = plan_image(container)
        if len(plan.layers) > limits.max_layers:
            raise ImageError(f"{path} has {len(plan.layers)} layers, over the {limits.max_layers} read")
        return _Reader(path, container, plan, limits, Keeper(limits, wants)).run()
    except OSError as exc:  # the disk, not the image: still one line
        raise ImageError(f"cannot read {path}: {exc.strerror or exc}") from exc


def is_image(path: Path) -> bool:
    """A cheap sniff: a tar holding ``manifest.json`` or ``oci-layout``, or a directory with
    ``oci-layout``. A gzipped tar is looked into for its first 4 MiB only: there a big image shows
    content-addressed blobs (``blobs/sha256/<hex>``, ``<hex>/layer.tar``) and a small one the
    markers themselves."""
    try:
        if path.is_dir():
            return (path / "oci-layout").is_file() and not (path / "oci-layout").is_symlink()
        with path.open("rb") as handle:
            head = handle.read(BLOCK)
            compression = sniff_compression(head)
            if compression is Compression.GZIP:
                return _sniff_gzip(path)
            if compression is not Compression.NONE or len(head) < BLOCK:
                return False
            size = os.fstat(handle.fileno()).st_size
            tar = TarStream(
                FileBlocks(handle, size), where=str(path), max_members=_SNIFF_MEMBERS, max_extension_bytes=MIB
            )
            return any(_is_marker(header.name) for header in tar)
    except (OSError, DepvetError):
        return False


def _sniff_gzip(path: Path) -> bool:
    # Inflating goes a chunk at a time: the limit stops a long member's data, the loop the rest.
    cap = _SNIFF_BYTES + 2 * CHUNK
    limits = ImageLimits(max_layer_bytes=cap, ratio_floor_bytes=cap)
    blob_like = False
    try:
        with path.open("rb") as handle:
            stream = BlobStream(handle, where=str(path), limits=limits, budget=None)
            tar = TarStream(stream, where=str(path), max_members=_SNIFF_MEMBERS, max_extension_bytes=MIB)
            for header in tar:
                if _is_marker(header.name):
                    return True
                blob_like = blob_like or _blob_like(header.name)
                if stream.position > _SNIFF_BYTES:
                    break
    except DepvetError:
        pass  # past the bytes looked at, or corrupt: judge by the names seen
    return blob_like


def _blob_like(name: str) -> bool:
    """``blobs/sha256/<hex>`` (OCI, Docker 25+) or legacy docker save's ``<hex>/layer.tar``."""
    key = member_name(name) or ""
    if digest_of_name(key) is not None and key.startswith("blobs/"):
        return True
    head, _, rest = key.partition("/")
    return rest == "layer.tar" and len(head) == 64 and all(c in "0123456789abcdef" for c in head)


def _is_marker(name: str) -> bool:
    return name.removeprefix("./").lstrip("/") in _MARKERS


# -- reading ---------------------------------------------------------------------------------


class _Reader:
    def __init__(
        self, path: Path, container: Container, plan: ImagePlan, limits: ImageLimits, keeper: Keeper
    ) -> None:
        self.shown = str(path)
        self.container = container
        self.plan = plan
        self.limits = limits
        self.notes = list(plan.notes)
        self.skipped = list(plan.skipped)
        self.keeper = keeper

    def run(self) -> ImageView:
        blob_of = self._blobs()
        indexes = self._index(blob_of)
        overlay = Overlay()
        layers: list[ImageLayer] = []
        for position, ref in enumerate(self.plan.layers):
            key = blob_of.get(ref.number)
            index = indexes.get(key) if key is not None else None
            if index is None:
                layers.append(ImageLayer(ref.number, ref.digest, None, False))
                continue
            layers.append(ImageLayer(ref.number, ref.digest or index.digest, str(index.compression), True))
            overlay.apply(position, index)
            where = f"{self.shown}!{ref.blob}"
            self.notes.extend(f"layer {ref.number}: {note}" for note in index.notes)
            self.skipped.extend(Skipped(where, f"layer {ref.number}: {item}") for item in index.dropped)
        self.skipped.extend(Skipped(self.shown, issue) for issue in overlay.issues)
        unread = [str(layer.number) for layer in layers if not layer.read]
        if unread:
            self.notes.append(
                f"layer {', '.join(unread)} not read: the filesystem shown lacks its files and its deletions"
            )
        self._keeper_report()
        digests = [layer.digest for layer in layers]
        files: list[VirtualFile] = []
        file_layers: dict[str, str | None] = {}
        for inner, node in overlay.files():
            files.append(self._file(inner, node.size, node.mtime, node.data))
            file_layers[inner] = digests[node.layer]
        history = tuple(
            HistoricFile(
                self._file(gone.path, gone.node.size, gone.node.mtime, gone.node.data),
                layers[gone.node.layer],
                gone.removed_by + 1,
                gone.how,
            )
            for gone in overlay.removed
        )
        return ImageView(
            path=self.shown,
            format=self.plan.format,
            layers=tuple(layers),
            files=tuple(files),
            history=history,
            links=overlay.links(),
            file_layers=file_layers,
            tags=self.plan.tags,
            platform=self.plan.platform,
            notes=tuple(self.notes),
            skipped=tuple(self.skipped),
        )

    def _blobs(self) -> dict[int, str]:
        """Layer number -> the container's name for its blob, for the layers that have one."""
        blob_of: dict[int, str] = {}
        for ref in self.plan.layers:
            where = f"{self.shown}!{ref.blob}"
            if ref.problem is not None:
                self.skipped.append(Skipped(where, f"layer {ref.number}: {ref.problem} (not read)"))
                continue
            key = self.container.resolve(ref.blob)
            if key is None:
                urls = f"; the manifest points to {', '.join(ref.urls)}" if ref.urls else ""
                self.skipped.append(
                    Skipped(where, f"layer {ref.number}: its blob is not in the image (not read){urls}")
                )
                continue
            blob_of[ref.number] = key
        return blob_of

    def _index(self, blob_of: dict[int, str]) -> dict[str, LayerIndex]:
        """Each blob read once, top layer first: its files are kept before the base OS's."""
        refs = {ref.number: ref for ref in self.plan.layers}
        first_ref: dict[str, int] = {}
        for number in sorted(blob_of, reverse=True):
            first_ref.setdefault(blob_of[number], number)
        budget = ByteBudget(self.limits.max_total_bytes)
        indexes: dict[str, LayerIndex] = {}
        for blob in self.container.blobs(list(first_ref)):
            ref = refs[first_ref[blob.name]]
            label = short_digest(ref.digest) if ref.digest else ref.blob
            where = f"layer {ref.number} ({label})"
            try:
                index = index_layer(
                    blob,
                    where=where,
                    limits=self.limits,
                    budget=budget,
                    keeper=self.keeper,
                    expected=ref.digest,
                    diff_id=ref.diff_id if ref.digest is None else None,
                )
            except BudgetExhausted:
                raise
            except ArtifactError as exc:  # corrupt, a digest mismatch, zstd, a bomb: this layer only
                self.skipped.append(Skipped(f"{self.shown}!{blob.name}", str(exc)))
                continue
            if ref.size is not None and ref.size != index.size:
                self.notes.append(f"{where}: the manifest says {ref.size} bytes, the blob has {index.size}")
            indexes[blob.name] = index
        return indexes

    def _keeper_report(self) -> None:
        keeper = self.keeper
        if keeper.spent_files:
            self.skipped.append(
                Skipped(
                    self.shown,
                    f"{keeper.spent_files} small files of compressed layers not kept for the checks: "
                    f"the {self.limits.max_kept_bytes // MIB} MiB kept were spent (their paths were checked)",
                )
            )
        if keeper.large_files:
            self.notes.append(
                f"{keeper.large_files} files over {self.limits.small_file_bytes // MIB} MiB in compressed "
                "layers were not kept: checks by content did not read them"
            )

    def _file(self, inner: str, size: int, modified: datetime | None, data: Data | None) -> VirtualFile:
        return VirtualFile(inner, size, modified, _reader(data), f"{self.shown}!{inner}")


def _reader(data: Data | None) -> Callable[[], bytes]:
    if isinstance(data, InPlace):
        return partial(_read_in_place, data)
    if isinstance(data, bytes):
        return partial(_kept, data[:MAX_READ])
    reason = data.reason if isinstance(data, NotKept) else "no data"
    return partial(_not_kept, reason)


def _read_in_place(place: InPlace) -> bytes:
    wanted = min(place.size, MAX_READ)
    descriptor = os.open(place.file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as handle:
        handle.seek(place.offset)
        data = handle.read(wanted)
    if len(data) != wanted:
        raise OSError(f"{place.file} changed since it was read")
    return data


def _kept(data: bytes) -> bytes:
    return data


def _not_kept(reason: str) -> bytes:
    raise OSError(f"not read: {reason}")


# -- checking --------------------------------------------------------------------------------


def _default_check_tree() -> CheckTree:
    try:
        module = importlib.import_module("depvet.hunt.filechecks")
    except ImportError as exc:
        raise DepvetError("the hunt's file checks (depvet.hunt.filechecks) are not available") from exc
    return cast(CheckTree, module.check_tree)


def _with_layer(finding: Finding, digest: str | None) -> Finding:
    return finding if finding.layer is not None or digest is None else replace(finding, layer=digest)


def _check_history(view: ImageView, checks: CheckTree, environment: str) -> tuple[list[Finding], set[str]]:
    """Findings on files the layers removed: one severity lower, with the layer that added them.

    The checks run once per (adding layer, removing layer, how) group, where a path is unique,
    so ``layer_of`` is one digest for the whole call.
    """
    groups: dict[tuple[int, int, str], list[HistoricFile]] = {}
    for item in view.history:
        groups.setdefault((item.layer.number, item.removed_by, item.how), []).append(item)
    final = {file.path: file for file in view.files}
    findings: list[Finding] = []
    deleted: set[str] = set()
    for items in groups.values():
        digest = items[0].layer.digest
        by_path = {item.file.path: item for item in items}
        found = checks([item.file for item in items], environment=environment, layer_of=_constant(digest))
        for finding in found:
            match = _match(by_path, view.inner(finding.path))
            if match is not None and _still_there(match, final):
                continue  # replaced by the same bytes: the final filesystem's finding says it all
            findings.append(
                replace(
                    finding,
                    severity=finding.severity.lowered(1),
                    layer=digest,
                    evidence=f"{finding.evidence}; {items[0].note}",
                )
            )
            if match is not None:
                deleted.add(match.file.path)
    return findings, deleted


def _match(by_path: Mapping[str, HistoricFile], inner: str) -> HistoricFile | None:
    """The file a finding is about: its path, or the one file of a folder it names (a dist-info)."""
    exact = by_path.get(inner)
    if exact is not None:
        return exact
    inside = [item for path, item in by_path.items() if path.startswith(inner + "/")]
    return inside[0] if len(inside) == 1 else None


def _still_there(item: HistoricFile, final: Mapping[str, VirtualFile]) -> bool:
    current = final.get(item.file.path)
    if current is None or item.how != "replaced by" or current.size != item.file.size:
        return False
    try:
        return current.read() == item.file.read()
    except OSError:
        return False


def _constant(digest: str | None) -> Callable[[str], str | None]:
    def layer_of(_path: str) -> str | None:
        return digest

    return layer_of
