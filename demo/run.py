"""``make demo``: build inert reconstructions of real attacks and scan them with depvet.

The packages are written to demo/out/ as real wheel and sdist files. Their malicious parts are
text: nothing is installed, imported or executed, by this script or by depvet.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from demo import reconstructions  # noqa: E402 - after the path set-up above
from demo.builders import write_sdist, write_site_packages, write_wheel  # noqa: E402


def build(out: Path) -> list[Path]:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return [
        write_wheel(out, "litellm", "1.82.8", reconstructions.litellm_1_82_8()),
        write_sdist(out, "ultralytics", "8.3.41", reconstructions.ultralytics_style()),
        write_sdist(out, "ctx", "0.2.6", reconstructions.ctx_style()),
        write_sdist(out, "cloudkit", "2.0.0", reconstructions.benign_sdk()),
    ]


def victim_home(home: Path) -> Path:
    """A home where litellm 1.82.8 was installed into a project venv and its payload left a
    user unit behind; the credential files hold placeholders, never real secrets."""
    write_site_packages(
        home / "work" / "api" / ".venv", "litellm", "1.82.8", reconstructions.litellm_1_82_8()
    )
    placeholders = {
        ".ssh/id_ed25519": (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nDEMO-PLACEHOLDER\n-----END OPENSSH PRIVATE KEY-----\n"
        ),
        ".aws/credentials": "[default]\naws_access_key_id = AKIADEMOPLACEHOLDER\naws_secret_access_key = x\n",
        ".kube/config": "apiVersion: v1\nkind: Config\nusers:\n- name: demo\n  user:\n    token: x\n",
        "work/api/.env": "OPENAI_API_KEY=demo-placeholder\nDATABASE_URL=postgres://demo:demo@db/api\n",
        ".config/systemd/user/sysmon.service": (
            "[Unit]\nDescription=System Telemetry Service\n\n[Service]\n"
            "ExecStart=/usr/bin/python3 %h/.config/sysmon/sysmon.py\n"
        ),
    }
    for relative, text in placeholders.items():
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return home


def main() -> int:
    artifacts = build(HERE / "out")
    print("Built inert reconstructions in demo/out/:")
    for artifact in artifacts:
        print(f"  {artifact.name}")
    print("\n$ depvet scan demo/out/*\n", flush=True)
    depvet = Path(sys.executable).with_name("depvet")
    command = [str(depvet)] if depvet.exists() else [sys.executable, "-m", "depvet"]
    completed = subprocess.run([*command, "scan", *map(str, artifacts)], check=False)
    print(
        f"\ndepvet exited {completed.returncode} "
        "(0: nothing at or above --fail-on, 1: findings at or above it, 2: an input could not be scanned)."
    )
    # The incident-day question, answered offline from a lock: is the tainted release in it?
    requirements = HERE / "out" / "requirements.txt"
    requirements.write_text("litellm==1.82.8\nrequests==2.32.3\nnum2words==0.5.14\n", encoding="utf-8")
    print("\n$ depvet check demo/out/requirements.txt\n", flush=True)
    checked = subprocess.run([*command, "check", str(requirements)], check=False)
    # What gave the tainted update away: what changed since the release before it.
    (HERE / "out" / "previous").mkdir(exist_ok=True)
    previous = write_wheel(HERE / "out" / "previous", "litellm", "1.82.6", reconstructions.litellm_1_82_6())
    print(
        "\n$ depvet diff demo/out/previous/litellm-1.82.6-py3-none-any.whl"
        " demo/out/litellm-1.82.8-py3-none-any.whl\n"
    )
    sys.stdout.flush()
    diffed = subprocess.run([*command, "diff", "-q", str(previous), str(artifacts[0])], check=False)
    # The day after: a developer's home that installed it. Where is it, and what must be rotated?
    home = victim_home(HERE / "out" / "victim-home")
    print("\n$ depvet hunt --home demo/out/victim-home -o demo/out/hunt.html --format html\n", flush=True)
    hunt = [*command, "hunt", "--home", str(home), "--system-root", str(home / "no-system"), "-q"]
    hunted = subprocess.run(hunt, check=False)
    subprocess.run([*hunt, "--format", "html", "-o", str(HERE / "out" / "hunt.html")], check=False)
    print("\nThe same report for a responder: demo/out/hunt.html (one file, opens offline).")
    print("Try: .venv/bin/depvet scan demo/out/litellm-1.82.8-py3-none-any.whl --format json")
    worst = max(completed.returncode, checked.returncode, diffed.returncode, hunted.returncode)
    return 0 if worst in (0, 1) else worst


if __name__ == "__main__":
    sys.exit(main())
