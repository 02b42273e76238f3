"""The indicator-of-compromise list: shipped with depvet, extended by the user's own files."""

from __future__ import annotations

import enum
import hashlib
import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from depvet.errors import DepvetError


class IocError(DepvetError):
    """An IOC file that cannot be read or does not follow the schema."""


class IocType(enum.StrEnum):
    FILE_NAME = "file-name"
    FILE_PATH = "file-path"
    SHA256 = "sha256"
    DOMAIN = "domain"
    URL = "url"
    IP = "ip"


@dataclass(frozen=True, slots=True)
class Ioc:
    type: IocType
    value: str
    incident: str
    note: str
    source: str


USER_IOC_FILE = "iocs.toml"
_KEYS = {"type", "value", "incident", "note", "source"}


def load_iocs(extra: Sequence[Path] = (), *, user_dir: Path | None = None) -> IocList:
    """The shipped list, then ``iocs.toml`` in the user's data directory, then ``extra``."""
    text = resources.files("depvet.hunt").joinpath("data/iocs.toml").read_text("utf-8")
    iocs = parse_iocs(text, "depvet's IOC list")
    if user_dir is None:
        from depvet.userdirs import user_data_dir

        user_dir = user_data_dir()
    candidates = [user_dir / USER_IOC_FILE, *extra]
    for path in candidates:
        if path in extra or path.is_file():
            try:
                iocs += parse_iocs(path.read_text("utf-8"), str(path))
            except OSError as exc:
                raise IocError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return IocList(iocs)


def parse_iocs(text: str, source: str) -> list[Ioc]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise IocError(f"{source}: not valid TOML: {exc}") from None
    entries = document.get("ioc", [])
    if not isinstance(entries, list):
        raise IocError(f"{source}: [[ioc]] must be a list of tables")
    iocs = []
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict) or not {"type", "value"} <= set(entry) or set(entry) - _KEYS:
            raise IocError(
                f"{source}: ioc {number} needs type and value, and only {', '.join(sorted(_KEYS))}"
            )
        try:
            kind = IocType(entry["type"])
        except ValueError:
            names = ", ".join(t.value for t in IocType)
            raise IocError(f"{source}: ioc {number}: type {entry['type']!r} is not one of {names}") from None
        value = str(entry["value"]).strip()
        if kind in (IocType.DOMAIN, IocType.SHA256):
            value = value.lower()
        iocs.append(Ioc(kind, value, str(entry.get("incident", "")), str(entry.get("note", "")), source))
    return iocs


@dataclass(frozen=True, slots=True)
class IocHit:
    ioc: Ioc
    matched: str  # the text that matched: a name, a path, a domain, a URL, an address


class IocList:
    """The indicators, indexed for the three questions a file is asked: its name, its hash, its text."""

    def __init__(self, iocs: Iterable[Ioc]) -> None:
        self.iocs = tuple(iocs)
        self.names = {i.value: i for i in self.iocs if i.type is IocType.FILE_NAME}
        self.paths = [i for i in self.iocs if i.type is IocType.FILE_PATH]
        self.hashes = {i.value: i for i in self.iocs if i.type is IocType.SHA256}
        network = [i for i in self.iocs if i.type in (IocType.DOMAIN, IocType.URL, IocType.IP)]
        self._network = {i.value.lower(): i for i in network}
        # One pass over a file's text for every domain, URL and address.
        self._pattern = (
            re.compile(
                "|".join(_network_pattern(i) for i in sorted(network, key=lambda i: -len(i.value))), re.I
            )
            if network
            else None
        )

    def by_name(self, name: str) -> Ioc | None:
        return self.names.get(name)

    def by_path(self, path: str, homes: Sequence[str]) -> Ioc | None:
        for ioc in self.paths:
            if ioc.value.startswith("~/"):
                if any(path == f"{home.rstrip('/')}/{ioc.value[2:]}" for home in homes):
                    return ioc
            elif path == ioc.value:
                return ioc
        return None

    def by_hash(self, data: bytes) -> Ioc | None:
        if not self.hashes:
            return None
        return self.hashes.get(hashlib.sha256(data).hexdigest())

    def in_text(self, text: str) -> list[IocHit]:
        if self._pattern is None:
            return []
        hits: dict[str, IocHit] = {}
        for match in self._pattern.finditer(text):
            found = match.group(0).lower()
            ioc = self._network.get(found) or next(
                (i for key, i in self._network.items() if found.endswith("." + key) or found.startswith(key)),
                None,
            )
            if ioc is not None and ioc.value not in hits:
                hits[ioc.value] = IocHit(ioc, match.group(0))
        return list(hits.values())


def _network_pattern(ioc: Ioc) -> str:
    value = re.escape(ioc.value)
    if ioc.type is IocType.DOMAIN:
        # The domain or any subdomain, as a whole host name: not "notlitellm.cloud".
        return rf"(?<![\w.-])(?:[\w-]+\.)*{value}(?![\w-])"
    if ioc.type is IocType.IP:
        return rf"(?<![\d.]){value}(?![\d])"
    return value
