"""The advisory database: import of a PyPI-sized OSV export, and ``depvet check`` of a 500-package lock.

No real export is needed (nor downloaded): the script writes a realistic one, shaped like OSV's
``PyPI/all.zip``. ``--records`` of them (default 24,000, about the size of the real one in 2026):
a third ``MAL-`` records (one name, ``introduced: 0`` or a short version list, as the OpenSSF
data has them) and two thirds vulnerabilities (GHSA and PYSEC ids with aliases, ``ECOSYSTEM``
ranges with ``introduced``/``fixed``, the explicit ``versions`` list OSV enumerates, from a
few to several hundred versions, CVSS vectors). Vulnerabilities go to popular project names,
several per project as in the real data.

Measured, each in a fresh process with the real command line:

- ``db update`` into an empty database (cold), again with nothing changed (incremental),
  and with 1% of the records modified; seconds and database size;
- ``depvet --version`` (interpreter start-up and depvet's import), and ``depvet check`` of a
  uv.lock with 500 packages (popular names, 20 of them with advisories) against the warm
  database, with and without ``--vulns``; the check's own time is the difference.
  Also ``check`` timed inside one process (after start-up), the figure the target is about.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import table

REPO = Path(__file__).resolve().parents[1]
POPULAR = REPO / "src" / "depvet" / "advisories" / "data" / "popular.txt"


def popular_names() -> list[str]:
    lines = POPULAR.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def versions_of(rng: random.Random, count: int) -> list[str]:
    major = rng.randint(0, 5)
    out: list[str] = []
    minor, patch = 0, 0
    while len(out) < count:
        out.append(f"{major}.{minor}.{patch}")
        if rng.random() < 0.25:
            minor, patch = minor + 1, 0
        else:
            patch += 1
    return out


def build_export(path: Path, records: int, names: list[str], seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    documents: list[dict[str, object]] = []
    # Vulnerabilities concentrate on a few thousand projects, the most affected with a few
    # hundred records (as django and tensorflow have): P(rank r) proportional to r^-0.8.
    vulnerable = names[:4000]
    weights = [1 / (r + 1) ** 0.8 for r in range(len(vulnerable))]
    malicious = records // 3
    for i in range(records):
        if i < malicious:
            name = f"{rng.choice(names)}-{rng.choice(['utils', 'sdk', 'helper', 'py', 'dev'])}{i}"
            affected: dict[str, object] = {"package": {"ecosystem": "PyPI", "name": name}}
            if rng.random() < 0.6:
                affected["ranges"] = [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]
            else:
                affected["versions"] = versions_of(rng, rng.randint(1, 4))
            document: dict[str, object] = {
                "schema_version": "1.5.0",
                "id": f"MAL-{2022 + i % 5}-{i}",
                "summary": f"Malicious code in {name} (PyPI)",
                "details": "\n---\n_-= Per source details. Do not edit below this line.=-_\n",
                "modified": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z",
                "published": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z",
                "affected": [affected],
                "database_specific": {"malicious-packages-origins": [{"source": "ghsa-malware"}]},
            }
        else:
            name = rng.choices(vulnerable, weights)[0]
            listed = versions_of(rng, min(900, int(rng.paretovariate(0.9) * 8)))
            fixed = listed[-1] + ".1"
            document = {
                "schema_version": "1.6.0",
                "id": f"{'GHSA' if i % 2 else 'PYSEC'}-{i:04x}-{i * 7 % 9999:04d}",
                "aliases": [f"CVE-{2015 + i % 11}-{10000 + i}"],
                "summary": f"Issue {i} in {name}",
                "details": "A flaw allows an attacker to do something bad. " * 8,
                "modified": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z",
                "published": f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:00Z",
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": name, "purl": f"pkg:pypi/{name}"},
                        "ranges": [
                            {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]},
                        ],
                        "versions": listed,
                    }
                ],
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:N/A:N"}],
                "references": [{"type": "WEB", "url": f"https://example.org/advisory/{i}"}],
            }
        documents.append(document)
    write_zip(path, documents)
    return documents


def write_zip(path: Path, documents: list[dict[str, object]]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for document in documents:
            archive.writestr(f"{document['id']}.json", json.dumps(document, indent=2))


def uv_lock(names: list[str], hits: list[tuple[str, str]], count: int) -> str:
    parts = ['version = 1\nrevision = 2\nrequires-python = ">=3.11"\n']
    chosen = dict(hits)
    for name in names:
        if len(chosen) >= count:
            break
        chosen.setdefault(name, "99.0.0")  # past every fix, as a maintained lock mostly is
    for name, version in chosen.items():
        wheel = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
        parts.append(
            f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
            'source = { registry = "https://pypi.org/simple" }\n'
            f'wheels = [{{ url = "https://files.pythonhosted.org/packages/{wheel}", '
            f'hash = "sha256:{"0" * 64}", upload-time = "2025-06-01T00:00:00Z" }}]\n'
        )
    return "".join(parts)


def run(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "depvet", *args], env=env, capture_output=True, text=True, check=False
    )
    return time.perf_counter() - started, done


def best_of(n: int, args: list[str], env: dict[str, str]) -> tuple[float, float]:
    times = []
    for _ in range(n):
        elapsed, done = run(args, env)
        if done.returncode not in (0, 1):
            raise SystemExit(f"depvet {' '.join(args)} failed: {done.stderr.strip()}")
        times.append(elapsed)
    return min(times), statistics.median(times)


def in_process_check(lock: Path, extra: list[str], repeat: int) -> tuple[float, float]:
    """``main(["check", …])`` after start-up: what the command itself costs."""
    code = f"""
import io, sys, time, contextlib
from depvet.cli import main
times = []
for _ in range({repeat}):
    sink = io.TextIOWrapper(io.BytesIO())
    start = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()):
        code = main(["check", {str(lock)!r}, "--format", "json", "-q", *{extra!r}])
    assert code in (0, 1), code
    times.append(time.perf_counter() - start)
print(times[0], min(times[1:]))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],  # inherits DEPVET_DATA_DIR, set in main()
        capture_output=True,
        text=True,
        check=True,
    )
    first, best = map(float, done.stdout.split())
    return first, best


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=24_000)
    parser.add_argument("--packages", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", metavar="DIR", type=Path, help="work in DIR and keep the files")
    args = parser.parse_args()
    names = popular_names()
    # An installed depvet has its bytecode compiled (pip does it at install); an editable checkout
    # under PYTHONDONTWRITEBYTECODE would compile every changed module at each start instead.
    import compileall

    import depvet

    compileall.compile_dir(str(Path(depvet.__file__).parent), quiet=1)
    with contextlib.ExitStack() as stack:
        if args.keep is not None:
            shutil.rmtree(args.keep, ignore_errors=True)
            args.keep.mkdir(parents=True)
            root = args.keep
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="depvet-advisories-")))
        env = os.environ | {"DEPVET_DATA_DIR": str(root / "data")}
        os.environ["DEPVET_DATA_DIR"] = env["DEPVET_DATA_DIR"]
        export = root / "all.zip"
        print(f"  writing an OSV export of {args.records:,} records …", file=sys.stderr)
        documents = build_export(export, args.records, names)
        db = root / "data" / "advisories.sqlite3"
        rows = []
        elapsed, done = run(["db", "update", "--from", str(export), "-q"], env)
        assert done.returncode == 0, done.stderr
        rows.append(("db update, empty database", f"{elapsed:.2f}", f"{db.stat().st_size / 2**20:.1f}"))
        elapsed, done = run(["db", "update", "--from", str(export), "-q"], env)
        assert done.returncode == 0, done.stderr
        assert " 0 added, 0 updated" in done.stdout, done.stdout
        rows.append(("db update, nothing changed", f"{elapsed:.2f}", f"{db.stat().st_size / 2**20:.1f}"))
        rng = random.Random(3)
        for document in rng.sample(documents, len(documents) // 100):
            document["modified"] = "2026-11-01T00:00:00Z"
        write_zip(export, documents)
        elapsed, done = run(["db", "update", "--from", str(export), "-q"], env)
        assert done.returncode == 0, done.stderr
        rows.append(
            ("db update, 1% of records changed", f"{elapsed:.2f}", f"{db.stat().st_size / 2**20:.1f}")
        )
        print(
            table(
                ["import", "seconds", "db MiB"],
                rows,
                f"OSV export: {args.records:,} records, zip {export.stat().st_size / 2**20:.1f} MiB",
            )
        )
        print()

        # 20 packages that are affected: 10 malicious, 10 with vulnerabilities.
        mal = [(d["affected"][0]["package"]["name"], "9.9") for d in documents[:10]]  # type: ignore[index]
        vuln_docs = [d for d in documents if str(d["id"]).startswith(("GHSA", "PYSEC"))][:10]
        vulns = [(d["affected"][0]["package"]["name"], d["affected"][0]["versions"][0]) for d in vuln_docs]  # type: ignore[index]
        lock = root / "uv.lock"
        lock.write_text(uv_lock(names, [*mal, *vulns], args.packages))
        startup = best_of(args.repeat, ["--version"], env)
        check = best_of(args.repeat, ["check", str(lock), "--format", "json", "-q"], env)
        check_vulns = best_of(args.repeat, ["check", str(lock), "--format", "json", "-q", "--vulns"], env)
        first, warm = in_process_check(lock, [], args.repeat)
        first_v, warm_v = in_process_check(lock, ["--vulns"], args.repeat)
        _, done = run(["check", str(lock), "--format", "json", "-q", "--vulns"], env)
        results = json.loads(done.stdout)["results"]
        found = sum(1 for r in results if r["findings"])
        rows = [
            ("depvet --version (start-up)", f"{startup[0] * 1000:.0f}", f"{startup[1] * 1000:.0f}", ""),
            (
                "check uv.lock",
                f"{check[0] * 1000:.0f}",
                f"{check[1] * 1000:.0f}",
                f"{(check[0] - startup[0]) * 1000:.0f}",
            ),
            (
                "check uv.lock --vulns",
                f"{check_vulns[0] * 1000:.0f}",
                f"{check_vulns[1] * 1000:.0f}",
                f"{(check_vulns[0] - startup[0]) * 1000:.0f}",
            ),
            ("check in process, first call", f"{first * 1000:.0f}", "", ""),
            ("check in process, later calls", f"{warm * 1000:.0f}", "", ""),
            ("check --vulns in process, first call", f"{first_v * 1000:.0f}", "", ""),
            ("check --vulns in process, later calls", f"{warm_v * 1000:.0f}", "", ""),
        ]
        print(
            table(
                ["command", "best ms", "median ms", "minus start-up ms"],
                rows,
                f"depvet check of a uv.lock with {len(results)} packages ({found} with findings), warm db",
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
