"""Cold and warm ``depvet scan uv.lock`` of a real project with 100+ locked packages.

The project depends on litellm (the package of the March 2026 incident); ``uv lock`` resolves
it against the configured index (PyPI unless pip/uv are configured otherwise). Then:

- cold: an empty depvet cache, so every artifact is downloaded and scanned;
- warm: the same command again, every artifact and result taken from the cache.

Each run is the real command line in a fresh process (``python -m depvet scan uv.lock``). The
share of the cold run spent downloading is measured separately, in process, by running the
same two stages (fetch, scan) one after the other. Needs network access to the index.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table

REQUIREMENT = "litellm[proxy]"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requirement", default=REQUIREMENT)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    with tempfile.TemporaryDirectory(prefix="depvet-lockscan-") as tmp:
        root = Path(tmp)
        project = root / "app"
        project.mkdir()
        (project / "pyproject.toml").write_text(
            '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.11,<3.14"\n'
            f'dependencies = ["{args.requirement}"]\n'
        )
        print(f"  uv lock ({args.requirement}) …", file=sys.stderr)
        subprocess.run([uv, "lock", "--quiet", "--python", sys.executable], cwd=project, check=True)
        lock = project / "uv.lock"
        packages = lock.read_text().count("[[package]]") - 1  # the project itself
        cold = _run(lock, root / "cache", args.jobs)
        warm = _run(lock, root / "cache", args.jobs)
        downloaded = sum(p.stat().st_size for p in (root / "cache" / "artifacts").rglob("*") if p.is_file())
        fetch_s, scan_s = _stages(lock, root / "cache-stages", args.jobs)
    rows = [
        ("packages in the lock", str(packages), "100+"),
        ("artifacts scanned", str(cold["results"]), ""),
        ("cold: wall (s), whole command", f"{cold['seconds']:.1f}", ""),
        ("cold: downloaded (MB)", f"{downloaded / 1e6:.1f}", ""),
        ("cold, in process: fetching / scanning (s)", f"{fetch_s:.1f} / {scan_s:.1f}", ""),
        ("cold: share of time downloading", f"{fetch_s / (fetch_s + scan_s):.0%}", ""),
        ("warm: wall (s), whole command", f"{warm['seconds']:.2f}", "< 3 s"),
        ("warm: results from the cache", f"{warm['cached']}/{warm['results']}", "all"),
        ("exit codes cold / warm", f"{cold['code']} / {warm['code']}", ""),
    ]
    print(
        table(
            ("figure", "value", "target"),
            rows,
            f"DEPVET SCAN OF A REAL uv.lock ({args.requirement}, {args.jobs} workers)",
        )
    )
    return 0


def _run(lock: Path, cache: Path, jobs: int) -> dict[str, float]:
    env = {**os.environ, "DEPVET_CACHE_DIR": str(cache)}
    argv = [sys.executable, "-m", "depvet", "scan", str(lock), "--quiet", "--format", "json", "-j", str(jobs)]
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode == 2 or not done.stdout.strip():
        sys.stderr.write(done.stderr)
    results = json.loads(done.stdout)["results"] if done.stdout.strip() else []
    return {
        "seconds": seconds,
        "code": done.returncode,
        "results": len(results),
        "cached": sum(1 for r in results if r.get("cached")),
    }


def _stages(lock: Path, cache: Path, jobs: int) -> tuple[float, float]:
    os.environ["DEPVET_CACHE_DIR"] = str(cache)
    from depvet.artifacts.cache import ArtifactCache, user_cache_dir
    from depvet.artifacts.download import download_all
    from depvet.artifacts.indexconfig import resolve_index_config
    from depvet.artifacts.simpleindex import SimpleIndexClient
    from depvet.inputs import parse_input
    from depvet.lockscan import downloaded_refs, plan_fetches
    from depvet.scanning import scan_all

    started = time.perf_counter()
    plan = plan_fetches(parse_input(lock), resolve_index_config(), SimpleIndexClient())
    downloads = download_all(plan.requests, ArtifactCache(user_cache_dir()))
    fetched = time.perf_counter()
    scan_all(downloaded_refs(plan, downloads), jobs=jobs)
    return fetched - started, time.perf_counter() - fetched


if __name__ == "__main__":
    sys.exit(main())
