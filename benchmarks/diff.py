"""False alarms and speed of ``depvet diff`` on consecutive releases of popular packages.

    python benchmarks/diff.py --fetch-only                       # once: find and download the pairs
    python benchmarks/diff.py                                    # diff every pair, then the large ones
    python benchmarks/diff.py --large boto3 1.44.4 1.44.5        # + time one more named pair
    python benchmarks/diff.py --json > summary.json              # machine-readable summary only

Each ``name==version`` of ``../shared/bench/benign-top300.txt`` is the NEW side of a pair. The OLD side
is the previous final release on the index (PEP 691 JSON simple API; highest version below NEW that is
neither a pre- nor a dev-release, with a non-yanked file of the same kind: an sdist for an sdist, for a
wheel one with the same tags, else a ``py3-none-any`` one). Files are sha256-verified and cached under
``~/.cache/depvet-bench`` (NEW in ``NAME/ARTIFACT`` as ``fetch_benign.py`` leaves it, OLD in
``diffpairs/NAME/FILE``); the pairs chosen are remembered in ``diffpairs/pairs.json`` so later runs
need no network. Files over 30 MiB are skipped. Downloads are data: nothing is imported, run, built or
installed; the large-package table only lists archive members.

1. ``depvet diff OLD NEW --format json -q`` per pair, ``--jobs`` at a time, wall time per diff
   (interpreter start-up included). Targets: <= 2 % ``tainted-update-suspected``; errors apart.
2. Large packages: the 5 largest pure-Python pairs (by NEW size) and every ``--large`` pair, best of
   ``--repeat`` runs one at a time. Target: < 3 s per diff.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tarfile
import time
import urllib.request
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_CACHE,
    REPO,
    BenignArtifact,
    benign_artifacts,
    pct,
    progress,
    provenance,
    quantile,
    short,
    table,
)

INDEX = os.environ.get("DEPVET_BENCH_INDEX", "https://pypi.org/simple")
PAIRS_DIR = BENCH_CACHE / "diffpairs"
MANIFEST = PAIRS_DIR / "pairs.json"
DEPVET = REPO / ".venv" / "bin" / "depvet"
MAX_BYTES = 30 * 1024 * 1024
SDIST_SUFFIXES = (".tar.gz", ".zip")
PY3_ANY = Tag("py3", "none", "any")
NATIVE_SUFFIXES = frozenset(
    {".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".pyx", ".pxd", ".rs", ".f", ".f90", ".go", ".m"}
    | {".mm", ".cu", ".zig", ".so", ".pyd", ".dll", ".dylib"}
)
EXIT_CODES = {"ordinary": 0, "tainted-update-suspected": 1, "error": 2}
ALARM = "tainted-update-suspected"
LARGE_KEY = "large:"
LARGE_TARGET_S = 3.0
SLOWEST = 10
SLOWEST_NOTE = "run alongside the others, start-up included"
ALARM_TARGET_PCT = 2.0


class Skip(Exception):
    """The pair cannot be built for a lasting reason (remembered in the manifest)."""


# ---------------------------------------------------------------- index and downloads


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    sha256: str
    size: int
    version: Version
    tags: frozenset[Tag]  # empty for an sdist
    yanked: bool

    @property
    def kind(self) -> str:
        return "wheel" if self.tags else "sdist"

    @property
    def pure(self) -> bool:
        return bool(self.tags) and all(t.abi == "none" and t.platform == "any" for t in self.tags)


def index_files(name: str) -> list[IndexFile]:
    """The project's wheels and sdists (.tar.gz, .zip) with a parseable version, yanked or not."""
    request = urllib.request.Request(
        f"{INDEX}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        entries = json.load(response)["files"]
    files = [_index_file(name, entry) for entry in entries]
    return [f for f in files if f is not None]


def _index_file(name: str, entry: dict[str, Any]) -> IndexFile | None:
    filename = str(entry["filename"])
    tags: frozenset[Tag] = frozenset()
    try:
        if filename.endswith(".whl"):
            project, version, _, tags = parse_wheel_filename(filename)
        elif filename.endswith(SDIST_SUFFIXES):
            project, version = parse_sdist_filename(filename)
        else:
            return None
    except (InvalidSdistFilename, InvalidWheelFilename, InvalidVersion):
        return None
    if project != canonicalize_name(name):
        return None
    sha256 = str(entry.get("hashes", {}).get("sha256", ""))
    size = int(entry.get("size") or 0)
    yanked = bool(entry.get("yanked"))
    return IndexFile(filename, str(entry["url"]), sha256, size, version, tags, yanked)


def download(url: str, sha256: str, dest: Path) -> bool:
    """Fetch ``url`` into ``dest`` (atomically, sha256-verified); False if it was already there."""
    if dest.exists():
        return False
    with urllib.request.urlopen(url, timeout=600) as response:
        data = response.read()
    if len(data) > MAX_BYTES:
        raise Skip(f"{dest.name} over 30 MiB")
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise RuntimeError(f"sha256 mismatch for {dest.name}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + f".part{os.getpid()}.{id(data)}")
    part.write_bytes(data)
    part.replace(dest)
    return True


def _final(version: Version) -> bool:
    return not (version.is_prerelease or version.is_devrelease)


def previous_file(files: Sequence[IndexFile], new: IndexFile) -> IndexFile | None:
    """The best non-yanked file of the highest release below ``new`` that has a file of its kind.

    Only final releases, unless ``new`` is itself a pre-release (projects that publish nothing else).
    """
    by_version: dict[Version, list[IndexFile]] = defaultdict(list)
    any_release = not _final(new.version)
    for f in files:
        wanted = f.kind == new.kind and not f.yanked and (any_release or _final(f.version))
        if wanted and f.version < new.version:
            by_version[f.version].append(f)
    for version in sorted(by_version, reverse=True):
        choice = _best_match(by_version[version], new)
        if choice is not None:
            return choice
    return None


def _best_match(candidates: Sequence[IndexFile], new: IndexFile) -> IndexFile | None:
    if new.kind == "sdist":
        suffix = ".zip" if new.filename.endswith(".zip") else ".tar.gz"
        same = [f for f in candidates if f.filename.endswith(suffix)]
        return next(iter(same or candidates), None)
    same_tags = [f for f in candidates if f.tags == new.tags]
    py3_any = [f for f in candidates if PY3_ANY in f.tags]
    return next(iter(same_tags or py3_any), None)


# ---------------------------------------------------------------- pairs


@dataclass(frozen=True)
class Side:
    version: str
    filename: str
    path: str
    size: int


@dataclass(frozen=True)
class Pair:
    name: str
    kind: str
    old: Side
    new: Side

    @property
    def versions(self) -> str:
        return f"{self.old.version} -> {self.new.version}"


def _side(file: IndexFile, path: Path) -> Side:
    return Side(str(file.version), file.filename, str(path), file.size or path.stat().st_size)


def _cached_pair(entry: dict[str, Any] | None) -> Pair | None:
    if not entry or "old" not in entry:
        return None
    pair = Pair(entry["name"], entry["kind"], Side(**entry["old"]), Side(**entry["new"]))
    return pair if Path(pair.old.path).exists() and Path(pair.new.path).exists() else None


def resolve_listed(row: BenignArtifact) -> Pair:
    """NEW is the listed artifact (reused from the fetch_benign cache); OLD its previous release."""
    files = index_files(row.name)
    new = next((f for f in files if f.filename == row.artifact), None)
    if new is None:
        raise Skip("listed file not on the index")
    if new.size > MAX_BYTES:
        raise Skip("new file over 30 MiB")
    old = previous_file(files, new)
    if old is None:
        raise Skip(f"no earlier release with a matching {new.kind}")
    if old.size > MAX_BYTES:
        raise Skip("old file over 30 MiB")
    download(new.url, new.sha256, row.path)
    old_path = PAIRS_DIR / row.name / old.filename
    download(old.url, old.sha256, old_path)
    return Pair(row.name, new.kind, _side(old, old_path), _side(new, row.path))


def resolve_named(name: str, old_version: str, new_version: str) -> Pair:
    """A ``--large`` pair: pure-Python wheels of both versions if both have one, else sdists."""
    files = index_files(name)
    old_files = [f for f in files if f.version == Version(old_version)]
    new_files = [f for f in files if f.version == Version(new_version)]
    if not old_files or not new_files:
        raise Skip(f"{name} {old_version} or {new_version} has no file on the index")
    new = next((f for f in new_files if f.pure), None)
    old = _best_match([f for f in old_files if f.pure], new) if new else None
    if new is None or old is None:
        new = next((f for f in new_files if f.kind == "sdist"), None)
        old = _best_match([f for f in old_files if f.kind == "sdist"], new) if new else None
    if new is None or old is None:
        raise Skip(f"{name}: no pure-Python wheel or sdist in both releases")
    if max(old.size, new.size) > MAX_BYTES:
        raise Skip(f"{name}: a file is over 30 MiB")
    paths = [PAIRS_DIR / name / f.filename for f in (old, new)]
    for file, path in zip((old, new), paths, strict=True):
        download(file.url, file.sha256, path)
    return Pair(name, new.kind, _side(old, paths[0]), _side(new, paths[1]))


@dataclass
class Fetched:
    pairs: list[Pair] = field(default_factory=list)  # from the pinned list
    named: list[Pair] = field(default_factory=list)  # from --large
    skipped: dict[str, str] = field(default_factory=dict)  # key -> reason
    statuses: Counter[str] = field(default_factory=Counter)


def load_manifest() -> dict[str, dict[str, Any]]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(MANIFEST.read_text())
        if isinstance(data, dict):
            return data
    return {}


def save_manifest(manifest: dict[str, dict[str, Any]]) -> None:
    PAIRS_DIR.mkdir(parents=True, exist_ok=True)
    part = MANIFEST.with_name(MANIFEST.name + ".part")
    part.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    part.replace(MANIFEST)


def ensure(key: str, entry: dict[str, Any] | None, build: Callable[[], Pair]) -> tuple[str, Any]:
    """("cached" | "fetched", Pair), ("skip", reason) or ("error", message) for one pair."""
    if entry and "skip" in entry:
        return "skip", entry["skip"]
    cached = _cached_pair(entry)
    if cached is not None:
        return "cached", cached
    try:
        return "fetched", build()
    except Skip as why:
        return "skip", str(why)
    except Exception as exc:  # network and archive errors: one line per pair, keep going
        return "error", f"{type(exc).__name__}: {exc}"


def fetch_pairs(jobs: list[tuple[str, Callable[[], Pair]]], threads: int, quiet: bool) -> Fetched:
    """Build every pair, ``threads`` downloads at a time, remembering the choices in the manifest."""
    manifest = load_manifest()
    fetched = Fetched()
    results: dict[str, tuple[str, Any]] = {}
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        futures = {pool.submit(ensure, key, manifest.get(key), build): key for key, build in jobs}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            results[futures[future]] = future.result()
            if not quiet:
                progress(done, len(futures), 25, "pairs")
    for key, _ in jobs:  # list order, whatever the completion order
        status, value = results[key]
        fetched.statuses[status] += 1
        if isinstance(value, Pair):
            (fetched.named if key.startswith(LARGE_KEY) else fetched.pairs).append(value)
            manifest[key] = asdict(value)
        else:
            fetched.skipped[key] = value if status == "skip" else f"error: {value}"
            if status == "skip":
                manifest[key] = {"skip": value}
    save_manifest(manifest)
    return fetched


def pair_jobs(args: argparse.Namespace) -> list[tuple[str, Callable[[], Pair]]]:
    rows = benign_artifacts()
    if args.only:
        wanted = {canonicalize_name(n) for n in args.only}
        rows = [r for r in rows if canonicalize_name(r.name) in wanted]
    if args.limit:
        rows = rows[: args.limit]
    jobs: list[tuple[str, Callable[[], Pair]]] = [(r.artifact, partial(resolve_listed, r)) for r in rows]
    for name, old, new in args.large or ():
        jobs.append((f"{LARGE_KEY}{name}=={old}->{new}", partial(resolve_named, name, old, new)))
    return jobs


# ---------------------------------------------------------------- running depvet diff


@dataclass
class DiffRun:
    pair: Pair
    seconds: float
    code: int
    verdict: str
    score: float | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    files: tuple[Any, Any] = (None, None)  # file counts of OLD and NEW as the diff reports them

    @property
    def code_mismatch(self) -> bool:
        return EXIT_CODES.get(self.verdict, -1) != self.code


def run_diff(pair: Pair, timeout: float) -> DiffRun:
    argv = [str(DEPVET), "diff", pair.old.path, pair.new.path, "--format", "json", "-q"]
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return DiffRun(pair, time.perf_counter() - started, -1, "error", error=f"timed out after {timeout}s")
    seconds = time.perf_counter() - started
    try:
        diff = json.loads(done.stdout)["diffs"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        tail = short(done.stderr[-400:] or done.stdout[-400:] or "no output", 300)
        return DiffRun(
            pair, seconds, done.returncode, "error", error=f"no JSON diff (exit {done.returncode}): {tail}"
        )
    verdict = str(diff.get("verdict"))
    error = diff.get("error")
    if verdict not in EXIT_CODES:
        error, verdict = f"unexpected verdict {verdict!r}", "error"
    files = ((diff.get("old") or {}).get("files"), (diff.get("new") or {}).get("files"))
    reasons = diff.get("reasons") or []
    return DiffRun(pair, seconds, done.returncode, verdict, diff.get("score"), reasons, error, files)


def run_all(pairs: Sequence[Pair], jobs: int, timeout: float, quiet: bool) -> list[DiffRun]:
    runs: dict[int, DiffRun] = {}
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(run_diff, pair, timeout): i for i, pair in enumerate(pairs)}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            runs[futures[future]] = future.result()
            if not quiet:
                progress(done, len(futures), 25, "diffs")
    return [runs[i] for i in range(len(pairs))]


def depvet_has_diff() -> bool:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run([str(DEPVET), "diff", "--help"], capture_output=True, timeout=60, check=False)
        return done.returncode == 0
    return False


def startup_seconds() -> float:
    """Best of 3 ``depvet --version``: the part of every timing that is interpreter start-up."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([str(DEPVET), "--version"], capture_output=True, check=False)
        best = min(best, time.perf_counter() - started)
    return best


# ---------------------------------------------------------------- large packages


def archive_files(path: Path) -> list[str]:
    """Names of the regular files in a wheel, zip or tar archive (listing only, nothing extracted)."""
    if path.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(path) as archive:
            return [i.filename for i in archive.infolist() if not i.is_dir()]
    with tarfile.open(path, "r:*") as archive:
        return [m.name for m in archive.getmembers() if m.isfile()]


def pure_python(pair: Pair) -> bool:
    """Pure-Python wheels, or sdists without C/C++/Cython/Rust/Fortran/Go sources or binaries."""
    for side in (pair.old, pair.new):
        if side.filename.endswith(".whl"):
            if not all(
                t.abi == "none" and t.platform == "any" for t in parse_wheel_filename(side.filename)[3]
            ):
                return False
            continue
        for name in archive_files(Path(side.path)):
            leaf = PurePosixPath(name)
            if leaf.suffix.lower() in NATIVE_SUFFIXES or leaf.name == "Cargo.toml":
                return False
    return True


def largest_pure(pairs: Sequence[Pair], count: int) -> list[Pair]:
    chosen: list[Pair] = []
    for pair in sorted(pairs, key=lambda p: p.new.size, reverse=True):
        if len(chosen) == count:
            break
        with contextlib.suppress(OSError, tarfile.TarError, zipfile.BadZipFile):
            if pure_python(pair):
                chosen.append(pair)
    return chosen


def time_large(pairs: Sequence[Pair], repeat: int, timeout: float, quiet: bool) -> list[dict[str, Any]]:
    rows = []
    for pair in pairs:
        runs = [run_diff(pair, timeout) for _ in range(repeat)]
        best = min(runs, key=lambda r: r.seconds)
        rows.append(
            {
                "name": pair.name,
                "versions": pair.versions,
                "kind": pair.kind,
                "old_bytes": pair.old.size,
                "new_bytes": pair.new.size,
                "old_files": len(archive_files(Path(pair.old.path))),
                "new_files": len(archive_files(Path(pair.new.path))),
                "best_s": best.seconds,
                "all_s": [r.seconds for r in runs],
                "verdict": best.verdict,
                "error": best.error,
            }
        )
        if not quiet:
            print(f"  large: {pair.name} {best.seconds:.2f}s", file=sys.stderr, flush=True)
    return rows


# ---------------------------------------------------------------- report


def summary(
    runs: Sequence[DiffRun], fetched: Fetched, large: Sequence[dict[str, Any]], startup: float
) -> dict[str, Any]:
    seconds = [r.seconds for r in runs]
    counts = Counter(r.verdict for r in runs)
    diffed = counts["ordinary"] + counts[ALARM]
    return {
        "provenance": provenance(),
        "pairs": len(runs),
        "fetch": dict(fetched.statuses),
        "skipped": fetched.skipped,
        "ordinary": counts["ordinary"],
        "alarms": counts[ALARM],
        "alarm_pct": 100.0 * counts[ALARM] / diffed if diffed else None,
        "errors": counts["error"],
        "exit_code_mismatches": sum(r.code_mismatch for r in runs),
        "seconds": {
            "median": statistics.median(seconds) if seconds else 0.0,
            "p90": quantile(seconds, 0.9),
            "max": max(seconds, default=0.0),
            "startup": startup,
        },
        "alarm_list": [_run_json(r) for r in runs if r.verdict == ALARM],
        "error_list": [_run_json(r) for r in runs if r.verdict == "error"],
        "slowest": [_run_json(r) for r in sorted(runs, key=lambda r: -r.seconds)[:SLOWEST]],
        "rules": rule_counts(runs),
        "large": list(large),
    }


def _run_json(run: DiffRun) -> dict[str, Any]:
    return {
        "name": run.pair.name,
        "old": asdict(run.pair.old),
        "new": asdict(run.pair.new),
        "seconds": run.seconds,
        "code": run.code,
        "verdict": run.verdict,
        "score": run.score,
        "reasons": run.reasons,
        "error": run.error,
        "files": list(run.files),
    }


def rule_counts(runs: Iterable[DiffRun]) -> dict[str, dict[str, Any]]:
    """Per reason rule_id: pairs it appeared in (and their packages), of them alarms, severities, a title."""
    rules: dict[str, dict[str, Any]] = {}
    for run in runs:
        for rule_id in sorted({str(r.get("rule_id")) for r in run.reasons}):
            entry = rules.setdefault(
                rule_id, {"pairs": 0, "alarms": 0, "severities": Counter(), "title": "", "packages": []}
            )
            entry["pairs"] += 1
            entry["alarms"] += run.verdict == ALARM
            entry["packages"].append(run.pair.name)
        for reason in run.reasons:
            entry = rules[str(reason.get("rule_id"))]
            entry["severities"][str(reason.get("severity"))] += 1
            entry["title"] = entry["title"] or str(reason.get("title") or "")
    return dict(sorted(rules.items(), key=lambda kv: (-kv[1]["pairs"], kv[0])))


def report(data: dict[str, Any], jobs: int) -> None:
    prov = data["provenance"]
    print(f"depvet {prov['depvet']} ({prov['commit']}), python {prov['python']}, {prov['cpus']} cpus")
    print()
    print(main_table(data, jobs))
    print()
    print_slowest(data["slowest"])
    print_alarms(data["alarm_list"])
    print_errors(data["error_list"])
    print_rules(data["rules"])
    print_skipped(data["skipped"])
    print_large(data["large"], data["seconds"]["startup"])


def main_table(data: dict[str, Any], jobs: int) -> str:
    n, secs, fetch = data["pairs"], data["seconds"], data["fetch"]
    diffed = data["ordinary"] + data["alarms"]
    rows = [
        (
            "pairs listed / fetched / skipped",
            f"{n + len(data['skipped'])} / {n} / {len(data['skipped'])}",
            ">= 100",
        ),
        (
            "fetch, --large included: cached / downloaded",
            f"{fetch.get('cached', 0)} / {fetch.get('fetched', 0)}",
            "",
        ),
        ("ordinary", f"{data['ordinary']} ({pct(data['ordinary'], diffed)})", ""),
        (ALARM, f"{data['alarms']} ({pct(data['alarms'], diffed)})", f"<= {ALARM_TARGET_PCT:.0f} %"),
        ("errors (apart, not alarms)", str(data["errors"]), "0"),
        ("exit code disagrees with verdict", str(data["exit_code_mismatches"]), "0"),
        (
            "seconds per diff: median / p90 / worst",
            f"{secs['median']:.2f} / {secs['p90']:.2f} / {secs['max']:.2f}",
            "",
        ),
        ("  of which start-up (depvet --version)", f"{secs['startup']:.2f}", ""),
    ]
    title = f"DEPVET DIFF ON CONSECUTIVE RELEASES OF POPULAR PACKAGES ({jobs} at a time)"
    return table(("figure", "value", "target"), rows, title)


def print_slowest(slowest: Sequence[dict[str, Any]]) -> None:
    rows = [
        (
            r["name"],
            f"{r['old']['version']} -> {r['new']['version']}",
            "wheel" if r["new"]["filename"].endswith(".whl") else "sdist",
            f"{r['new']['size'] / 1e6:.1f}",
            " / ".join(str(n) for n in r["files"]),
            f"{r['seconds']:.2f}",
            r["verdict"],
        )
        for r in slowest
    ]
    headers = ("package", "versions", "kind", "MB new", "files old / new", "seconds", "verdict")
    print(table(headers, rows, f"SLOWEST {len(rows)} DIFFS (wall time, {SLOWEST_NOTE})"))
    print()


def print_alarms(alarms: Sequence[dict[str, Any]]) -> None:
    print(f"ALARMS ({len(alarms)})")
    for alarm in alarms:
        versions = f"{alarm['old']['version']} -> {alarm['new']['version']}"
        print(f"  {alarm['name']} {versions}  score {alarm['score']}  ({alarm['new']['filename']})")
        for reason in alarm["reasons"]:
            line = reason.get("line")
            where = f"{reason.get('path')}:{line}" if line is not None else str(reason.get("path"))
            print(f"    {reason.get('rule_id')} {reason.get('severity')}  {reason.get('title')}")
            print(f"      {where}  {short(str(reason.get('evidence') or ''), 160)}")
    print()


def print_errors(errors: Sequence[dict[str, Any]]) -> None:
    if not errors:
        return
    rows = [
        (e["name"], f"{e['old']['version']} -> {e['new']['version']}", short(str(e["error"]), 160))
        for e in errors
    ]
    print(table(("package", "versions", "error"), rows, f"ERRORS ({len(errors)}, not counted as alarms)"))
    print()


def print_rules(rules: dict[str, dict[str, Any]]) -> None:
    rows = [
        (
            rule_id,
            str(e["pairs"]),
            str(e["alarms"]),
            ", ".join(f"{sev} {n}" for sev, n in Counter(e["severities"]).most_common()),
            short(e["title"], 70),
            short(", ".join(e["packages"]), 60),
        )
        for rule_id, e in rules.items()
    ]
    headers = ("rule", "pairs", "in alarms", "reasons by severity", "title", "packages")
    print(table(headers, rows, "REASON RULES BY PAIRS (alarms or not)"))
    print()


def print_skipped(skipped: dict[str, str]) -> None:
    if not skipped:
        return
    by_reason = Counter(reason for reason in skipped.values())
    rows = [
        (short(reason, 80), str(n), short(", ".join(k for k, r in skipped.items() if r == reason), 90))
        for reason, n in by_reason.most_common()
    ]
    print(table(("reason", "pairs", "artifacts"), rows, f"PAIRS LEFT OUT ({len(skipped)})"))
    print()


def print_large(large: Sequence[dict[str, Any]], startup: float) -> None:
    if not large:
        return
    rows = [
        (
            row["name"],
            row["versions"],
            row["kind"],
            f"{row['old_bytes'] / 1e6:.1f} / {row['new_bytes'] / 1e6:.1f}",
            f"{row['old_files']} / {row['new_files']}",
            f"{row['best_s']:.2f}",
            row["verdict"] + (f": {short(str(row['error']), 50)}" if row["error"] else ""),
            f"< {LARGE_TARGET_S:.0f} s",
        )
        for row in large
    ]
    headers = (
        "package",
        "versions",
        "kind",
        "MB old / new",
        "files old / new",
        "best s",
        "verdict",
        "target",
    )
    print(table(headers, rows, "LARGE PURE-PYTHON PACKAGES (best of runs, start-up included)"))
    print(f"(start-up alone, depvet --version: {startup:.2f} s)")


# ---------------------------------------------------------------- main


def parse_args(argv: Iterable[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fetch-only", action="store_true", help="find and download the pairs, then stop")
    parser.add_argument("--limit", type=int, default=0, help="first N listed packages only")
    parser.add_argument("--only", action="append", metavar="NAME", help="this package only (repeatable)")
    parser.add_argument(
        "--large", action="append", nargs=3, metavar=("NAME", "OLD_VERSION", "NEW_VERSION"),
        help="also fetch and time this pair (wheel preferred; repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--largest", type=int, default=5, help="time the N largest pure-Python pairs (default 5)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="diffs at a time (default 2)")
    parser.add_argument("--fetch-jobs", type=int, default=8, help="download threads (default 8)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per large pair, best kept (default 3)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per diff before it is an error")
    parser.add_argument(
        "--json", action="store_true", help="machine-readable summary on stdout instead of tables"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return parser.parse_args(argv)


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    fetched = fetch_pairs(pair_jobs(args), args.fetch_jobs, args.quiet)
    listed, named = fetched.pairs, fetched.named
    if args.fetch_only:
        print(f"{len(listed)} listed pairs and {len(named)} --large pairs ready in {PAIRS_DIR}")
        for key, reason in fetched.skipped.items():
            print(f"  left out {key}: {reason}")
        return 0
    if not depvet_has_diff():
        print(
            f"{DEPVET} has no 'diff' command yet; fetched {len(listed) + len(named)} pairs", file=sys.stderr
        )
        return 2
    runs = run_all(listed, args.jobs, args.timeout, args.quiet)
    large_pairs = largest_pure(listed, args.largest) + named
    large = time_large(large_pairs, args.repeat, args.timeout, args.quiet)
    data = summary(runs, fetched, large, startup_seconds())
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        report(data, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
