from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from depvet.artifacts.cache import ArtifactCache, normalize_sha256, safe_filename
from depvet.userdirs import user_cache_dir

DATA = b"wheel bytes"
SHA = hashlib.sha256(DATA).hexdigest()


def staged(cache: ArtifactCache, data: bytes) -> Path:
    temp = cache.temp_path()
    temp.write_bytes(data)
    return temp


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({"DEPVET_CACHE_DIR": "/srv/depvet-cache", "XDG_CACHE_HOME": "/xdg"}, "linux", "/srv/depvet-cache"),
        ({"XDG_CACHE_HOME": "/xdg"}, "linux", "/xdg/depvet"),
        ({"XDG_CACHE_HOME": "relative/ignored"}, "linux", "/home/u/.cache/depvet"),
        ({}, "linux", "/home/u/.cache/depvet"),
        ({}, "darwin", "/home/u/Library/Caches/depvet"),
        ({"LOCALAPPDATA": "/appdata/local"}, "win32", "/appdata/local/depvet/Cache"),
        ({}, "win32", "/home/u/AppData/Local/depvet/Cache"),
    ],
)
def test_user_cache_dir(env: dict[str, str], platform: str, expected: str) -> None:
    assert user_cache_dir(env, Path("/home/u"), platform) == Path(expected)


def test_store_then_get(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "cache")
    assert cache.get(SHA, "goodpkg-1.0.tar.gz") is None

    temp = staged(cache, DATA)
    stored = cache.store(temp, SHA.upper(), "goodpkg-1.0.tar.gz")

    assert stored == tmp_path / "cache" / "artifacts" / SHA[:2] / SHA / "goodpkg-1.0.tar.gz"
    assert stored.read_bytes() == DATA
    assert not temp.exists()  # moved, not copied
    assert cache.get(SHA, "goodpkg-1.0.tar.gz") == stored
    assert cache.get(SHA, "goodpkg-1.0-py3-none-any.whl") is None


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("goodpkg-1.0-py3-none-any.whl", "goodpkg-1.0-py3-none-any.whl"),
        ("../../../.bashrc", "_._.._.._.bashrc"),
        ("/etc/passwd", "_etc_passwd"),
        ("..", "artifact"),
        (".", "artifact"),
        ("", "artifact"),
        ("a\\b\x00c:d.whl", "a_b_c_d.whl"),
        (".hidden.whl", "_hidden.whl"),
        ("CON.tar.gz", "_CON.tar.gz"),
        ("pkg.whl. ", "pkg.whl"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_long_filename_keeps_its_suffix_and_fits() -> None:
    name = "é" * 300 + "-1.0-py3-none-any.whl"
    safe = safe_filename(name)

    assert safe.endswith("-1.0-py3-none-any.whl")
    assert len(safe.encode("utf-8")) <= 200


@pytest.mark.parametrize(
    "hostile", ["../../escape.whl", "..", "/abs/x.whl", "sub/dir/x.whl", "..\\..\\x.whl"]
)
def test_hostile_filenames_stay_inside_the_hash_directory(tmp_path: Path, hostile: str) -> None:
    cache = ArtifactCache(tmp_path / "cache")

    stored = cache.store(staged(cache, DATA), SHA, hostile)

    assert stored.parent == tmp_path / "cache" / "artifacts" / SHA[:2] / SHA
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == [stored]


@pytest.mark.parametrize("bad", ["", "abc", "g" * 64, "../" + "a" * 61, "a" * 65])
def test_invalid_sha256_is_refused(tmp_path: Path, bad: str) -> None:
    cache = ArtifactCache(tmp_path / "cache")

    with pytest.raises(ValueError, match="not a sha256 digest"):
        cache.get(bad, "x.whl")


def test_normalize_sha256_drops_a_prefix() -> None:
    assert normalize_sha256(f"sha256:{SHA.upper()}") == SHA
    assert normalize_sha256(f"sha256={SHA}") == SHA


def _store(cache: ArtifactCache, data: bytes, filename: str) -> Path:
    """What a download does: stage the bytes, then move them in under their hash."""
    staged = cache.temp_path()
    staged.write_bytes(data)
    return cache.store(staged, hashlib.sha256(data).hexdigest(), filename)


def test_size_count_clear(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    cache = ArtifactCache(root)
    _store(cache, DATA, "a-1.0.tar.gz")
    _store(cache, b"other", "b-1.0.tar.gz")
    root.joinpath("config.toml").write_text("keep me", encoding="utf-8")

    assert (cache.count(), cache.size_bytes()) == (2, len(DATA) + len(b"other"))

    cache.clear()

    assert (cache.count(), cache.size_bytes()) == (0, 0)
    assert root.joinpath("config.toml").read_text(encoding="utf-8") == "keep me"
    assert cache.get(SHA, "a-1.0.tar.gz") is None


def test_empty_cache_reports_nothing(tmp_path: Path) -> None:
    cache = ArtifactCache(tmp_path / "never-created")
    cache.clear()
    assert (cache.count(), cache.size_bytes()) == (0, 0)
