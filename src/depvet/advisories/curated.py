"""The tainted releases of legitimate projects that ship with depvet (``data/tainted.toml``).

They are matched before the first ``depvet db update`` and whatever the database holds:
the day a trusted project is hijacked is the day a user needs the answer.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from packaging.utils import canonicalize_name

from depvet.advisories.osv import Advisory, AdvisoryKind, Affected
from depvet.errors import DepvetError

CURATED_SCHEMA = 1


@cache
def curated_advisories() -> tuple[Advisory, ...]:
    """One advisory per incident and package, id ``DEPVET-<slug>``."""
    text = resources.files("depvet.advisories").joinpath("data/tainted.toml").read_text("utf-8")
    return parse_curated(text)


def parse_curated(text: str) -> tuple[Advisory, ...]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DepvetError(f"curated tainted releases: not TOML ({exc})") from None
    if document.get("schema") != CURATED_SCHEMA:
        raise DepvetError(
            f"curated tainted releases: schema {document.get('schema')!r} is not {CURATED_SCHEMA}"
        )
    advisories: list[Advisory] = []
    for entry in document.get("incident", []):
        try:
            references = [str(r) for r in entry["references"]]
            advisories.append(
                Advisory(
                    id=f"DEPVET-{entry['id']}",
                    kind=AdvisoryKind.MALICIOUS,
                    modified=str(entry["published"]),
                    published=str(entry["published"]),
                    withdrawn=None,
                    aliases=tuple(str(a) for a in entry.get("aliases", [])),
                    summary=str(entry["summary"]),
                    url=references[0],
                    severity=None,
                    affected=(
                        Affected(canonicalize_name(entry["package"]), tuple(map(str, entry["versions"])), ()),
                    ),
                )
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise DepvetError(f"curated tainted releases: entry {entry.get('id')!r} lacks {exc}") from None
    return tuple(advisories)
