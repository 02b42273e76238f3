from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from demo.builders import Files, write_sdist, write_tree, write_wheel

from depvet.analysis.engine import Ruleset, default_ruleset, scan_artifact
from depvet.artifacts.targets import expand_target
from depvet.model import ScanResult

ScanFiles = Callable[..., ScanResult]


@pytest.fixture(scope="session")
def ruleset() -> Ruleset:
    return default_ruleset()


@pytest.fixture
def scan_files(tmp_path: Path, ruleset: Ruleset) -> ScanFiles:
    """Build an inert package from text and scan it: ``scan_files(files, artifact="wheel")``."""
    counter = iter(range(10_000))

    def scan(
        files: Files, artifact: str = "directory", name: str = "sample", version: str = "1.0"
    ) -> ScanResult:
        where = tmp_path / f"a{next(counter)}"
        where.mkdir()
        if artifact == "wheel":
            target = write_wheel(where, name, version, files)
        elif artifact == "sdist":
            target = write_sdist(where, name, version, files)
        elif artifact == "directory":
            target = write_tree(where / name, files)
        else:
            raise ValueError(artifact)
        (ref,) = expand_target(str(target))
        result = scan_artifact(ref, ruleset)
        assert result.error is None, result.error
        return result

    return scan


def rule_ids(result: ScanResult) -> set[str]:
    return {f.rule_id for f in result.findings}
