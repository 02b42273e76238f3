"""``depvet hunt`` over a large synthetic home: 20 venvs, 5,000 installed distributions.

The home is built under /tmp (never in the repository) from inert text: each distribution has a
``*.dist-info`` with METADATA, INSTALLER and a RECORD listing its modules with their real hashes,
like pip writes them. One venv also holds litellm 1.82.8 and its ``.pth`` as text, so the run has
something to find. Then ``depvet hunt HOME --home HOME --format json`` runs in a fresh process,
first after dropping the page cache when the machine allows it (cold), then again (warm).

    .venv/bin/python benchmarks/hunt.py [--venvs 20] [--distributions 5000] [--files 20] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo.builders import write_site_packages  # noqa: E402 - after the path set-up above

# The LiteLLM 1.82.8 start-up line, as text: base64 of "import litellm._telemetry".
PAYLOAD_PTH = "import os, base64; exec(base64.b64decode('aW1wb3J0IGxpdGVsbG0uX3RlbGVtZXRyeQ=='))\n"
MODULE = '"""Module {i} of {name}."""\n\n\ndef f{i}(x):\n    return x * {i}\n' + "# padding\n" * 40


def build_home(home: Path, venvs: int, distributions: int, files: int) -> int:
    per_venv = distributions // venvs
    written = 0
    for v in range(venvs):
        venv = home / "projects" / f"app{v:02d}" / ".venv"
        for d in range(per_venv):
            name = f"pkg{v:02d}x{d:03d}"
            modules = {f"{name}/mod{i}.py": MODULE.format(i=i, name=name) for i in range(files)}
            modules[f"{name}/__init__.py"] = ""
            write_site_packages(
                venv, name, "1.0.0", {**modules, f"{name}-1.0.0.dist-info/INSTALLER": "pip\n"}
            )
            written += len(modules) + 3
    write_site_packages(
        home / "projects" / "app00" / ".venv",
        "litellm",
        "1.82.8",
        {
            "litellm/__init__.py": "",
            "litellm_init.pth": PAYLOAD_PTH,
        },
    )
    return written


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError:
        return False
    return True


def run_hunt(home: Path) -> tuple[float, dict[str, object], int]:
    env = {
        **os.environ,
        "HOME": str(home),
        "PYENV_ROOT": str(home / ".pyenv"),
        "WORKON_HOME": str(home / ".virtualenvs"),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "depvet", "hunt", str(home), "--home", str(home), "--format", "json", "-q"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    seconds = time.monotonic() - started
    report = json.loads(done.stdout)["hunt"] if done.stdout.strip() else {}
    return seconds, report, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venvs", type=int, default=20)
    parser.add_argument("--distributions", type=int, default=5000)
    parser.add_argument("--files", type=int, default=20, help="modules per distribution")
    parser.add_argument("--keep", action="store_true", help="keep the synthetic home")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="depvet-bench-hunt-"))
    try:
        started = time.monotonic()
        written = build_home(home, args.venvs, args.distributions, args.files)
        print(
            f"  built {written:,} files in {time.monotonic() - started:.1f} s under {home}", file=sys.stderr
        )
        cold = drop_caches()
        first, report, code = run_hunt(home)
        second, _, _ = run_hunt(home)
        environments = report.get("environments", [])
        distributions = sum(int(e["distributions"]) for e in environments)  # type: ignore[index]
        findings = report.get("findings", [])
        print(
            "DEPVET HUNT ON A SYNTHETIC HOME (2 cpus)"
            if os.cpu_count() == 2
            else "DEPVET HUNT ON A SYNTHETIC HOME"
        )
        rows = [
            ("environments / distributions found", f"{len(environments)} / {distributions:,}", "20 / 5,000"),
            ("files in the home", f"{written:,}", ""),
            (
                f"first run ({'cold: page cache dropped' if cold else 'page cache could not be dropped'}) s",
                f"{first:.2f}",
                "< 30 s",
            ),
            ("second run (warm) s", f"{second:.2f}", ""),
            ("findings (the planted litellm 1.82.8)", str(len(findings)), ">= 2"),
            ("exit code", str(code), "1"),
        ]
        width = max(len(r[0]) for r in rows)
        print(f"{'figure':<{width}}  {'value':>16}  target")
        for label, value, target in rows:
            print(f"{label:<{width}}  {value:>16}  {target}")
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
