"""Build wheels, sdists and package directories from text, in memory, for tests and the demo.

Everything built here is inert: malicious-looking files are plain strings that depvet reads.
Nothing is ever installed, imported or executed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

Files = Mapping[str, str | bytes]
Links = tuple[tuple[str, str], ...]


def _bytes(content: str | bytes) -> bytes:
    return content if isinstance(content, bytes) else content.encode("utf-8")


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def wheel_bytes(
    name: str,
    version: str,
    files: Files,
    *,
    metadata_name: str | None = None,
    requires: tuple[str, ...] = (),
) -> bytes:
    """A wheel with the given files at its root plus a dist-info with METADATA, WHEEL and RECORD."""
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    members: dict[str, bytes] = {path: _bytes(content) for path, content in files.items()}
    requirements = "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    # Files given for the dist-info (a METADATA with more fields) replace the generated ones.
    members.setdefault(
        f"{dist_info}/METADATA",
        (
            f"Metadata-Version: 2.1\nName: {metadata_name or name}\nVersion: {version}\n{requirements}\n"
        ).encode(),
    )
    members.setdefault(
        f"{dist_info}/WHEEL",
        b"Wheel-Version: 1.0\nGenerator: depvet-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n\n",
    )
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in members.items()]
    record.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            archive.writestr(path, data)
    return buffer.getvalue()


def sdist_bytes(
    name: str, version: str, files: Files, *, pkg_info_name: str | None = None, links: Links = ()
) -> bytes:
    """A .tar.gz sdist: everything under ``name-version/`` with a PKG-INFO (and ``links``)."""
    root = f"{name.replace('-', '_')}-{version}"
    members = {path: _bytes(content) for path, content in files.items()}
    members.setdefault(
        "PKG-INFO", (f"Metadata-Version: 2.1\nName: {pkg_info_name or name}\nVersion: {version}\n\n").encode()
    )
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, data in members.items():
            info = tarfile.TarInfo(f"{root}/{path}")
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
        for path, target in links:
            info = tarfile.TarInfo(f"{root}/{path}")
            if target == "<device>":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            else:
                info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def write_tree(root: Path, files: Files) -> Path:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_bytes(content))
    return root


def write_wheel(directory: Path, name: str, version: str, files: Files, **kwargs: Any) -> Path:
    path = directory / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    path.write_bytes(wheel_bytes(name, version, files, **kwargs))
    return path


def write_sdist(
    directory: Path,
    name: str,
    version: str,
    files: Files,
    *,
    pkg_info_name: str | None = None,
    links: Links = (),
) -> Path:
    path = directory / f"{name.replace('-', '_')}-{version}.tar.gz"
    path.write_bytes(sdist_bytes(name, version, files, pkg_info_name=pkg_info_name, links=links))
    return path


def write_site_packages(root: Path, name: str, version: str, files: Files) -> Path:
    """A venv-shaped folder with one installed distribution whose RECORD lists ``files``.

    A path starting with ``+`` is written after RECORD (a tampered or unlisted file); one starting
    with ``-`` is listed in RECORD but not written (a deleted file).
    """
    site = root / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True, exist_ok=True)
    (root / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    dist_info = f"{name.replace('-', '_')}-{version}.dist-info"
    listed = {p.lstrip("-"): _bytes(c) for p, c in files.items() if not p.startswith("+")}
    listed[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n".encode()
    record = [f"{path},{_record_hash(data)},{len(data)}" for path, data in listed.items()]
    record.append(f"{dist_info}/RECORD,,")
    write_tree(site, {p: c for p, c in listed.items() if f"-{p}" not in files})
    (site / dist_info / "RECORD").write_text("\n".join(record) + "\n")
    write_tree(site, {p[1:]: c for p, c in files.items() if p.startswith("+")})
    return root
