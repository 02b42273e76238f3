"""Detection benchmark: how much of the malware corpus depvet flags, and that look-alikes stay clean.

    python benchmarks/detection.py                       # all three corpus files
    python benchmarks/detection.py --limit 300           # first 300 samples of each file
    python benchmarks/detection.py --file malicious-dev --misses        # + /tmp/depvet-detection-misses.jsonl
    python benchmarks/detection.py --json > summary.json # machine-readable summary only

Each sample of ``../shared/corpus/<file>.jsonl.gz`` is written as a package directory into a fresh
temporary directory outside the repository, scanned with the library (``scan_all``, ``--jobs``
worker processes) and deleted afterwards. Nothing from the corpus is imported, executed or installed.

"Flagged" means verdict ``suspicious`` or ``malicious``; ``error`` results are counted apart (an
error is not a detection). Targets: >= 95 % of real malware flagged (overall, and averaged over
clusters so that one campaign of hundreds of clones does not dominate); 0 benign look-alikes flagged.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    CORPUS_FILES,
    load_samples,
    materialise,
    outside_repo,
    progress,
    provenance,
    sample_label,
    scratch_dir,
    seconds_summary,
    short,
    table,
)

from depvet.model import ScanResult, Severity, Verdict
from depvet.scanning import scan_all

RECALL_TARGET = 0.95
DEFAULT_MISSES = Path("/tmp/depvet-detection-misses.jsonl")


@dataclass
class Record:
    """One corpus sample and depvet's result for it."""

    file: str
    sample: dict[str, Any]
    result: ScanResult

    @property
    def label(self) -> str:
        return sample_label(self.sample)

    @property
    def flagged(self) -> bool:
        return self.result.verdict in (Verdict.MALICIOUS, Verdict.SUSPICIOUS)

    @property
    def malicious(self) -> bool:
        return self.result.verdict is Verdict.MALICIOUS

    @property
    def error(self) -> bool:
        return self.result.verdict is Verdict.ERROR

    @property
    def cluster(self) -> str:
        return str(self.sample.get("cluster") or f"id:{self.sample['id']}")

    @property
    def behaviors(self) -> list[str]:
        return list(self.sample.get("behaviors") or [])


@dataclass
class FileRun:
    stem: str
    records: list[Record] = field(default_factory=list)
    seconds: float = 0.0
    skipped_files: int = 0


# ---------------------------------------------------------------- scanning


def scan_file(stem: str, limit: int, jobs: int, quiet: bool) -> FileRun:
    samples = load_samples(stem)
    if limit:
        samples = samples[:limit]
    run = FileRun(stem)
    if not samples:
        return run
    done = 0

    def tick(_: ScanResult) -> None:
        nonlocal done
        done += 1
        if not quiet:
            progress(done, len(samples), 250, stem)

    with scratch_dir("depvet-detect-") as root:
        refs, run.skipped_files = materialise(samples, root)
        started = time.perf_counter()
        results = scan_all(refs, jobs=jobs, on_result=tick)
        run.seconds = time.perf_counter() - started
    run.records = [Record(stem, s, r) for s, r in zip(samples, results, strict=True)]
    return run


# ---------------------------------------------------------------- figures


def rates(records: Sequence[Record]) -> dict[str, Any]:
    n = len(records)
    verdicts = Counter(str(r.result.verdict) for r in records)
    return {
        "samples": n,
        "flagged": sum(r.flagged for r in records),
        "malicious": verdicts["malicious"],
        "suspicious": verdicts["suspicious"],
        "clean": verdicts["clean"],
        "errors": verdicts["error"],
        "flagged_share": sum(r.flagged for r in records) / n if n else None,
        "malicious_share": verdicts["malicious"] / n if n else None,
    }


def cluster_rates(records: Sequence[Record]) -> dict[str, Any]:
    """Recall averaged over clusters: each campaign counts once, whatever its number of clones."""
    by_cluster: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_cluster[record.cluster].append(record)
    if not by_cluster:
        return {"clusters": 0, "flagged_share": None, "malicious_share": None, "errors": 0}
    flagged = [sum(r.flagged for r in rs) / len(rs) for rs in by_cluster.values()]
    malicious = [sum(r.malicious for r in rs) / len(rs) for rs in by_cluster.values()]
    return {
        "clusters": len(by_cluster),
        "flagged_share": sum(flagged) / len(flagged),
        "malicious_share": sum(malicious) / len(malicious),
        "errors": sum(r.error for r in records),
        "clusters_fully_missed": sum(1 for share in flagged if share == 0),
    }


def share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def overall_rows(runs: Sequence[FileRun]) -> list[list[object]]:
    rows: list[list[object]] = []
    for run in runs:
        bad = [r for r in run.records if r.label == "malicious"]
        good = [r for r in run.records if r.label != "malicious"]
        if bad:
            rows.append(_row(f"{run.stem}: malicious, all", rates(bad), "recall >= 95%"))
            if any(r.sample.get("evidence") for r in bad):
                for evidence in ("strong", "weak", "none"):
                    subset = [r for r in bad if r.sample.get("evidence") == evidence]
                    if subset:
                        target = "recall >= 95%" if evidence == "strong" else "(report only)"
                        rows.append(_row(f"  evidence == {evidence}", rates(subset), target))
            if any(r.sample.get("cluster") for r in bad):
                c = cluster_rates(bad)
                rows.append(
                    [
                        f"  averaged over {c['clusters']} clusters",
                        c["clusters"],
                        share(c["flagged_share"]),
                        share(c["malicious_share"]),
                        "",
                        "",
                        c["errors"],
                        "recall >= 95%",
                    ]
                )
                strong = [r for r in bad if r.sample.get("evidence") == "strong"]
                cs = cluster_rates(strong)
                if strong:
                    rows.append(
                        [
                            f"  strong, over {cs['clusters']} clusters",
                            cs["clusters"],
                            share(cs["flagged_share"]),
                            share(cs["malicious_share"]),
                            "",
                            "",
                            cs["errors"],
                            "recall >= 95%",
                        ]
                    )
        if good:
            rows.append(_row(f"{run.stem}: benign (false positives)", rates(good), "0 flagged"))
    return rows


def _row(label: str, r: dict[str, Any], target: str) -> list[object]:
    return [
        label,
        r["samples"],
        share(r["flagged_share"]),
        share(r["malicious_share"]),
        r["suspicious"],
        r["clean"],
        r["errors"],
        target,
    ]


OVERALL_HEADERS = [
    "set",
    "samples",
    "flagged",
    "malicious",
    "suspicious (n)",
    "clean (n)",
    "errors",
    "target",
]


def behaviour_table(records: Sequence[Record]) -> tuple[list[list[object]], list[dict[str, Any]]]:
    by_tag: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        for tag in record.behaviors or ["(no tag)"]:
            by_tag[tag].append(record)
    rows: list[list[object]] = []
    data: list[dict[str, Any]] = []
    for tag, rs in sorted(by_tag.items(), key=lambda kv: (-sum(not r.flagged for r in kv[1]), kv[0])):
        r, c = rates(rs), cluster_rates(rs)
        missed = r["samples"] - r["flagged"]
        rows.append(
            [
                tag,
                r["samples"],
                c["clusters"],
                share(r["flagged_share"]),
                share(c["flagged_share"]),
                share(r["malicious_share"]),
                missed,
                c["clusters_fully_missed"],
                r["errors"],
            ]
        )
        data.append({"behavior": tag, **r, "cluster_avg": c, "missed": missed})
    return rows, data


def missed_clusters(records: Sequence[Record], top: int) -> list[dict[str, Any]]:
    by_cluster: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_cluster[record.cluster].append(record)
    out = []
    for cluster, rs in by_cluster.items():
        missed = [r for r in rs if not r.flagged]
        if not missed:
            continue
        tags = Counter(t for r in missed for t in r.behaviors)
        out.append(
            {
                "cluster": cluster,
                "size": len(rs),
                "missed": len(missed),
                "behaviors": [t for t, _ in tags.most_common(4)],
                "evidence": dict(Counter(str(r.sample.get("evidence")) for r in missed)),
                "examples": [
                    f"{r.sample['name']} {r.sample.get('version') or ''}".strip() for r in missed[:3]
                ],
                "ids": [str(r.sample["id"]) for r in missed[:3]],
            }
        )
    out.sort(key=lambda c: (-c["missed"], c["cluster"]))
    return out[:top]


def rule_table(records: Sequence[Record], top: int) -> list[list[object]]:
    """Which rules fire on the malware: any severity, at high/critical, and as the only high/critical rule."""
    anywhere: Counter[str] = Counter()
    high: Counter[str] = Counter()
    sole: Counter[str] = Counter()
    for record in records:
        rules = {f.rule_id for f in record.result.findings}
        strong = {f.rule_id for f in record.result.findings if f.severity.rank >= Severity.HIGH.rank}
        anywhere.update(rules)
        high.update(strong)
        if record.flagged and len(strong) == 1:
            sole.update(strong)
    titles: dict[str, str] = {}
    for record in records:
        for f in record.result.findings:
            titles.setdefault(f.rule_id, f.title)
    return [
        [rule, short(titles.get(rule, ""), 60), n, high[rule], sole[rule]]
        for rule, n in anywhere.most_common(top)
    ]


def findings_lines(result: ScanResult, floor: Severity, limit: int = 8) -> list[str]:
    lines = []
    for f in result.findings:
        if f.severity.rank < floor.rank:
            continue
        where = f"{f.path}:{f.line}" if f.line else f.path
        lines.append(f"      {f.severity:8} {f.rule_id} [{f.context}] {where}  {short(f.evidence, 110)}")
        if len(lines) >= limit:
            lines.append("      …")
            break
    return lines


def error_table(records: Sequence[Record]) -> list[list[object]]:
    messages = Counter(short(r.result.error or "?", 90) for r in records if r.error)
    return [[msg, n] for msg, n in messages.most_common(10)]


def speed_rows(runs: Sequence[FileRun]) -> list[list[object]]:
    rows: list[list[object]] = []
    for run in runs:
        s = seconds_summary([r.result.seconds for r in run.records])
        n = len(run.records)
        rows.append(
            [
                run.stem,
                n,
                f"{run.seconds:.1f}",
                f"{n / run.seconds:.1f}" if run.seconds else "n/a",
                f"{s['median'] * 1000:.1f}",
                f"{s['p99'] * 1000:.0f}",
                f"{s['max']:.2f}",
            ]
        )
    return rows


# ---------------------------------------------------------------- output


def write_misses(runs: Sequence[FileRun], path: Path) -> int:
    if not outside_repo(path):
        raise SystemExit(f"--misses: write outside the repository, not {path}")
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for run in runs:
            for r in run.records:
                if r.label != "malicious" or r.flagged:
                    continue
                count += 1
                entry = {
                    "file": run.stem,
                    "id": r.sample["id"],
                    "name": r.sample.get("name"),
                    "version": r.sample.get("version"),
                    "cluster": r.sample.get("cluster"),
                    "evidence": r.sample.get("evidence"),
                    "behaviors": r.behaviors,
                    "verdict": str(r.result.verdict),
                    "score": r.result.score,
                    "error": r.result.error,
                    "paths": sorted((r.sample.get("files") or {}).keys()),
                    "findings": [
                        {"rule_id": f.rule_id, "severity": str(f.severity), "path": f.path, "line": f.line}
                        for f in r.result.findings
                    ],
                }
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return count


def summary(runs: Sequence[FileRun], args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"provenance": provenance(), "jobs": args.jobs, "limit": args.limit, "files": {}}
    for run in runs:
        bad = [r for r in run.records if r.label == "malicious"]
        good = [r for r in run.records if r.label != "malicious"]
        entry: dict[str, Any] = {
            "seconds": run.seconds,
            "skipped_files": run.skipped_files,
            "per_sample_seconds": seconds_summary([r.result.seconds for r in run.records]),
        }
        if bad:
            entry["malicious"] = rates(bad)
            entry["malicious_strong"] = rates([r for r in bad if r.sample.get("evidence") == "strong"])
            entry["cluster_avg"] = cluster_rates(bad)
            entry["cluster_avg_strong"] = cluster_rates(
                [r for r in bad if r.sample.get("evidence") == "strong"]
            )
            entry["behaviors"] = behaviour_table(bad)[1]
            entry["top_missed_clusters"] = missed_clusters(bad, 25)
        if good:
            entry["benign"] = rates(good)
            entry["benign_flagged"] = [
                {
                    "id": r.sample["id"],
                    "name": r.sample.get("name"),
                    "verdict": str(r.result.verdict),
                    "rules": sorted({f.rule_id for f in r.result.findings}),
                }
                for r in good
                if r.flagged
            ]
        out["files"][run.stem] = entry
    return out


def report(runs: Sequence[FileRun], args: argparse.Namespace) -> None:
    prov = provenance()
    print(
        f"depvet {prov['depvet']} ({prov['commit']}), python {prov['python']}, {prov['cpus']} CPUs, "
        f"--jobs {args.jobs}" + (f", first {args.limit} samples per file" if args.limit else "")
    )
    print("flagged = verdict suspicious or malicious; errors are counted apart and are not detections.\n")
    print(table(OVERALL_HEADERS, overall_rows(runs), "DETECTION (share of samples)"))

    real = [r for run in runs if run.stem == "malicious-dev" for r in run.records if r.label == "malicious"]
    if real:
        rows, _ = behaviour_table(real)
        print()
        print(
            table(
                [
                    "behaviour tag",
                    "samples",
                    "clusters",
                    "flagged",
                    "cluster-avg",
                    "malicious",
                    "missed",
                    "clusters missed",
                    "errors",
                ],
                rows,
                "malicious-dev PER BEHAVIOUR TAG (a sample has several tags; sorted by missed)",
            )
        )
        top = missed_clusters(real, 15)
        if top:
            print()
            print(
                table(
                    ["cluster", "size", "missed", "evidence", "behaviours", "examples"],
                    [
                        [
                            c["cluster"],
                            c["size"],
                            c["missed"],
                            ",".join(f"{k}:{v}" for k, v in c["evidence"].items()),
                            ",".join(c["behaviors"]),
                            short("; ".join(c["examples"]), 60),
                        ]
                        for c in top
                    ],
                    "malicious-dev TOP MISSED CLUSTERS (samples not flagged)",
                )
            )
        print()
        print(
            table(
                ["rule", "title", "samples", "at high+", "only high+ rule"],
                rule_table(real, 25),
                "malicious-dev RULES THAT FIRE (samples per rule; 'only' = the sole high/critical rule "
                "of a flagged sample)",
            )
        )

    for run in runs:
        if run.stem == "malicious-dev":
            continue
        bad = [r for r in run.records if r.label == "malicious"]
        if bad:
            print(f"\n{run.stem}: malicious samples")
            for r in bad:
                mark = "ok  " if r.flagged else "MISS"
                print(
                    f"  {mark} {r.result.verdict:10} {r.sample['id']} ({r.sample.get('name')}) "
                    f"[{','.join(r.behaviors)}]"
                )

    benign_flagged = [
        r for run in runs for r in run.records if r.label != "malicious" and (r.flagged or r.error)
    ]
    print(f"\nBENIGN LOOK-ALIKES FLAGGED OR IN ERROR (target: none): {len(benign_flagged)}")
    for r in benign_flagged:
        note = short(str(r.sample.get("note") or r.sample.get("kind") or ""), 80)
        print(f"  {r.result.verdict:10} {r.file}/{r.sample['id']} ({r.sample.get('name')}) — {note}")
        if r.error:
            print(f"      error: {r.result.error}")
        print("\n".join(findings_lines(r.result, Severity.MEDIUM)))

    errors = error_table([r for run in runs for r in run.records])
    if errors:
        print()
        print(table(["error message", "samples"], errors, "ERRORS"))

    print()
    print(
        table(
            ["file", "samples", "wall s", "samples/s", "median ms", "p99 ms", "max s"],
            speed_rows(runs),
            "SPEED (noisy on a shared machine; wall includes worker start-up)",
        )
    )
    skipped = sum(run.skipped_files for run in runs)
    if skipped:
        print(f"\n{skipped} sample files not written (path outside the sample folder or clashing paths).")


def parse_args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--file",
        action="append",
        choices=CORPUS_FILES,
        help="corpus file stem; repeatable (default: all three)",
    )
    parser.add_argument("--limit", type=int, default=0, help="scan only the first N samples of each file")
    parser.add_argument("--jobs", "-j", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument(
        "--misses",
        nargs="?",
        type=Path,
        const=DEFAULT_MISSES,
        metavar="FILE",
        help=f"write malicious samples not flagged as JSON lines (default {DEFAULT_MISSES})",
    )
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary only")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    return parser.parse_args(list(argv) if argv is not None else None)


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(argv)
    stems = args.file or list(CORPUS_FILES)
    runs = [scan_file(stem, args.limit, args.jobs, args.quiet) for stem in stems]
    if args.json:
        print(json.dumps(summary(runs, args), indent=2, ensure_ascii=False))
    else:
        report(runs, args)
    if args.misses:
        count = write_misses(runs, args.misses)
        print(f"{count} malicious samples not flagged written to {args.misses}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
