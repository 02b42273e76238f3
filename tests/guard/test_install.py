"""The install guard end to end: real pip and real uv, an index on 127.0.0.1 built here, and a
throwaway virtual environment as the target.

The tainted release is inert text: its ``.pth`` line and its credential-collecting module are
strings in a wheel these tests write. The tests prove they are never installed: after a block
the target's site-packages holds neither the package nor any new ``.pth`` file. Only the benign
releases are ever installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from demo.builders import wheel_bytes, write_sdist, write_wheel

from depvet.errors import DepvetError
from depvet.guard.installargs import Role, Tool, exact_pins, parse_install_args
from depvet.guard.installers import GuardError, Steering, choose_file, interpreter_tag_ranks, parse_pip_report
from tests.conftest import run_cli
from tests.guard.indexes import GuardIndex
from tests.payloads import tainted_files

BIN = Path(sys.executable).parent
UV = BIN / "uv"
TOOLS = ["pip", "uv"]

GOOD_INIT = "def greet(name):\n    return f'hello {name}'\n"
FAR_FUTURE = "2099-12-31"


# -- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One target environment for the module (creating one costs seconds); emptied after each test."""
    root = tmp_path_factory.mktemp("target") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, capture_output=True)
    return root


@pytest.fixture
def site_packages(venv: Path) -> Iterator[Path]:
    found = next((venv / "lib").glob("python3*/site-packages"))
    before = set(os.listdir(found))
    yield found
    for name in set(os.listdir(found)) - before:
        path = found / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


@pytest.fixture(autouse=True)
def _installer_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip and uv as on a clean machine: no configuration, no cache, no other index, offline-safe."""
    for name in list(os.environ):
        if name.startswith(("PIP_", "UV_")) or name == "VIRTUAL_ENV":
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INPUT", "1")
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
    monkeypatch.setenv("UV_NO_CACHE", "1")
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def index(tmp_path: Path) -> Iterator[GuardIndex]:
    upstream = GuardIndex(tmp_path / "index")
    with upstream.serve():
        yield upstream


@dataclass
class Guard:
    """``depvet pip …`` / ``depvet uv … pip …`` in this process, as the CLI will run it."""

    venv: Path
    index: GuardIndex
    policy: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, tool: str, *requirements: str, policy: str | None = None) -> tuple[int, str, str]:
        if policy is not None:
            self.policy.write_text(policy, encoding="utf-8")
        common = ["--python", str(self.venv / "bin" / "python"), "--policy", str(self.policy), "-j", "1"]
        if tool == "pip":
            argv = ["pip", *common, "install", "--index-url", self.index.url, *requirements]
        else:
            argv = ["uv", *common, "pip", "install", "--default-index", self.index.url, *requirements]
        return run_guard_cli(argv, self.capsys)


def run_guard_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_cli(argv, capsys)


@pytest.fixture
def guard(venv: Path, index: GuardIndex, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Guard:
    policy = tmp_path / "depvet.toml"
    policy.write_text("# the defaults\n", encoding="utf-8")
    return Guard(venv, index, policy, capsys)


def _wheels(tmp_path: Path) -> Path:
    where = tmp_path / "built"
    where.mkdir(exist_ok=True)
    return where


def publish_goodpkg(index: GuardIndex, tmp_path: Path, *, tainted_uploaded: datetime | None = None) -> None:
    """goodpkg 1.0 (benign) and 1.1 (the .pth payload), both uploaded long ago unless told."""
    built = _wheels(tmp_path)
    index.add("goodpkg", write_wheel(built, "goodpkg", "1.0", {"goodpkg/__init__.py": GOOD_INIT}))
    tainted = {
        "goodpkg/__init__.py": GOOD_INIT,
        **tainted_files("goodpkg"),
    }
    extra = {"uploaded": tainted_uploaded} if tainted_uploaded else {}
    index.add("goodpkg", write_wheel(built, "goodpkg", "1.1", tainted), **extra)


BASELINE = frozenset({"pip", "setuptools"})  # what python -m venv installs


def installed(site: Path) -> dict[str, str]:
    """name -> version of each distribution in ``site`` the venv did not start with."""
    found = {}
    for dist_info in site.glob("*.dist-info"):
        name, _, version = dist_info.name.removesuffix(".dist-info").partition("-")
        if name.lower() not in BASELINE:
            found[name.lower()] = version
    return found


def assert_nothing_of(site: Path, name: str) -> None:
    assert name not in installed(site)
    assert not (site / name).exists()
    assert not [p.name for p in site.glob("*.pth") if name in p.name]


# -- the tainted update ------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_pinned_tainted_release_is_blocked_and_nothing_installed(
    tool: str, guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    publish_goodpkg(index, tmp_path)
    code, out, _ = guard(tool, "goodpkg==1.1")
    assert code == 1
    assert "Blocked: nothing was installed" in out
    assert "goodpkg-1.1-py3-none-any.whl" in out
    assert "DV101" in out  # the .pth start-up hook
    assert "scan verdict malicious" in out
    assert "goodpkg_init.pth" in out
    assert_nothing_of(site_packages, "goodpkg")


@pytest.mark.parametrize("tool", TOOLS)
def test_unpinned_install_skips_the_tainted_release_and_installs_the_last_good_one(
    tool: str, guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    publish_goodpkg(index, tmp_path)
    code, out, err = guard(tool, "goodpkg")
    assert code == 0, out + err
    assert installed(site_packages) == {"goodpkg": "1.0"}
    assert (site_packages / "goodpkg" / "__init__.py").read_text() == GOOD_INIT
    assert not list(site_packages.glob("goodpkg*.pth"))
    assert "Kept out: resolved again without these releases" in out
    assert "DV101" in out
    assert "Verified 1 file" in out
    # The installed metadata is that of a normal install, not a path into depvet's cache.
    assert not list(site_packages.glob("goodpkg-1.0.dist-info/direct_url.json"))


@pytest.mark.parametrize("tool", TOOLS)
def test_a_tainted_dependency_is_resolved_around(
    tool: str, guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    publish_goodpkg(index, tmp_path)
    app = write_wheel(_wheels(tmp_path), "app", "1.0", {"app/__init__.py": ""}, requires=("goodpkg>=1.0",))
    index.add("app", app)
    code, out, err = guard(tool, "app")
    assert code == 0, out + err
    assert installed(site_packages) == {"app": "1.0", "goodpkg": "1.0"}
    assert not list(site_packages.glob("goodpkg*.pth"))


def test_what_is_installed_already_is_not_fetched_again(
    guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    publish_goodpkg(index, tmp_path)
    assert guard("pip", "goodpkg==1.0")[0] == 0
    fetched = len(index.downloads())
    code, out, _ = guard("pip", "goodpkg==1.0")  # pip's own plan: nothing to do
    assert code == 0
    assert "nothing to install" in out
    assert len(index.downloads()) == fetched


def test_dry_run_vets_and_installs_nothing(
    guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    publish_goodpkg(index, tmp_path)
    code, out, _ = guard("uv", "--dry-run", "goodpkg==1.0")
    assert code == 0
    assert "dry run: not installed" in out
    assert_nothing_of(site_packages, "goodpkg")


# -- cooldown ------------------------------------------------------------------------------------------


def _exemption(expires: str) -> str:
    return (
        "[[exemptions]]\n"
        'package = "goodpkg==1.1"\n'
        'reason = "vendor hotfix reviewed by the security team"\n'
        f"expires = {expires}\n"
        'reasons = ["cooldown"]\n'
    )


def publish_young_release(index: GuardIndex, tmp_path: Path) -> None:
    """goodpkg 1.0 from long ago and a benign 1.1 uploaded an hour ago."""
    built = _wheels(tmp_path)
    index.add("goodpkg", write_wheel(built, "goodpkg", "1.0", {"goodpkg/__init__.py": GOOD_INIT}))
    young = datetime.now(UTC) - timedelta(hours=1)
    index.add(
        "goodpkg", write_wheel(built, "goodpkg", "1.1", {"goodpkg/__init__.py": "X = 11\n"}), uploaded=young
    )


@pytest.mark.parametrize("tool", TOOLS)
def test_cooldown_blocks_a_pinned_young_release(
    tool: str, guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    publish_young_release(index, tmp_path)
    code, out, _ = guard(tool, "goodpkg==1.1")
    assert code == 1
    assert "cooldown" in out
    assert "DV012" in out
    assert "pin an older release" in out
    assert_nothing_of(site_packages, "goodpkg")
    if tool == "uv":
        # Judged from the index page: the file is never fetched (pip before 25.3 fetches it
        # itself while resolving).
        assert "/files/goodpkg-1.1-py3-none-any.whl" not in index.downloads()


@pytest.mark.parametrize("tool", TOOLS)
def test_cooldown_steers_an_open_requirement_to_the_older_release(
    tool: str, guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    publish_young_release(index, tmp_path)
    code, out, err = guard(tool, "goodpkg")
    assert code == 0, out + err
    assert installed(site_packages) == {"goodpkg": "1.0"}
    if tool == "uv":
        # uv's --exclude-newer cut-off: the young release is never even considered.
        assert "/files/goodpkg-1.1-py3-none-any.whl.metadata" not in index.requests()


@pytest.mark.parametrize("tool", TOOLS)
def test_an_exemption_lets_a_young_release_through_until_it_expires(
    tool: str, guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    publish_young_release(index, tmp_path)
    code, out, err = guard(tool, "goodpkg==1.1", policy=_exemption(FAR_FUTURE))
    assert code == 0, out + err
    assert installed(site_packages) == {"goodpkg": "1.1"}
    assert "Let through by exemptions" in out
    assert "vendor hotfix reviewed by the security team" in out
    assert FAR_FUTURE in out


def test_an_expired_exemption_does_not(
    guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    publish_young_release(index, tmp_path)
    code, out, err = guard("uv", "goodpkg==1.1", policy=_exemption("2020-01-31"))
    assert code == 1
    assert "expired on 2020-01-31" in err
    assert "cooldown" in out
    assert_nothing_of(site_packages, "goodpkg")


# -- known-bad releases ----------------------------------------------------------------------------


def publish_litellm(index: GuardIndex, tmp_path: Path) -> None:
    """Benign text under the name and versions of the curated LiteLLM incident (1.82.8 is listed)."""
    built = _wheels(tmp_path)
    for version in ("1.82.6", "1.82.8"):
        files = {"litellm/__init__.py": f"__version__ = {version!r}\n"}
        index.add("litellm", write_wheel(built, "litellm", version, files))


@pytest.mark.parametrize("tool", TOOLS)
def test_known_bad_pin_is_refused_before_anything_is_fetched(
    tool: str, guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    publish_litellm(index, tmp_path)
    code, out, _ = guard(tool, "litellm==1.82.8")
    assert code == 1
    assert "known-malicious" in out
    assert "teampcp" in out  # the curated incident id
    assert "DV010" in out
    assert index.requests() == []  # not the page, not the metadata, not the wheel
    assert_nothing_of(site_packages, "litellm")

    code, out, err = guard(tool, "litellm==1.82.6")
    assert code == 0, out + err
    assert installed(site_packages) == {"litellm": "1.82.6"}
    assert "/files/litellm-1.82.6-py3-none-any.whl" in index.downloads()


def test_known_bad_newest_release_is_resolved_around_without_being_downloaded(
    guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    publish_litellm(index, tmp_path)
    code, out, err = guard("uv", "litellm")
    assert code == 0, out + err
    assert installed(site_packages) == {"litellm": "1.82.6"}
    assert "known-malicious" in out
    assert "/files/litellm-1.82.8-py3-none-any.whl" not in index.downloads()


# -- source distributions --------------------------------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_sdist_only_project_is_not_built(
    tool: str, guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "setup-py-ran"
    setup_py = (
        "from pathlib import Path\n"
        f"Path({str(marker)!r}).write_text('setup.py ran')\n"
        "from setuptools import setup\n"
        "setup(name='buildme', version='1.0')\n"
    )
    built = _wheels(tmp_path)
    index.add("buildme", write_sdist(built, "buildme", "1.0", {"setup.py": setup_py}))
    code, _, err = guard(tool, "buildme")
    assert code == 2
    assert "wheels only" in err
    assert "allow-sdists" in err
    assert not marker.exists()
    assert_nothing_of(site_packages, "buildme")

    index.add("buildme", write_wheel(built, "buildme", "1.0", {"buildme/__init__.py": ""}))
    code, out, err = guard(tool, "buildme")
    assert code == 0, out + err
    assert installed(site_packages) == {"buildme": "1.0"}
    assert not marker.exists()


# -- integrity ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool", TOOLS)
def test_file_that_does_not_match_the_index_hash_is_not_installed(
    tool: str, guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    built = _wheels(tmp_path)
    wheel = write_wheel(built, "hashpkg", "1.0", {"hashpkg/__init__.py": ""})
    index.add("hashpkg", wheel, listed_sha256="0" * 64)
    code, out, err = guard(tool, "hashpkg")
    if code == 1:
        # uv (and pip from 25.3) read the metadata only; depvet's download finds the difference.
        assert "hash-mismatch" in out
    else:
        # pip before 25.3 downloads the wheel while resolving and finds it first.
        assert (tool, code) == ("pip", 2)
        assert "HASHES" in err
        assert "differs from the sha256 its index lists" in err
    assert_nothing_of(site_packages, "hashpkg")

    honest = GuardIndex(tmp_path / "honest")
    honest.add("hashpkg", wheel)
    with honest.serve():
        code, out, err = Guard(guard.venv, honest, guard.policy, guard.capsys)(tool, "hashpkg")
    assert code == 0, out + err
    assert installed(site_packages) == {"hashpkg": "1.0"}


def test_uv_path_installs_the_wheel_uv_itself_would_pick(
    guard: Guard, index: GuardIndex, site_packages: Path, tmp_path: Path
) -> None:
    built = _wheels(tmp_path)
    specific = f"cp{sys.version_info.major}{sys.version_info.minor}-none-any"
    generic = write_wheel(built, "choicepkg", "1.0", {"choicepkg/__init__.py": "KIND = 'generic'\n"})
    index.add("choicepkg", generic)
    tagged = built / f"choicepkg-1.0-{specific}.whl"
    tagged.write_bytes(wheel_bytes("choicepkg", "1.0", {"choicepkg/__init__.py": "KIND = 'specific'\n"}))
    index.add("choicepkg", tagged)

    code, out, err = guard("uv", "choicepkg")
    assert code == 0, out + err
    assert tagged.name in out
    ours = (site_packages / "choicepkg" / "__init__.py").read_text()

    plain = tmp_path / "plain"  # benign text, installed by uv alone into a scratch directory
    python = str(guard.venv / "bin" / "python")
    plain_uv = [str(UV), "pip", "install", "-q", "--python", python, "--target", str(plain)]
    subprocess.run([*plain_uv, "--default-index", index.url, "choicepkg"], check=True, capture_output=True)
    assert ours == (plain / "choicepkg" / "__init__.py").read_text() == "KIND = 'specific'\n"


# -- what the guard refuses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("pip", ["-e", "."], "editable"),
        ("pip", ["--no-binary", ":all:", "goodpkg"], "build source distributions"),
        ("pip", ["./some/project/"], "directory or project"),
        ("pip", ["git+https://example.invalid/p.git"], "VCS"),
        ("pip", ["goodpkg-1.0.tar.gz"], "source archive"),
        ("pip", ["--frobnicate", "goodpkg"], "not one the guard knows"),
        ("pip", ["--report", "r.json", "goodpkg"], "--dry-run"),
        ("pip", [], "needs a requirement"),
        ("uv", ["--no-verify-hashes", "goodpkg"], "hash checks"),
        ("uv", ["--exact", "goodpkg"], "remove every package"),
        ("uv", ["--python-platform", "linux", "goodpkg"], "another Python"),
    ],
)
def test_refused_arguments(
    tool: str, args: list[str], message: str, venv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    python = ["--python", str(venv / "bin" / "python")]
    argv = ["pip", *python, "install", *args] if tool == "pip" else ["uv", *python, "pip", "install", *args]
    code, _, err = run_guard_cli(argv, capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_requirements_file_that_turns_builds_back_on_is_refused(
    tmp_path: Path, venv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "base.txt").write_text("goodpkg\n--no-binary goodpkg\n")
    (tmp_path / "requirements.txt").write_text("-r base.txt\n")
    argv = [
        "pip",
        "--python",
        str(venv / "bin" / "python"),
        "install",
        "-r",
        str(tmp_path / "requirements.txt"),
    ]
    code, _, err = run_guard_cli(argv, capsys)
    assert code == 2
    assert "base.txt:2" in err
    assert "--no-binary" in err


def test_uv_missing_from_path(
    tmp_path: Path, venv: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = run_guard_cli(
        ["uv", "--python", str(venv / "bin" / "python"), "pip", "install", "x"], capsys
    )
    assert code == 2
    assert "uv is not on PATH" in err


# -- the pieces ----------------------------------------------------------------------------------------


def test_arguments_are_split_as_the_installers_read_them() -> None:
    args = parse_install_args(
        Tool.PIP,
        ["-qU", "-rreq.txt", "--extra-index=https://x/simple", "--target", "t", "a==1", "--", "-weird"],
    )
    assert args.requirements == ("a==1", "-weird")
    assert args.requirement_files == ["req.txt"]
    assert args.values("--extra-index-url") == ["https://x/simple"]  # optparse's prefix
    assert args.tokens(Role.INSTALL) == ["--quiet"]
    assert args.tokens(Role.BOTH) == ["--upgrade", "--target=t"]
    assert exact_pins(args) == [("a", "1")]

    uv = parse_install_args(Tool.UV, ["-p", "3.12", "-r=req.in", "--index", "name=https://x/simple", "b"])
    assert uv.python == "3.12"
    assert uv.requirement_files == ["req.in"]
    with pytest.raises(DepvetError, match="not one the guard knows"):
        parse_install_args(Tool.UV, ["--extra-index=https://x"])  # clap takes no prefixes


def test_steering_is_one_constraint_line_per_project() -> None:
    from packaging.utils import canonicalize_name

    steering = Steering().avoiding(
        [(canonicalize_name("Good_Pkg"), "1.1"), (canonicalize_name("good-pkg"), "1.2")]
    )
    assert steering.constraint_lines() == ["good-pkg!=1.1,!=1.2"]


def test_wheel_choice_follows_the_interpreter_tag_order() -> None:
    ranks = interpreter_tag_ranks(Path(sys.executable))
    specific = f"cp{sys.version_info.major}{sys.version_info.minor}-none-any"
    files = [
        ("p-1.0.tar.gz", "u0", None, None),
        ("p-1.0-py3-none-any.whl", "u1", None, None),
        (f"p-1.0-{specific}.whl", "u2", None, None),
        ("p-1.0-cp27-cp27m-win32.whl", "u3", None, None),
    ]
    assert choose_file(files, ranks) == files[2]
    assert choose_file([files[0], files[3]], ranks) == files[0]


def test_pip_report_gives_each_file_and_refuses_what_is_not_one() -> None:
    entry = {
        "metadata": {"name": "Good_Pkg", "version": "1.0"},
        "download_info": {
            "url": "https://files.example.invalid/p/good_pkg-1.0-py3-none-any.whl",
            "archive_info": {"hash": "sha256=" + "AB" * 32},  # before pip 22.3's "hashes"
        },
        "requested": True,
    }
    (resolved,) = parse_pip_report({"version": "1", "install": [entry]})
    assert resolved.filename == "good_pkg-1.0-py3-none-any.whl"
    assert resolved.sha256 == "ab" * 32
    assert resolved.key == ("good-pkg", "1.0")

    tree = {
        "metadata": {"name": "p", "version": "1"},
        "download_info": {"url": "file:///src/p", "dir_info": {}},
    }
    with pytest.raises(GuardError, match="directory"):
        parse_pip_report({"version": "1", "install": [tree]})
    with pytest.raises(GuardError, match="version '2'"):
        parse_pip_report({"version": "2", "install": []})
