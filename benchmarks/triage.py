"""Print findings of depvet on the cached popular packages or the malware corpus, for rule tuning.

    python benchmarks/triage.py benign [--rules DV301,DV302] [--min-severity medium]
    python benchmarks/triage.py corpus [--file malicious-dev] [--limit 500] [--misses]

Corpus samples are written to a fresh temporary directory outside the repository, scanned as
package directories and deleted afterwards; nothing from them is imported or executed.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import benign_refs, load_samples, materialise, sample_label, scratch_dir

from depvet.model import ScanResult, Severity, Verdict
from depvet.scanning import scan_all


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
    if args.what == "benign":
        refs = benign_refs()
        labels = {r.target: "" for r in refs}
        results = scan_all(refs, jobs=args.jobs)
    else:
        samples = load_samples(args.file)
        if args.limit:
            samples = samples[: args.limit]
        labels = {str(s["id"]): f"[{sample_label(s)}] " for s in samples}
        with scratch_dir("depvet-triage-") as tmp:
            refs, _ = materialise(samples, tmp)
            results = scan_all(refs, jobs=args.jobs)
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
