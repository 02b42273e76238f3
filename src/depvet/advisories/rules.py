"""The rules of ``depvet check``: facts about a release (its records, its age, its name), not its code."""

from __future__ import annotations

import json

from depvet.model import Category, Severity
from depvet.rules import CHECK, Example, Rule

# A real advisory, written out as the OSV record an example imports (requests before 2.32.0
# kept verify=False for later requests of a Session).
_REQUESTS_ADVISORY = json.dumps(
    {
        "schema_version": "1.6.0",
        "id": "GHSA-9wx4-h78v-vm56",
        "modified": "2024-06-10T18:39:51Z",
        "published": "2024-05-20T20:15:00Z",
        "aliases": ["CVE-2024-35195"],
        "summary": "Requests Session object does not verify requests after making first request "
        "with verify=False",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "requests"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.32.0"}]}],
            }
        ],
        "database_specific": {"severity": "MODERATE"},
    },
    indent=2,
)


def _pylock(name: str, version: str, uploaded: str) -> str:
    wheel = f"{name}-{version}-py3-none-any.whl"
    return (
        'lock-version = "1.0"\ncreated-by = "uv"\n\n[[packages]]\n'
        f'name = "{name}"\nversion = "{version}"\nindex = "https://pypi.org/simple"\n'
        f'wheels = [{{ name = "{wheel}", upload-time = {uploaded}, '
        f'url = "https://files.pythonhosted.org/packages/{wheel}", '
        f'hashes = {{ sha256 = "{"0" * 64}" }} }}]\n'
    )


KNOWN_MALICIOUS = Rule(
    id="DV010",
    name="known-malicious-release",
    title="This release is recorded as malicious",
    severity=Severity.CRITICAL,
    category=Category.KNOWN_BAD,
    description=(
        "The pinned or installed release is listed as malware: an OSV MAL- record (from the "
        "OpenSSF malicious-packages data, imported with depvet db update) or one of the tainted "
        "releases of legitimate projects that ship with depvet, such as LiteLLM 1.82.7 and 1.82.8. "
        "A tainted release may already have run: a .pth file runs at every interpreter start and "
        "setup.py at install, so anything it could read must be treated as stolen. Remove it, "
        "pin a release published before the incident, and rotate every secret the machine "
        "could reach."
    ),
    bad=Example(path="requirements.txt", code="litellm==1.82.8\n", artifact=CHECK),
    good=Example(path="requirements.txt", code="litellm==1.82.6\n", artifact=CHECK),
    references=(
        "https://github.com/ossf/malicious-packages",
        "https://ossf.github.io/osv-schema/",
    ),
    context_weighted=False,
)

KNOWN_VULNERABILITY = Rule(
    id="DV011",
    name="known-vulnerability",
    title="This release has a known vulnerability",
    severity=Severity.HIGH,
    category=Category.VULNERABILITY,
    description=(
        "The pinned or installed release falls in the affected versions of a vulnerability "
        "record (OSV, PYSEC or GitHub advisories imported with depvet db update); reported with "
        "--vulns. A vulnerability is a flaw an attacker can use, not malware in the release, so "
        "each finding takes the record's own level (GitHub's severity, else the CVSS v3 base "
        "score; medium when the record gives none) and never reaches critical: the fix is an "
        "upgrade to a fixed release."
    ),
    bad=Example(
        path="requirements.txt",
        code="requests==2.31.0\n",
        artifact=CHECK,
        extra=(("osv/GHSA-9wx4-h78v-vm56.json", _REQUESTS_ADVISORY),),
        args=("--vulns",),
    ),
    good=Example(
        path="requirements.txt",
        code="requests==2.32.3\n",
        artifact=CHECK,
        extra=(("osv/GHSA-9wx4-h78v-vm56.json", _REQUESTS_ADVISORY),),
        args=("--vulns",),
    ),
    references=("https://osv.dev/", "https://github.com/pypa/advisory-database"),
    context_weighted=False,
)

YOUNGER_THAN_COOLDOWN = Rule(
    id="DV012",
    name="release-younger-than-cooldown",
    title="This release is younger than the cooldown",
    severity=Severity.HIGH,
    category=Category.DEPENDENCY_RISK,
    description=(
        "The pinned release was uploaded to the index less recently than --min-age (its oldest "
        "file's PEP 700 upload time, from the lock or the index). Hijacked releases are usually "
        "found and removed within hours or days: LiteLLM 1.82.7 and 1.82.8 were on PyPI for "
        "about three hours, so a cooldown of a few days keeps such a release out before anyone "
        "has reported it. Wait, or pin the previous release."
    ),
    bad=Example(
        path="pylock.toml",
        code=_pylock("rich", "14.1.0", "2026-03-22T09:00:00Z"),
        artifact=CHECK,
        args=("--min-age", "7d", "--as-of", "2026-03-25T00:00:00Z"),
    ),
    good=Example(
        path="pylock.toml",
        code=_pylock("rich", "14.0.0", "2026-03-01T09:00:00Z"),
        artifact=CHECK,
        args=("--min-age", "7d", "--as-of", "2026-03-25T00:00:00Z"),
    ),
    false_positives="A security fix you need today is young too: exempt it knowingly.",
    references=("https://peps.python.org/pep-0700/",),
    context_weighted=False,
)

NAME_LIKE_POPULAR = Rule(
    id="DV013",
    name="name-like-popular-package",
    title="The name is one step from a popular package's",
    severity=Severity.MEDIUM,
    category=Category.DEPENDENCY_RISK,
    description=(
        "The dependency's name is one typo, a separator, a look-alike character or a word order "
        "away from one of the most downloaded PyPI projects, and is not itself among the popular "
        "projects depvet ships a list of. Typosquats (and names an assistant invented that an "
        "attacker then registered) rely on exactly that: a user who means requests installs "
        "reqeusts. Check that the name is the project you meant."
    ),
    bad=Example(path="requirements.txt", code="reqeusts==2.32.3\n", artifact=CHECK),
    good=Example(path="requirements.txt", code="requests==2.32.3\n", artifact=CHECK),
    false_positives=(
        "Small legitimate projects named after a popular one (plugins, forks); the finding names "
        "the popular project so a reader can tell at a glance."
    ),
    references=("https://peps.python.org/pep-0503/#normalized-names",),
    context_weighted=False,
)

CHECK_RULES = (KNOWN_MALICIOUS, KNOWN_VULNERABILITY, YOUNGER_THAN_COOLDOWN, NAME_LIKE_POPULAR)
