"""Where an image's blobs are, and which of them are its layers, in order.

Two formats, read from three kinds of container:

* ``docker save``: a tar with ``manifest.json`` (a list of ``{"Config", "RepoTags", "Layers"}``,
  paths inside the tar). Docker 25+ writes its blobs under ``blobs/sha256/`` and an OCI layout
  beside it; ``manifest.json`` is still what ``docker load`` reads, so it is what is read here.
* OCI image layout (image-spec ``image-layout.md``): ``oci-layout``, ``index.json`` listing
  manifests (or nested indexes), blobs under ``blobs/<alg>/<hex>``. A directory, or a tar of one.

A tar may be plain (read by seeking: a blob stored in it is read in place) or gzip-compressed
(``docker save | gzip``: streamed, once to list it and once more to read the layers).

Nothing is opened by a name the image chose: inside a tar, names only pick members; in a
directory only ``oci-layout``, ``index.json`` and ``blobs/<alg>/<hex>`` of a checked digest are
opened, never through a symbolic link.
"""

from __future__ import annotations

import abc
import hashlib
import json
import os
import posixpath
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from depvet.artifacts.tarformat import BLOCK, MemberKind
from depvet.hunt.imagelimits import ImageError, ImageLimits
from depvet.hunt.imagetar import (
    BlobStream,
    Compression,
    FileBlocks,
    FileSection,
    RawReader,
    TarHeader,
    TarStream,
    sniff_compression,
)
from depvet.hunt.model import Skipped

DIGEST = re.compile(r"(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})\Z")
_BLOB_NAME = re.compile(r"blobs/(sha256/[0-9a-f]{64}|sha512/[0-9a-f]{128})\Z")
_LEGACY_CONFIG = re.compile(r"([0-9a-f]{64})\.json\Z")
_LINK_HOPS = 8

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
_REF_NAME = "org.opencontainers.image.ref.name"
_IMAGE_NAME = "io.containerd.image.name"
_REFERENCE_TYPE = "vnd.docker.reference.type"


def blob_name(digest: str) -> str:
    """``blobs/<alg>/<hex>`` of a digest already checked against ``DIGEST``."""
    algorithm, _, hexdigest = digest.partition(":")
    return f"blobs/{algorithm}/{hexdigest}"


def digest_of_name(name: str) -> str | None:
    """The digest a content-addressed name promises (``blobs/sha256/<hex>``, legacy
    ``<hex>.json`` configs), or None."""
    match = _BLOB_NAME.fullmatch(name)
    if match is not None:
        return match.group(1).replace("/", ":", 1)
    legacy = _LEGACY_CONFIG.fullmatch(name)
    return None if legacy is None else f"sha256:{legacy.group(1)}"


def member_name(name: str) -> str | None:
    """A tar member or manifest path as a key: no ``./``, no doubled slashes; None if it escapes."""
    depth = 0
    for part in name.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return None
        elif part not in ("", "."):
            depth += 1
    return posixpath.normpath("/" + name).lstrip("/")


@dataclass(frozen=True, slots=True)
class StoredAt:
    """Where a blob's raw bytes lie in a plain file, so that members can be re-read in place."""

    file: Path
    offset: int


@dataclass(frozen=True, slots=True)
class Blob:
    name: str
    size: int
    reader: RawReader
    stored_at: StoredAt | None


class Container(abc.ABC):
    """The files of an image as a name → bytes store: a directory, a tar, a gzipped tar."""

    kind: str

    def __init__(self, path: Path, limits: ImageLimits) -> None:
        self.path = path
        self.limits = limits

    @abc.abstractmethod
    def resolve(self, name: str) -> str | None:
        """The canonical name of a stored file (links inside a tar followed), or None if absent."""

    @abc.abstractmethod
    def read_small(self, name: str) -> bytes:
        """A JSON document of the image, whole; ``ImageError`` when absent or too large."""

    @abc.abstractmethod
    def blobs(self, names: Sequence[str]) -> Iterator[Blob]:
        """Readers for the named (resolved) blobs, in any order; each is valid until the next."""

    def has(self, name: str) -> bool:
        return self.resolve(name) is not None

    def _too_large(self, name: str, size: int) -> ImageError:
        return ImageError(
            f"{self.path}: {name} is {size} bytes, over the {self.limits.max_json_bytes} read for a document"
        )


class DirectoryContainer(Container):
    kind = "directory"

    def __init__(self, path: Path, limits: ImageLimits) -> None:
        super().__init__(path, limits)
        self._root = os.path.realpath(path)

    def resolve(self, name: str) -> str | None:
        if name not in ("oci-layout", "index.json") and _BLOB_NAME.fullmatch(name) is None:
            return None  # only layout names, never a path the image made up
        full = self._full(name)
        try:
            info = os.lstat(full)
        except OSError:
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        if not os.path.realpath(full).startswith(self._root + os.sep):
            return None  # a directory on the way is a link out of the layout
        return name

    def read_small(self, name: str) -> bytes:
        if self.resolve(name) is None:
            raise ImageError(f"{self.path}: {name} is missing")
        with self._open(name) as handle:
            data = handle.read(self.limits.max_json_bytes + 1)
        if len(data) > self.limits.max_json_bytes:
            raise self._too_large(name, len(data))
        return data

    def blobs(self, names: Sequence[str]) -> Iterator[Blob]:
        for name in names:
            file = Path(self._root, *name.split("/"))
            with self._open(name) as handle:
                size = os.fstat(handle.fileno()).st_size
                yield Blob(name, size, FileSection(handle, 0, size), StoredAt(file, 0))

    def _full(self, name: str) -> str:
        return str(Path(self._root).joinpath(*name.split("/")))

    def _open(self, name: str) -> BinaryIO:
        full = self._full(name)
        try:
            descriptor = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise ImageError(f"{self.path}: cannot open {name}: {exc.strerror}") from exc
        return os.fdopen(descriptor, "rb")


class _TarContainer(Container):
    """Member lookups shared by plain and gzipped tars: names, links between members."""

    def __init__(self, path: Path, limits: ImageLimits) -> None:
        super().__init__(path, limits)
        self.members: dict[str, TarHeader] = {}

    def _add(self, header: TarHeader) -> None:
        if len(self.members) >= self.limits.max_container_members:
            raise ImageError(f"{self.path} holds more than {self.limits.max_container_members} members")
        name = member_name(header.name)
        if name:
            self.members[name] = header  # a later member of the same name wins, as on extraction

    def resolve(self, name: str) -> str | None:
        key = member_name(name)
        for _ in range(_LINK_HOPS):
            if not key:
                return None
            header = self.members.get(key)
            if header is None:
                return None
            if header.kind is MemberKind.FILE:
                return key
            if header.kind is MemberKind.SYMLINK:
                # Legacy `docker save` links a repeated layer to the first copy: ../<id>/layer.tar
                if header.linkname.startswith("/"):
                    return None
                key = member_name(posixpath.join(posixpath.dirname(key), header.linkname))
            elif header.kind is MemberKind.HARDLINK:
                key = member_name(header.linkname)
            else:
                return None
        return None


class TarContainer(_TarContainer):
    """A plain tar: headers read by seeking, blobs read in place."""

    kind = "tar"

    def __init__(self, path: Path, limits: ImageLimits) -> None:
        super().__init__(path.resolve(), limits)
        try:
            with self.path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                tar = TarStream(
                    FileBlocks(handle, size),
                    where=str(path),
                    max_members=limits.max_container_members,
                    max_extension_bytes=limits.max_extension_bytes,
                )
                for header in tar:
                    self._add(header)
        except OSError as exc:
            raise ImageError(f"cannot read {path}: {exc.strerror or exc}") from exc
        if not tar.ended:
            raise ImageError(f"{path} is truncated (the tar has no end-of-archive marker)")

    def read_small(self, name: str) -> bytes:
        key = self.resolve(name)
        if key is None:
            raise ImageError(f"{self.path}: {name} is missing")
        header = self.members[key]
        if header.size > self.limits.max_json_bytes:
            raise self._too_large(name, header.size)
        with self.path.open("rb") as handle:
            handle.seek(header.offset)
            return handle.read(header.size)

    def blobs(self, names: Sequence[str]) -> Iterator[Blob]:
        with self.path.open("rb") as handle:
            for name in names:
                header = self.members[name]
                section = FileSection(handle, header.offset, header.size)
                yield Blob(name, header.size, section, StoredAt(self.path, header.offset))


class GzipTarContainer(_TarContainer):
    """A gzipped tar (``docker save | gzip``): streamed once to list it and keep its documents,
    and once more to read the layers, in the order they are stored."""

    kind = "gzip-tar"

    def __init__(self, path: Path, limits: ImageLimits) -> None:
        super().__init__(path.resolve(), limits)
        self._documents: dict[str, bytes] = {}
        with self._stream() as tar:
            for header in tar:
                self._add(header)
                if header.kind is MemberKind.FILE and 0 < header.size <= limits.max_json_bytes:
                    head = tar.read(1)
                    if head == b"{" or head == b"[":  # JSON: a manifest, an index, a config
                        key = member_name(header.name)
                        if key:
                            self._documents[key] = head + tar.read(header.size - 1)
            if not tar.ended:
                raise ImageError(f"{path} is truncated (the tar has no end-of-archive marker)")

    def read_small(self, name: str) -> bytes:
        key = self.resolve(name)
        if key is None:
            raise ImageError(f"{self.path}: {name} is missing")
        if key not in self._documents:
            size = self.members[key].size
            if size > self.limits.max_json_bytes:
                raise self._too_large(name, size)
            return b""  # empty or not JSON: the caller says it is not valid JSON
        return self._documents[key]

    def blobs(self, names: Sequence[str]) -> Iterator[Blob]:
        wanted = set(names)
        with self._stream() as tar:
            for header in tar:
                key = member_name(header.name)
                if key in wanted and self.members.get(key) == header:
                    wanted.discard(key)
                    yield Blob(key, header.size, tar, None)
                    if not wanted:
                        return

    def _stream(self) -> _OpenTar:
        return _OpenTar(self.path, self.limits)


class _OpenTar:
    """A gzipped tar file opened as a ``TarStream`` for one ``with`` block."""

    def __init__(self, path: Path, limits: ImageLimits) -> None:
        self._path = path
        self._limits = limits
        self._handle: BinaryIO | None = None

    def __enter__(self) -> TarStream:
        try:
            self._handle = self._path.open("rb")
        except OSError as exc:
            raise ImageError(f"cannot read {self._path}: {exc.strerror or exc}") from exc
        size = os.fstat(self._handle.fileno()).st_size
        where = str(self._path)
        stream = BlobStream(FileSection(self._handle, 0, size), where=where, limits=self._limits, budget=None)
        return TarStream(
            stream,
            where=where,
            max_members=self._limits.max_container_members,
            max_extension_bytes=self._limits.max_extension_bytes,
        )

    def __exit__(self, *exc_info: object) -> None:
        if self._handle is not None:
            self._handle.close()


def open_container(path: Path, limits: ImageLimits) -> Container:
    """The container at ``path``; ``ImageError`` when it is none of the three kinds."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            return DirectoryContainer(path, limits)
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(f"{path} is neither a file nor a directory")
        with path.open("rb") as handle:
            head = handle.read(BLOCK)
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    compression = sniff_compression(head)
    if compression is Compression.GZIP:
        return GzipTarContainer(path, limits)
    if compression is not Compression.NONE:
        raise ImageError(f"{path} is a {compression}-compressed file: decompress it to read the image")
    return TarContainer(path, limits)


# -- which layers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LayerRef:
    number: int  # 1 is the base layer
    blob: str  # its name in the container
    digest: str | None  # what the blob must hash to; None where nothing says (legacy layer.tar)
    media_type: str | None = None
    size: int | None = None  # from the descriptor
    diff_id: str | None = None  # sha256 of the uncompressed tar, from the image config
    urls: tuple[str, ...] = ()
    problem: str | None = None  # why it cannot be read at all, found in the manifest already


@dataclass(frozen=True, slots=True)
class ImagePlan:
    format: str  # "docker-save" or "oci"
    layers: tuple[LayerRef, ...]
    tags: tuple[str, ...] = ()
    platform: str | None = None
    notes: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()


def plan_image(container: Container) -> ImagePlan:
    """The layers of the image in ``container``; ``ImageError`` when it holds no image."""
    if container.kind != "directory" and container.has("manifest.json"):
        return _DockerSave(container).plan()
    if container.has("oci-layout") and container.has("index.json"):
        return _OciLayout(container).plan()
    what = "an OCI layout" if container.kind == "directory" else "a docker save tarball or an OCI layout"
    raise ImageError(f"{container.path} is not {what} (no manifest.json, no oci-layout with index.json)")


class _Planner:
    def __init__(self, container: Container) -> None:
        self.container = container
        self.limits = container.limits
        self.notes: list[str] = []
        self.skipped: list[Skipped] = []

    def document(self, name: str, what: str, digest: str | None = None) -> Any:
        data = self.container.read_small(name)
        if digest is not None:
            algorithm, _, expected = digest.partition(":")
            actual = hashlib.new(algorithm, data).hexdigest()
            if actual != expected:
                self.notes.append(f"{what} does not match its digest {short_digest(digest)}: read anyway")
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            reason = "nested too deep" if isinstance(exc, RecursionError) else str(exc)
            raise ImageError(f"{self.container.path}: {what} is not valid JSON ({reason})") from None

    def _optional(self, name: str, what: str, digest: str | None) -> dict[str, Any] | None:
        """A document the layers do not depend on (the image config): unreadable is a note."""
        try:
            document = self.document(name, what, digest)
        except ImageError as exc:
            self.notes.append(f"{exc} (ignored)")
            return None
        return document if isinstance(document, dict) else None

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append(Skipped(f"{self.container.path}!{name}", reason))


class _DockerSave(_Planner):
    def plan(self) -> ImagePlan:
        entries = self.document("manifest.json", "manifest.json")
        if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
            raise ImageError(f"{self.container.path}: manifest.json is not a list of images")
        entry: dict[str, Any] = entries[0]
        tags = _tag_list(entry)
        for number, other in enumerate(entries[1:], start=2):
            named = ", ".join(_tag_list(other)) or "untagged"
            self.skip(
                "manifest.json", f"image {number} of {len(entries)} ({named}) not read: one image per hunt"
            )
        names = _strings(entry.get("Layers"), "manifest.json[0].Layers", self.container)
        config = self._config(entry.get("Config"))
        diff_ids = _diff_ids(config, len(names))
        layers = []
        for number, name in enumerate(names, start=1):
            key = member_name(name)
            if not key:
                problem = f"manifest.json names it outside the tar: {name!r}"
                layers.append(LayerRef(number, f"layer-{number}", None, problem=problem))
                continue
            diff_id = diff_ids[number - 1] if diff_ids else None
            layers.append(LayerRef(number, key, digest_of_name(key), diff_id=diff_id))
        return ImagePlan(
            "docker-save",
            tuple(layers),
            tags=tuple(tags),
            platform=_config_platform(config),
            notes=tuple(self.notes),
            skipped=tuple(self.skipped),
        )

    def _config(self, name: object) -> dict[str, Any] | None:
        key = member_name(name) if isinstance(name, str) else None
        if not key or not self.container.has(key):
            self.notes.append(
                "the image config named by manifest.json is missing: layers not checked against it"
            )
            return None
        return self._optional(key, f"config {key}", digest_of_name(key))


@dataclass(slots=True)
class _Candidate:
    descriptor: dict[str, Any]
    where: str
    platform: str | None
    tags: list[str] = field(default_factory=list)


class _OciLayout(_Planner):
    def plan(self) -> ImagePlan:
        layout = self.document("oci-layout", "oci-layout")
        if not isinstance(layout, dict) or "imageLayoutVersion" not in layout:
            self.notes.append("oci-layout has no imageLayoutVersion")
        candidates: list[_Candidate] = []
        self._collect(self.document("index.json", "index.json"), "index.json", 0, candidates)
        if not candidates:
            raise ImageError(f"{self.container.path}: index.json lists no image manifest")
        chosen = _choose(candidates)
        digest = chosen.descriptor["digest"]
        manifest = self.document(blob_name(digest), f"manifest {short_digest(digest)}", digest)
        if not isinstance(manifest, dict) or not isinstance(manifest.get("layers"), list):
            raise ImageError(f"{self.container.path}: manifest {short_digest(digest)} has no list of layers")
        config = self._config(manifest.get("config"))
        platform = chosen.platform or _config_platform(config)
        if len(candidates) > 1:
            listed = ", ".join(c.platform or "unknown platform" for c in candidates)
            self.notes.append(
                f"index.json lists {len(candidates)} images ({listed}); read {platform or 'the first'} "
                f"({short_digest(digest)})"
            )
        layers = [self._layer(number, item) for number, item in enumerate(manifest["layers"], start=1)]
        return ImagePlan(
            "oci",
            tuple(layers),
            tags=tuple(chosen.tags),
            platform=platform,
            notes=tuple(self.notes),
            skipped=tuple(self.skipped),
        )

    def _collect(self, index: Any, where: str, depth: int, out: list[_Candidate]) -> None:
        if depth > self.limits.max_index_depth:
            raise ImageError(f"{self.container.path}: image indexes nested more than {depth - 1} deep")
        manifests = index.get("manifests") if isinstance(index, dict) else None
        if not isinstance(manifests, list):
            raise ImageError(f"{self.container.path}: {where} has no list of manifests")
        for position, descriptor in enumerate(manifests):
            at = f"{where} manifests[{position}]"
            if not isinstance(descriptor, dict):
                raise ImageError(f"{self.container.path}: {at} is not a descriptor")
            digest = descriptor.get("digest")
            if not isinstance(digest, str) or DIGEST.fullmatch(digest) is None:
                self.notes.append(f"{at} has an unusable digest {str(digest)[:80]!r}: not read")
                continue
            if not self.container.has(blob_name(digest)):
                self.notes.append(f"{at} ({short_digest(digest)}) is not in the layout: not read")
                continue
            media_type = descriptor.get("mediaType")
            if media_type in INDEX_TYPES:
                nested = self.document(blob_name(digest), f"index {short_digest(digest)}", digest)
                self._collect(nested, f"index {short_digest(digest)}", depth + 1, out)
            elif media_type in MANIFEST_TYPES and not _is_attestation(descriptor):
                out.append(
                    _Candidate(descriptor, at, _platform(descriptor.get("platform")), _tags(descriptor))
                )

    def _config(self, descriptor: object) -> dict[str, Any] | None:
        digest = descriptor.get("digest") if isinstance(descriptor, dict) else None
        if not isinstance(digest, str) or DIGEST.fullmatch(digest) is None:
            self.notes.append("the manifest names no usable config: platform unknown")
            return None
        if not self.container.has(blob_name(digest)):
            self.notes.append(f"the image config {short_digest(digest)} is not in the layout")
            return None
        return self._optional(blob_name(digest), f"config {short_digest(digest)}", digest)

    def _layer(self, number: int, descriptor: object) -> LayerRef:
        if not isinstance(descriptor, dict):
            raise ImageError(f"{self.container.path}: layer {number} of the manifest is not a descriptor")
        digest = descriptor.get("digest")
        media_type = descriptor.get("mediaType")
        size = descriptor.get("size")
        urls = descriptor.get("urls")
        if not isinstance(digest, str) or DIGEST.fullmatch(digest) is None:
            problem = f"the manifest gives it an unusable digest {str(digest)[:80]!r}"
            return LayerRef(number, f"layer-{number}", None, problem=problem)
        return LayerRef(
            number,
            blob_name(digest),
            digest,
            media_type=media_type if isinstance(media_type, str) else None,
            size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            urls=tuple(u for u in urls if isinstance(u, str)) if isinstance(urls, list) else (),
        )


def _choose(candidates: list[_Candidate]) -> _Candidate:
    for candidate in candidates:
        if candidate.platform is not None and candidate.platform.startswith("linux/amd64"):
            return candidate
    return candidates[0]


def _is_attestation(descriptor: dict[str, Any]) -> bool:
    """BuildKit lists provenance and SBOM attestations as manifests for platform unknown/unknown."""
    annotations = descriptor.get("annotations")
    if (
        isinstance(annotations, dict)
        and annotations.get("vnd.docker.reference.type") == "attestation-manifest"
    ):
        return True
    platform = descriptor.get("platform")
    return isinstance(platform, dict) and platform.get("os") == "unknown"


def _platform(value: object) -> str | None:
    if not isinstance(value, dict):
        return None
    parts = [value.get("os"), value.get("architecture"), value.get("variant")]
    words = [part for part in parts if isinstance(part, str) and part]
    return "/".join(words) or None


def _config_platform(config: dict[str, Any] | None) -> str | None:
    return None if config is None else _platform(config)


def _tags(descriptor: dict[str, Any]) -> list[str]:
    annotations = descriptor.get("annotations")
    if not isinstance(annotations, dict):
        return []
    names = [annotations.get(_IMAGE_NAME), annotations.get(_REF_NAME)]
    return [name for name in names if isinstance(name, str) and name][:1]


def _diff_ids(config: dict[str, Any] | None, count: int) -> list[str] | None:
    rootfs = config.get("rootfs") if config is not None else None
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or len(diff_ids) != count:
        return None
    if not all(isinstance(d, str) and DIGEST.fullmatch(d) for d in diff_ids):
        return None
    return [str(d) for d in diff_ids]


def _tag_list(entry: object) -> list[str]:
    tags = entry.get("RepoTags") if isinstance(entry, dict) else None
    return [tag for tag in tags if isinstance(tag, str)] if isinstance(tags, list) else []


def _strings(value: object, where: str, container: Container) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ImageError(f"{container.path}: {where} is not a list of strings")
    return [str(item) for item in value]


def short_digest(digest: str) -> str:
    """``sha256:0123456789ab…``: enough to tell layers apart in a message."""
    algorithm, _, hexdigest = digest.partition(":")
    return f"{algorithm}:{hexdigest[:12]}…" if hexdigest else digest
