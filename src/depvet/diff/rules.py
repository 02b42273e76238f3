"""The rules of ``depvet diff``: what an update changed that a tainted update would change.

Each is about the difference between two releases, so none is weighed by where code runs the way
the scanner's rules are: the rule itself says which context it is about.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from depvet.model import Category, Finding, RunContext, Severity
from depvet.rules import DIFF, Example, Rule

DIFF_SDIST = "diff-sdist"  # a DIFF example whose two releases are built as sdists

_INIT = "sample/__init__.py"
_OLD_INIT = ((_INIT, '"""Sample: formats things."""\nfrom sample.core import render\n'),)
_CORE = "sample/core.py"


def _provenance(repository: str, workflow: str = "release.yml") -> str:
    owner = repository.split("/")[0]
    return json.dumps(
        {
            "version": 1,
            "attestation_bundles": [
                {
                    "publisher": {
                        "kind": "GitHub",
                        "repository": repository,
                        "workflow": workflow,
                        "environment": "pypi",
                    },
                    "attestations": [{"version": 1, "note": f"signed for {owner}"}],
                }
            ],
        }
    )


def _metadata(version: str, extra: str = "") -> tuple[str, str]:
    return (
        f"sample-{version}.dist-info/METADATA",
        f"Metadata-Version: 2.1\nName: sample\nVersion: {version}\n{extra}\n",
    )


def _weekly(hour: int, weeks: int = 9) -> tuple[tuple[str, str], ...]:
    """Earlier releases 0.1 ... 0.N, one a week at ``hour`` UTC, the last on 2026-03-10."""
    last = datetime(2026, 3, 10, hour, tzinfo=UTC)
    times = [last - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    return tuple((f"upload 0.{i + 1}", f"{t:%Y-%m-%dT%H:%M:%SZ}") for i, t in enumerate(times))


def _same_code(
    *,
    index: tuple[tuple[str, str], ...] = (),
    before: tuple[tuple[str, str], ...] = (),
    extra: tuple[tuple[str, str], ...] = (),
) -> Example:
    """Two releases with the same code: only what the index says, or their metadata, differs."""
    return Example(
        path=_INIT,
        code=_OLD_INIT[0][1],
        extra=extra,
        artifact=DIFF,
        before=(*_OLD_INIT, *before),
        index=index,
    )


UPDATE_ADDS_STARTUP_CODE = Rule(
    id="DV020",
    name="update-adds-startup-code",
    title="The update adds a .pth file that runs code at every start-up",
    severity=Severity.CRITICAL,
    category=Category.RELEASE_DIFF,
    description=(
        "The new release installs a .pth file with executable lines that the previous release did "
        "not have. Python runs such lines at every interpreter start, before any of the user's "
        "code, whether or not the package is imported: it is how the tainted LiteLLM 1.82.8 ran its "
        "credential stealer. A legitimate project very rarely starts shipping start-up code in a "
        "point release; read the file before installing."
    ),
    bad=Example(
        path="sample_init.pth",
        code="import os, sample._boot; sample._boot.start(os.environ)\n",
        extra=(*_OLD_INIT, ("sample/_boot.py", "def start(env):\n    return None\n")),
        artifact=DIFF,
        before=_OLD_INIT,
    ),
    good=Example(
        path="sample_init.pth",
        code="import sample._hook\n",
        extra=(*_OLD_INIT, ("sample/_hook.py", "ENABLED = True\n")),
        artifact=DIFF,
        before=(
            *_OLD_INIT,
            ("sample_init.pth", "import sample._hook\n"),
            ("sample/_hook.py", "ENABLED = 1\n"),
        ),
    ),
    false_positives=(
        "Coverage, debugging and virtual-environment tools legitimately add start-up hooks; "
        "they say so in their changelog."
    ),
    references=("https://docs.python.org/3/library/site.html",),
    context_weighted=False,
)

UPDATE_ADDS_INSTALL_HOOK = Rule(
    id="DV021",
    name="update-adds-install-hook",
    title="The update adds code that runs at install time",
    severity=Severity.MEDIUM,
    category=Category.RELEASE_DIFF,
    description=(
        "The new sdist overrides a setup.py command (cmdclass), gains a setup.py, or builds with an "
        "in-tree build backend, where the previous release did not. That code runs on every "
        "machine that installs from source, with the user's rights, before anyone imports the "
        "package; install hooks are where most malicious uploads put their payload. Read what the "
        "new hook does."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\nfrom setuptools.command.install import install\n\n\n"
            "class PostInstall(install):\n    def run(self):\n        install.run(self)\n"
            "        print('installed')\n\n\n"
            "setup(name='sample', version='1.1', cmdclass={'install': PostInstall})\n"
        ),
        extra=_OLD_INIT,
        artifact=DIFF_SDIST,
        before=(
            *_OLD_INIT,
            ("setup.py", "from setuptools import setup\n\nsetup(name='sample', version='1.0')\n"),
        ),
    ),
    good=Example(
        path="setup.py",
        code=(
            "from setuptools import setup\nfrom setuptools.command.build_py import build_py\n\n\n"
            "class BuildPy(build_py):\n    pass\n\n\n"
            "setup(name='sample', version='1.1', cmdclass={'build_py': BuildPy})\n"
        ),
        extra=_OLD_INIT,
        artifact=DIFF_SDIST,
        before=(
            *_OLD_INIT,
            (
                "setup.py",
                "from setuptools import setup\nfrom setuptools.command.build_py import build_py\n\n\n"
                "class BuildPy(build_py):\n    pass\n\n\n"
                "setup(name='sample', version='1.0', cmdclass={'build_py': BuildPy})\n",
            ),
        ),
    ),
    false_positives="Projects that add a compiled extension or generate files at build time.",
    references=("https://setuptools.pypa.io/en/latest/userguide/extension.html",),
    context_weighted=False,
)

UPDATE_GAINS_AUTORUN_CAPABILITY = Rule(
    id="DV022",
    name="update-gains-capability-on-import",
    title="The update gives code that runs on its own a capability it never had",
    severity=Severity.HIGH,
    category=Category.RELEASE_DIFF,
    description=(
        "In the new release, code that runs without being called (at import, install or "
        "interpreter start-up) reaches the network, starts a process, executes computed code, "
        "reads secrets or the whole environment, or writes outside the package, and no such code "
        "of the previous release did that. A tainted update has to run its payload on its own, "
        "so this is where it shows; an ordinary update adds such behaviour inside functions the "
        "user calls."
    ),
    bad=Example(
        path=_INIT,
        code=(
            '"""Sample: formats things."""\nimport subprocess\n\nfrom sample.core import render\n\n'
            'subprocess.run(["uname", "-a"], check=False)\n'
        ),
        artifact=DIFF,
        before=_OLD_INIT,
    ),
    good=Example(
        path=_INIT,
        code=(
            '"""Sample: formats things."""\nimport subprocess\n\nfrom sample.core import render\n\n\n'
            'def system_info():\n    return subprocess.run(["uname", "-a"], check=False)\n'
        ),
        artifact=DIFF,
        before=_OLD_INIT,
    ),
    false_positives=(
        "Packages that start checking for updates or sending usage statistics on import; worth "
        "knowing about anyway."
    ),
    context_weighted=False,
)

UPDATE_GAINS_CAPABILITY = Rule(
    id="DV023",
    name="update-gains-capability",
    title="The update uses a capability the previous release never used",
    severity=Severity.LOW,
    category=Category.RELEASE_DIFF,
    description=(
        "The new release reaches the network, starts processes, executes computed code, reads "
        "secrets or the whole environment, or writes outside the package, in functions that only "
        "run when called, and the previous release did none of that anywhere. New features do "
        "this all the time, so alone it is a pointer for a reviewer, not a verdict; together with "
        "other reasons it shows where a payload would sit."
    ),
    bad=Example(
        path=_CORE,
        code=(
            "import urllib.request\n\n\ndef render(value):\n    return str(value)\n\n\n"
            "def fetch(url):\n    return urllib.request.urlopen(url).read()\n"
        ),
        extra=_OLD_INIT,
        artifact=DIFF,
        before=(*_OLD_INIT, (_CORE, "def render(value):\n    return str(value)\n")),
    ),
    good=Example(
        path=_CORE,
        code=(
            "import urllib.request\n\n\ndef render(value):\n    return str(value)\n\n\n"
            "def fetch(url):\n    return urllib.request.urlopen(url).read()\n"
        ),
        extra=(
            *_OLD_INIT,
            (
                "sample/net.py",
                "import urllib.request\n\n\ndef get(url):\n    return urllib.request.urlopen(url)\n",
            ),
        ),
        artifact=DIFF,
        before=(
            *_OLD_INIT,
            (_CORE, "def render(value):\n    return str(value)\n"),
            (
                "sample/net.py",
                "import urllib.request\n\n\ndef get(url):\n    return urllib.request.urlopen(url)\n",
            ),
        ),
    ),
    context_weighted=False,
)

_ELF = "\x7fELF\x02\x01\x01" + "\x00" * 57

UPDATE_ADDS_NATIVE_CODE = Rule(
    id="DV024",
    name="update-adds-native-code",
    title="The update ships native code the previous release did not",
    severity=Severity.MEDIUM,
    category=Category.RELEASE_DIFF,
    description=(
        "The previous release was pure Python and the new one contains native libraries or "
        "executables. Compiled code cannot be read like the rest of the package, and a binary "
        "dropped into a pure-Python project is a common way to hide a miner or a stealer. A "
        "project that starts shipping speed-ups says so in its changelog and builds them in CI."
    ),
    bad=Example(path="sample/_speedups.so", code=_ELF, extra=_OLD_INIT, artifact=DIFF, before=_OLD_INIT),
    good=Example(
        path="sample/_speedups.so",
        code=_ELF + "\x01",
        extra=_OLD_INIT,
        artifact=DIFF,
        before=(*_OLD_INIT, ("sample/_speedups.so", _ELF)),
    ),
    context_weighted=False,
)

ATTESTATIONS_DROPPED = Rule(
    id="DV025",
    name="attestations-dropped",
    title="The previous release was attested, this one is not",
    severity=Severity.HIGH,
    category=Category.RELEASE_DIFF,
    description=(
        "The index offers PEP 740 provenance (attestations from a Trusted Publisher) for the "
        "previous release's file but none for the new one. A project that publishes from CI "
        "through Trusted Publishing gets attestations on every upload; an upload without them was "
        "most likely made by hand with an API token, which is what an attacker holding a stolen "
        "token does. Check with the maintainers that they made this release."
    ),
    bad=_same_code(
        index=(("provenance 1.0", _provenance("example/sample")),),
    ),
    good=_same_code(
        index=(
            ("provenance 1.0", _provenance("example/sample")),
            ("provenance 1.1", _provenance("example/sample")),
        ),
    ),
    false_positives="A project that moved away from Trusted Publishing, or a one-off manual upload.",
    references=("https://peps.python.org/pep-0740/", "https://docs.pypi.org/attestations/"),
    context_weighted=False,
)

PUBLISHER_CHANGED = Rule(
    id="DV026",
    name="publisher-changed",
    title="Attested by a different publisher than the previous release",
    severity=Severity.HIGH,
    category=Category.RELEASE_DIFF,
    description=(
        "Both releases carry PEP 740 attestations, but they were made by different Trusted "
        "Publishers: another CI provider, another repository or another workflow. The publisher "
        "identity is what ties a release to the project's source; a new one means someone set up "
        "publishing from elsewhere, or a fork's workflow was allowed to publish."
    ),
    bad=_same_code(
        index=(
            ("provenance 1.0", _provenance("example/sample")),
            ("provenance 1.1", _provenance("someone-else/sample-fork")),
        ),
    ),
    good=_same_code(
        index=(
            ("provenance 1.0", _provenance("example/sample")),
            ("provenance 1.1", _provenance("Example/Sample")),
        ),
    ),
    false_positives="A project that moved to a new organisation or renamed its release workflow.",
    references=("https://peps.python.org/pep-0740/", "https://docs.pypi.org/trusted-publishers/"),
    context_weighted=False,
)

UNUSUAL_UPLOAD_TIME = Rule(
    id="DV027",
    name="unusual-upload-time",
    title="Uploaded at a time far outside the project's release pattern",
    severity=Severity.MEDIUM,
    category=Category.RELEASE_DIFF,
    description=(
        "The new release came within a day of the previous one, although the project usually "
        "publishes days or weeks apart, and at a time of day at which none of its earlier "
        "releases was uploaded. Attackers with a stolen token publish when they get it, often "
        "twice in a row as they fix their payload (LiteLLM 1.82.7 and 1.82.8 came 13 minutes "
        "apart). Alone it proves nothing; with other reasons it dates the takeover."
    ),
    bad=_same_code(
        index=(*_weekly(14), ("upload 1.0", "2026-03-17T14:00:00Z"), ("upload 1.1", "2026-03-18T02:30:00Z")),
    ),
    good=_same_code(
        index=(*_weekly(14), ("upload 1.0", "2026-03-17T14:00:00Z"), ("upload 1.1", "2026-03-24T14:20:00Z")),
    ),
    false_positives="A quick fix release after a broken one, made by a maintainer in another time zone.",
    references=("https://peps.python.org/pep-0700/",),
    context_weighted=False,
)

UPDATE_ADDS_YOUNG_DEPENDENCY = Rule(
    id="DV028",
    name="update-adds-young-dependency",
    title="The update depends on a project that is days old or not on the index",
    severity=Severity.MEDIUM,
    category=Category.RELEASE_DIFF,
    description=(
        "The new release requires a project it did not require before, and that project's first "
        "upload is less than 30 days older than the new release, or the index does not have it "
        "at all (high). A takeover can hide its payload in a fresh dependency instead of the "
        "package itself, where a reviewer of the package's diff does not look; a name the index "
        "lacks can be registered by anyone (dependency confusion)."
    ),
    bad=_same_code(
        extra=(_metadata("1.1", "Requires-Dist: sample-helpers>=0.1\n"),),
        before=(_metadata("1.0"),),
        index=(
            ("upload 1.0", "2026-03-10T14:00:00Z"),
            ("upload 1.1", "2026-03-24T14:00:00Z"),
            ("project sample-helpers", "2026-03-22T23:00:00Z"),
        ),
    ),
    good=_same_code(
        extra=(_metadata("1.1", "Requires-Dist: sample-helpers>=0.1\n"),),
        before=(_metadata("1.0"),),
        index=(
            ("upload 1.0", "2026-03-10T14:00:00Z"),
            ("upload 1.1", "2026-03-24T14:00:00Z"),
            ("project sample-helpers", "2024-05-02T10:00:00Z"),
        ),
    ),
    false_positives="A project split into several packages published together.",
    references=("https://peps.python.org/pep-0508/",),
    context_weighted=False,
)

IDENTITY_CHANGED = Rule(
    id="DV029",
    name="release-identity-changed",
    title="Author or maintainer e-mail or project URL domain changed",
    severity=Severity.LOW,
    category=Category.RELEASE_DIFF,
    description=(
        "The new release's metadata names other author or maintainer e-mail addresses, or points "
        "its home page, repository or other project URLs at another domain, than the previous "
        "release. Hijacked projects have been re-pointed at look-alike repositories, and the "
        "ctx takeover began with a maintainer's expired e-mail domain. Usually it is a maintainer "
        "change, which is still worth knowing."
    ),
    bad=_same_code(
        extra=(_metadata("1.1", "Author-email: Release Bot <bot@sample-pkg.dev>\n"),),
        before=(_metadata("1.0", "Author-email: Jane Doe <jane@example.org>\n"),),
    ),
    good=_same_code(
        extra=(_metadata("1.1", "Author-email: Jane Doe <JANE@example.org>\nSummary: Formats things\n"),),
        before=(_metadata("1.0", "Author-email: Jane Doe <jane@example.org>\n"),),
    ),
    references=("https://packaging.python.org/en/latest/specifications/core-metadata/",),
    context_weighted=False,
)

DIFF_RULES = (
    UPDATE_ADDS_STARTUP_CODE,
    UPDATE_ADDS_INSTALL_HOOK,
    UPDATE_GAINS_AUTORUN_CAPABILITY,
    UPDATE_GAINS_CAPABILITY,
    UPDATE_ADDS_NATIVE_CODE,
    ATTESTATIONS_DROPPED,
    PUBLISHER_CHANGED,
    UNUSUAL_UPLOAD_TIME,
    UPDATE_ADDS_YOUNG_DEPENDENCY,
    IDENTITY_CHANGED,
)


def release_finding(
    rule: Rule,
    *,
    path: str,
    evidence: str,
    line: int | None = None,
    severity: Severity | None = None,
    context: RunContext = RunContext.RELEASE,
) -> Finding:
    """A reason of a diff, in the scanner's finding shape so every report can show it."""
    return Finding(
        rule.id,
        severity or rule.severity,
        rule.category,
        rule.title,
        path,
        line,
        evidence,
        context,
        base_severity=rule.severity,
    )
