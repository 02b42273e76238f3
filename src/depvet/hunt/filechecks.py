"""Checks of one file, the same on a host and inside a container image.

Which files a check reads is decided by path: distribution metadata, ``.pth`` files in a
site-packages, persistence locations (systemd units, crontabs, shell rc files, autostart
entries) and the names the IOC list gives. Content checks (IOC hashes, domains and URLs) run on
those files and on whatever a caller passes as ``suspect`` (files modified after install, files
no RECORD lists): reading every installed file would cost minutes on a big host.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from depvet.advisories.match import KnownBadLookup
from depvet.advisories.store import AdvisoryStore
from depvet.analysis.engine import Ruleset
from depvet.analysis.files import decode_text
from depvet.hunt.iocs import Ioc, IocList, load_iocs
from depvet.hunt.model import Finding, FindingKind
from depvet.hunt.vfs import VirtualFile
from depvet.metadata import name_and_version
from depvet.model import Severity

_SITE_DIRS = ("/site-packages/", "/dist-packages/")
# Where something that starts at boot, login or on a timer is written.
_PERSISTENCE = re.compile(
    r"(/\.config/systemd/user/[^/]+\.(service|timer)$"
    r"|/etc/systemd/(system|user)/[^/]+\.(service|timer)$"
    r"|/var/spool/cron/(crontabs/)?[^/]+$|/etc/cron\.d/[^/]+$|/etc/crontab$"
    r"|/\.(bashrc|bash_profile|bash_login|profile|zshrc|zprofile|zshenv)$|/etc/profile\.d/[^/]+\.sh$"
    r"|/\.config/autostart/[^/]+\.desktop$|/etc/xdg/autostart/[^/]+\.desktop$"
    r"|/Library/LaunchAgents/[^/]+\.plist$)"
)
# A Python interpreter started on a script from a hidden or temporary place, or on inline code.
_PYTHON_PAYLOAD = re.compile(
    r"python[\d.]*\b[^\n]*?(\s-c\s|base64|b64decode|exec\("
    # a script in a temporary folder or in a hidden one (~/.config/sysmon/sysmon.py)
    r"|\s['\"]?(/tmp|/var/tmp|/dev/shm)/[^\s]*\.py\b|\s['\"]?[^\s]*/\.[^/\s]+/[^\s]*\.py\b)",
    re.IGNORECASE,
)
_PTH_RULES = frozenset({"DV101", "DV102"})  # the scanner's .pth rules: runs code, imports a module


@dataclass
class FileChecker:
    """Holds what the checks need: the IOC list, the advisories, and the homes of the tree."""

    iocs: IocList
    store: AdvisoryStore | None = None
    homes: Sequence[str] = ()

    def __post_init__(self) -> None:
        self._known = KnownBadLookup(self.store, vulnerabilities=False)
        self._ruleset: Ruleset | None = None

    @property
    def ruleset(self) -> Ruleset:
        if self._ruleset is None:
            from depvet.analysis.engine import default_ruleset

            self._ruleset = default_ruleset()
        return self._ruleset

    def wants(self, path: str) -> bool:
        """Whether ``check`` reads this file at all (callers skip the rest without opening it)."""
        return any(_roles(path)) or self._named(path) is not None

    def _named(self, path: str) -> Ioc | None:
        return self.iocs.by_name(path.rsplit("/", 1)[-1]) or self.iocs.by_path(path, self.homes)

    def check(self, file: VirtualFile, environment: str, *, suspect: bool = False) -> list[Finding]:
        found: list[Finding] = []
        ioc = self._named(file.path)
        if ioc is not None:
            found.append(
                Finding(
                    FindingKind.IOC_FILE,
                    Severity.CRITICAL,
                    file.shown,
                    "A file the IOC list names",
                    f"{ioc.value}: {ioc.note} ({ioc.incident})",
                    environment=environment,
                )
            )
        is_metadata, is_pth, persistence = _roles(file.path)
        if not (is_metadata or is_pth or persistence or ioc or suspect):
            return found
        try:
            data = file.read()
        except OSError:
            return found
        if is_metadata:
            found += self._metadata(file, data, environment)
            return found
        text = decode_text(data)
        if is_pth:
            found += _startup_findings(file, data, environment, self.ruleset)
        if persistence:
            found += _persistence(file, text, environment)
        found += self._content_iocs(file, data, text, environment)
        return found

    def _metadata(self, file: VirtualFile, data: bytes, environment: str) -> list[Finding]:
        name, version = name_and_version(decode_text(data[:65536]))
        if not name or not version:
            return []
        advisories = self.known_bad(name, version)
        if not advisories:
            return []
        folder = file.shown.rsplit("/", 1)[0]
        return [
            Finding(
                FindingKind.KNOWN_BAD_INSTALLED,
                Severity.CRITICAL,
                folder,
                "A release recorded as malicious is installed",
                f"{name} {version}: {', '.join(advisories)}",
                release=f"{name}=={version}",
                environment=environment,
            )
        ]

    def known_bad(self, name: str, version: str) -> tuple[str, ...]:
        """Ids of the malicious-release advisories naming this release (curated and OSV)."""
        return self._known.get(name, version).malicious

    def _content_iocs(self, file: VirtualFile, data: bytes, text: str, environment: str) -> list[Finding]:
        found = []
        by_hash = self.iocs.by_hash(data)
        if by_hash is not None:
            found.append(
                Finding(
                    FindingKind.IOC_HASH,
                    Severity.CRITICAL,
                    file.shown,
                    "A file whose sha256 is on the IOC list",
                    f"sha256 {by_hash.value[:16]}…: {by_hash.note} ({by_hash.incident})",
                    environment=environment,
                )
            )
        for hit in self.iocs.in_text(text):
            found.append(
                Finding(
                    FindingKind.IOC_NETWORK,
                    Severity.HIGH,
                    file.shown,
                    "A file names a host the IOC list gives",
                    f"{hit.matched}: {hit.ioc.note} ({hit.ioc.incident})",
                    environment=environment,
                )
            )
        return found


def _roles(path: str) -> tuple[bool, bool, bool]:
    """Whether a path is distribution metadata, a site-packages ``.pth``, a persistence entry."""
    name = path.rsplit("/", 1)[-1]
    return (
        name == "METADATA" and ".dist-info/" in path,
        name.endswith(".pth") and any(d in path for d in _SITE_DIRS),
        _PERSISTENCE.search(path) is not None,
    )


def _startup_findings(file: VirtualFile, data: bytes, environment: str, ruleset: Ruleset) -> list[Finding]:
    """The scanner's own ``.pth`` rules on this file: code that runs at start-up, or an import.

    Tools' own hooks (setuptools, coverage, editable installs) are told apart the way ``scan``
    tells them apart.
    """
    from depvet.analysis.detector import ArtifactIndex
    from depvet.analysis.engine import analyse_entries
    from depvet.model import ArtifactKind, FileEntry

    name = file.path.rsplit("/", 1)[-1]
    index = ArtifactIndex(ArtifactKind.WHEEL, None, None)
    scan = analyse_entries([FileEntry(name, data)], index, ruleset)
    startup = [f for f in scan.finish() if f.rule_id in _PTH_RULES]
    if not startup:
        return []
    worst = max(startup, key=lambda f: f.severity.rank)
    return [
        Finding(
            FindingKind.STARTUP_CODE,
            worst.severity,
            file.shown,
            worst.title,
            _excerpt(worst.evidence),
            environment=environment,
        )
    ]


def _persistence(file: VirtualFile, text: str, environment: str) -> list[Finding]:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("#", ";")) or not stripped:
            continue
        if _PYTHON_PAYLOAD.search(stripped):
            return [
                Finding(
                    FindingKind.PERSISTENCE,
                    Severity.HIGH,
                    file.shown,
                    "Something that starts on its own runs a Python payload",
                    _excerpt(stripped),
                    environment=environment,
                )
            ]
    return []


def _excerpt(line: str, limit: int = 160) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"


def check_tree(
    files: Iterable[VirtualFile],
    *,
    environment: str,
    layer_of: Callable[[str], str | None] | None = None,
    checker: FileChecker | None = None,
) -> list[Finding]:
    """Every check over a tree's files (an image's final view, or the deleted files of its
    history); ``layer_of`` names the layer that added a path."""
    from dataclasses import replace

    files = list(files)
    if checker is None:
        homes = sorted({home for f in files if (home := _home_of(f.path))})
        checker = FileChecker(load_iocs(), None, tuple(homes))
    found: list[Finding] = []
    for file in files:
        if not checker.wants(file.path):
            continue
        for finding in checker.check(file, environment):
            layer = layer_of(file.path) if layer_of else None
            found.append(replace(finding, layer=layer) if layer else finding)
    return found


def _home_of(path: str) -> str | None:
    if path.startswith("/root/"):
        return "/root"
    if path.startswith("/home/"):
        parts = path.split("/")
        return "/".join(parts[:3]) if len(parts) > 3 else None
    return None
