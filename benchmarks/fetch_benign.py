"""Download the pinned popular-package artifacts into a cache outside the repository.

Uses the index's PEP 691 JSON simple API to find the exact file named in
``benign-top300.txt`` and verifies its sha256; no package code is run (unlike
``pip download`` of an sdist, which builds its metadata).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import sys
import urllib.request
from pathlib import Path

DEFAULT_LIST = Path(__file__).resolve().parents[2] / "shared" / "bench" / "benign-top300.txt"
DEFAULT_CACHE = Path(os.environ.get("DEPVET_BENCH_CACHE", Path.home() / ".cache" / "depvet-bench"))
INDEX = os.environ.get("DEPVET_BENCH_INDEX", "https://pypi.org/simple")


def read_list(path: Path) -> list[tuple[str, str, str]]:
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        spec, artifact, *_ = line.split("\t")
        name, _, version = spec.partition("==")
        rows.append((name, version, artifact))
    return rows


def fetch(name: str, artifact: str, cache: Path) -> tuple[str, str]:
    dest = cache / name / artifact
    if dest.exists():
        return artifact, "cached"
    req = urllib.request.Request(
        f"{INDEX}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        files = json.load(resp)["files"]
    match = [f for f in files if f["filename"] == artifact]
    if not match:
        return artifact, "not on index"
    entry = match[0]
    with urllib.request.urlopen(entry["url"], timeout=300) as resp:
        data = resp.read()
    expected = entry.get("hashes", {}).get("sha256")
    if expected and hashlib.sha256(data).hexdigest() != expected:
        return artifact, "sha256 mismatch"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(dest.suffix + ".part")
    tmp.write_bytes(data)
    tmp.rename(dest)
    return artifact, "downloaded"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list", type=Path, default=DEFAULT_LIST)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args()
    rows = read_list(args.list)
    failures = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(fetch, n, a, args.cache): a for n, _, a in rows}
        for fut in concurrent.futures.as_completed(futures):
            try:
                artifact, status = fut.result()
            except Exception as exc:  # one line per failed package, keep going
                artifact, status = futures[fut], f"error: {exc}"
            if status not in ("cached", "downloaded"):
                failures += 1
            print(f"{status:12} {artifact}", flush=True)
    print(f"{len(rows) - failures}/{len(rows)} artifacts in {args.cache}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
