"""Container images read layer by layer, as data: built here as bytes, never run, no docker daemon.

The compromised image stacks a base with a benign site-packages, a layer adding litellm 1.82.8
(its METADATA and an inert ``litellm_init.pth``), and a layer deleting the ``.pth`` with a
whiteout: the final filesystem has the dist-info, the ``.pth`` is history still in the image.
"""

from __future__ import annotations

import builtins
import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depvet.artifacts.tarformat import list_members
from depvet.errors import DepvetError
from depvet.hunt.imageformat import member_name
from depvet.hunt.imagelayers import layer_path, worth_keeping
from depvet.hunt.imagelimits import ImageError, ImageLimits
from depvet.hunt.images import ImageHunt, hunt_image, is_image, read_image
from depvet.hunt.imagetar import BlobStream, FileSection, TarStream
from depvet.hunt.model import Finding, FindingKind
from depvet.hunt.vfs import VirtualFile
from depvet.model import Severity
from tests.payloads import payload_pth

SITE = "usr/local/lib/python3.11/site-packages"
PTH = f"/{SITE}/litellm_init.pth"
BAD_METADATA = f"/{SITE}/litellm-1.82.8.dist-info/METADATA"
GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
PLAIN = "application/vnd.oci.image.layer.v1.tar"
ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"

# -- building images as bytes ---------------------------------------------------------------

Member = tuple[str, str, bytes, str]  # kind, name, data, link target


def file(name: str, data: str | bytes) -> Member:
    return ("file", name, data.encode() if isinstance(data, str) else data, "")


def folder(name: str) -> Member:
    return ("dir", name, b"", "")


def symlink(name: str, target: str) -> Member:
    return ("symlink", name, b"", target)


def hardlink(name: str, target: str) -> Member:
    return ("hardlink", name, b"", target)


def whiteout(path: str) -> Member:
    parent, _, base = path.rpartition("/")
    return file(f"{parent}/.wh.{base}", b"")


def opaque(directory: str) -> Member:
    return file(f"{directory}/.wh..wh..opq", b"")


def layer_tar(members: Sequence[Member]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, data, target in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1_774_000_000
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE}[
                kind
            ]
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


def outer_tar(files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@dataclass
class Layer:
    members: Sequence[Member]
    compress: bool = False
    blob: bytes | None = None  # bytes stored instead of the built tar (corrupt, zstd)
    media_type: str | None = None

    @property
    def tar(self) -> bytes:
        return layer_tar(self.members)

    @property
    def stored(self) -> bytes:
        if self.blob is not None:
            return self.blob
        return gz(self.tar) if self.compress else self.tar

    @property
    def type(self) -> str:
        return self.media_type or (GZ if self.compress else PLAIN)


def config(layers: Sequence[Layer], architecture: str = "amd64") -> bytes:
    diff_ids = [f"sha256:{sha(layer.tar)}" for layer in layers]
    document = {
        "architecture": architecture,
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "RUN pip install litellm"}],
    }
    return json.dumps(document).encode()


def docker_save(
    layers: Sequence[Layer], *, tags: Sequence[str] = ("app:latest",), blobs: bool = False
) -> bytes:
    """Legacy (``<id>/layer.tar``) or Docker 25+ (``blobs/sha256/…``) ``docker save`` output."""
    files: dict[str, bytes] = {}
    cfg = config(layers)
    names = []
    for number, layer in enumerate(layers):
        if blobs:
            name = f"blobs/sha256/{sha(layer.stored)}"
        else:
            name = f"{sha(layer.stored + bytes([number]))}/layer.tar"
            files[f"{name.split('/')[0]}/VERSION"] = b"1.0"
        files[name] = layer.stored
        names.append(name)
    config_name = f"blobs/sha256/{sha(cfg)}" if blobs else f"{sha(cfg)}.json"
    files[config_name] = cfg
    manifest = [{"Config": config_name, "RepoTags": list(tags), "Layers": names}]
    if blobs:
        files["oci-layout"] = b'{"imageLayoutVersion": "1.0.0"}'
        files["index.json"] = b'{"schemaVersion": 2, "manifests": []}'
    files["manifest.json"] = json.dumps(manifest).encode()
    return outer_tar(files)


def descriptor(media_type: str, data: bytes, **extra: object) -> dict[str, object]:
    return {"mediaType": media_type, "digest": f"sha256:{sha(data)}", "size": len(data), **extra}


def oci_image(
    files: dict[str, bytes], layers: Sequence[Layer], architecture: str = "amd64"
) -> dict[str, object]:
    """Blobs of one image into ``files``; its manifest's descriptor."""
    cfg = config(layers, architecture)
    files[f"blobs/sha256/{sha(cfg)}"] = cfg
    for layer in layers:
        files[f"blobs/sha256/{sha(layer.stored)}"] = layer.stored
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor("application/vnd.oci.image.config.v1+json", cfg),
            "layers": [descriptor(layer.type, layer.stored) for layer in layers],
        }
    ).encode()
    files[f"blobs/sha256/{sha(manifest)}"] = manifest
    platform = {"os": "linux", "architecture": architecture}
    return descriptor(OCI_MANIFEST, manifest, platform=platform)


def oci_layout(layers: Sequence[Layer]) -> dict[str, bytes]:
    files: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}
    manifest = oci_image(files, layers)
    manifest["annotations"] = {"org.opencontainers.image.ref.name": "app:latest"}
    files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [manifest]}).encode()
    return files


def write_dir(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


FORMATS = ("docker-save", "docker-save-blobs", "docker-save-gzip", "oci-dir", "oci-tar")


def build(tmp_path: Path, kind: str, layers: Sequence[Layer]) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    if kind == "docker-save":
        data = docker_save(layers)
    elif kind == "docker-save-blobs":
        data = docker_save(layers, blobs=True)
    elif kind == "docker-save-gzip":
        data = gz(docker_save(layers))
    elif kind == "oci-dir":
        return write_dir(tmp_path / "layout", oci_layout(layers))
    elif kind == "oci-tar":
        data = outer_tar(oci_layout(layers))
    else:
        raise ValueError(kind)
    path = tmp_path / "image.tar"
    path.write_bytes(data)
    return path


BASE = [
    folder("usr"),
    folder(SITE),
    file(f"{SITE}/requests/__init__.py", "__version__ = '2.32.3'\n"),
    file(
        f"{SITE}/requests-2.32.3.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\n",
    ),
    file(f"{SITE}/requests-2.32.3.dist-info/RECORD", "requests/__init__.py,,\n"),
    file(f"{SITE}/extra-paths.pth", "/opt/extra\n"),
    file("etc/passwd", "root:x:0:0:image-root:/root:/bin/sh\n"),
]
COMPROMISED = [
    file(BAD_METADATA[1:], "Metadata-Version: 2.1\nName: litellm\nVersion: 1.82.8\n"),
    file(PTH[1:], payload_pth("litellm")),
]
CLEAN = [
    file(
        f"{SITE}/litellm-1.82.6.dist-info/METADATA", "Metadata-Version: 2.1\nName: litellm\nVersion: 1.82.6\n"
    ),
    file(f"{SITE}/build-notes.txt", "temporary\n"),
]


def compromised(compress: Sequence[bool] = (True, False, True)) -> list[Layer]:
    return [
        Layer(BASE, compress[0]),
        Layer(COMPROMISED, compress[1]),
        Layer([whiteout(PTH[1:]), file("app/main.py", "print('hello')\n")], compress[2]),
    ]


def clean() -> list[Layer]:
    return [Layer(BASE, True), Layer(CLEAN), Layer([whiteout(f"{SITE}/build-notes.txt")], True)]


# -- a stand-in for depvet.hunt.filechecks.check_tree ---------------------------------------


@dataclass
class FakeChecks:
    """Flags a ``.pth`` with a line Python runs (``import``), and the METADATA of litellm 1.82.8."""

    calls: list[list[str]] = field(default_factory=list)
    reads: dict[str, bytes] = field(default_factory=dict)

    def __call__(
        self,
        files: Iterable[VirtualFile],
        *,
        environment: str,
        layer_of: Callable[[str], str | None] | None = None,
    ) -> list[Finding]:
        found = []
        files = list(files)
        self.calls.append([f.path for f in files])
        for item in files:
            if not item.path.endswith((".pth", "/METADATA")):
                continue
            data = item.read()
            self.reads[item.shown] = data
            layer = layer_of(item.path) if layer_of else None
            if item.path.endswith(".pth") and any(line.startswith(b"import") for line in data.splitlines()):
                found.append(
                    Finding(
                        FindingKind.STARTUP_CODE,
                        Severity.CRITICAL,
                        item.shown,
                        "start-up code",
                        data.decode()[:40],
                        environment=environment,
                        layer=layer,
                    )
                )
            if b"Name: litellm\nVersion: 1.82.8" in data:
                found.append(
                    Finding(
                        FindingKind.KNOWN_BAD_INSTALLED,
                        Severity.CRITICAL,
                        item.shown.rsplit("/", 1)[0],  # the dist-info folder, as the real check names it
                        "known-bad release",
                        "litellm 1.82.8",
                        release="litellm==1.82.8",
                        environment=environment,
                    )
                )
        return found


def layer_digest(layer: Layer) -> str:
    return f"sha256:{sha(layer.stored)}"


def paths(hunt_files: Iterable[VirtualFile]) -> set[str]:
    return {f.path for f in hunt_files}


def finding_on(hunt: ImageHunt, suffix: str) -> Finding:
    (match,) = [f for f in hunt.findings if f.path.endswith(suffix)]
    return match


# -- the compromised image and its clean pair -----------------------------------------------


@pytest.mark.parametrize("kind", FORMATS)
def test_final_view_has_the_dist_info_and_history_the_deleted_pth(tmp_path: Path, kind: str) -> None:
    layers = compromised()
    path = build(tmp_path, kind, layers)

    view = read_image(path)
    final = paths(view.files)
    assert BAD_METADATA in final
    assert PTH not in final
    assert f"/{SITE}/requests/__init__.py" in final
    assert "/app/main.py" in final
    assert view.format == ("oci" if kind.startswith("oci") else "docker-save")
    assert [layer.read for layer in view.layers] == [True, True, True]
    (gone,) = [h for h in view.history if h.file.path == PTH]
    assert gone.layer.number == 2
    assert gone.removed_by == 3
    assert gone.file.read() == payload_pth("litellm").encode()
    assert view.layer_of(BAD_METADATA) == layer_digest(layers[1])

    checks = FakeChecks()
    hunt = hunt_image(path, check_tree=checks)
    assert hunt.summary.layers == 3
    assert hunt.summary.deleted_later == (PTH,)
    assert hunt.summary.findings == 2 == len(hunt.findings)
    assert hunt.files == len(view.files) + len(view.history)

    installed = finding_on(hunt, "litellm-1.82.8.dist-info")
    assert installed.severity is Severity.CRITICAL
    assert installed.layer == layer_digest(layers[1])  # filled in from the path the finding names
    assert installed.path == f"{path}!{BAD_METADATA.rsplit('/', 1)[0]}"

    startup = finding_on(hunt, "litellm_init.pth")
    assert startup.severity is Severity.HIGH  # one step below the same finding in the final view
    assert startup.layer == layer_digest(layers[1])
    short = layer_digest(layers[1])[:19]
    assert (
        f"in layer 2 ({short}…), deleted by layer 3: not in the running filesystem, still in the image"
        in (startup.evidence)
    )
    assert hunt.findings[0] is installed  # worst first


@pytest.mark.parametrize("kind", FORMATS)
def test_clean_image_has_no_findings(tmp_path: Path, kind: str) -> None:
    hunt = hunt_image(build(tmp_path, kind, clean()), check_tree=FakeChecks())
    assert hunt.findings == ()
    assert hunt.summary.findings == 0
    assert hunt.summary.deleted_later == ()
    assert hunt.skipped == ()


def test_the_same_pth_in_the_final_view_is_critical(tmp_path: Path) -> None:
    layers = [Layer(BASE), Layer(COMPROMISED, True)]
    hunt = hunt_image(build(tmp_path, "oci-dir", layers), check_tree=FakeChecks())
    startup = finding_on(hunt, "litellm_init.pth")
    assert startup.severity is Severity.CRITICAL
    assert startup.layer == layer_digest(layers[1])
    assert "still in the image" not in startup.evidence
    assert hunt.summary.deleted_later == ()


def test_opaque_directory_hides_everything_below_it(tmp_path: Path) -> None:
    fresh = f"/{SITE}/fresh-1.0.dist-info/METADATA"
    layers = [
        Layer(BASE, True),
        Layer(COMPROMISED, True),
        # the opaque marker and a file of its own layer: the file stays, the lower layers' go
        Layer([opaque(SITE), file(fresh[1:], "Name: fresh\nVersion: 1.0\n")]),
    ]
    path = build(tmp_path, "docker-save", layers)
    view = read_image(path)
    under_site = {p for p in paths(view.files) if p.startswith(f"/{SITE}/")}
    assert under_site == {fresh}
    hidden = {h.file.path: h for h in view.history}
    assert {PTH, BAD_METADATA, f"/{SITE}/requests/__init__.py"} <= set(hidden)
    assert hidden[PTH].how == "hidden by an opaque directory in"

    hunt = hunt_image(path, check_tree=FakeChecks())
    assert set(hunt.summary.deleted_later) == {PTH, BAD_METADATA}
    assert all(f.severity is Severity.HIGH for f in hunt.findings)
    assert "hidden by an opaque directory in layer 3" in finding_on(hunt, "litellm_init.pth").evidence


def test_whiteout_of_a_directory_and_a_replaced_file(tmp_path: Path) -> None:
    layers = [
        Layer(BASE),
        Layer(COMPROMISED),
        Layer([whiteout(f"{SITE}/litellm-1.82.8.dist-info"), file(PTH[1:], "/opt/other\n")], True),
    ]
    view = read_image(build(tmp_path, "oci-tar", layers))
    assert BAD_METADATA not in paths(view.files)
    (pth,) = [f for f in view.files if f.path == PTH]
    assert pth.read() == b"/opt/other\n"
    history = {h.file.path: h for h in view.history}
    assert history[BAD_METADATA].how == "deleted by"
    assert history[PTH].how == "replaced by"
    assert "replaced by layer 3" in history[PTH].note


def test_a_file_replaced_by_the_same_bytes_is_reported_once(tmp_path: Path) -> None:
    layers = [Layer(BASE), Layer(COMPROMISED), Layer([file(PTH[1:], payload_pth("litellm"))])]  # a chmod
    hunt = hunt_image(build(tmp_path, "docker-save", layers), check_tree=FakeChecks())
    startup = finding_on(hunt, "litellm_init.pth")
    assert startup.severity is Severity.CRITICAL
    assert startup.layer == layer_digest(layers[2])


def test_history_checks_get_one_layer_per_call(tmp_path: Path) -> None:
    checks = FakeChecks()
    hunt_image(build(tmp_path, "oci-dir", compromised()), check_tree=checks)
    final_call, *history_calls = checks.calls
    assert PTH not in final_call
    assert [PTH] in history_calls


# -- layer formats, damage and limits -------------------------------------------------------


@pytest.mark.parametrize("compress", [(False, False, False), (True, True, True), (False, True, False)])
def test_gzip_and_plain_layers_read_alike(tmp_path: Path, compress: tuple[bool, bool, bool]) -> None:
    view = read_image(build(tmp_path, "oci-tar", compromised(compress)))
    assert [layer.compression for layer in view.layers] == ["gzip" if c else "tar" for c in compress]
    contents = {f.path: f.read() for f in view.files}
    assert contents[f"/{SITE}/requests/__init__.py"] == b"__version__ = '2.32.3'\n"
    assert contents[BAD_METADATA].startswith(b"Metadata-Version")


def test_a_blob_with_a_wrong_digest_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    layers = compromised()
    root = build(tmp_path, "oci-dir", layers)
    tampered = root / "blobs" / "sha256" / sha(layers[1].stored)
    tampered.write_bytes(layer_tar([file(f"{SITE}/other.txt", "x")]))

    view = read_image(root)
    (skip,) = view.skipped
    assert "digest mismatch" in skip.reason
    assert "layer 2" in skip.reason
    assert "\n" not in skip.reason
    assert [layer.read for layer in view.layers] == [True, False, True]
    final = paths(view.files)
    assert f"/{SITE}/requests/__init__.py" in final
    assert "/app/main.py" in final
    assert BAD_METADATA not in final
    assert f"/{SITE}/other.txt" not in final


def test_a_truncated_layer_blob_is_a_digest_mismatch(tmp_path: Path) -> None:
    layers = compromised()
    root = build(tmp_path, "oci-dir", layers)
    blob = root / "blobs" / "sha256" / sha(layers[0].stored)
    blob.write_bytes(layers[0].stored[:40])
    view = read_image(root)
    (skip,) = view.skipped
    assert "digest mismatch" in skip.reason
    assert BAD_METADATA in paths(view.files)


def test_a_corrupt_layer_with_a_matching_digest_is_skipped(tmp_path: Path) -> None:
    cut = gz(layer_tar(BASE))[:60]
    layers = [Layer(BASE, blob=cut, media_type=GZ), *compromised()[1:]]
    view = read_image(build(tmp_path, "oci-tar", layers))
    (skip,) = view.skipped
    assert "layer 1" in skip.reason
    assert "gzip" in skip.reason
    assert BAD_METADATA in paths(view.files)


def test_a_zstd_layer_is_reported_as_unsupported(tmp_path: Path) -> None:
    layers = [Layer(BASE, blob=b"\x28\xb5\x2f\xfd" + b"\x00" * 64, media_type=ZSTD), *compromised()[1:]]
    view = read_image(build(tmp_path, "oci-dir", layers))
    (skip,) = view.skipped
    assert "zstd" in skip.reason
    assert view.layers[0].read is False
    assert BAD_METADATA in paths(view.files)


@pytest.mark.parametrize("kind", ["docker-save", "docker-save-gzip", "oci-tar"])
def test_a_truncated_image_tar_is_a_one_line_error(tmp_path: Path, kind: str) -> None:
    path = build(tmp_path, kind, compromised())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DepvetError) as caught:
        hunt_image(path, check_tree=FakeChecks())
    assert isinstance(caught.value, ImageError)
    message = str(caught.value)
    assert "\n" not in message
    assert "truncated" in message


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.txt", b"hello\n" * 200),  # not a tar
        ("plain.tar", outer_tar({"src/app.py": b"print(1)\n"})),  # a tar, not an image
        ("bad-manifest.tar", outer_tar({"manifest.json": b"[{not json"})),
        ("manifest-shape.tar", outer_tar({"manifest.json": b'{"Layers": 3}'})),
        ("empty.tar", b""),
    ],
)
def test_what_is_not_an_image_is_a_one_line_error(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ImageError) as caught:
        read_image(path)
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_decompression_bomb_layer_is_skipped(tmp_path: Path) -> None:
    zeros = Layer([file("var/log/lastlog", b"\x00" * (4 * 1024 * 1024))], True)
    layers = [Layer(BASE), zeros, Layer(COMPROMISED)]
    limits = ImageLimits(ratio_floor_bytes=1024 * 1024, max_ratio=100)
    view = read_image(build(tmp_path, "oci-dir", layers), limits=limits)
    (skip,) = view.skipped
    assert "decompression bomb" in skip.reason
    assert BAD_METADATA in paths(view.files)


def test_the_image_total_budget_is_fatal(tmp_path: Path) -> None:
    limits = ImageLimits(max_total_bytes=8 * 1024)
    with pytest.raises(DepvetError, match="expand to more than"):
        read_image(build(tmp_path, "docker-save", compromised()), limits=limits)


# -- names, links and the host --------------------------------------------------------------


def test_names_escaping_the_root_are_reported_and_never_read(tmp_path: Path) -> None:
    hostile = Layer(
        [
            file("../evil.pth", "import os\n"),
            file("a/../../escape.txt", "x"),
            file("/abs/owned.txt", "absolute"),
            file("./usr/./local/bin/tool", "#!/bin/sh\n"),
            hardlink("usr/hard-out", "../../etc/shadow"),
        ]
    )
    path = build(tmp_path, "docker-save", [Layer(BASE), hostile])
    view = read_image(path)
    reasons = " | ".join(s.reason for s in view.skipped)
    assert "'../evil.pth'" in reasons
    assert "'a/../../escape.txt'" in reasons
    assert "'../../etc/shadow'" in reasons
    assert any("'/abs/owned.txt'" in note for note in view.notes)
    final = paths(view.files)
    assert "/abs/owned.txt" in final
    assert "/usr/local/bin/tool" in final
    assert all(p.startswith("/") and ".." not in p.split("/") and "//" not in p for p in final)
    assert not any(p.endswith(("evil.pth", "escape.txt")) for p in final)
    assert not (tmp_path.parent / "evil.pth").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_links_are_recorded_and_never_followed_to_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    links = Layer(
        [
            symlink(f"{SITE}/evil.pth", "/etc/passwd"),
            symlink(f"{SITE}/up.pth", "../../../../../../etc/passwd"),
            hardlink(f"{SITE}/hard.pth", "etc/passwd"),  # the image's own /etc/passwd
            hardlink(f"{SITE}/missing.pth", "etc/shadow"),  # not in the image
        ]
    )
    path = build(tmp_path, "oci-tar", [Layer(BASE, True), links])
    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(target: object, *args: object, **kwargs: object) -> object:
        opened.append(str(target))
        return real_open(target, *args, **kwargs)  # type: ignore[call-overload]

    def spy_os_open(target: object, *args: object, **kwargs: object) -> int:
        opened.append(str(target))
        return real_os_open(target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    checks = FakeChecks()
    view = read_image(path)
    hunt = hunt_image(path, check_tree=checks)
    monkeypatch.undo()

    assert view.links[f"/{SITE}/evil.pth"] == "/etc/passwd"
    assert view.links[f"/{SITE}/up.pth"] == "../../../../../../etc/passwd"
    files = {f.path: f for f in view.files}
    assert f"/{SITE}/evil.pth" not in files
    assert files[f"/{SITE}/hard.pth"].read() == b"root:x:0:0:image-root:/root:/bin/sh\n"
    assert f"/{SITE}/missing.pth" not in files
    assert any("missing.pth" in s.reason and "not followed" in s.reason for s in hunt.skipped)
    assert not any("passwd" in name or "shadow" in name for name in opened)
    assert set(opened) <= {str(path), str(path.resolve())}
    host_reads = [
        data for shown, data in checks.reads.items() if b"image-root" not in data and b"root:" in data
    ]
    assert host_reads == []


def test_oci_digests_never_become_host_paths(tmp_path: Path) -> None:
    files = oci_layout(compromised())
    index = json.loads(files["index.json"])
    index["manifests"].insert(
        0, {"mediaType": OCI_MANIFEST, "digest": "sha256:../../../../etc/passwd", "size": 1}
    )
    files["index.json"] = json.dumps(index).encode()
    manifest_name = next(
        n
        for n, d in files.items()
        if n.startswith("blobs/") and d.startswith(b'{"schemaVersion": 2, "mediaType"')
    )
    manifest = json.loads(files.pop(manifest_name))
    manifest["layers"][0]["digest"] = "sha256:../../../../../../etc/passwd"
    data = json.dumps(manifest).encode()
    files[f"blobs/sha256/{sha(data)}"] = data
    index["manifests"][1]["digest"] = f"sha256:{sha(data)}"
    files["index.json"] = json.dumps(index).encode()

    view = read_image(write_dir(tmp_path / "layout", files))
    assert any("unusable digest" in note for note in view.notes)
    (skip,) = view.skipped
    assert "unusable digest" in skip.reason
    assert view.layers[0].read is False
    assert BAD_METADATA in paths(view.files)


def test_a_layout_blob_that_is_a_symlink_is_not_read(tmp_path: Path) -> None:
    layers = compromised()
    root = build(tmp_path, "oci-dir", layers)
    blob = root / "blobs" / "sha256" / sha(layers[1].stored)
    blob.unlink()
    (tmp_path / "elsewhere").write_bytes(layers[1].stored)
    blob.symlink_to(tmp_path / "elsewhere")
    view = read_image(root)
    (skip,) = view.skipped
    assert "not in the image" in skip.reason
    assert BAD_METADATA not in paths(view.files)


def test_a_repeated_legacy_layer_linked_in_the_tar(tmp_path: Path) -> None:
    """Legacy docker save stores a repeated layer once and links the second copy to it."""
    empty = layer_tar([folder("tmp")])
    base = layer_tar(BASE)
    cfg = config([Layer(BASE), Layer([folder("tmp")]), Layer([folder("tmp")])])
    files = {"a/layer.tar": base, "b/layer.tar": empty, f"{sha(cfg)}.json": cfg}
    manifest = [
        {
            "Config": f"{sha(cfg)}.json",
            "RepoTags": None,
            "Layers": ["a/layer.tar", "b/layer.tar", "c/layer.tar"],
        }
    ]
    files["manifest.json"] = json.dumps(manifest).encode()
    path = tmp_path / "image.tar"
    path.write_bytes(outer_tar(files, symlinks={"c/layer.tar": "../b/layer.tar"}))
    view = read_image(path)
    assert [layer.read for layer in view.layers] == [True, True, True]
    assert view.layers[1].digest == view.layers[2].digest == f"sha256:{sha(empty)}"
    assert view.history == ()


def test_a_legacy_layer_not_matching_its_diff_id_is_skipped(tmp_path: Path) -> None:
    layers = compromised((False, False, False))
    data = docker_save(layers)
    swapped = data.replace(
        layers[1].stored, layer_tar([file(f"{SITE}/x.pth", "import x\n"), *COMPROMISED[:1]])
    )
    path = tmp_path / "image.tar"
    path.write_bytes(swapped)
    view = read_image(path)
    (skip,) = view.skipped
    assert "diff_id" in skip.reason


# -- platforms and documents ----------------------------------------------------------------


def _multi_platform(tmp_path: Path, architectures: Sequence[str], nested: bool = True) -> Path:
    files: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}
    manifests = []
    for architecture in architectures:
        layers = [Layer([file("arch.txt", architecture), *BASE], True)]
        manifests.append(oci_image(files, layers, architecture))
    attestation = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}).encode()
    files[f"blobs/sha256/{sha(attestation)}"] = attestation
    manifests.append(
        descriptor(
            OCI_MANIFEST,
            attestation,
            platform={"os": "unknown", "architecture": "unknown"},
            annotations={"vnd.docker.reference.type": "attestation-manifest"},
        )
    )
    listing = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}).encode()
    if nested:
        files[f"blobs/sha256/{sha(listing)}"] = listing
        top = {"schemaVersion": 2, "manifests": [descriptor(OCI_INDEX, listing)]}
        files["index.json"] = json.dumps(top).encode()
    else:
        files["index.json"] = listing
    return write_dir(tmp_path / "layout", files)


def test_a_multi_platform_index_reads_linux_amd64_and_says_so(tmp_path: Path) -> None:
    view = read_image(_multi_platform(tmp_path, ["arm64", "amd64", "s390x"]))
    assert view.platform == "linux/amd64"
    contents = {f.path: f.read() for f in view.files}
    assert contents["/arch.txt"] == b"amd64"
    (note,) = [n for n in view.notes if "lists 3 images" in n]
    assert "linux/arm64, linux/amd64, linux/s390x" in note
    assert "read linux/amd64" in note


def test_without_linux_amd64_the_first_image_is_read(tmp_path: Path) -> None:
    view = read_image(_multi_platform(tmp_path, ["arm64", "ppc64le"], nested=False))
    assert view.platform == "linux/arm64"
    assert {f.path: f.read() for f in view.files}["/arch.txt"] == b"arm64"


def test_tags_platform_and_a_second_image_in_a_docker_save(tmp_path: Path) -> None:
    data = docker_save(compromised(), tags=("app:1", "app:latest"))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        manifest = json.loads(member.read())
        rest = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.name != "manifest.json"}  # type: ignore[union-attr]
    manifest.append({**manifest[0], "RepoTags": ["other:2"]})
    path = tmp_path / "two.tar"
    path.write_bytes(outer_tar({**rest, "manifest.json": json.dumps(manifest).encode()}))
    hunt = hunt_image(path, check_tree=FakeChecks())
    assert hunt.tags == ("app:1", "app:latest")
    assert hunt.platform == "linux/amd64"
    assert any("other:2" in s.reason and "not read" in s.reason for s in hunt.skipped)


# -- memory: what is kept from compressed layers ---------------------------------------------


def test_plain_layers_are_read_in_place(tmp_path: Path) -> None:
    path = build(tmp_path, "docker-save", compromised((False, False, False)))
    view = read_image(path)
    metadata = next(f for f in view.files if f.path == BAD_METADATA)
    assert metadata.read().startswith(b"Metadata-Version")
    path.write_bytes(b"")  # the bytes were never copied: a read goes back to the file
    with pytest.raises(OSError, match="changed"):
        metadata.read()


def test_compressed_layers_keep_what_the_checks_read(tmp_path: Path) -> None:
    big = file("opt/data/blob.bin", b"x" * 4096)
    small = [file(f"opt/small/{n}.txt", b"y" * 100) for n in range(10)]
    layers = [Layer([*BASE, big, *small], True), Layer(COMPROMISED, True)]
    limits = ImageLimits(small_file_bytes=1024, max_kept_bytes=500)
    view = read_image(build(tmp_path, "oci-dir", layers), limits=limits)
    files = {f.path: f for f in view.files}
    assert files[BAD_METADATA].read().startswith(b"Metadata-Version")  # always kept
    assert files[f"/{SITE}/extra-paths.pth"].read() == b"/opt/extra\n"
    with pytest.raises(OSError, match="only files up to 1024 bytes"):
        files["/opt/data/blob.bin"].read()
    unread = [p for p in files if p.startswith("/opt/small/") and _unreadable(files[p])]
    # 500 bytes kept, top layer first: the base's own small files (59 bytes), then 4 of the 10
    assert len(unread) == 6
    assert any("6 small files" in s.reason for s in view.skipped)
    assert any("1 files over" in n for n in view.notes)


def test_with_the_checks_path_filter_only_those_files_are_kept(tmp_path: Path) -> None:
    layers = [Layer([*BASE, file("opt/ioc/miner", b"\x7fELF" + b"\x00" * 2_000_000)], True)]
    view = read_image(build(tmp_path, "oci-dir", layers), wants=lambda p: p.endswith("/miner"))
    files = {f.path: f for f in view.files}
    assert files["/opt/ioc/miner"].read().startswith(b"\x7fELF")
    with pytest.raises(OSError, match="do not read"):
        files[f"/{SITE}/requests/__init__.py"].read()
    assert files[f"/{SITE}/requests-2.32.3.dist-info/METADATA"].read().startswith(b"Metadata")


def _unreadable(item: VirtualFile) -> bool:
    try:
        item.read()
    except OSError:
        return True
    return False


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        (f"/{SITE}/litellm_init.pth", True),
        ("/usr/lib/python3/dist-packages/x-1.0.dist-info/RECORD", True),
        ("/usr/lib/python3.11/sitecustomize.py", True),
        ("/etc/systemd/system/sysmon.service", True),
        ("/root/.config/systemd/user/x.service", True),
        ("/var/spool/cron/crontabs/root", True),
        ("/etc/cron.d/job", True),
        ("/home/app/.bashrc", True),
        ("/root/.config/autostart/x.desktop", True),
        ("/usr/share/doc/readme.pth", False),
        (f"/{SITE}/requests/__init__.py", False),
    ],
)
def test_paths_always_kept(path: str, kept: bool) -> None:
    assert worth_keeping(path) is kept


# -- sniffing -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", FORMATS)
def test_is_image_on_images(tmp_path: Path, kind: str) -> None:
    assert is_image(build(tmp_path, kind, clean()))


@pytest.mark.parametrize("kind", ["oci", "docker-save"])
def test_is_image_on_a_big_gzipped_tar_judges_by_its_first_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Past the bytes looked at (4 MiB, 64 KiB here) the markers are out of sight: blob names tell."""
    monkeypatch.setattr("depvet.hunt.images._SNIFF_BYTES", 64 * 1024)
    layers = [Layer([file("opt/noise.bin", os.urandom(256 * 1024))]), Layer(BASE)]
    if kind == "oci":
        files = oci_layout(layers)
        blobs_first = {
            f"./{n}": d for n, d in sorted(files.items(), key=lambda item: not item[0].startswith("blobs/"))
        }
        data = outer_tar(blobs_first)
    else:
        data = docker_save(layers)  # <hex>/layer.tar first, manifest.json last
    path = tmp_path / "image.tar.gz"
    path.write_bytes(gz(data))
    assert is_image(path)
    assert f"/{SITE}/requests/__init__.py" in paths(read_image(path).files)


def test_is_image_on_other_things(tmp_path: Path) -> None:
    (tmp_path / "plain.tar").write_bytes(outer_tar({"src/app.py": b"print(1)\n"}))
    (tmp_path / "plain.tar.gz").write_bytes(gz(outer_tar({"src/app.py": b"print(1)\n"})))
    (tmp_path / "text.txt").write_text("manifest.json\n" * 100)
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "index.json").write_text("{}")
    for name in ("plain.tar", "plain.tar.gz", "text.txt", "empty", "folder", "missing"):
        assert not is_image(tmp_path / name), name


# -- the streaming tar reader reads members as tarformat (and tarfile) do --------------------


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_stream_reader_agrees_with_tarformat(fmt: int) -> None:
    long_dir = "d" * 120
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for name, data in [
            (f"{long_dir}/m.txt" if fmt != tarfile.USTAR_FORMAT else "a/m.txt", b"one"),
            ("b", b""),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("c/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "../b"
        tar.addfile(link)
        directory = tarfile.TarInfo("c/sub")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
    raw = buffer.getvalue()
    expected = [(m.name, m.kind, m.offset, m.size, m.linkname) for m in list_members(raw).members]
    for stored in (raw, gz(raw)):
        stream = BlobStream(io.BytesIO(stored), where="t", limits=ImageLimits(), budget=None)
        tar_stream = TarStream(stream, where="t", max_members=100, max_extension_bytes=1 << 20)
        got = [(h.name, h.kind, h.offset, h.size, h.linkname) for h in tar_stream]
        assert got == expected
        assert tar_stream.ended


def test_a_multi_member_gzip_layer_is_read_whole() -> None:
    raw = layer_tar(BASE)
    stored = gz(raw[:1024]) + gz(raw[1024:])
    stream = BlobStream(io.BytesIO(stored), where="t", limits=ImageLimits(), budget=None)
    assert stream.read(len(raw) + 10) == raw
    stream.drain()
    assert stream.digest() == f"sha256:{sha(stored)}"


def test_file_section_stops_at_its_end() -> None:
    section = FileSection(io.BytesIO(b"0123456789"), 2, 5)  # type: ignore[arg-type]
    assert section.read(3) + section.read(10) + section.read(1) == b"23456"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("usr/lib/x", ("/usr/lib/x", None)),
        ("./usr//lib/./x", ("/usr/lib/x", None)),
        ("a/../b", ("/b", None)),
        ("../x", (None, "member name escapes the image root: '../x' (not read)")),
    ],
)
def test_layer_paths(name: str, expected: tuple[str | None, str | None]) -> None:
    assert layer_path(name) == expected
    assert layer_path("/etc/x")[0] == "/etc/x"
    assert member_name("./blobs/sha256/../x") == "blobs/x"
    assert member_name("../x") is None


# -- with the hunt's real checks --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["docker-save", "oci-dir"])
def test_with_the_real_file_checks(tmp_path: Path, kind: str) -> None:
    pytest.importorskip("depvet.hunt.filechecks")
    layers = compromised()
    bad = hunt_image(build(tmp_path / "bad", kind, layers))
    history = [f for f in bad.findings if f.path.endswith("litellm_init.pth")]
    assert history
    assert all("deleted by layer 3" in f.evidence for f in history)
    assert all(f.layer == layer_digest(layers[1]) for f in history)
    assert PTH in bad.summary.deleted_later
    installed = [f for f in bad.findings if f.kind is FindingKind.KNOWN_BAD_INSTALLED]
    assert [f.release for f in installed] == ["litellm==1.82.8"]
    assert installed[0].layer == layer_digest(layers[1])
    assert installed[0].severity is Severity.CRITICAL

    good = hunt_image(build(tmp_path / "good", kind, clean()))
    assert good.findings == ()


def test_an_index_nested_too_deep_is_a_one_line_error(tmp_path: Path) -> None:
    files = oci_layout(clean())
    files["index.json"] = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(ImageError, match="not valid JSON") as caught:
        read_image(write_dir(tmp_path / "layout", files))
    assert "\n" not in str(caught.value)


# -- stacking against a model: a dict of paths, whiteouts as prefix deletes ------------------

_NAMES = st.lists(st.sampled_from(["d1", "d2"]), max_size=2).map("/".join)
_LEAF = st.tuples(_NAMES, st.sampled_from(["f1", "f2"])).map(lambda t: f"{t[0]}/{t[1]}".lstrip("/"))
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), _LEAF, st.binary(max_size=8)),
        st.tuples(st.just("whiteout"), st.one_of(_LEAF, _NAMES.filter(bool)), st.just(b"")),
        st.tuples(st.just("opaque"), _NAMES.filter(bool), st.just(b"")),
    ),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(stack=st.lists(_OPS, min_size=1, max_size=4))
def test_stacking_matches_a_model(tmp_path_factory: pytest.TempPathFactory, stack: list[list[Any]]) -> None:
    model: dict[str, tuple[int, bytes]] = {}
    removed: set[tuple[str, int]] = set()
    layers = []
    for number, ops in enumerate(stack, start=1):
        adds = {path: data for kind, path, data in ops if kind == "add"}  # the last of a name wins
        gone = [(kind, path) for kind, path, _ in ops if kind != "add"]
        for kind, path in gone:  # whiteouts first: they apply to the layers below only
            prefix = f"/{path}/"
            for key in [k for k in model if (kind == "whiteout" and k == f"/{path}") or k.startswith(prefix)]:
                removed.add((key, model.pop(key)[0]))
        for path, data in adds.items():
            if f"/{path}" in model:
                removed.add((f"/{path}", model[f"/{path}"][0]))
            model[f"/{path}"] = (number, data)
        members = [whiteout(p) if k == "whiteout" else opaque(p) for k, p in gone]
        members += [file(p, d) for p, d in adds.items()]
        layers.append(Layer(members, number % 2 == 0))
    path = build(tmp_path_factory.mktemp("stack"), "docker-save", layers)
    view = read_image(path)
    assert {f.path: (f.read()) for f in view.files} == {p: d for p, (_, d) in model.items()}
    assert {f.path: view.layer_of(f.path) for f in view.files} == {
        p: view.layers[n - 1].digest for p, (n, _) in model.items()
    }
    assert {(h.file.path, h.layer.number) for h in view.history} == removed
