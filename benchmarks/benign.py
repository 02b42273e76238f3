"""False positives and speed on the popular packages, with GuardDog (and pipguard) in the same run.

    python benchmarks/benign.py                                   # depvet only, all cached artifacts
    python benchmarks/benign.py --guarddog --guarddog-limit 40    # + GuardDog 3.2.0 on the first 40
    python benchmarks/benign.py --guarddog --pipguard             # + both peers on the whole set (~15 min)
    python benchmarks/benign.py --json > summary.json             # machine-readable summary only

Artifacts come from ``~/.cache/depvet-bench`` (``benchmarks/fetch_benign.py`` downloads the files named
in ``../shared/bench/benign-top300.txt``). All of them are popular, benign packages.

1. depvet scans every artifact with ``scan_all(refs, jobs=--jobs)`` in a child process; the parent
   samples the child's process tree in /proc for peak RSS (VmHWM) of the main and worker processes.
2. ``--guarddog``: GuardDog 3.2.0 from its own venv (created on first use, outside the repository),
   ``guarddog pypi scan ARTIFACT --output-format json`` per artifact, two at a time, 300 s cap, as in
   ``guarddog-baseline.md``. ``--guarddog-limit N`` runs it on the first N artifacts only; depvet is
   then scanned again on exactly that subset with the same number of processes, so the throughput
   ratio compares like with like. On the whole set depvet is scanned again after the peers, and the
   ratio uses the mean of its two runs: the peers take minutes, and a shared machine's speed drifts
   by 10-20 % over that time while depvet's own run takes seconds.
3. ``--pipguard``: pipguard 0.4.3 from its own venv, calling its own per-archive pipeline
   (``pipguard.cli._scan_one_package``: extract into a temporary directory, AST and ``.pth`` scans,
   binary checks, aggregate) on the same subset, in two processes. Its CLI only scans as part of
   ``pipguard install``; the pipeline never installs or runs anything from the artifact.

Targets (see ../shared/bench/guarddog-baseline.md): throughput >= 20x GuardDog's, no package over 10 s,
<= 2 % flagged (verdict suspicious or malicious), <= 0.3 % malicious. Timings on a shared machine
are noisy; ratios measured in the same run are more stable than absolute seconds.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenignArtifact,
    benign_artifacts,
    fmt_seconds,
    pct,
    provenance,
    seconds_summary,
    short,
    table,
)

TOOLS = Path(os.environ.get("DEPVET_BENCH_TOOLS", Path.home() / ".cache" / "depvet-bench-tools"))
GUARDDOG_VERSION = "3.2.0"
PIPGUARD_VERSION = "0.4.3"
PEER_CAP_SECONDS = 300
SLOW_SECONDS = 10.0
HIGH = ("high", "critical")


# ================================================================ depvet in a child process


def child_main(list_file: Path, out_file: Path, jobs: int) -> int:
    """Runs in the child: scan the listed artifacts, one JSON line per result as it completes.

    Streaming lets the parent keep what finished if it has to stop a run that exceeds its cap.
    """
    import resource

    from depvet.scanning import expand_targets, scan_all

    targets = [line for line in list_file.read_text().splitlines() if line]
    with out_file.open("w", encoding="utf-8") as out:
        done = 0

        def emit(r: Any) -> None:
            nonlocal done
            done += 1
            out.write(json.dumps(result_dict(r)) + "\n")
            out.flush()
            if done % 50 == 0 or done == len(targets):
                print(f"  depvet: {done}/{len(targets)}", file=sys.stderr, flush=True)

        started = time.perf_counter()
        scan_all(expand_targets(targets), jobs=jobs, on_result=emit)
        wall = time.perf_counter() - started
        end = {
            "done": True,
            "wall": wall,
            "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "children_maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        }
        out.write(json.dumps(end) + "\n")
    return 0


def result_dict(r: Any) -> dict[str, Any]:
    return {
        "target": r.target,
        "name": r.name,
        "version": r.version,
        "verdict": str(r.verdict),
        "score": r.score,
        "seconds": r.seconds,
        "files_scanned": r.files_scanned,
        "error": r.error,
        "findings": [
            {
                "rule_id": f.rule_id,
                "severity": str(f.severity),
                "context": str(f.context),
                "title": f.title,
                "path": f.path,
                "line": f.line,
                "evidence": f.evidence,
            }
            for f in r.findings
        ],
    }


class TreeSampler(threading.Thread):
    """Samples VmHWM / VmRSS of a process and all its descendants from /proc (Linux)."""

    def __init__(self, root: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.hwm_kb: dict[int, int] = {}
        self.parent: dict[int, int] = {}
        self.peak_total_kb = 0
        self.available = Path("/proc/self/status").exists()
        self._halt = threading.Event()

    def run(self) -> None:
        while self.available and not self._halt.is_set():
            self.sample()
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def sample(self) -> None:
        parents: dict[int, int] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(entry.path, "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        tree, frontier = {self.root}, [self.root]
        while frontier:
            pid = frontier.pop()
            for child, parent in parents.items():
                if parent == pid and child not in tree:
                    tree.add(child)
                    frontier.append(child)
        total = 0
        for pid in tree:
            with contextlib.suppress(OSError):
                fields = dict(
                    line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                )
                hwm = int(fields.get("VmHWM", "0 kB").split()[0])
                total += int(fields.get("VmRSS", "0 kB").split()[0])
                self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), hwm)
                self.parent.setdefault(pid, parents.get(pid, 0))
        self.peak_total_kb = max(self.peak_total_kb, total)

    def main_kb(self) -> int:
        return self.hwm_kb.get(self.root, 0)

    def largest_other_kb(self) -> int:
        """Largest peak among descendants (scan workers, forkserver, resource tracker)."""
        return max((kb for pid, kb in self.hwm_kb.items() if pid != self.root), default=0)

    def worker_kbs(self) -> list[int]:
        """Peaks of grandchildren: with the forkserver start method these are the scan workers."""
        return sorted(
            (kb for pid, kb in self.hwm_kb.items() if pid != self.root and self.parent.get(pid) != self.root),
            reverse=True,
        )


@dataclass
class DepvetRun:
    artifacts: list[BenignArtifact]
    jobs: int
    wall: float = 0.0  # scan_all, inside the child
    process_wall: float = 0.0  # the child from start to exit: interpreter, imports, pool, scan
    results: list[dict[str, Any]] = field(default_factory=list)
    main_rss_kb: int = 0
    worker_rss_kb: list[int] = field(default_factory=list)
    largest_rss_kb: int = 0
    total_rss_kb: int = 0
    rusage_children_kb: int = 0
    failure: str | None = None
    unfinished: list[str] = field(default_factory=list)


def run_depvet(artifacts: Sequence[BenignArtifact], jobs: int, label: str, cap: float) -> DepvetRun:
    run = DepvetRun(list(artifacts), jobs)
    print(f"  depvet: scanning {len(artifacts)} artifacts with {jobs} workers ({label}) …", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="depvet-benign-") as tmp:
        list_file, out_file = Path(tmp, "targets.txt"), Path(tmp, "results.jsonl")
        list_file.write_text("".join(f"{a.path}\n" for a in artifacts))
        argv = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child-list",
            str(list_file),
            "--child-out",
            str(out_file),
            "--jobs",
            str(jobs),
        ]
        started = time.perf_counter()
        proc = subprocess.Popen(argv, start_new_session=True)  # own group: a capped run is stopped whole
        sampler = TreeSampler(proc.pid)
        sampler.start()
        timer = threading.Timer(cap, _kill_group, (proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            _kill_group(proc.pid)
            raise
        finally:
            timer.cancel()
            sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
        run.process_wall = time.perf_counter() - started
        if proc.returncode != 0:
            _kill_group(proc.pid)  # workers a killed or crashed child left behind
        lines = out_file.read_text(encoding="utf-8").splitlines() if out_file.exists() else []
    rows = [json.loads(line) for line in lines if line.strip()]
    end = next((row for row in rows if row.get("done")), None)
    by_target = {row["target"]: row for row in rows if not row.get("done")}
    if end is None:
        run.failure = (
            f"depvet did not finish within the {cap:.0f} s cap (exit {proc.returncode}); "
            f"{len(by_target)} of {len(artifacts)} results kept"
        )
    run.wall = end["wall"] if end else run.process_wall
    for artifact in artifacts:
        row = by_target.get(str(artifact.path))
        if row is None:
            run.unfinished.append(artifact.name)
            row = {
                "target": str(artifact.path),
                "name": artifact.name,
                "version": artifact.version,
                "verdict": "error",
                "score": 0.0,
                "seconds": None,  # unknown: left out of the timing figures, listed apart
                "files_scanned": 0,
                "error": f"not finished within the {cap:.0f} s cap",
                "findings": [],
            }
        run.results.append(row)
    run.main_rss_kb = max(sampler.main_kb(), end["self_maxrss_kb"] if end else 0)
    run.worker_rss_kb = sampler.worker_kbs()
    run.largest_rss_kb = sampler.largest_other_kb()
    run.total_rss_kb = sampler.peak_total_kb
    run.rusage_children_kb = max(usage.ru_maxrss, end["children_maxrss_kb"] if end else 0)
    return run


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def is_flagged(result: dict[str, Any]) -> bool:
    return result["verdict"] in ("malicious", "suspicious")


# ================================================================ peers


@dataclass
class PeerResult:
    artifact: BenignArtifact
    seconds: float
    returncode: int | None
    maxrss_kb: int
    doc: dict[str, Any] | None
    stderr_tail: str = ""

    @property
    def completed(self) -> bool:
        return self.doc is not None


def run_measured(argv: list[str], cap: float, cwd: str) -> tuple[int | None, str, str, float, int]:
    """Run argv with a time cap: (exit code, or None on timeout; stdout; stderr; seconds; maxrss kB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=cwd, start_new_session=True)
        code: int | None = None
        maxrss = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                maxrss = usage.ru_maxrss
                break
            if time.perf_counter() - started > cap:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                _, status, usage = os.wait4(proc.pid, 0)
                maxrss = usage.ru_maxrss
                break
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        proc.returncode = code if code is not None else -9
        out.seek(0)
        err.seek(0)
        return (
            code,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            seconds,
            maxrss,
        )


def ensure_venv(name: str, requirement: str, executable: str, python: str) -> Path:
    venv = TOOLS / name
    exe = venv / "bin" / executable
    if exe.exists():
        return venv
    print(f"  installing {requirement} into {venv} …", file=sys.stderr)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", requirement], check=True)
    if not exe.exists():
        raise SystemExit(f"{requirement} installed but {exe} is missing")
    return venv


def run_guarddog(
    artifacts: Sequence[BenignArtifact], venv: Path, workers: int
) -> tuple[list[PeerResult], float]:
    exe = str(venv / "bin" / "guarddog")
    results: list[PeerResult | None] = [None] * len(artifacts)
    done = 0
    lock = threading.Lock()

    def one(index: int, artifact: BenignArtifact, cwd: str) -> None:
        nonlocal done
        argv = [exe, "pypi", "scan", str(artifact.path), "--output-format", "json"]
        code, out, err, seconds, rss = run_measured(argv, PEER_CAP_SECONDS, cwd)
        doc = None
        with contextlib.suppress(ValueError):
            start = out.find("{")
            doc = json.loads(out[start:]) if start >= 0 else None
        tail = [
            line
            for line in err.splitlines()
            if line.strip() and "Network error" not in line and "Failed to download" not in line
        ]
        results[index] = PeerResult(artifact, seconds, code, rss, doc, short(" ".join(tail[-2:]), 160))
        with lock:
            done += 1
            if done % 20 == 0 or done == len(artifacts):
                print(f"  guarddog: {done}/{len(artifacts)}", file=sys.stderr, flush=True)

    print(
        f"  guarddog {GUARDDOG_VERSION}: {len(artifacts)} artifacts, {workers} at a time …", file=sys.stderr
    )
    with tempfile.TemporaryDirectory(prefix="depvet-bench-guarddog-") as cwd:
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda pair: one(pair[0], pair[1], cwd), enumerate(artifacts)))
        wall = time.perf_counter() - started
    return [r for r in results if r is not None], wall


def guarddog_labels(doc: dict[str, Any]) -> dict[str, Any]:
    rules = {name for name, hits in (doc.get("results") or {}).items() if hits}
    return {
        "label": (doc.get("risk_score") or {}).get("label", "?"),
        "any": bool(rules),
        "threat": any(r.startswith("threat-") for r in rules),
        "rules": sorted(rules),
    }


PIPGUARD_DRIVER = r"""
import json, shutil, sys, tempfile, time
from pipguard.cli import _scan_one_package
for path in sys.argv[1:]:
    tmp = tempfile.mkdtemp(prefix="depvet-bench-pipguard-")
    started = time.perf_counter()
    try:
        res = _scan_one_package(path, tmp, [], False)
        row = {"path": path, "max_level": res.max_level.name, "effective_level": res.effective_level.name,
               "levels": {}, "top": []}
        for f in res.findings:
            row["levels"][f.level.name] = row["levels"].get(f.level.name, 0) + 1
        for f in sorted(res.findings, key=lambda f: -f.level.value)[:3]:
            row["top"].append(f"{f.level.name} {f.file_path.replace(tmp, '')}:{f.line} {f.description}")
    except Exception as exc:
        row = {"path": path, "error": f"{type(exc).__name__}: {exc}"}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    row["seconds"] = time.perf_counter() - started
    print(json.dumps(row), flush=True)
"""


def run_pipguard(
    artifacts: Sequence[BenignArtifact], venv: Path, workers: int
) -> tuple[list[PeerResult], float]:
    """pipguard's own per-archive pipeline, ``workers`` processes each taking every n-th artifact."""
    python = str(venv / "bin" / "python")
    shares = [list(artifacts[i::workers]) for i in range(workers)]
    by_path = {str(a.path): a for a in artifacts}
    outputs: list[tuple[int | None, str, str, float, int]] = []
    print(
        f"  pipguard {PIPGUARD_VERSION}: {len(artifacts)} artifacts in {workers} processes …", file=sys.stderr
    )
    with tempfile.TemporaryDirectory(prefix="depvet-bench-pipguard-") as cwd:
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            cap = PEER_CAP_SECONDS * max(1, len(artifacts))
            outputs = list(
                pool.map(
                    lambda share: run_measured(
                        [python, "-c", PIPGUARD_DRIVER, *(str(a.path) for a in share)], cap, cwd
                    ),
                    shares,
                )
            )
        wall = time.perf_counter() - started
    results: list[PeerResult] = []
    for code, out, err, _, rss in outputs:
        for line in out.splitlines():
            with contextlib.suppress(ValueError):
                row = json.loads(line)
                doc = None if "error" in row else row
                results.append(
                    PeerResult(by_path[row["path"]], row["seconds"], code, rss, doc, row.get("error", ""))
                )
        if code != 0:
            print(f"  pipguard driver exited with {code}: {short(err, 200)}", file=sys.stderr)
    seen = {str(r.artifact.path) for r in results}
    for artifact in artifacts:
        if str(artifact.path) not in seen:  # its driver process died or hit the cap first
            results.append(PeerResult(artifact, 0.0, None, 0, None, "not scanned: driver stopped"))
    order = {str(a.path): i for i, a in enumerate(artifacts)}
    results.sort(key=lambda r: order[str(r.artifact.path)])
    return results, wall


# ================================================================ report


def mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB" if kb else "n/a"


def depvet_figures(run: DepvetRun) -> dict[str, Any]:
    res = run.results
    n = len(res)
    seconds = [r["seconds"] for r in res if r["seconds"] is not None]
    return {
        "packages": n,
        "scan_wall": run.wall,
        "wall": run.process_wall,  # conservative: includes interpreter start, imports and pool start-up
        "scan_packages_per_s": n / run.wall if run.wall else None,
        "packages_per_s": n / run.process_wall if run.process_wall else None,
        "per_package": seconds_summary(seconds),
        "over_10s": [r["name"] or r["target"] for r in res if (r["seconds"] or 0) > SLOW_SECONDS],
        "unfinished": run.unfinished,
        "flagged": sum(is_flagged(r) for r in res),
        "flagged_names": [f"{r['name']} ({r['verdict']})" for r in res if is_flagged(r)],
        "malicious": sum(r["verdict"] == "malicious" for r in res),
        "errors": sum(r["verdict"] == "error" for r in res),
        "any_finding": sum(bool(r["findings"]) for r in res),
        "any_high": sum(any(f["severity"] in HIGH for f in r["findings"]) for r in res),
        "main_rss_kb": run.main_rss_kb,
        "worker_rss_kb": run.worker_rss_kb,
        "largest_rss_kb": run.largest_rss_kb,
        "total_rss_kb": run.total_rss_kb,
    }


def print_depvet(run: DepvetRun, missing: Sequence[BenignArtifact]) -> dict[str, Any]:
    fig = depvet_figures(run)
    n = fig["packages"]
    sizes = {str(a.path): a.path.stat().st_size for a in run.artifacts if a.path.exists()}
    per = fig["per_package"]
    rows = [
        ["artifacts scanned", n, ""],
        ["wall time, scan_all only (s)", f"{run.wall:.1f}", ""],
        ["wall time incl. interpreter start, imports, pool (s)", f"{run.process_wall:.1f}", ""],
        ["packages/s (from the wall time incl. start-up)", f"{fig['packages_per_s']:.2f}", ">= 20x GuardDog"],
        ["per-package s: median / mean / p90 / p99 / max", fmt_seconds(per), ""],
        ["per-package s, summed", f"{per['sum']:.1f}", ""],
        ["packages over 10 s", len(fig["over_10s"]), "0"],
        ["peak RSS, largest worker process", mb(fig["worker_rss_kb"][0] if fig["worker_rss_kb"] else 0), ""],
        ["peak RSS, main process", mb(fig["main_rss_kb"]), ""],
        ["peak RSS, all processes together", mb(fig["total_rss_kb"]), ""],
        ["flagged (suspicious or malicious)", f"{fig['flagged']} ({pct(fig['flagged'], n)})", "<= 2%"],
        ["malicious", f"{fig['malicious']} ({pct(fig['malicious'], n)})", "<= 0.3%"],
        ["errors", fig["errors"], "0"],
        ["with any finding (any severity)", f"{fig['any_finding']} ({pct(fig['any_finding'], n)})", ""],
        ["with a high/critical finding", f"{fig['any_high']} ({pct(fig['any_high'], n)})", ""],
    ]
    print(table(["figure", "depvet", "target"], rows, f"DEPVET ON {n} POPULAR PACKAGES ({run.jobs} workers)"))
    if run.failure:
        print(f"  !! {run.failure}.")
        print(
            "  !! unfinished, counted as errors, left out of the timings (list order: the first "
            f"{run.jobs} were probably in flight): {', '.join(run.unfinished)}"
        )
    if missing:
        print(
            f"  not in the cache (run benchmarks/fetch_benign.py): {', '.join(a.artifact for a in missing)}"
        )

    slowest = sorted((r for r in run.results if r["seconds"] is not None), key=lambda r: -r["seconds"])[:5]
    print()
    print(
        table(
            ["package", "seconds", "files", "artifact MB"],
            [
                [
                    f"{r['name']} {r['version']}",
                    f"{r['seconds']:.2f}",
                    r["files_scanned"],
                    f"{sizes.get(r['target'], 0) / 1e6:.1f}",
                ]
                for r in slowest
            ],
            "SLOWEST 5",
        )
    )
    if fig["over_10s"]:
        print(f"  over 10 s: {', '.join(fig['over_10s'])}")

    flagged = [r for r in run.results if is_flagged(r)]
    print(f"\nFLAGGED POPULAR PACKAGES ({len(flagged)}), with their high/critical findings")
    for r in flagged:
        print(f"  {r['verdict']:10} score {r['score']:<5} {r['name']} {r['version']}")
        high = [f for f in r["findings"] if f["severity"] in HIGH] or r["findings"][:3]
        for f in high:
            where = f"{f['path']}:{f['line']}" if f["line"] else f["path"]
            evidence = short(f["evidence"], 110)
            print(f"      {f['severity']:8} {f['rule_id']} [{f['context']}] {where}  {evidence}")
    errors = [r for r in run.results if r["verdict"] == "error"]
    for r in errors:
        print(f"  error      {r['target']}: {r['error']}")

    by_rule: Counter[str] = Counter()
    titles: dict[str, str] = {}
    for r in run.results:
        for rule in {f["rule_id"] for f in r["findings"] if f["severity"] in HIGH}:
            by_rule[rule] += 1
        for f in r["findings"]:
            titles.setdefault(f["rule_id"], f["title"])
    if by_rule:
        print()
        print(
            table(
                ["rule", "title", "packages"],
                [[rule, short(titles[rule], 60), k] for rule, k in by_rule.most_common(15)],
                "RULES AT HIGH/CRITICAL ON POPULAR PACKAGES (packages per rule, flagged or not)",
            )
        )
    return fig


def mean_of_runs(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The figures of the first run, with its timings replaced by the mean of both runs."""
    mean = dict(before)
    mean["wall"] = (before["wall"] + after["wall"]) / 2
    mean["packages_per_s"] = before["packages"] / mean["wall"] if mean["wall"] else None
    mean["per_package"] = {**before["per_package"]}
    mean["per_package"]["sum"] = (before["per_package"]["sum"] + after["per_package"]["sum"]) / 2
    mean["walls"] = f"{before['wall']:.1f} s and {after['wall']:.1f} s"
    return mean


def peer_figures(results: Sequence[PeerResult], wall: float, kind: str) -> dict[str, Any]:
    done = [r for r in results if r.completed]
    seconds = [r.seconds for r in results]
    fig: dict[str, Any] = {
        "packages": len(results),
        "completed": len(done),
        "failed": [f"{r.artifact.name}: {r.stderr_tail or r.returncode}" for r in results if not r.completed],
        "wall": wall,
        "packages_per_s": len(results) / wall if wall else None,
        "per_package": seconds_summary(seconds),
        "over_10s": [r.artifact.name for r in results if r.seconds > SLOW_SECONDS],
        "maxrss_kb": max((r.maxrss_kb for r in results), default=0),
    }
    if kind == "guarddog":
        labels = {r.artifact.name: guarddog_labels(r.doc) for r in done if r.doc}
        fig["labels"] = {name: lab["label"] for name, lab in labels.items()}
        fig["flagged"] = sum(lab["label"] in ("suspicious", "high_risk") for lab in labels.values())
        fig["malicious"] = sum(lab["label"] == "high_risk" for lab in labels.values())
        fig["any_finding"] = sum(lab["any"] for lab in labels.values())
        fig["threat"] = sum(lab["threat"] for lab in labels.values())
    else:
        levels = {r.artifact.name: r.doc["max_level"] for r in done if r.doc}
        fig["labels"] = levels
        fig["flagged"] = sum(level in ("HIGH", "CRITICAL") for level in levels.values())
        fig["malicious"] = sum(level == "CRITICAL" for level in levels.values())
        fig["any_finding"] = sum(level != "CLEAN" for level in levels.values())
    return fig


def print_comparison(
    dv: dict[str, Any], peers: dict[str, dict[str, Any]], subset: int, same_run_note: str
) -> None:
    names = list(peers)
    headers = ["figure (same artifacts, same run)", "depvet", *names, "target"]

    def row(label: str, value: Any, key: Any, target: str = "") -> list[object]:
        return [label, value(dv), *(key(peers[n]) for n in names), target]

    def ratio(fig: dict[str, Any]) -> str:
        if not fig.get("packages_per_s") or not dv.get("packages_per_s"):
            return "n/a"
        return f"{dv['packages_per_s'] / fig['packages_per_s']:.1f}x"

    def sum_ratio(fig: dict[str, Any]) -> str:
        if not dv["per_package"]["sum"]:
            return "n/a"
        return f"{fig['per_package']['sum'] / dv['per_package']['sum']:.1f}x"

    def share(key: str) -> Any:
        return lambda f: f"{f[key]} ({pct(f[key], f.get('completed', f['packages']))})"

    rows = [
        row("artifacts", lambda f: f["packages"], lambda f: f["packages"]),
        row(
            "completed (scanned, not failed or capped)",
            lambda f: f["packages"] - f["errors"],
            lambda f: f["completed"],
        ),
        row("wall time incl. start-up (s)", lambda f: f"{f['wall']:.1f}", lambda f: f"{f['wall']:.1f}"),
        row(
            "packages/s",
            lambda f: f"{f['packages_per_s']:.2f}",
            lambda f: f"{f['packages_per_s']:.2f}" if f["packages_per_s"] else "n/a",
        ),
        row("depvet throughput / peer's", lambda f: "", ratio, ">= 20x GuardDog"),
        row("peer's summed seconds / depvet's", lambda f: "", sum_ratio),
        row(
            "per-package s: median / mean / p90 / p99 / max",
            lambda f: fmt_seconds(f["per_package"]),
            lambda f: fmt_seconds(f["per_package"]),
        ),
        row("packages over 10 s", lambda f: len(f["over_10s"]), lambda f: len(f["over_10s"]), "0"),
        row(
            "peak RSS per process",
            lambda f: mb(f["worker_rss_kb"][0] if f["worker_rss_kb"] else 0),
            lambda f: mb(f["maxrss_kb"]),
        ),
        row("flagged (*)", share("flagged"), share("flagged"), "<= 2%"),
        row("malicious (**)", share("malicious"), share("malicious"), "<= 0.3%"),
        row("any finding at all", share("any_finding"), share("any_finding")),
    ]
    if "GuardDog" in peers:
        rows.append(
            [
                "GuardDog: any threat-* rule",
                "",
                *(share("threat")(peers[n]) if n == "GuardDog" else "" for n in names),
                "",
            ]
        )
    print()
    print(table(headers, rows, f"DEPVET VS PEERS ON THE FIRST {subset} ARTIFACTS — {same_run_note}"))
    print(
        "  (*) depvet: verdict suspicious or malicious; GuardDog: label suspicious or high_risk; "
        "pipguard: level HIGH or CRITICAL (its CLI blocks)\n"
        "  (**) depvet: verdict malicious; GuardDog: label high_risk; pipguard: level CRITICAL\n"
        "  Wall times include every start-up (depvet: interpreter, imports, worker pool, once per batch).\n"
        "  depvet's per-package seconds exclude process start-up (one pool for the batch); GuardDog's\n"
        "  include its ~0.5 s start-up per artifact, which is how it scans local files (no batch mode);\n"
        "  pipguard's include archive extraction. Shares are of completed scans. Timings are noisy here."
    )
    print("  depvet flagged: " + (", ".join(dv["flagged_names"]) or "none"))
    for name, fig in peers.items():
        if fig["failed"]:
            print(f"  {name} did not complete: " + "; ".join(fig["failed"]))
        flagged_names = sorted(
            n for n, lab in fig["labels"].items() if lab in ("suspicious", "high_risk", "HIGH", "CRITICAL")
        )
        if flagged_names:
            print(f"  {name} flagged: " + ", ".join(f"{n} ({fig['labels'][n]})" for n in flagged_names))
        if fig["over_10s"]:
            print(f"  {name} over 10 s: " + ", ".join(fig["over_10s"]))


# ================================================================ main


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--jobs", "-j", type=int, default=2, help="depvet worker processes (default 2)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N artifacts of the list")
    parser.add_argument("--guarddog", action="store_true", help=f"also run GuardDog {GUARDDOG_VERSION}")
    parser.add_argument("--pipguard", action="store_true", help=f"also run pipguard {PIPGUARD_VERSION}")
    parser.add_argument(
        "--guarddog-limit",
        "--peer-limit",
        type=int,
        default=0,
        metavar="N",
        help="run the peers on the first N artifacts only (depvet is rescanned on that subset)",
    )
    parser.add_argument(
        "--depvet-cap",
        type=float,
        default=1800,
        metavar="S",
        help="stop a depvet run after S seconds and report what had not finished (default 1800)",
    )
    parser.add_argument("--peer-jobs", type=int, default=2, help="peer processes at a time (default 2)")
    parser.add_argument("--venv-python", default="python3.11", help="interpreter for the peers' venvs")
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary only")
    parser.add_argument("--child-list", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(list(argv) if argv is not None else None)


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups on kill
    if args.child_list and args.child_out:
        return child_main(args.child_list, args.child_out, args.jobs)

    listed = benign_artifacts()
    if args.limit:
        listed = listed[: args.limit]
    present = [a for a in listed if a.path.exists()]
    missing = [a for a in listed if not a.path.exists()]
    if not present:
        raise SystemExit("no cached artifacts: run benchmarks/fetch_benign.py first")

    out = sys.stdout
    if args.json:
        sys.stdout = sys.stderr  # tables to stderr, JSON alone on stdout
    try:
        prov = provenance()
        print(
            f"depvet {prov['depvet']} ({prov['commit']}), python {prov['python']}, {prov['cpus']} CPUs; "
            f"{len(present)} of {len(listed)} listed artifacts cached. Timings: shared machine, noisy.\n"
        )
        full = run_depvet(present, args.jobs, "whole set", args.depvet_cap)
        summary: dict[str, Any] = {"provenance": prov, "depvet": print_depvet(full, missing)}
        summary["depvet"]["flagged_packages"] = [
            {
                "name": r["name"],
                "version": r["version"],
                "verdict": r["verdict"],
                "findings": [
                    {k: f[k] for k in ("rule_id", "severity", "context", "path", "line", "evidence")}
                    for f in r["findings"]
                    if f["severity"] in HIGH
                ],
            }
            for r in full.results
            if is_flagged(r)
        ]

        if args.guarddog or args.pipguard:
            subset = present[: args.guarddog_limit] if args.guarddog_limit else present
            peers: dict[str, dict[str, Any]] = {}
            if args.guarddog:
                venv = ensure_venv(
                    "guarddog-venv", f"guarddog=={GUARDDOG_VERSION}", "guarddog", args.venv_python
                )
                results, wall = run_guarddog(subset, venv, args.peer_jobs)
                peers["GuardDog"] = peer_figures(results, wall, "guarddog")
            if args.pipguard:
                venv = ensure_venv(
                    "pipguard-venv", f"pipguard=={PIPGUARD_VERSION}", "pipguard", args.venv_python
                )
                results, wall = run_pipguard(subset, venv, args.peer_jobs)
                peers["pipguard"] = peer_figures(results, wall, "pipguard")
            # The peers take minutes and a shared machine's speed drifts over that time: depvet is
            # scanned again after them and the ratio uses the mean of its runs around theirs.
            whole = len(subset) == len(present)
            label = f"{'whole set' if whole else 'peer subset'}, after the peers"
            again = depvet_figures(run_depvet(subset, args.jobs, label, args.depvet_cap))
            if whole:
                dv = mean_of_runs(depvet_figures(full), again)
                note = f"depvet: mean of its runs before and after the peers ({dv['walls']})"
            else:
                dv, note = again, "depvet rescanned on this subset after the peers"
            print_comparison(dv, peers, len(subset), note)
            summary["comparison"] = {"subset": len(subset), "depvet": dv, **peers}
    finally:
        sys.stdout = out
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
