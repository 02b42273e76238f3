"""Which secrets a payload running as this user could have read, and what to rotate first.

Modelled on what the LiteLLM 1.82.8 ``litellm_init.pth`` payload collected (SSH keys, cloud and
Kubernetes credentials, ``.env`` files to depth 6, registry and git tokens, database client files,
CI configs, shell histories, wallets; see the LiteLLM section of research/incidents.md), plus the
browser profiles that credential stealers take.

The one rule: a report holds paths, kinds, sizes and modification times - never contents. A file
is read only where its kind cannot be told otherwise (does this ``.npmrc`` hold a token, which
variables does this ``.env`` set, which key type is this private key), and what such a read
yields is limited to variable *names*, fixed labels from this module and counts.

Decisions:

- Empty files are not reported: they hold nothing to rotate.
- Config files whose format shows whether they hold a credential are reported only when they do:
  ``.npmrc`` / ``.yarnrc.yml`` with a literal auth token (a registry line or a ``${NPM_TOKEN}``
  reference is not one; the variable itself is caught by the environment scan),
  ``.pypirc`` with a password, ``docker/config.json`` with inline ``auths`` (not with only a
  ``credsStore``), ``gh/hosts.yml`` with an ``oauth_token``, ``.netrc`` with a password,
  ``~/.aws/config`` with keys, SSO or a ``credential_process``. The payload read all of them;
  a file that holds no credential has nothing to rotate.
- ``.env`` files that set at least one value are reported, whatever the names (a payload takes
  the whole file; names are a heuristic). Templates (``.env.example``, ``.env.sample``,
  ``.env.template``, ``.env.dist``, ``example.env``...) are committed by design, so they count only
  when a secret-looking variable holds a value that is neither a placeholder nor a ``${VAR}``.
- ``~/.ssh/*.pub``, ``known_hosts``, ``authorized_keys`` and ``config`` are not secrets. When
  ``known_hosts`` or ``config`` exist, each private key's detail names them: they list the hosts
  the key may open. ``id_*`` files without ``.pub`` count even without a recognised header.
- CI configs count when they reference a CI secret or a secret-looking variable; their entry lists
  the names (and the secret-looking names given a literal value in the file).
- Free-text names that are not variables (``.pypirc`` sections, registry hosts, profile names) are
  counted, not listed.
- Locations under ``system_root`` (service-account tokens, ``/run/secrets``, ``/etc/kubernetes``,
  host keys...) count only when readable; permission errors there are expected and not passed to
  ``on_skip``. Under the home directory and the project roots they are.
- Directories are listed without leaving the home directory through a symbolic link (a project
  walk never follows a linked directory); files are followed and reported under their link path.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import os
import re
import stat
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Final

from depvet.hunt.model import ExposedSecret, SecretKind
from depvet.hunt.rotation import RANK, rotation_checklist

__all__ = [
    "ENVIRONMENT_PATH",
    "MAX_PROJECT_DEPTH",
    "find_exposure",
    "looks_secret",
    "rotation_checklist",
    "secret_names",
]

SkipHandler = Callable[[str, str], None]
# Given the first bytes of a file: the detail to add to its label, or None when it holds no secret.
Probe = Callable[[bytes], str | None]

MAX_PROJECT_DEPTH: Final = 6  # directories below a project root, as deep as the LiteLLM payload went
ENVIRONMENT_PATH: Final = "(environment)"
_READ_LIMIT: Final = 256 * 1024
_MAX_NAMES: Final = 40  # names listed in one detail before "and N more"

# Directories a project walk never enters: dependencies, VCS data and caches hold no project secrets.
_PRUNE: Final = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "site-packages",
        "dist-packages",
        ".venv",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)

# ---------------------------------------------------------------------------------------------
# Secret-looking names


_SECRET_SEGMENTS: Final = frozenset(
    {
        "KEY",
        "KEYS",
        "APIKEY",
        "SECRET",
        "SECRETS",
        "TOKEN",
        "TOKENS",
        "PASSWORD",
        "PASSWORDS",
        "PASSWD",
        "PASS",
        "PASSPHRASE",
        "PWD",
        "PW",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "AUTH",
        "PRIVATE",
        "DSN",
        "WEBHOOK",
        "COOKIE",
        "SALT",
        "SIGNING",
        "JWT",
        "PAT",
        "OTP",
        "MNEMONIC",
        "SEED",
    }
)
_SECRET_SUBSTRINGS: Final = (
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "APIKEY",
    "PRIVATEKEY",
    "ACCESSKEY",
    "ACCESSTOKEN",
    "AUTHTOKEN",
    "APITOKEN",
    "CONNECTIONSTRING",
)
_PUBLIC_SEGMENTS: Final = frozenset({"PUBLIC", "PUBLISHABLE", "PUB"})
_CONNECTION_SEGMENTS: Final = frozenset({"URL", "URI", "DSN", "CONNECTION", "CONN", "CONNSTR"})
_DATASTORE_SEGMENTS: Final = frozenset(
    {
        "DATABASE",
        "DB",
        "MYSQL",
        "MARIADB",
        "POSTGRES",
        "POSTGRESQL",
        "PG",
        "MONGO",
        "MONGODB",
        "REDIS",
        "AMQP",
        "RABBITMQ",
        "BROKER",
        "SQLALCHEMY",
        "MSSQL",
        "VAULT",
    }
)
# Names that match the patterns but are not secrets (agent sockets, the working directory, AWS
# settings that only pick a region or a profile).
_NOT_SECRET: Final = frozenset(
    {
        "PWD",
        "OLDPWD",
        "SSH_AUTH_SOCK",
        "GPG_AGENT_INFO",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_DEFAULT_OUTPUT",
        "AWS_PAGER",
        "AWS_CONFIG_FILE",
        "AWS_SDK_LOAD_CONFIG",
        "AWS_RETRY_MODE",
        "AWS_MAX_ATTEMPTS",
        "AWS_CA_BUNDLE",
        "AWS_EXECUTION_ENV",
    }
)
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}\Z")
_SEGMENT_SPLIT: Final = re.compile(r"[^A-Z0-9]+")


def looks_secret(name: str) -> bool:
    """Whether a variable name suggests a secret value: ``*KEY*``, ``*TOKEN*``, ``*PASSWORD*``,
    ``DATABASE_URL``, ``AWS_*``... (``NEXT_PUBLIC_*``, ``*_PUBLISHABLE_KEY`` and ``PWD`` do not)."""
    if not _NAME.match(name):
        return False
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    segments = {segment for segment in _SEGMENT_SPLIT.split(upper) if segment}
    if segments & _PUBLIC_SEGMENTS:
        return False
    if segments & _SECRET_SEGMENTS:
        return True
    compact = "".join(_SEGMENT_SPLIT.split(upper))
    if any(part in compact for part in _SECRET_SUBSTRINGS):
        return True
    if segments & _CONNECTION_SEGMENTS and segments & _DATASTORE_SEGMENTS:
        return True
    return upper.startswith("AWS_")


def secret_names(env: Mapping[str, str]) -> list[str]:
    """The secret-looking names among the variables of ``env`` that hold a value, sorted."""
    return sorted(name for name, value in env.items() if value and looks_secret(name))


def _name_list(names: Iterable[str]) -> str:
    ordered = sorted(set(names))
    shown = ", ".join(ordered[:_MAX_NAMES])
    return shown if len(ordered) <= _MAX_NAMES else f"{shown} and {len(ordered) - _MAX_NAMES} more"


def _plural(count: int, noun: str, plural: str = "") -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


# ---------------------------------------------------------------------------------------------
# Reading formats: every probe returns fixed labels, names or counts, never a value.


def _text(head: bytes) -> str:
    return head.decode("utf-8", "replace")


def _json(head: bytes) -> object:
    try:
        return json.loads(head)
    except ValueError:
        return None


_ASSIGNMENT: Final = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=[ \t]*(.*)\Z")
_REFERENCE: Final = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*(?::?-[^}]*)?\}?\Z")
_PLACEHOLDER: Final = re.compile(
    r"(?i)\A(?:<[^>]*>|\{\{?[^}]*\}?\}|\[[^\]]*\]|x+|\*+|\.{2,}|-+|_+|0+|"
    r"(?:your|my|enter|insert|put|add)[-_ ].*|"
    r".*(?:example|changeme|change[-_ ]me|change[-_ ]this|placeholder|replace|dummy|fixme|todo|xxx).*|"
    r"none|null|nil|secret|password|token|key|test|dev|local|default|value)\Z"
)
_TEMPLATE_PARTS: Final = frozenset({"example", "examples", "sample", "template", "tmpl", "tpl", "dist"})


def _dotenv_entries(text: str) -> Iterator[tuple[str, str]]:
    """``(name, value)`` of each assignment; quoted values may span lines, and their continuation
    lines are never taken for assignments (a PEM body's ``abc=`` line is not a variable)."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _ASSIGNMENT.match(lines[index])
        index += 1
        if match is None:
            continue
        name, rest = match.group(1), match.group(2).strip()
        if rest[:1] in {'"', "'", "`"}:
            quote = re.compile(r"(?<!\\)" + re.escape(rest[0]))
            body = rest[1:]
            while quote.search(body) is None and index < len(lines):
                body += "\n" + lines[index]
                index += 1
            closing = quote.search(body)
            value = body[: closing.start()] if closing else body
        else:
            value = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
        yield name, value


def _is_template(name: str) -> bool:
    return bool(_TEMPLATE_PARTS.intersection(part.lower() for part in name.split(".")))


def _dotenv_probe(*, template: bool, require_secret: bool = False) -> Probe:
    def probe(head: bytes) -> str | None:
        assigned: set[str] = set()
        secret: set[str] = set()
        for name, value in _dotenv_entries(_text(head)):
            if not value:
                continue
            assigned.add(name)
            literal = _REFERENCE.match(value) is None
            if template and _PLACEHOLDER.match(value):
                literal = False
            if literal and looks_secret(name):
                secret.add(name)
        if template or require_secret:
            return f"values set for {_name_list(secret)}" if secret else None
        if not assigned:
            return None
        if not secret:
            return f"{_plural(len(assigned), 'variable')}, none with a secret-looking name"
        return f"{_plural(len(assigned), 'variable')}; secret-looking: {_name_list(secret)}"

    return probe


_INI_KEY: Final = re.compile(r"^[ \t]*([A-Za-z0-9_.-]+)[ \t]*[=:][ \t]*(\S?)", re.MULTILINE)
_INI_SECTION: Final = re.compile(r"^[ \t]*\[([^\]\n]{1,200})\]", re.MULTILINE)
_AWS_CREDENTIAL_KEYS: Final = frozenset(
    {"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "aws_security_token"}
)
_AWS_CONFIG_KEYS: Final = _AWS_CREDENTIAL_KEYS | {"credential_process", "sso_session", "sso_start_url"}


def _ini_keys(text: str) -> set[str]:
    return {match.group(1).lower() for match in _INI_KEY.finditer(text) if match.group(2)}


def _aws_credentials(head: bytes) -> str | None:
    text = _text(head)
    keys = _ini_keys(text) & _AWS_CONFIG_KEYS
    profiles = _plural(len(_INI_SECTION.findall(text)), "profile")
    return f"{profiles}; {_name_list(keys)}" if keys else f"{profiles}; no recognised keys"


def _aws_config(head: bytes) -> str | None:
    keys = _ini_keys(_text(head)) & _AWS_CONFIG_KEYS
    return _name_list(keys) if keys else None


_GCP_TYPES: Final = {
    "authorized_user": "user refresh token",
    "service_account": "service-account key",
    "external_account": "workload identity federation",
    "external_account_authorized_user": "workforce identity refresh token",
    "impersonated_service_account": "impersonated service account (refresh token)",
    "gdch_service_account": "GDC service-account key",
}


def _gcp_credentials(head: bytes) -> str | None:
    data = _json(head)
    kind = data.get("type") if isinstance(data, dict) else None
    return _GCP_TYPES.get(kind, "unrecognised type") if isinstance(kind, str) else "unrecognised format"


def _gcp_project_file(head: bytes) -> str | None:
    if b'"service_account"' in head and b'"private_key"' in head:
        return "service-account key"
    if b'"client_secret"' in head:
        return "OAuth client secret"
    return None


_KUBE_AUTH: Final = re.compile(
    r"^[ \t]*-?[ \t]*(client-certificate-data|client-key-data|client-certificate|client-key|token|"
    r"tokenFile|username|password|exec|auth-provider)[ \t]*:",
    re.MULTILINE,
)
_KUBE_CONTEXT: Final = re.compile(r"^[ \t]*(?:-[ \t]*)?context[ \t]*:", re.MULTILINE)


def _kubeconfig(head: bytes) -> str | None:
    text = _text(head)
    auth = {match.group(1) for match in _KUBE_AUTH.finditer(text)}
    contexts = _plural(len(_KUBE_CONTEXT.findall(text)), "context")
    return f"{contexts}; credentials: {_name_list(auth)}" if auth else f"{contexts}; no inline credentials"


def _docker_config(head: bytes) -> str | None:
    data = _json(head)
    if not isinstance(data, dict):
        return "unparseable, may hold registry logins"
    auths = data.get("auths")
    logins = 0
    if isinstance(auths, dict):
        fields = ("auth", "password", "identitytoken", "registrytoken")
        logins = sum(1 for entry in auths.values() if isinstance(entry, dict) and any(map(entry.get, fields)))
    return f"{_plural(logins, 'registry login')} stored in the file" if logins else None


def _pypirc(head: bytes) -> str | None:
    """Counts the repositories with a password; their names are not reported (free text)."""
    sections: set[int] = set()
    current = 0
    for line in _text(head).splitlines():
        if _INI_SECTION.match(line):
            current += 1
            continue
        key = _INI_KEY.match(line)
        if key and key.group(1).lower() == "password" and key.group(2):
            sections.add(current)
    return f"password stored for {_plural(len(sections), 'repository', 'repositories')}" if sections else None


def _poetry_auth(head: bytes) -> str | None:
    try:
        data = tomllib.loads(_text(head))
    except tomllib.TOMLDecodeError:
        return "unparseable, may hold tokens"
    tokens = data.get("pypi-token")
    basic = data.get("http-basic")
    token_count = sum(1 for value in tokens.values() if value) if isinstance(tokens, dict) else 0
    password_count = (
        sum(1 for entry in basic.values() if isinstance(entry, dict) and entry.get("password"))
        if isinstance(basic, dict)
        else 0
    )
    parts = []
    if token_count:
        parts.append(_plural(token_count, "token"))
    if password_count:
        parts.append(_plural(password_count, "password"))
    return " and ".join(parts) if parts else None


_NPM_AUTH_KEYS: Final = ("_authToken", "_auth", "_password")


def _npmrc(head: bytes) -> str | None:
    found: set[str] = set()
    for line in _text(head).splitlines():
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip().strip("\"'")
        if not sep or key.startswith(("#", ";")) or not value or _REFERENCE.match(value):
            continue
        setting = key.rsplit(":", 1)[-1] if key.startswith("//") else key
        if setting in _NPM_AUTH_KEYS:
            found.add(setting)
    return f"auth settings: {_name_list(found)}" if found else None


_YARN_AUTH: Final = re.compile(
    r"^[ \t]*(npmAuthToken|npmAuthIdent)[ \t]*:[ \t]*[\"']?([^\s\"'#]*)", re.MULTILINE
)


def _yarnrc(head: bytes) -> str | None:
    found = {
        match.group(1)
        for match in _YARN_AUTH.finditer(_text(head))
        if match.group(2) and not _REFERENCE.match(match.group(2))
    }
    return f"auth settings: {_name_list(found)}" if found else None


def _line_count(head: bytes) -> int:
    return sum(1 for line in _text(head).splitlines() if line.strip() and not line.lstrip().startswith("#"))


def _git_credentials(head: bytes) -> str | None:
    count = _line_count(head)
    return _plural(count, "stored credential") if count else None


def _yaml_key_set(key: str) -> Probe:
    pattern = re.compile(
        rf"^[ \t]*-?[ \t]*{key}[ \t]*:[ \t]*(?!(?:null|~|''|\"\")?[ \t]*(?:#.*)?$)\S", re.MULTILINE
    )

    def probe(head: bytes) -> str | None:
        return "" if pattern.search(_text(head)) else None

    return probe


def _netrc(head: bytes) -> str | None:
    words = _text(head).split()
    if "password" not in words:
        return None
    return _plural(words.count("machine") + words.count("default"), "machine entry", "machine entries")


def _pgpass(head: bytes) -> str | None:
    count = _line_count(head)
    return _plural(count, "entry", "entries") if count else None


def _has_line(pattern: str) -> Probe:
    compiled = re.compile(pattern, re.MULTILINE | re.IGNORECASE)

    def probe(head: bytes) -> str | None:
        return "" if compiled.search(_text(head)) else None

    return probe


def _redis_conf(head: bytes) -> str | None:
    keys = set(re.findall(r"^[ \t]*(requirepass|masterauth)[ \t]+\S", _text(head), re.MULTILINE))
    return _name_list(keys) if keys else None


def _terraform_credentials(head: bytes) -> str | None:
    data = _json(head)
    hosts = data.get("credentials") if isinstance(data, dict) else None
    return f"API tokens for {_plural(len(hosts), 'host')}" if isinstance(hosts, dict) and hosts else None


_HCL_ASSIGNMENT: Final = re.compile(r"^[ \t]*([A-Za-z_][A-Za-z0-9_-]*)[ \t]*=", re.MULTILINE)


def _tfvars(head: bytes) -> str | None:
    names = set(_HCL_ASSIGNMENT.findall(_text(head)))
    return _variables_detail(names)


def _tfvars_json(head: bytes) -> str | None:
    data = _json(head)
    names = {name for name in data if _NAME.match(name)} if isinstance(data, dict) else set()
    return _variables_detail(names)


def _variables_detail(names: set[str]) -> str | None:
    if not names:
        return None
    secret = {name for name in names if looks_secret(name)}
    count = _plural(len(names), "variable")
    return f"{count}; secret-looking: {_name_list(secret)}" if secret else f"{count}, none secret-looking"


def _solana_keypair(head: bytes) -> str | None:
    return "" if head.lstrip().startswith(b"[") else None


def _cardano_key(head: bytes) -> str | None:
    return "" if b"SigningKey" in head else None


def _wireguard(head: bytes) -> str | None:
    return "" if re.search(rb"^[ \t]*PrivateKey[ \t]*=", head, re.MULTILINE) else None


# Private keys: labels come from these tables, never from the file.

_SSH_KEY_TYPES: Final = {
    b"ssh-ed25519": "ed25519",
    b"ssh-rsa": "rsa",
    b"ssh-dss": "dsa",
    b"ecdsa-sha2-nistp256": "ecdsa",
    b"ecdsa-sha2-nistp384": "ecdsa",
    b"ecdsa-sha2-nistp521": "ecdsa",
    b"sk-ssh-ed25519@openssh.com": "ed25519-sk",
    b"sk-ecdsa-sha2-nistp256@openssh.com": "ecdsa-sk",
}
_PEM_PRIVATE: Final = re.compile(
    rb"-----BEGIN (OPENSSH |RSA |EC |DSA |ENCRYPTED |SSH2 ENCRYPTED )?PRIVATE KEY-----"
)
_PEM_LABELS: Final = {
    b"RSA ": "RSA private key",
    b"EC ": "EC private key",
    b"DSA ": "DSA private key",
    b"": "PKCS#8 private key",
    b"ENCRYPTED ": "PKCS#8 private key",
    b"SSH2 ENCRYPTED ": "SSH.com private key",
}
_PUTTY: Final = re.compile(rb"\APuTTY-User-Key-File-\d+: *([\x21-\x7e]+)")
_SSH_LABEL_PREFIXES: Final = ("OpenSSH private key", "PuTTY private key", "SSH.com private key")
_OPEN_KEY: Final = "no passphrase"
_LOCKED_KEY: Final = "passphrase-protected"


def _openssh_label(head: bytes, start: int) -> str:
    body = re.sub(rb"\s", b"", head[start : start + 1200].split(b"-----", 1)[0])
    body = body[: min(len(body), 400) // 4 * 4]
    try:
        raw = binascii.a2b_base64(body)
    except binascii.Error:
        return "OpenSSH private key (unreadable header)"
    magic = b"openssh-key-v1\x00"
    fields: list[bytes] = []
    offset = len(magic)
    if not raw.startswith(magic):
        return "OpenSSH private key (unreadable header)"
    # ciphername, kdfname, kdfoptions, a key count (uint32), then the first public key blob.
    for index in range(5):
        if index == 3:
            offset += 4
            continue
        if offset + 4 > len(raw):
            return "OpenSSH private key (unreadable header)"
        length = int.from_bytes(raw[offset : offset + 4], "big")
        fields.append(raw[offset + 4 : offset + 4 + length])
        offset += 4 + length
    cipher, public_blob = fields[0], fields[3]
    type_length = int.from_bytes(public_blob[:4], "big")
    key_type = _SSH_KEY_TYPES.get(public_blob[4 : 4 + type_length], "unknown type")
    protection = _OPEN_KEY if cipher == b"none" else _LOCKED_KEY
    return f"OpenSSH private key ({key_type}, {protection})"


def _private_key_label(head: bytes) -> str | None:
    """A fixed label for a private key file (``OpenSSH private key (ed25519, no passphrase)``), or
    None when the head holds no private key."""
    putty = _PUTTY.match(head)
    if putty:
        key_type = _SSH_KEY_TYPES.get(putty.group(1), "unknown type")
        encrypted = re.search(rb"^Encryption: *none\s*$", head, re.MULTILINE) is None
        return f"PuTTY private key ({key_type}, {_LOCKED_KEY if encrypted else _OPEN_KEY})"
    match = _PEM_PRIVATE.search(head)
    if match is None:
        return None
    variant = match.group(1) or b""
    if variant == b"OPENSSH ":
        return _openssh_label(head, match.end())
    encrypted = variant in {b"ENCRYPTED ", b"SSH2 ENCRYPTED "} or b"Proc-Type: 4,ENCRYPTED" in head[:4096]
    return f"{_PEM_LABELS[variant]} ({_LOCKED_KEY if encrypted else _OPEN_KEY})"


def _key_probe(head: bytes) -> str | None:
    return _private_key_label(head)


# CI configurations: the names of the secrets and secret-looking variables they use.

_CI_SECRET_REF: Final = re.compile(
    r"\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*['\"]([A-Za-z_][A-Za-z0-9_-]*)['\"]\s*\])"
)
_CI_VARIABLE_REF: Final = re.compile(
    r"\$(?:\{\s*|\(\s*|env:)?([A-Za-z_][A-Za-z0-9_]*)|\benv\.([A-Za-z_][A-Za-z0-9_]*)|%([A-Za-z_][A-Za-z0-9_]*)%"
)
_CI_KEY: Final = re.compile(r"^[ \t]*(?:-[ \t]*)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*[:=][ \t]*(.*)$", re.MULTILINE)
_JENKINS_CREDENTIAL: Final = re.compile(
    r"\b(?:credentials\s*\(\s*|credentialsId\s*:\s*|"
    r"(?:variable|usernameVariable|passwordVariable|keyFileVariable|passphraseVariable)\s*:\s*)"
    r"['\"]([A-Za-z0-9_.-]{1,128})['\"]"
)


def _is_reference(value: str) -> bool:
    value = value.strip().strip("\"'")
    return (
        not value or value[0] in "|>#&*!{[" or "$" in value or "secrets." in value or "credentials(" in value
    )


def _ci_config(head: bytes) -> str | None:
    text = _text(head)
    secrets = {a or b for a, b in _CI_SECRET_REF.findall(text)}
    variables = {name for group in _CI_VARIABLE_REF.findall(text) for name in group if name}
    literal: set[str] = set()
    for match in _CI_KEY.finditer(text):
        name = match.group(1)
        if name.isupper():
            variables.add(name)
            if looks_secret(name) and not _is_reference(match.group(2)):
                literal.add(name)
    jenkins = {name for name in _JENKINS_CREDENTIAL.findall(text) if _NAME.match(name)}
    variables = {name for name in variables if looks_secret(name)} - secrets
    parts = []
    if secrets:
        parts.append(f"secrets: {_name_list(secrets)}")
    if jenkins:
        parts.append(f"Jenkins credentials: {_name_list(jenkins)}")
    if variables:
        parts.append(f"secret-looking variables: {_name_list(variables)}")
    if literal:
        parts.append(f"given a literal value in the file: {_name_list(literal)}")
    return "; ".join(parts) if parts else None


# ---------------------------------------------------------------------------------------------
# Where secrets live


@dataclass(frozen=True, slots=True)
class _Spot:
    pattern: str  # relative, "/"-separated; a part with * ? [ is matched against a listing
    kind: SecretKind
    label: str
    probe: Probe | None = None  # None: the file's presence is enough (it is still checked readable)
    directory: bool = False  # the spot is a directory (a wallet extension's storage)
    ssh_by_content: bool = False  # an OpenSSH/PuTTY key here is an SSH key, other keys are TLS keys


def _spots(prefix: str, spots: Iterable[_Spot]) -> tuple[_Spot, ...]:
    return tuple(
        _Spot(f"{prefix}/{spot.pattern}", spot.kind, spot.label, spot.probe, spot.directory) for spot in spots
    )


_K = SecretKind

_GCLOUD: Final = (
    _Spot(
        "application_default_credentials.json", _K.GCP, "application default credentials", _gcp_credentials
    ),
    _Spot("credentials.db", _K.GCP, "gcloud credential store"),
    _Spot("access_tokens.db", _K.GCP, "gcloud access-token cache"),
    _Spot("legacy_credentials/*/adc.json", _K.GCP, "gcloud legacy credentials", _gcp_credentials),
    _Spot("legacy_credentials/*/.boto", _K.GCP, "gcloud legacy credentials (boto)"),
)
_AZURE: Final = (
    _Spot("accessTokens.json", _K.AZURE, "Azure CLI access tokens"),
    _Spot("msal_token_cache.json", _K.AZURE, "Azure CLI MSAL token cache"),
    _Spot("msal_token_cache.bin", _K.AZURE, "Azure CLI MSAL token cache"),
    _Spot("service_principal_entries.json", _K.AZURE, "Azure CLI service principal secrets"),
    _Spot("service_principal_entries.bin", _K.AZURE, "Azure CLI service principal secrets"),
    _Spot("azureProfile.json", _K.AZURE, "Azure CLI subscriptions (no tokens)"),
)
_DOCKER: Final = (_Spot("config.json", _K.DOCKER, "Docker registry logins", _docker_config),)
_GH: Final = (_Spot("hosts.yml", _K.GIT, "GitHub CLI OAuth token", _yaml_key_set("oauth_token")),)

_SSH_DIR: Final = ".ssh"
_SSH_NAMES: Final = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk", "identity")
_SSH_NOT_KEYS: Final = frozenset(
    {"known_hosts", "known_hosts.old", "authorized_keys", "authorized_keys2", "config", "environment", "rc"}
)
_SSH_HOST_LISTS: Final = ("known_hosts", "config")

# Chromium-family and Firefox profile directories, Linux and macOS.
_CHROMIUM: Final = (
    (".config/google-chrome", "Google Chrome"),
    (".config/google-chrome-beta", "Google Chrome Beta"),
    (".config/chromium", "Chromium"),
    ("snap/chromium/common/chromium", "Chromium"),
    (".config/BraveSoftware/Brave-Browser", "Brave"),
    (".config/microsoft-edge", "Microsoft Edge"),
    (".config/vivaldi", "Vivaldi"),
    ("Library/Application Support/Google/Chrome", "Google Chrome"),
    ("Library/Application Support/Chromium", "Chromium"),
    ("Library/Application Support/BraveSoftware/Brave-Browser", "Brave"),
    ("Library/Application Support/Microsoft Edge", "Microsoft Edge"),
    ("Library/Application Support/Vivaldi", "Vivaldi"),
)
_CHROMIUM_SINGLE_PROFILE: Final = (
    (".config/opera", "Opera"),
    ("Library/Application Support/com.operasoftware.Opera", "Opera"),
)
_CHROMIUM_FILES: Final = (
    ("Login Data", "saved passwords"),
    ("Cookies", "cookies"),
    ("Network/Cookies", "cookies"),
    ("Web Data", "autofill and saved cards"),
)
# Wallet extensions infostealers look for (Chrome Web Store ids).
_WALLET_EXTENSIONS: Final = (
    ("nkbihfbeogaeaoehlefnkodbefgpgknn", "MetaMask"),
    ("bfnaelmomeimhlpmgjnjophhpkkoljpa", "Phantom"),
    ("hnfanknocfeofbddgcijnmhnfnkdnaad", "Coinbase Wallet"),
)
_FIREFOX: Final = (
    ".mozilla/firefox",
    "snap/firefox/common/.mozilla/firefox",
    ".var/app/org.mozilla.firefox/.mozilla/firefox",
    "Library/Application Support/Firefox/Profiles",
)
_FIREFOX_FILES: Final = (
    ("logins.json", "saved passwords"),
    ("key4.db", "password encryption key"),
    ("key3.db", "password encryption key"),
    ("cookies.sqlite", "cookies"),
)


def _browser_spots() -> tuple[_Spot, ...]:
    spots: list[_Spot] = []
    profiles: list[tuple[str, str]] = [
        (f"{base}/{profile}", name) for base, name in _CHROMIUM for profile in ("Default", "Profile *")
    ]
    profiles.extend(_CHROMIUM_SINGLE_PROFILE)
    for profile, name in profiles:
        spots.extend(
            _Spot(f"{profile}/{leaf}", _K.BROWSER_PROFILE, f"{name} {what}") for leaf, what in _CHROMIUM_FILES
        )
        spots.extend(
            _Spot(
                f"{profile}/Local Extension Settings/{extension}",
                _K.CRYPTO_WALLET,
                f"{wallet} browser wallet ({name})",
                directory=True,
            )
            for extension, wallet in _WALLET_EXTENSIONS
        )
    for base in _FIREFOX:
        spots.extend(
            _Spot(f"{base}/*/{leaf}", _K.BROWSER_PROFILE, f"Firefox {what}") for leaf, what in _FIREFOX_FILES
        )
    return tuple(spots)


_WALLETS: Final = (
    _Spot(".bitcoin/wallet.dat", _K.CRYPTO_WALLET, "Bitcoin Core wallet"),
    _Spot(".bitcoin/wallets/wallet.dat", _K.CRYPTO_WALLET, "Bitcoin Core wallet"),
    _Spot(".bitcoin/wallets/*/wallet.dat", _K.CRYPTO_WALLET, "Bitcoin Core wallet"),
    _Spot("Library/Application Support/Bitcoin/wallet.dat", _K.CRYPTO_WALLET, "Bitcoin Core wallet"),
    _Spot(
        "Library/Application Support/Bitcoin/wallets/*/wallet.dat", _K.CRYPTO_WALLET, "Bitcoin Core wallet"
    ),
    _Spot(".litecoin/wallet.dat", _K.CRYPTO_WALLET, "Litecoin Core wallet"),
    _Spot(".dogecoin/wallet.dat", _K.CRYPTO_WALLET, "Dogecoin Core wallet"),
    _Spot(".dashcore/wallet.dat", _K.CRYPTO_WALLET, "Dash Core wallet"),
    _Spot(".zcash/wallet.dat", _K.CRYPTO_WALLET, "Zcash wallet"),
    _Spot(".ethereum/keystore/*", _K.CRYPTO_WALLET, "Ethereum keystore"),
    _Spot("Library/Ethereum/keystore/*", _K.CRYPTO_WALLET, "Ethereum keystore"),
    _Spot(".electrum/wallets/*", _K.CRYPTO_WALLET, "Electrum wallet"),
    _Spot(".electrum-ltc/wallets/*", _K.CRYPTO_WALLET, "Electrum-LTC wallet"),
    _Spot(".config/Exodus/exodus.wallet/*", _K.CRYPTO_WALLET, "Exodus wallet"),
    _Spot("Library/Application Support/Exodus/exodus.wallet/*", _K.CRYPTO_WALLET, "Exodus wallet"),
    _Spot("Monero/wallets/*/*.keys", _K.CRYPTO_WALLET, "Monero wallet keys"),
    _Spot(".config/solana/id.json", _K.CRYPTO_WALLET, "Solana CLI keypair", _solana_keypair),
    _Spot(".config/solana/*-keypair.json", _K.CRYPTO_WALLET, "Solana keypair", _solana_keypair),
)

_HISTORIES: Final = (
    (".bash_history", "bash history"),
    (".zsh_history", "zsh history"),
    (".sh_history", "shell history"),
    (".history", "shell history"),
    (".local/share/fish/fish_history", "fish history"),
    (".mysql_history", "MySQL client history"),
    (".psql_history", "psql history"),
    (".rediscli_history", "redis-cli history"),
)

_HOME_SPOTS: Final = (
    _Spot(".aws/credentials", _K.AWS, "shared credentials file", _aws_credentials),
    _Spot(".aws/config", _K.AWS, "config with credentials", _aws_config),
    _Spot(".aws/sso/cache/*.json", _K.AWS, "cached SSO access token"),
    _Spot(".aws/cli/cache/*.json", _K.AWS, "cached temporary role credentials"),
    *_spots(".config/gcloud", _GCLOUD),
    *_spots(".azure", _AZURE),
    _Spot(".kube/config", _K.KUBECONFIG, "kubeconfig", _kubeconfig),
    _Spot(".vault-token", _K.VAULT, "Vault token"),
    _Spot(
        ".terraform.d/credentials.tfrc.json",
        _K.TERRAFORM,
        "Terraform Cloud credentials",
        _terraform_credentials,
    ),
    *_spots(".docker", _DOCKER),
    _Spot(".dockercfg", _K.DOCKER, "legacy Docker registry logins"),
    _Spot(".config/helm/registry/config.json", _K.DOCKER, "Helm OCI registry logins", _docker_config),
    _Spot(".pypirc", _K.PYPI, "PyPI upload config", _pypirc),
    _Spot(".config/pypoetry/auth.toml", _K.PYPI, "Poetry repository credentials", _poetry_auth),
    _Spot(
        "Library/Application Support/pypoetry/auth.toml",
        _K.PYPI,
        "Poetry repository credentials",
        _poetry_auth,
    ),
    _Spot(".npmrc", _K.NPM, "npm config", _npmrc),
    _Spot(".yarnrc.yml", _K.NPM, "Yarn config", _yarnrc),
    _Spot(".git-credentials", _K.GIT, "git credential store", _git_credentials),
    _Spot(".config/git/credentials", _K.GIT, "git credential store", _git_credentials),
    *_spots(".config/gh", _GH),
    _Spot(".config/hub", _K.GIT, "hub CLI OAuth token", _yaml_key_set("oauth_token")),
    _Spot(".config/glab-cli/config.yml", _K.GIT, "GitLab CLI token", _yaml_key_set("token")),
    _Spot(".netrc", _K.NETRC, ".netrc", _netrc),
    _Spot(".pgpass", _K.DATABASE, "PostgreSQL password file", _pgpass),
    _Spot(".my.cnf", _K.DATABASE, "MySQL client password", _has_line(r"^[ \t]*password[ \t]*=[ \t]*\S")),
    _Spot(".mylogin.cnf", _K.DATABASE, "MySQL login paths (obfuscated, not encrypted)"),
    _Spot(".mongorc.js", _K.DATABASE, "MongoDB shell start-up script", _has_line(r"auth\s*\(|password")),
    _Spot(".msmtprc", _K.MAIL, "msmtp SMTP password", _has_line(r"^[ \t]*password[ \t]+\S")),
    _Spot(".config/msmtp/config", _K.MAIL, "msmtp SMTP password", _has_line(r"^[ \t]*password[ \t]+\S")),
    *(_Spot(path, _K.SHELL_HISTORY, label) for path, label in _HISTORIES),
    *_browser_spots(),
    *_WALLETS,
)

_SYSTEM_SPOTS: Final = (
    _Spot("etc/kubernetes/admin.conf", _K.KUBECONFIG, "cluster admin kubeconfig", _kubeconfig),
    _Spot("etc/kubernetes/super-admin.conf", _K.KUBECONFIG, "cluster super-admin kubeconfig", _kubeconfig),
    _Spot(
        "etc/kubernetes/controller-manager.conf", _K.KUBECONFIG, "controller-manager kubeconfig", _kubeconfig
    ),
    _Spot("etc/kubernetes/scheduler.conf", _K.KUBECONFIG, "scheduler kubeconfig", _kubeconfig),
    _Spot("etc/kubernetes/kubelet.conf", _K.KUBECONFIG, "kubelet kubeconfig", _kubeconfig),
    _Spot("etc/ssh/ssh_host_*_key", _K.SSH_KEY, "SSH host key", _key_probe),
    _Spot("etc/ssl/private/*", _K.PRIVATE_KEY, "TLS private key", _key_probe),
    _Spot("etc/letsencrypt/live/*/privkey.pem", _K.PRIVATE_KEY, "Let's Encrypt private key", _key_probe),
    _Spot("etc/wireguard/*.conf", _K.PRIVATE_KEY, "WireGuard private key", _wireguard),
    _Spot("kaniko/.docker/config.json", _K.DOCKER, "Kaniko registry logins", _docker_config),
    _Spot("app/.env", _K.DOTENV, ".env", _dotenv_probe(template=False)),
    _Spot(
        "etc/environment",
        _K.DOTENV,
        "system environment file",
        _dotenv_probe(template=False, require_secret=True),
    ),
    _Spot("var/lib/postgresql/.pgpass", _K.DATABASE, "PostgreSQL password file", _pgpass),
    _Spot(
        "etc/mysql/debian.cnf", _K.DATABASE, "MySQL maintenance account", _has_line(r"^[ \t]*password[ \t]*=")
    ),
    _Spot(
        "etc/mysql/my.cnf", _K.DATABASE, "MySQL server config", _has_line(r"^[ \t]*password[ \t]*=[ \t]*\S")
    ),
    _Spot("etc/redis/redis.conf", _K.DATABASE, "Redis server password", _redis_conf),
)
_MOUNTED_SECRET_ROOTS: Final = ("var/run/secrets", "run/secrets", "var/secrets")
_MOUNT_DEPTH: Final = 4

# Files a project walk looks at, by name.
_ENV_FILE: Final = _Spot("", _K.DOTENV, ".env", _dotenv_probe(template=False))
_ENV_TEMPLATE: Final = _Spot("", _K.DOTENV, "env template", _dotenv_probe(template=True))
_CI_FILE: Final = _Spot("", _K.ENV_VARIABLE_NAMES, "CI config", _ci_config)
_KEY_FILE: Final = _Spot("", _K.PRIVATE_KEY, "private key file", _key_probe, ssh_by_content=True)
_TFVARS: Final = _Spot("", _K.TERRAFORM, "Terraform variables", _tfvars)
_TFVARS_JSON: Final = _Spot("", _K.TERRAFORM, "Terraform variables", _tfvars_json)
_PROJECT_NAMES: Final[Mapping[str, _Spot]] = {
    ".gitlab-ci.yml": _CI_FILE,
    ".travis.yml": _CI_FILE,
    "Jenkinsfile": _CI_FILE,
    "azure-pipelines.yml": _CI_FILE,
    ".drone.yml": _CI_FILE,
    "bitbucket-pipelines.yml": _CI_FILE,
    ".npmrc": _Spot("", _K.NPM, "npm config", _npmrc),
    ".yarnrc.yml": _Spot("", _K.NPM, "Yarn config", _yarnrc),
    ".pypirc": _Spot("", _K.PYPI, "PyPI upload config", _pypirc),
    "terraform.tfstate": _Spot("", _K.TERRAFORM, "Terraform state (resource attributes in plain text)"),
    "terraform.tfstate.backup": _Spot(
        "", _K.TERRAFORM, "Terraform state backup (resource attributes in plain text)"
    ),
    **dict.fromkeys(_SSH_NAMES, _KEY_FILE),
}
_KEY_SUFFIXES: Final = (".pem", ".key", ".ppk")
_CODE_SUFFIXES: Final = (
    ".py",
    ".js",
    ".mjs",
    ".cjs",
    ".ts",
    ".d.ts",
    ".go",
    ".rb",
    ".rs",
    ".java",
    ".md",
    ".swp",
)
_PKCS12: Final = _Spot("", _K.PRIVATE_KEY, "PKCS#12 bundle (certificate and private key)")
_SOLANA: Final = _Spot("", _K.CRYPTO_WALLET, "Solana keypair", _solana_keypair)
_CARDANO: Final = _Spot("", _K.CRYPTO_WALLET, "Cardano signing key", _cardano_key)
_GOOGLE_JSON: Final = _Spot("", _K.GCP, "Google credentials file", _gcp_project_file)
_GOOGLE_JSON_HINTS: Final = (
    "service-account",
    "service_account",
    "serviceaccount",
    "credentials",
    "client_secret",
    "gcp-key",
    "gcloud",
)


def _is_env_file(lower: str) -> bool:
    """``.env``, ``.env.production``, ``.envrc``, ``prod.env``; not code such as ``.env.js``."""
    if lower in {".env", ".envrc"}:
        return True
    if not (lower.startswith(".env.") or (lower.endswith(".env") and len(lower) > 4)):
        return False
    return not lower.endswith(_CODE_SUFFIXES)


def _project_spot(name: str, parent: Path) -> _Spot | None:
    spot = _PROJECT_NAMES.get(name)
    if spot is not None:
        return spot
    lower = name.lower()
    if _is_env_file(lower):
        return _ENV_TEMPLATE if _is_template(name) else _ENV_FILE
    if lower.endswith((".yml", ".yaml")) and parent.name == "workflows" and parent.parent.name == ".github":
        return _CI_FILE
    if lower == "config.yml" and parent.name == ".circleci":
        return _CI_FILE
    if lower.endswith(".tfvars"):
        return _TFVARS
    if lower.endswith(".tfvars.json"):
        return _TFVARS_JSON
    if lower.endswith(_KEY_SUFFIXES):
        return _KEY_FILE
    if lower.endswith((".p12", ".pfx")):
        return _PKCS12
    if lower.endswith("-keypair.json"):
        return _SOLANA
    if lower.endswith(".skey"):
        return _CARDANO
    if lower.endswith(".json") and any(hint in lower for hint in _GOOGLE_JSON_HINTS):
        return _GOOGLE_JSON
    return None


# ---------------------------------------------------------------------------------------------
# The search


def find_exposure(
    home: Path,
    project_roots: Sequence[Path],
    *,
    env: Mapping[str, str] | None = None,
    on_skip: SkipHandler | None = None,
    system_root: Path | None = Path("/"),
) -> list[ExposedSecret]:
    """Secrets a process running as the owner of ``home`` could read, widest blast radius first.

    ``home`` is searched at known locations only; ``project_roots`` are walked to depth 6 for
    ``.env`` files, CI configs, key files and Terraform state; ``env`` (default: none - pass
    ``os.environ`` to include the current process) adds its secret-looking variable names and the
    files that ``KUBECONFIG``, ``GOOGLE_APPLICATION_CREDENTIALS``... name; ``system_root`` (None to
    skip) is where ``/run/secrets``, ``/etc/kubernetes`` and host keys are looked for. Unreadable
    places are passed to ``on_skip(path, reason)``; nothing here raises for them.

    Each file is one entry (its link path when reached through a symbolic link), with the size and
    modification time of the file itself; the environment's names are one entry with path
    ``(environment)``, size 0 and the time of the call.
    """
    search = _Search(home, on_skip)
    search.spots(home, _HOME_SPOTS, confine=home)
    search.ssh(home)
    if env:
        search.named_by_environment(env)
    if system_root is not None:
        search.spots(system_root, _SYSTEM_SPOTS, confine=system_root, quiet=True)
        search.mounted_secrets(system_root)
    for root in project_roots:
        search.project(root)
    found = list(search.found.values())
    if env:
        names = secret_names(env)
        if names:
            detail = f"{_plural(len(names), 'secret-looking name')}: {_name_list(names)}"
            found.append(ExposedSecret(_K.ENV_VARIABLE_NAMES, ENVIRONMENT_PATH, 0, datetime.now(UTC), detail))
    return sorted(found, key=lambda secret: (RANK[secret.kind], secret.path))


def _exists(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except OSError:
        return False


def _is_real_directory(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


class _Search:
    def __init__(self, home: Path, on_skip: SkipHandler | None) -> None:
        self.home = home
        self.found: dict[str, ExposedSecret] = {}  # by the file's real path: one entry per file
        self._on_skip = on_skip
        self._skipped: set[str] = set()
        self._listings: dict[str, list[os.DirEntry[str]]] = {}
        self._real_paths: dict[str, Path | None] = {}

    # -- reporting

    def skip(self, path: Path | str, reason: str, *, quiet: bool = False) -> None:
        shown = str(path)
        if quiet or shown in self._skipped:
            return
        self._skipped.add(shown)
        if self._on_skip is not None:
            self._on_skip(shown, reason)

    def add(self, kind: SecretKind, path: Path, size: int, mtime: float, detail: str) -> None:
        real = self.real(path)
        key = str(real if real is not None else path)
        if key not in self.found:
            modified = datetime.fromtimestamp(mtime, UTC)
            self.found[key] = ExposedSecret(kind, str(path), size, modified, detail)

    # -- the file system, every error caught

    def real(self, path: Path) -> Path | None:
        text = str(path)
        if text not in self._real_paths:
            try:
                self._real_paths[text] = path.resolve()
            except (OSError, RuntimeError):
                self._real_paths[text] = None
        return self._real_paths[text]

    def listing(
        self, directory: Path, *, confine: Path | None, quiet: bool = False
    ) -> list[os.DirEntry[str]]:
        """The entries of ``directory`` sorted by name; [] when it is missing, unreadable or (with
        ``confine``) a symbolic link out of that tree."""
        text = str(directory)
        cached = self._listings.get(text)
        if cached is not None:
            return cached
        entries: list[os.DirEntry[str]] = []
        self._listings[text] = entries
        if confine is not None:
            real, limit = self.real(directory), self.real(confine)
            if real is None or limit is None:
                return entries
            if not real.is_relative_to(limit):
                if _exists(directory.is_dir):
                    self.skip(directory, "symbolic link out of the searched tree: not listed", quiet=quiet)
                return entries
        try:
            with os.scandir(directory) as iterator:
                entries.extend(sorted(iterator, key=lambda entry: entry.name))
        except (FileNotFoundError, NotADirectoryError):
            pass
        except PermissionError:
            self.skip(directory, "permission denied", quiet=quiet)
        except OSError as error:
            self.skip(directory, error.strerror or "unreadable", quiet=quiet)
        return entries

    def stat(self, path: Path, *, quiet: bool = False) -> os.stat_result | None:
        """The file's status, through symbolic links; None when it is missing or unreachable."""
        try:
            return path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except PermissionError:
            self.skip(path.parent, "permission denied", quiet=quiet)
        except OSError as error:
            self.skip(path, error.strerror or "unreadable", quiet=quiet)
        return None

    def read(self, path: Path, *, quiet: bool = False) -> bytes | None:
        """Up to ``_READ_LIMIT`` bytes of a regular file, to classify it; never kept or reported."""
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
        try:
            descriptor = os.open(path, flags)
        except PermissionError:
            self.skip(path, "permission denied", quiet=quiet)
            return None
        except OSError as error:
            self.skip(path, error.strerror or "unreadable", quiet=quiet)
            return None
        try:
            if not stat.S_ISREG(os.fstat(descriptor).st_mode):
                return None
            chunks: list[bytes] = []
            remaining = _READ_LIMIT
            while remaining > 0:
                chunk = os.read(descriptor, remaining)
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            return b"".join(chunks)
        except OSError as error:
            self.skip(path, error.strerror or "unreadable", quiet=quiet)
            return None
        finally:
            os.close(descriptor)

    def expand(self, base: Path, pattern: str, *, confine: Path | None, quiet: bool) -> list[Path]:
        """The paths ``pattern`` names under ``base``; only its wildcard parts list a directory."""
        paths = [base]
        for part in pattern.split("/"):
            if any(char in part for char in "*?["):
                paths = [
                    Path(entry.path)
                    for directory in paths
                    for entry in self.listing(directory, confine=confine, quiet=quiet)
                    if fnmatchcase(entry.name, part)
                ]
            else:
                paths = [directory / part for directory in paths]
        return paths

    # -- checks

    def check(self, path: Path, spot: _Spot, *, quiet: bool = False) -> None:
        info = self.stat(path, quiet=quiet)
        if info is None:
            return
        if spot.directory:
            self.check_directory(path, spot, info, quiet=quiet)
            return
        if not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            return
        kind, detail = spot.kind, spot.label
        if spot.probe is None:
            if not os.access(path, os.R_OK):
                self.skip(path, "permission denied", quiet=quiet)
                return
        else:
            head = self.read(path, quiet=quiet)
            extra = spot.probe(head) if head else None
            if extra is None:
                return
            if spot.ssh_by_content and extra.startswith(_SSH_LABEL_PREFIXES):
                kind = _K.SSH_KEY
            detail = f"{spot.label}: {extra}" if extra else spot.label
        self.add(kind, path, info.st_size, info.st_mtime, detail)

    def check_directory(self, path: Path, spot: _Spot, info: os.stat_result, *, quiet: bool) -> None:
        """A directory spot (a wallet extension's storage): the total size of its files."""
        if not stat.S_ISDIR(info.st_mode):
            return
        size, newest = 0, info.st_mtime
        for entry in self.listing(path, confine=None, quiet=quiet):
            with contextlib.suppress(OSError):
                if entry.is_file():
                    entry_info = entry.stat()
                    size += entry_info.st_size
                    newest = max(newest, entry_info.st_mtime)
        if size:
            self.add(spot.kind, path, size, newest, spot.label)

    def spots(self, base: Path, spots: Iterable[_Spot], *, confine: Path | None, quiet: bool = False) -> None:
        for spot in spots:
            for path in self.expand(base, spot.pattern, confine=confine, quiet=quiet):
                self.check(path, spot, quiet=quiet)

    def ssh(self, home: Path) -> None:
        """``~/.ssh``: ``id_*`` files and any other file with a private-key header; the key names
        OpenSSH tries by default are checked even when the directory cannot be listed."""
        directory = home / _SSH_DIR
        names = {entry.name for entry in self.listing(directory, confine=home)} | set(_SSH_NAMES)
        hosts = [name for name in _SSH_HOST_LISTS if _exists((directory / name).is_file)]
        suffix = f"; {' and '.join(hosts)} list hosts it may open" if hosts else ""
        for name in sorted(names):
            if name.endswith(".pub") or name in _SSH_NOT_KEYS:
                continue
            self.ssh_key(directory / name, suffix, named=name.startswith("id_"))
        for path in self.ssh_config_identities(home, directory / "config"):
            self.ssh_key(path, f"{suffix}; named by IdentityFile in ~/.ssh/config", named=False)

    def ssh_key(self, path: Path, suffix: str, *, named: bool) -> None:
        info = self.stat(path)
        if info is None or not stat.S_ISREG(info.st_mode) or info.st_size == 0:
            return
        if info.st_size > _READ_LIMIT and not named:
            return  # no key file is that big
        head = self.read(path)
        if head is None:
            return
        label = _private_key_label(head)
        if label is None:
            if not named or head.startswith((b"ssh-", b"ecdsa-", b"sk-")):
                return  # not a key, or a public key that lost its .pub
            label = "private key (unrecognised format)"
        self.add(_K.SSH_KEY, path, info.st_size, info.st_mtime, label + suffix)

    def ssh_config_identities(self, home: Path, config: Path) -> list[Path]:
        """Key files that ``IdentityFile`` lines name (``~/``, ``%d/`` and absolute paths only)."""
        info = self.stat(config)
        if info is None or not stat.S_ISREG(info.st_mode):
            return []
        head = self.read(config) or b""
        paths: list[Path] = []
        for match in re.finditer(r"(?im)^[ \t]*IdentityFile[ \t=]+(.+?)[ \t]*$", _text(head)):
            value = match.group(1).strip("\"'")
            if value.startswith(("~/", "%d/")):
                value = str(home / value.split("/", 1)[1])
            if "%" not in value and Path(value).is_absolute():
                paths.append(Path(value))
        return paths

    def named_by_environment(self, env: Mapping[str, str]) -> None:
        """Files and directories that standard variables point at (absolute or ``~/`` paths)."""

        def paths(name: str) -> list[Path]:
            found: list[Path] = []
            for item in env.get(name, "").split(os.pathsep):
                value = item.strip()
                if value.startswith("~/"):
                    value = str(self.home / value[2:])
                if value and Path(value).is_absolute():
                    found.append(Path(value))
            return found

        for name, spot in _NAMED_FILES:
            for path in paths(name):
                self.check(path, spot)
        for name, spots in _NAMED_DIRECTORIES:
            for directory in paths(name):
                self.spots(directory, spots, confine=None)

    def mounted_secrets(self, system_root: Path) -> None:
        """Files under ``/run/secrets`` and its kin: service-account tokens and mounted secrets."""
        seen: set[Path] = set()
        for relative in _MOUNTED_SECRET_ROOTS:
            root = system_root / relative
            real = self.real(root)
            if real is None or real in seen or not _exists(root.is_dir):
                continue
            seen.add(real)
            stack = [(root, 0)]
            while stack:
                directory, depth = stack.pop()
                for entry in self.listing(directory, confine=system_root, quiet=True):
                    if entry.name.startswith(".."):
                        continue  # the kubelet's atomic-writer copies (..data, ..2024_...)
                    if _is_real_directory(entry):
                        if depth < _MOUNT_DEPTH:
                            stack.append((Path(entry.path), depth + 1))
                        continue
                    path = Path(entry.path)
                    spot = _mounted_spot(path.relative_to(root).parts)
                    if spot is not None:
                        self.check(path, spot, quiet=True)

    def project(self, root: Path) -> None:
        """Walk a project tree to ``MAX_PROJECT_DEPTH``, never through a linked directory and
        never into dependencies, VCS data, caches or virtual environments."""
        if not _exists(root.is_dir):
            self.skip(root, "not a directory" if _exists(root.exists) else "not found")
            return
        stack = [(root, 0)]
        while stack:
            directory, depth = stack.pop()
            entries = self.listing(directory, confine=None)
            if depth and any(entry.name == "pyvenv.cfg" for entry in entries):
                continue  # a virtual environment
            for entry in entries:
                if _is_real_directory(entry):
                    if depth < MAX_PROJECT_DEPTH and entry.name not in _PRUNE:
                        stack.append((Path(entry.path), depth + 1))
                    continue
                spot = _project_spot(entry.name, directory)
                if spot is not None:
                    self.check(Path(entry.path), spot)


_NAMED_FILES: Final = (
    ("KUBECONFIG", _Spot("", _K.KUBECONFIG, "kubeconfig named by $KUBECONFIG", _kubeconfig)),
    (
        "GOOGLE_APPLICATION_CREDENTIALS",
        _Spot("", _K.GCP, "credentials named by $GOOGLE_APPLICATION_CREDENTIALS", _gcp_credentials),
    ),
    ("AWS_SHARED_CREDENTIALS_FILE", _Spot("", _K.AWS, "shared credentials file", _aws_credentials)),
    ("AWS_CONFIG_FILE", _Spot("", _K.AWS, "config with credentials", _aws_config)),
    ("AWS_WEB_IDENTITY_TOKEN_FILE", _Spot("", _K.AWS, "web identity token")),
    ("NPM_CONFIG_USERCONFIG", _Spot("", _K.NPM, "npm config", _npmrc)),
    ("NETRC", _Spot("", _K.NETRC, ".netrc", _netrc)),
)
_NAMED_DIRECTORIES: Final = (
    ("CLOUDSDK_CONFIG", _GCLOUD),
    ("AZURE_CONFIG_DIR", _AZURE),
    ("DOCKER_CONFIG", _DOCKER),
    ("GH_CONFIG_DIR", _GH),
)


def _mounted_spot(parts: tuple[str, ...]) -> _Spot | None:
    name = parts[-1]
    if "serviceaccount" in parts:
        if name != "token":
            return None  # ca.crt and namespace are not secrets
        if parts[0] == "kubernetes.io":
            return _Spot("", _K.KUBERNETES_TOKEN, "Kubernetes service-account token")
        if parts[0] == "eks.amazonaws.com":
            return _Spot("", _K.AWS, "EKS web identity token (IRSA)")
    return _Spot("", _K.CONTAINER_SECRET, "mounted secret")
