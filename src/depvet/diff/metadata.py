"""What a release says about itself: core metadata, entry points, build backend, install hooks.

Read from the files of a wheel (``.dist-info/METADATA``, ``entry_points.txt``, ``WHEEL``) or an
sdist (``PKG-INFO``, ``pyproject.toml``, ``setup.py``, ``*.egg-info/entry_points.txt``), never by
running anything.
"""

from __future__ import annotations

import ast
import configparser
import tomllib
from dataclasses import dataclass, field
from email.parser import HeaderParser
from urllib.parse import urlsplit

from depvet.analysis.files import decode_text
from depvet.diff.release import ReleaseFiles
from depvet.metadata import name_and_version
from depvet.model import ArtifactKind

_IDENTITY_FIELDS = ("Author-email", "Maintainer-email")
_DRIFT_FIELDS = ("Author", "Author-email", "Maintainer", "Maintainer-email", "Requires-Python", "Home-page")


@dataclass(frozen=True, slots=True)
class ReleaseMetadata:
    fields: dict[str, str] = field(default_factory=dict)  # single-valued core metadata fields
    project_urls: dict[str, str] = field(default_factory=dict)  # label -> URL
    requires: dict[str, str] = field(default_factory=dict)  # canonical name -> requirement text
    entry_points: dict[str, dict[str, str]] = field(default_factory=dict)  # group -> name -> target
    build_backend: str | None = None
    install_hooks: frozenset[str] = frozenset()
    name: str | None = None  # as the core metadata states them
    version: str | None = None
    path: str | None = None  # of the core metadata file

    def emails(self) -> frozenset[str]:
        found: set[str] = set()
        for name in _IDENTITY_FIELDS:
            for part in self.fields.get(name, "").split(","):
                address = part.strip().rsplit("<", 1)[-1].rstrip(">").strip().lower()
                if "@" in address:
                    found.add(address)
        return frozenset(found)

    def url_domains(self) -> dict[str, str]:
        """URL label -> host of every project URL (the home page included)."""
        urls = dict(self.project_urls)
        if "Home-page" in self.fields:
            urls.setdefault("Homepage", self.fields["Home-page"])
        hosts: dict[str, str] = {}
        for label, url in urls.items():
            host = (urlsplit(url.strip()).hostname or "").lower().removeprefix("www.")
            if host:
                hosts[label.strip().lower()] = host
        return hosts


def read_metadata(release: ReleaseFiles) -> ReleaseMetadata:
    core = release.core_metadata
    text = decode_text(core.data) if core else ""
    fields, urls, requires = _core_metadata(text)
    name, version = name_and_version(text)
    pyproject = _toml(_data(release, "pyproject.toml"))
    entry_points = _entry_points(release)
    backend = _build_backend(release, pyproject)
    if not requires:
        declared = _project_table(pyproject).get("dependencies")
        for text in declared if isinstance(declared, list) else []:
            if isinstance(text, str):
                requires.setdefault(_requirement_name(text), text)
    return ReleaseMetadata(
        fields,
        urls,
        requires,
        entry_points,
        backend,
        _install_hooks(release, pyproject),
        name,
        version,
        core.path if core else None,
    )


def _data(release: ReleaseFiles, key: str) -> bytes | None:
    entry = release.entries.get(key)
    return entry.data if entry is not None else None


def _core_metadata(text: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    message = HeaderParser().parsestr(text)
    fields = {name: str(message[name]) for name in _DRIFT_FIELDS if message[name] is not None}
    urls: dict[str, str] = {}
    for value in message.get_all("Project-URL") or []:
        label, _, url = str(value).partition(",")
        if url.strip():
            urls[label.strip()] = url.strip()
    requires: dict[str, str] = {}
    for value in message.get_all("Requires-Dist") or []:
        requires.setdefault(_requirement_name(str(value)), " ".join(str(value).split()))
    return fields, urls, requires


def _requirement_name(text: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return str(canonicalize_name(Requirement(text).name))
    except InvalidRequirement:
        return text.split(";")[0].strip().lower()


def _toml(data: bytes | None) -> dict[str, object]:
    if data is None:
        return {}
    try:
        return tomllib.loads(decode_text(data))
    except tomllib.TOMLDecodeError:
        return {}


def _table(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _project_table(pyproject: dict[str, object]) -> dict[str, object]:
    return _table(pyproject.get("project"))


def _entry_points(release: ReleaseFiles) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for key, entry in release.entries.items():
        if key == ".dist-info/entry_points.txt" or (
            key.endswith(".egg-info/entry_points.txt") and key.count("/") <= 2
        ):
            parser = configparser.RawConfigParser(delimiters=("=",))
            parser.optionxform = str  # type: ignore[assignment,method-assign]
            try:
                parser.read_string(decode_text(entry.data))
            except configparser.Error:
                continue
            for group in parser.sections():
                found.setdefault(group, {}).update(
                    {name: " ".join(value.split()) for name, value in parser.items(group)}
                )
            break
    if not found:
        project = _project_table(_toml(_data(release, "pyproject.toml")))
        for table, group in (("scripts", "console_scripts"), ("gui-scripts", "gui_scripts")):
            for name, target in _table(project.get(table)).items():
                found.setdefault(group, {})[name] = str(target)
        for group, members in _table(project.get("entry-points")).items():
            for name, target in _table(members).items():
                found.setdefault(group, {})[name] = str(target)
    return found


def _build_backend(release: ReleaseFiles, pyproject: dict[str, object]) -> str | None:
    system = _table(pyproject.get("build-system"))
    backend = system.get("build-backend")
    if isinstance(backend, str):
        return backend
    wheel = _data(release, ".dist-info/WHEEL")
    if wheel is not None:
        generator = HeaderParser().parsestr(decode_text(wheel))["Generator"]
        return f"wheel generator: {generator}" if generator else None
    if system or "setup.py" in release.entries:
        return "setuptools (legacy setup.py)"
    return None


def _install_hooks(release: ReleaseFiles, pyproject: dict[str, object]) -> frozenset[str]:
    """Code an installer runs from an sdist: setup.py, its cmdclass overrides, an in-tree backend."""
    hooks: set[str] = set()
    system = _table(pyproject.get("build-system"))
    if system.get("backend-path"):
        hooks.add(f"in-tree build backend {system.get('build-backend')}")
    setuptools = _table(_table(pyproject.get("tool")).get("setuptools"))
    hooks.update(f"cmdclass {name}" for name in _table(setuptools.get("cmdclass")))
    setup = _data(release, "setup.py")
    if setup is not None and release.ref.kind in (ArtifactKind.SDIST, ArtifactKind.DIRECTORY):
        hooks.add("setup.py")
        hooks.update(f"cmdclass {name}" for name in _cmdclass_keys(decode_text(setup)))
    return frozenset(hooks)


def _cmdclass_keys(source: str) -> set[str]:
    """Command names a setup.py overrides: ``cmdclass={"install": ...}`` or ``cmdclass["install"] = ...``."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {"(setup.py does not parse)"} if "cmdclass" in source else set()
    keys: set[str] = set()
    for node in ast.walk(tree):
        value: ast.expr | None = None
        if isinstance(node, ast.keyword) and node.arg == "cmdclass":
            value = node.value
        elif isinstance(node, ast.Assign) and any(_named_cmdclass(t) for t in node.targets):
            value = node.value
            for target in node.targets:
                if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                    keys.add(str(target.slice.value))
        if isinstance(value, ast.Dict):
            keys.update(str(k.value) for k in value.keys if isinstance(k, ast.Constant))
        elif isinstance(value, ast.Call) and getattr(value.func, "id", None) == "dict":
            keys.update(k.arg for k in value.keywords if k.arg)
    return keys


def _named_cmdclass(target: ast.expr) -> bool:
    if isinstance(target, ast.Subscript):
        target = target.value
    return isinstance(target, ast.Name) and "cmdclass" in target.id.lower()
