"""What ``depvet hunt`` finds: plain frozen data shared by the host walk, image reading and reports.

Secrets are described by path, kind, size and modification time only: no field here ever holds
a secret's contents.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from depvet.model import Severity


class FindingKind(enum.StrEnum):
    """What a hunt finding is about; a closed set the reports group by."""

    KNOWN_BAD_INSTALLED = "known-bad-installed"  # a *.dist-info of a release recorded as malicious
    KNOWN_BAD_CACHED = "known-bad-cached"  # a cache (pip, uv, poetry) holds it: it was downloaded
    STARTUP_CODE = "startup-code"  # a .pth file in a site-packages with lines that run code
    TAMPERED = "tampered"  # an installed file differs from its RECORD hash
    MODIFIED_AFTER_INSTALL = "modified-after-install"  # changed after its distribution was installed
    IOC_FILE = "ioc-file"  # a file name or path from the IOC list
    IOC_HASH = "ioc-hash"  # a file whose sha256 is on the IOC list
    IOC_NETWORK = "ioc-network"  # a domain, URL or IP from the IOC list inside a file
    PERSISTENCE = "persistence"  # a systemd unit, cron entry, shell rc line or autostart entry
    # that starts a Python payload


class EnvironmentKind(enum.StrEnum):
    INTERPRETER = "interpreter"  # the running Python's own prefix and base prefix
    PYENV = "pyenv"
    VIRTUALENVWRAPPER = "virtualenvwrapper"
    CONDA = "conda"
    PIPX = "pipx"
    PROJECT_VENV = "project-venv"  # a .venv / venv folder under a searched root
    SITE_PACKAGES = "site-packages"  # one named on the command line
    IMAGE = "image"  # a site-packages inside a container image


class CacheKind(enum.StrEnum):
    PIP = "pip"
    UV = "uv"
    POETRY = "poetry"


class SecretKind(enum.StrEnum):
    """Kinds of reachable secrets; ``depvet.hunt.exposure`` orders them by blast radius."""

    SSH_KEY = "ssh-key"
    AWS = "aws-credentials"
    GCP = "gcp-credentials"
    AZURE = "azure-credentials"
    KUBECONFIG = "kubeconfig"
    KUBERNETES_TOKEN = "kubernetes-service-account-token"  # noqa: S105 - a kind, not a secret
    DOTENV = "dotenv"
    DOCKER = "docker-credentials"
    PYPI = "pypi-credentials"
    NPM = "npm-credentials"
    GIT = "git-credentials"
    NETRC = "netrc"
    BROWSER_PROFILE = "browser-profile"
    CRYPTO_WALLET = "crypto-wallet"
    ENV_VARIABLE_NAMES = "secret-environment-variables"  # names defined in env files and CI configs
    # Added for the rest of what the LiteLLM 1.82.8 payload read (docs: research/incidents.md).
    VAULT = "vault-token"  # ~/.vault-token
    TERRAFORM = "terraform"  # terraform.tfstate, *.tfvars, ~/.terraform.d/credentials.tfrc.json
    CONTAINER_SECRET = "container-secret"  # noqa: S105 - a kind; files under /run/secrets, /var/secrets
    PRIVATE_KEY = "private-key"  # TLS, code-signing and WireGuard private keys (*.pem, *.key, *.p12)
    DATABASE = "database-credentials"  # ~/.pgpass, ~/.my.cnf, ~/.mongorc.js, redis.conf
    MAIL = "mail-credentials"  # ~/.msmtprc
    SHELL_HISTORY = "shell-history"  # shell and database client histories


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    severity: Severity
    path: str  # on the host, or "IMAGE!/path" inside an image
    title: str
    evidence: str  # one line: what matched (never a secret's value)
    release: str | None = None  # "name==version" where it is about one
    environment: str | None = None  # the environment or cache it was found in
    layer: str | None = None  # image layer digest (or index) that added it


@dataclass(frozen=True, slots=True)
class Environment:
    path: str
    kind: EnvironmentKind
    distributions: int
    compromised: bool = False  # holds a known-bad release or start-up code


@dataclass(frozen=True, slots=True)
class Cache:
    path: str
    kind: CacheKind
    entries: int  # archives or cache records read


@dataclass(frozen=True, slots=True)
class ImageSummary:
    path: str
    format: str  # "docker-save" or "oci"
    layers: int
    findings: int
    deleted_later: tuple[str, ...] = ()  # bad paths a later layer removed (whiteouts)


@dataclass(frozen=True, slots=True)
class ExposedSecret:
    """A secret a payload running as this user could have read: never its contents."""

    kind: SecretKind
    path: str
    size: int
    modified: datetime
    detail: str = ""  # e.g. the variable names of an env file, "private key (ed25519)"


@dataclass(frozen=True, slots=True)
class RotationStep:
    kind: SecretKind
    rank: int  # 1 is rotated first: the widest blast radius
    action: str  # what to do, in one or two sentences
    paths: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    when: datetime
    what: str  # "installed", "downloaded into the pip cache", "release published", "release removed"
    release: str | None
    path: str | None
    inside_window: bool | None = None  # against the release's time on the index, when known


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str  # "permission denied", "not a docker save or OCI layout", ...


@dataclass(frozen=True, slots=True)
class HuntReport:
    roots: tuple[str, ...]
    started: datetime
    seconds: float
    environments: tuple[Environment, ...]
    caches: tuple[Cache, ...]
    images: tuple[ImageSummary, ...]
    findings: tuple[Finding, ...]  # worst first
    exposure: tuple[ExposedSecret, ...]
    checklist: tuple[RotationStep, ...]  # ordered by rank
    timeline: tuple[TimelineEvent, ...]  # oldest first
    skipped: tuple[Skipped, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def compromised(self) -> bool:
        """A finding at high or above: a coverage start-up hook or a touched file alone is not."""
        return any(f.severity.rank >= Severity.HIGH.rank for f in self.findings)
