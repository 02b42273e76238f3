"""Print findings of depvet on the cached popular packages or the malware corpus, for rule tuning.

    python benchmarks/triage.py benign [--rules DV301,DV302] [--min-severity medium]
    python benchmarks/triage.py corpus [--file malicious-dev] [--limit 500] [--misses]

Corpus samples are written to a fresh temporary directory outside the repository, scanned as
package directories and deleted afterwards; nothing from them is imported or executed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from depvet.artifacts.targets import ArtifactRef, expand_target
from depvet.model import ScanResult, Severity, Verdict
from depvet.scanning import scan_all

SHARED = Path(__file__).resolve().parents[2] / "shared"
BENCH_CACHE = Path.home() / ".cache" / "depvet-bench"


def benign_refs() -> list[ArtifactRef]:
    refs: list[ArtifactRef] = []
    for line in (SHARED / "bench" / "benign-top300.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        spec, artifact, *_ = line.split("\t")
        path = BENCH_CACHE / spec.split("==")[0] / artifact
        if path.exists():
            refs.extend(expand_target(str(path)))
    return refs


def materialise(samples: list[dict[str, object]], root: Path) -> list[ArtifactRef]:
    refs: list[ArtifactRef] = []
    for sample in samples:
        where = root / str(sample["id"])
        files = sample["files"]
        assert isinstance(files, dict)
        for rel, text in files.items():
            target = (where / rel).resolve()
            if not str(target).startswith(str(where.resolve())):
                continue  # never write outside the sample's folder
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", errors="replace")
        where.mkdir(parents=True, exist_ok=True)
        refs.append(ArtifactRef(str(sample["id"]), str(where), expand_target(str(where))[0].kind))
    return refs


def show(result: ScanResult, rules: set[str] | None, floor: Severity, label: str = "") -> None:
    findings = [
        f for f in result.findings if f.severity.rank >= floor.rank and (rules is None or f.rule_id in rules)
    ]
    if not findings and rules is not None:
        return
    print(f"== {result.verdict:10} {label}{result.name or result.target} {result.version or ''}")
    for f in findings:
        print(f"   {f.severity:8} {f.rule_id} [{f.context}] {f.path}:{f.line}  {f.evidence[:150]}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["benign", "corpus"])
    parser.add_argument("--rules", help="comma-separated rule ids to show")
    parser.add_argument("--min-severity", default="medium", choices=[s.value for s in Severity])
    parser.add_argument("--file", default="malicious-dev", help="corpus file stem")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--misses", action="store_true", help="corpus: only samples scanned clean")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    rules = set(args.rules.split(",")) if args.rules else None
    floor = Severity(args.min_severity)
    tmp: Path | None = None
    try:
        if args.what == "benign":
            refs = benign_refs()
            labels = {r.target: "" for r in refs}
        else:
            with gzip.open(SHARED / "corpus" / f"{args.file}.jsonl.gz", "rt") as handle:
                samples = [json.loads(line) for line in handle]
            if args.limit:
                samples = samples[: args.limit]
            tmp = Path(tempfile.mkdtemp(prefix="depvet-triage-"))
            refs = materialise(samples, tmp)
            labels = {str(s["id"]): f"[{s.get('label', 'malicious')}] " for s in samples}
        results = scan_all(refs, jobs=args.jobs)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    verdicts: Counter[str] = Counter()
    for result in results:
        verdicts[result.verdict] += 1
        if args.misses and result.verdict is not Verdict.CLEAN:
            continue
        show(result, rules, floor, labels.get(result.target, ""))
    print(f"\n{len(results)} scanned: " + ", ".join(f"{n} {v}" for v, n in verdicts.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
