"""``depvet hunt`` end to end: find where to look, look, and put the answers together."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from depvet.advisories.store import AdvisoryStore
from depvet.hunt.caches import hunt_cache
from depvet.hunt.discover import (
    FoundCache,
    FoundEnvironment,
    default_caches,
    default_environments,
    files_under,
    project_venvs,
    site_packages_of,
)
from depvet.hunt.filechecks import FileChecker, check_tree
from depvet.hunt.host import host_file, hunt_environment
from depvet.hunt.iocs import IocList, IocType
from depvet.hunt.model import (
    Cache,
    Environment,
    EnvironmentKind,
    ExposedSecret,
    Finding,
    HuntReport,
    ImageSummary,
    RotationStep,
    Skipped,
    TimelineEvent,
)
from depvet.hunt.timeline import build_timeline
from depvet.model import Severity

Progress = Callable[[str], None]  # told what is being searched, one step at a time
_TEMP_DIRS = ("tmp", "var/tmp", "dev/shm")
_TEMP_DEPTH = 1
# Where persistence is written, under a home and under the system root.
_HOME_PERSISTENCE = (".config/systemd/user", ".config/autostart", "Library/LaunchAgents")
_HOME_RC = (".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc", ".zprofile", ".zshenv")
_SYSTEM_PERSISTENCE = (
    "etc/systemd/system",
    "etc/systemd/user",
    "var/spool/cron/crontabs",
    "var/spool/cron",
    "etc/cron.d",
    "etc/profile.d",
    "etc/xdg/autostart",
)


@dataclass(frozen=True, slots=True)
class HuntRequest:
    paths: tuple[Path, ...] = ()  # nothing: the home and every environment found
    home: Path = field(default_factory=Path.home)
    system_root: Path = Path("/")
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    # The running interpreter's own environment: searched when hunting this user's own host,
    # not when another home (a mounted disk, a test) is named.
    include_interpreter: bool = True


@dataclass(frozen=True, slots=True)
class HuntPlan:
    """Where a hunt looks, found before it starts so that its progress can be shown."""

    environments: tuple[FoundEnvironment, ...]
    caches: tuple[FoundCache, ...]
    images: tuple[Path, ...]
    roots: tuple[Path, ...]
    skipped: tuple[Skipped, ...]

    @property
    def steps(self) -> int:
        return len(self.environments) + len(self.caches) + len(self.images) + 2


def plan_hunt(request: HuntRequest) -> HuntPlan:
    skipped: list[Skipped] = []
    environments, caches, images, roots = _targets(request, lambda p, r: skipped.append(Skipped(p, r)))
    return HuntPlan(tuple(environments), tuple(caches), tuple(images), tuple(roots), tuple(skipped))


def hunt(
    request: HuntRequest,
    iocs: IocList,
    store: AdvisoryStore | None,
    *,
    plan: HuntPlan | None = None,
    progress: Progress | None = None,
) -> HuntReport:
    """``progress`` hears once per step of the plan, after it, what was searched."""
    started_at, started = datetime.now(UTC), time.monotonic()
    plan = plan or plan_hunt(request)
    skipped: list[Skipped] = list(plan.skipped)

    def on_skip(path: str, reason: str) -> None:
        skipped.append(Skipped(path, reason))

    step = progress or (lambda _: None)
    checker = FileChecker(iocs, store, (str(request.home),))
    environments, caches, images, roots = plan.environments, plan.caches, plan.images, plan.roots
    findings: list[Finding] = []
    events: list[TimelineEvent] = []
    found_environments: list[Environment] = []
    found_caches: list[Cache] = []
    found_images: list[ImageSummary] = []
    for environment in environments:
        result = hunt_environment(environment, checker, on_skip)
        found_environments.append(result.environment)
        findings += result.findings
        events += result.events
        step(str(environment.root))
    for cache in caches:
        cached = hunt_cache(cache, checker, on_skip)
        found_caches.append(cached.cache)
        findings += cached.findings
        events += cached.events
        step(f"{cache.kind.value} cache")
    for image in images:
        summary, image_findings = _image(image, checker, on_skip)
        if summary is not None:
            found_images.append(summary)
        findings += image_findings
        step(image.name)
    findings += _host_indicators(request, roots, checker, on_skip)
    step("persistence and indicators")
    compromised = any(f.severity.rank >= Severity.HIGH.rank for f in findings)
    exposure, checklist = _exposure(request, roots, compromised, on_skip)
    step("reachable secrets")
    findings = _worst_first(_unique(findings))
    return HuntReport(
        roots=tuple(str(r) for r in roots) + tuple(str(i) for i in images),
        started=started_at,
        seconds=time.monotonic() - started,
        environments=tuple(found_environments),
        caches=tuple(found_caches),
        images=tuple(found_images),
        findings=tuple(findings),
        exposure=tuple(exposure),
        checklist=tuple(checklist),
        timeline=build_timeline(events),
        skipped=tuple(skipped),
    )


def _targets(
    request: HuntRequest, on_skip: Callable[[str, str], None]
) -> tuple[list[FoundEnvironment], list[FoundCache], list[Path], list[Path]]:
    from depvet.hunt.images import is_image

    environments: list[FoundEnvironment] = []
    caches: list[FoundCache] = []
    images: list[Path] = []
    roots: list[Path] = []
    if not request.paths:
        roots = [request.home]
        environments = default_environments(
            request.home, request.env, on_skip, include_interpreter=request.include_interpreter
        )
        caches = default_caches(request.home, request.env)
    for path in request.paths:
        if not path.exists():
            on_skip(str(path), "no such file or directory")
        elif is_image(path):
            images.append(path)
        elif path.name in ("site-packages", "dist-packages"):
            environments.append(FoundEnvironment(path, EnvironmentKind.SITE_PACKAGES, (path,)))
        elif (path / "pyvenv.cfg").is_file():
            environments.append(
                FoundEnvironment(path, EnvironmentKind.PROJECT_VENV, tuple(site_packages_of(path)))
            )
        elif path.is_dir():
            roots.append(path)
        else:
            on_skip(str(path), "not a directory, an environment or a container image")
    known = {e.root.resolve() for e in environments}
    environments += project_venvs(roots, on_skip, known=known)
    return _unique_envs(environments), caches, images, roots


def _unique_envs(environments: list[FoundEnvironment]) -> list[FoundEnvironment]:
    seen: set[Path] = set()
    unique = []
    for environment in environments:
        sites = tuple(p for p in environment.site_packages if p not in seen)
        seen.update(sites)
        if sites:
            unique.append(FoundEnvironment(environment.root, environment.kind, sites))
    return unique


def _image(
    path: Path, checker: FileChecker, on_skip: Callable[[str, str], None]
) -> tuple[ImageSummary | None, list[Finding]]:
    from depvet.errors import DepvetError
    from depvet.hunt.images import hunt_image

    inside = _image_checker(checker)

    def checks(files, *, environment, layer_of=None):  # type: ignore[no-untyped-def]
        return check_tree(files, environment=environment, layer_of=layer_of, checker=inside)

    try:
        # Only the files the checks read are kept from compressed layers.
        result = hunt_image(path, check_tree=checks, wants=inside.wants)
    except DepvetError as exc:
        on_skip(str(path), str(exc))
        return None, []
    for item in result.skipped:
        on_skip(item.path, item.reason)
    return result.summary, list(result.findings)


def _image_checker(host: FileChecker) -> FileChecker:
    """The same checks with an image's own homes."""
    return FileChecker(host.iocs, host.store, ("/root",))


def _host_indicators(
    request: HuntRequest, roots: Sequence[Path], checker: FileChecker, on_skip: Callable[[str, str], None]
) -> list[Finding]:
    """Persistence entries and files the IOC list names, in their usual places."""
    home, system = request.home, request.system_root
    candidates: list[Path] = [home / name for name in _HOME_RC]
    folders = [home / sub for sub in _HOME_PERSISTENCE] + [system / sub for sub in _SYSTEM_PERSISTENCE]
    for ioc in checker.iocs.iocs:
        if ioc.type is IocType.FILE_PATH:
            target = home / ioc.value[2:] if ioc.value.startswith("~/") else system / ioc.value.lstrip("/")
            candidates.append(target)
    findings: list[Finding] = []
    for folder in folders:
        if folder.is_dir():
            candidates += [p for p, _ in files_under(folder, on_skip)]
    if not request.paths:
        # Droppers write to the top of a temporary folder; a build tree there holds gigabytes.
        for temp in (system / sub for sub in _TEMP_DIRS):
            candidates += [p for p, _ in files_under(temp, on_skip, max_depth=_TEMP_DEPTH)]
    for path in dict.fromkeys(candidates):
        try:
            stat = path.stat()
        except OSError:
            continue
        if not path.is_file():
            continue
        # IOC paths such as /tmp/ultralytics_runner are paths of the system searched.
        inside = (
            "/" + str(path.relative_to(system))
            if path.is_relative_to(system) and not path.is_relative_to(home)
            else None
        )
        file = host_file(path, stat)
        if inside is not None:
            file = replace(file, path=inside)
        findings += checker.check(file, "host")
    return findings


def _exposure(
    request: HuntRequest, roots: Sequence[Path], compromised: bool, on_skip: Callable[[str, str], None]
) -> tuple[list[ExposedSecret], list[RotationStep]]:
    from depvet.hunt.exposure import find_exposure, rotation_checklist

    project_roots = list(roots) or [request.home]
    exposed = find_exposure(
        request.home, project_roots, env=request.env, on_skip=on_skip, system_root=request.system_root
    )
    return exposed, rotation_checklist(exposed) if compromised else []


def _unique(findings: list[Finding]) -> list[Finding]:
    return list(dict.fromkeys(findings))


def _worst_first(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity.rank, f.kind.value, f.path))
