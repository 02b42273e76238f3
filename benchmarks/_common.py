"""Helpers shared by the benchmark scripts: data locations, corpus materialisation, stats, tables.

Safety: corpus samples are malicious code kept as data. ``sample_tree`` writes a sample's text files
into a fresh temporary directory outside the repository (never where pytest collects, never a
site-packages) and removes it on exit, even on error or Ctrl-C. Nothing is imported or executed.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depvet.artifacts.targets import ArtifactRef, expand_target
from depvet.model import ArtifactKind, ScanResult, Verdict

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEPVET_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"
BENIGN_LIST = SHARED / "bench" / "benign-top300.txt"
BENCH_CACHE = Path(os.environ.get("DEPVET_BENCH_CACHE", Path.home() / ".cache" / "depvet-bench"))
CORPUS_FILES = ("malicious-dev", "dev-samples", "hard-negatives")
FLAGGED = (Verdict.MALICIOUS, Verdict.SUSPICIOUS)


# ---------------------------------------------------------------- corpus


def load_samples(stem: str) -> list[dict[str, Any]]:
    """All samples of ``CORPUS/<stem>.jsonl.gz``; the file stays gzipped on disk."""
    with gzip.open(CORPUS / f"{stem}.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def sample_label(sample: dict[str, Any]) -> str:
    return str(sample.get("label") or "malicious")


def outside_repo(path: Path) -> bool:
    resolved = path.resolve()
    return not resolved.is_relative_to(REPO.resolve())


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A fresh temporary directory outside the repository, removed on exit whatever happens."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        if not outside_repo(root) or "site-packages" in root.parts:
            raise RuntimeError(f"refusing to use {root}: inside the repository or a site-packages")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def materialise(samples: Sequence[dict[str, Any]], root: Path) -> tuple[list[ArtifactRef], int]:
    """Write each sample's files under ``root/<index>/`` and return one directory ref per sample.

    Paths that would leave the sample's folder (absolute, ``..``) and paths that clash with each
    other are skipped; the count of skipped files is returned. Refs are reported under the sample id.
    """
    refs: list[ArtifactRef] = []
    skipped = 0
    for position, sample in enumerate(samples):
        where = (root / f"s{position:05d}").resolve()
        where.mkdir(parents=True, exist_ok=True)
        files = sample.get("files") or {}
        for rel, text in files.items():
            target = (where / str(rel)).resolve()
            if target == where or not target.is_relative_to(where):
                skipped += 1
                continue
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(str(text), encoding="utf-8", errors="replace")
            except (OSError, UnicodeError):
                skipped += 1
        refs.append(ArtifactRef(str(sample["id"]), str(where), ArtifactKind.DIRECTORY))
    return refs, skipped


# ---------------------------------------------------------------- popular packages


@dataclass(frozen=True)
class BenignArtifact:
    name: str
    version: str
    artifact: str
    rank: str

    @property
    def path(self) -> Path:
        return BENCH_CACHE / self.name / self.artifact


def benign_artifacts() -> list[BenignArtifact]:
    """The pinned popular-package artifacts, in list (popularity) order, whether fetched or not."""
    rows: list[BenignArtifact] = []
    for line in BENIGN_LIST.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        spec, artifact, *rest = line.split("\t")
        name, _, version = spec.partition("==")
        rows.append(BenignArtifact(name, version, artifact, rest[-1] if rest else ""))
    return rows


def benign_refs() -> list[ArtifactRef]:
    refs: list[ArtifactRef] = []
    for row in benign_artifacts():
        if row.path.exists():
            refs.extend(expand_target(str(row.path)))
    return refs


# ---------------------------------------------------------------- figures and tables


def pct(part: float, whole: float) -> str:
    return "n/a" if not whole else f"{100.0 * part / whole:.1f}%"


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (q in 0..1); 0.0 for an empty list."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def seconds_summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": statistics.median(values) if values else 0.0,
        "mean": statistics.fmean(values) if values else 0.0,
        "p90": quantile(values, 0.90),
        "p99": quantile(values, 0.99),
        "max": max(values, default=0.0),
        "sum": sum(values),
    }


def fmt_seconds(summary: dict[str, float]) -> str:
    return " / ".join(f"{summary[k]:.2f}" for k in ("median", "mean", "p90", "p99", "max"))


_NUMERIC = re.compile(r"^(?:[-+]?[\d.,]+[%x]?(?: / [\d.,]+)*|n/a|)$")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> str:
    """A plain-text table; the first column is left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [i > 0 and all(_NUMERIC.match(row[i]) for row in cells[1:]) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    out = [title] if title else []
    out.append(line(cells[0]))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(row) for row in cells[1:])
    return "\n".join(out)


def short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def flagged(result: ScanResult) -> bool:
    return result.verdict in FLAGGED


def provenance() -> dict[str, str]:
    """What was measured: depvet version, git commit (+ dirty marker), python, cpu count."""
    from depvet import __version__

    commit = "unknown"
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        commit = head + ("+uncommitted" if dirty else "")
    return {
        "depvet": __version__,
        "commit": commit,
        "python": sys.version.split()[0],
        "cpus": str(os.cpu_count()),
    }


def progress(done: int, total: int, every: int, label: str) -> None:
    if done == total or done % every == 0:
        print(f"  {label}: {done}/{total}", file=sys.stderr, flush=True)
