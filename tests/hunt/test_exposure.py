"""Exposure: which secrets a payload running as this user could read, and the rotation checklist.

Every home, project and system root here is a temporary tree of inert files built by the test.
Each dummy secret carries a unique sentinel value; no sentinel may reach anything returned.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import struct
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from depvet.hunt.exposure import ENVIRONMENT_PATH, MAX_PROJECT_DEPTH, find_exposure, looks_secret
from depvet.hunt.model import ExposedSecret, RotationStep, SecretKind
from depvet.hunt.rotation import PLAYBOOK, RANK, rotation_checklist

BASE_TIME = datetime(2026, 3, 24, 10, 39, tzinfo=UTC).timestamp()
K = SecretKind


class Plant:
    """Writes dummy secrets, each with its own modification time, and remembers every sentinel."""

    def __init__(self) -> None:
        self.forbidden: list[str] = []
        self.times: dict[Path, float] = {}
        self._tick = 0

    def sentinel(self, tag: str) -> str:
        value = f"SENTINEL-{tag}-{uuid.uuid4().hex}"
        self.forbidden.append(value)
        return value

    def secret_name(self) -> str:
        """A secret-looking *name* that must never be reported (it sits inside a quoted value)."""
        value = f"LEAKED_{uuid.uuid4().hex.upper()}_TOKEN"
        self.forbidden.append(value)
        return value

    def write(self, path: Path, content: str | bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
        self._tick += 1
        when = BASE_TIME + self._tick * 60
        os.utime(path, (when, when))
        self.times[path] = when
        return path


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def openssh_key(
    secret: bytes, *, cipher: bytes = b"none", key_type: bytes = b"ssh-ed25519"
) -> tuple[str, list[str]]:
    """An OpenSSH private key file in the real layout; returns the text and its base64 lines."""
    public = _ssh_string(key_type) + _ssh_string(b"\x01" * 32)
    kdf, kdf_options = (
        (b"none", b"") if cipher == b"none" else (b"bcrypt", _ssh_string(b"s" * 16) + b"\0\0\0\x10")
    )
    private = b"\0\0\x30\x39\0\0\x30\x39" + public + _ssh_string(secret) + _ssh_string(b"user@host")
    blob = (
        b"openssh-key-v1\0"
        + _ssh_string(cipher)
        + _ssh_string(kdf)
        + _ssh_string(kdf_options)
        + struct.pack(">I", 1)
        + _ssh_string(public)
        + _ssh_string(private)
    )
    body = base64.b64encode(blob).decode()
    lines = [body[i : i + 70] for i in range(0, len(body), 70)]
    text = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    return text, lines


def rsa_pem(secret: str) -> str:
    body = base64.b64encode(secret.encode() * 3).decode()
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\n"


def assert_no_leak(forbidden: list[str], *objects: object) -> None:
    """No sentinel in the repr of any object, nor in the JSON of the dataclasses."""
    texts = []
    for item in objects:
        texts.append(repr(item))
        items = item if isinstance(item, list | tuple) else [item]
        for element in items:
            if dataclasses.is_dataclass(element) and not isinstance(element, type):
                texts.append(json.dumps(dataclasses.asdict(element), default=str))
    blob = "\n".join(texts)
    assert forbidden
    for value in forbidden:
        assert value not in blob


def by_path(found: list[ExposedSecret]) -> dict[str, ExposedSecret]:
    paths = [secret.path for secret in found]
    assert len(paths) == len(set(paths)), "one entry per file"
    return {secret.path: secret for secret in found}


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    home, project, system = tmp_path / "home" / "dev", tmp_path / "work" / "app", tmp_path / "system"
    for directory in (home, project, system):
        directory.mkdir(parents=True)
    return home, project, system


# ---------------------------------------------------------------------------------------------
# A home with one dummy credential of every kind


def plant_everything(home: Path, project: Path, system: Path, plant: Plant) -> dict[Path, SecretKind]:
    s = plant.sentinel
    key_text, key_lines = openssh_key(s("ssh").encode())
    plant.forbidden.extend(key_lines)
    expected = {
        plant.write(home / ".ssh/id_ed25519", key_text): K.SSH_KEY,
        plant.write(
            home / ".aws/credentials",
            f"[default]\naws_access_key_id = AKIA{s('akid')}\naws_secret_access_key = {s('aws')}\n",
        ): K.AWS,
        plant.write(
            home / ".config/gcloud/application_default_credentials.json",
            json.dumps({"type": "authorized_user", "refresh_token": s("gcp"), "client_secret": s("gcs")}),
        ): K.GCP,
        plant.write(home / ".config/gcloud/credentials.db", f"SQLite {s('gcpdb')}"): K.GCP,
        plant.write(
            home / ".azure/msal_token_cache.json", json.dumps({"AccessToken": {"x": s("azure")}})
        ): K.AZURE,
        plant.write(
            home / ".kube/config",
            "apiVersion: v1\nkind: Config\ncontexts:\n- context:\n    cluster: c\n"
            f"  name: c\nusers:\n- name: u\n  user:\n    token: {s('kube')}\n",
        ): K.KUBECONFIG,
        plant.write(
            system / "var/run/secrets/kubernetes.io/serviceaccount/token", s("satoken")
        ): K.KUBERNETES_TOKEN,
        plant.write(
            project / ".env",
            f"DATABASE_URL=postgres://u:{s('dburl')}@db/app\nOPENAI_API_KEY={s('openai')}\n"
            f'DEBUG=1\nPRIVATE_KEY="-----BEGIN KEY-----\n{plant.secret_name()}={s("pem")}\n-----END KEY-----"\n',
        ): K.DOTENV,
        plant.write(project / ".env.production", f"export STRIPE_SECRET_KEY='{s('stripe')}'\n"): K.DOTENV,
        plant.write(
            home / ".docker/config.json",
            json.dumps({"auths": {"ghcr.io": {"auth": base64.b64encode(s("docker").encode()).decode()}}}),
        ): K.DOCKER,
        plant.write(
            home / ".pypirc",
            f"[distutils]\nindex-servers = pypi\n[pypi]\nusername = __token__\npassword = pypi-{s('pypi')}\n",
        ): K.PYPI,
        plant.write(
            home / ".npmrc",
            f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={s('npm')}\n",
        ): K.NPM,
        plant.write(home / ".git-credentials", f"https://dev:{s('git')}@github.com\n"): K.GIT,
        plant.write(
            home / ".config/gh/hosts.yml", f"github.com:\n    user: dev\n    oauth_token: gho_{s('gh')}\n"
        ): K.GIT,
        plant.write(
            home / ".netrc", f"machine api.heroku.com\n  login dev\n  password {s('netrc')}\n"
        ): K.NETRC,
        plant.write(
            home / ".config/google-chrome/Default/Login Data", f"SQLite {s('chrome')}"
        ): K.BROWSER_PROFILE,
        plant.write(
            home / ".config/google-chrome/Profile 1/Network/Cookies", f"SQLite {s('cookies')}"
        ): K.BROWSER_PROFILE,
        plant.write(
            home / ".mozilla/firefox/abcd.default-release/logins.json", json.dumps({"x": s("ff")})
        ): K.BROWSER_PROFILE,
        plant.write(
            home / ".mozilla/firefox/abcd.default-release/key4.db", f"SQLite {s('key4')}"
        ): K.BROWSER_PROFILE,
        plant.write(home / ".bitcoin/wallet.dat", f"BDB {s('btc')}"): K.CRYPTO_WALLET,
        plant.write(
            home / ".ethereum/keystore/UTC--2026-01-01T00-00-00Z--abc", json.dumps({"crypto": s("eth")})
        ): K.CRYPTO_WALLET,
        plant.write(home / ".config/solana/id.json", f"[1,2,3,{len(s('sol'))}]"): K.CRYPTO_WALLET,
        plant.write(
            project / ".github/workflows/release.yml",
            "on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: twine upload dist/*\n        env:\n          TWINE_USERNAME: __token__\n"
            "          TWINE_PASSWORD: ${{ secrets.PYPI_API_TOKEN }}\n",
        ): K.ENV_VARIABLE_NAMES,
        plant.write(home / ".vault-token", f"hvs.{s('vault')}"): K.VAULT,
        plant.write(
            project / "infra/terraform.tfstate", json.dumps({"resources": [{"password": s("tfstate")}]})
        ): K.TERRAFORM,
        plant.write(
            project / "infra/prod.tfvars", f'db_password = "{s("tfvars")}"\nregion = "eu-west-1"\n'
        ): K.TERRAFORM,
        plant.write(system / "run/secrets/db_password", s("mounted")): K.CONTAINER_SECRET,
        plant.write(project / "certs/server.key", rsa_pem(s("tls"))): K.PRIVATE_KEY,
        plant.write(home / ".pgpass", f"db:5432:app:dev:{s('pg')}\n"): K.DATABASE,
        plant.write(home / ".my.cnf", f"[client]\nuser = dev\npassword = {s('mysql')}\n"): K.DATABASE,
        plant.write(
            home / ".msmtprc", f"account default\nhost smtp.example.org\npassword {s('smtp')}\n"
        ): K.MAIL,
        plant.write(home / ".bash_history", f"export GITHUB_TOKEN={s('history')}\nls\n"): K.SHELL_HISTORY,
    }
    # The MetaMask extension's storage is a directory; it is reported as one entry.
    metamask = (
        home / ".config/google-chrome/Default/Local Extension Settings/nkbihfbeogaeaoehlefnkodbefgpgknn"
    )
    plant.write(metamask / "000003.log", f"vault {s('metamask')}")
    plant.write(metamask / "CURRENT", "MANIFEST-000001\n")
    expected[metamask] = K.CRYPTO_WALLET
    # Not secrets: public keys, host lists, the namespace and CA of the service account.
    plant.write(home / ".ssh/id_ed25519.pub", f"ssh-ed25519 AAAAC3Nza {s('pub')}\n")
    plant.write(home / ".ssh/known_hosts", f"github.com ssh-ed25519 {s('known')}\n")
    plant.write(home / ".ssh/config", "Host gh\n  HostName github.com\n")
    plant.write(home / ".aws/config", "[default]\nregion = eu-west-1\n")
    plant.write(system / "var/run/secrets/kubernetes.io/serviceaccount/ca.crt", f"CERT {s('ca')}")
    plant.write(system / "var/run/secrets/kubernetes.io/serviceaccount/namespace", "default")
    return expected


def test_every_kind_is_found_and_nothing_leaks(tree: tuple[Path, Path, Path]) -> None:
    home, project, system = tree
    plant = Plant()
    expected = plant_everything(home, project, system, plant)
    env = {"OPENAI_API_KEY": plant.sentinel("envkey"), "HOME": str(home), "PATH": "/usr/bin"}
    skipped: list[tuple[str, str]] = []

    found = find_exposure(
        home, [project], env=env, on_skip=lambda p, r: skipped.append((p, r)), system_root=system
    )
    checklist = rotation_checklist(found)

    assert skipped == []
    entries = by_path(found)
    files = {str(path): kind for path, kind in expected.items()}
    assert {path: entries[path].kind for path in entries if path != ENVIRONMENT_PATH} == files
    assert {secret.kind for secret in found} == set(SecretKind)  # one dummy of every kind
    for path, kind in expected.items():
        secret = entries[str(path)]
        assert secret.kind is kind
        if path.is_file():
            assert secret.size == path.stat().st_size
            assert secret.modified == datetime.fromtimestamp(plant.times[path], UTC)
        assert secret.modified.tzinfo is not None
    metamask = next(path for path in expected if path.name.startswith("nkbih"))
    assert entries[str(metamask)].size == sum(f.stat().st_size for f in metamask.iterdir())

    # Details: names and fixed labels.
    assert entries[str(home / ".ssh/id_ed25519")].detail.startswith(
        "OpenSSH private key (ed25519, no passphrase)"
    )
    assert "known_hosts" in entries[str(home / ".ssh/id_ed25519")].detail
    assert entries[str(project / ".env")].detail == (
        ".env: 4 variables; secret-looking: DATABASE_URL, OPENAI_API_KEY, PRIVATE_KEY"
    )
    assert "STRIPE_SECRET_KEY" in entries[str(project / ".env.production")].detail
    workflow = entries[str(project / ".github/workflows/release.yml")].detail
    assert "secrets: PYPI_API_TOKEN" in workflow
    assert "TWINE_PASSWORD" in workflow
    assert "TWINE_USERNAME" not in workflow
    assert "db_password" in entries[str(project / "infra/prod.tfvars")].detail
    assert entries[str(home / ".config/gcloud/application_default_credentials.json")].detail.endswith(
        "user refresh token"
    )
    assert "1 registry login" in entries[str(home / ".docker/config.json")].detail
    assert entries[str(project / "certs/server.key")].detail.endswith("RSA private key (no passphrase)")
    environment = entries[ENVIRONMENT_PATH]
    assert environment.kind is K.ENV_VARIABLE_NAMES
    assert environment.detail == "1 secret-looking name: OPENAI_API_KEY"
    assert environment.size == 0

    # Sorted by blast radius.
    assert [RANK[secret.kind] for secret in found] == sorted(RANK[secret.kind] for secret in found)

    # The checklist: one step per kind, by rank, naming every dummy secret by its path.
    assert [step.kind for step in checklist] == sorted(set(SecretKind), key=RANK.__getitem__)
    assert [step.rank for step in checklist] == sorted(step.rank for step in checklist)
    named = {path for step in checklist for path in step.paths}
    assert named == {secret.path for secret in found}
    for step in checklist:
        assert set(step.paths) == {secret.path for secret in found if secret.kind is step.kind}
        assert step.action == PLAYBOOK[step.kind].action

    assert_no_leak(plant.forbidden, found, checklist, skipped)
    for secret in found:
        assert_no_leak(plant.forbidden, secret)
    assert_no_leak(plant.forbidden, json.dumps([dataclasses.asdict(s) for s in found], default=str))


def test_secret_files_holding_only_names_still_leak_no_values(tree: tuple[Path, Path, Path]) -> None:
    """Probed formats (npmrc, pypirc, docker, kubeconfig, CI) yield names and labels, never values."""
    home, project, system = tree
    plant = Plant()
    odd = plant.sentinel("odd")
    plant.write(home / ".npmrc", f"//r.example/:_authToken={odd}\n{odd}={odd}\n")
    plant.write(home / ".pypirc", f"[{odd}]\npassword = {odd}\n")
    plant.write(home / ".kube/config", f"users:\n- name: {odd}\n  user:\n    {odd}: x\n    token: {odd}\n")
    plant.write(home / ".docker/config.json", "{not json " + odd)
    plant.write(
        project / ".gitlab-ci.yml", f"variables:\n  DB_PASSWORD: {odd}\n  {odd}: x\nscript: echo ${odd}\n"
    )
    plant.write(project / ".env", f"{odd}\nA_TOKEN = '{odd}' # {odd}\n")
    plant.write(
        project / "Jenkinsfile",
        f"withCredentials([string(credentialsId: 'pypi-token', variable: 'PYPI_TOKEN')]) {{ sh '{odd}' }}",
    )

    found = find_exposure(home, [project], system_root=system)

    details = {Path(secret.path).name: secret.detail for secret in found}
    assert details[".npmrc"] == "npm config: auth settings: _authToken"
    assert details[".pypirc"] == "PyPI upload config: password stored for 1 repository"
    assert details["config"] == "kubeconfig: 0 contexts; credentials: token"
    assert details["config.json"] == "Docker registry logins: unparseable, may hold registry logins"
    assert "given a literal value in the file: DB_PASSWORD" in details[".gitlab-ci.yml"]
    assert details["Jenkinsfile"] == "CI config: Jenkins credentials: PYPI_TOKEN, pypi-token"
    assert details[".env"] == ".env: 1 variable; secret-looking: A_TOKEN"
    assert_no_leak(plant.forbidden, found)


# ---------------------------------------------------------------------------------------------
# A clean home


def test_clean_home_has_no_exposure(tree: tuple[Path, Path, Path]) -> None:
    home, project, system = tree
    plant = Plant()
    plant.write(home / ".bashrc", "export PATH=$HOME/bin:$PATH\nalias ll='ls -l'\n")
    plant.write(home / ".profile", "umask 022\n")
    plant.write(home / "Documents/notes.txt", "buy milk\n")
    plant.write(home / ".config/some-app/settings.json", '{"theme": "dark"}')
    plant.write(home / ".ssh/id_ed25519.pub", "ssh-ed25519 AAAAC3Nza dev@laptop\n")
    plant.write(home / ".ssh/known_hosts", "github.com ssh-ed25519 AAAAC3Nza\n")
    plant.write(home / ".npmrc", "registry=https://registry.npmjs.org/\nsave-exact=true\n")
    plant.write(home / ".docker/config.json", json.dumps({"auths": {"ghcr.io": {}}, "credsStore": "desktop"}))
    plant.write(home / ".pypirc", "[distutils]\nindex-servers = pypi\n[pypi]\nusername = __token__\n")
    plant.write(home / ".vault-token", "")  # empty: nothing to rotate
    plant.write(home / ".config/gh/hosts.yml", "github.com:\n    user: dev\n    git_protocol: ssh\n")
    plant.write(
        project / ".env.example", "API_KEY=\nSECRET_KEY=changeme\nDATABASE_URL=<your-database-url>\nDEBUG=1\n"
    )
    plant.write(
        project / ".env.sample",
        "STRIPE_SECRET_KEY=sk_test_xxx\nAWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}\n",
    )
    plant.write(project / "README.md", "API_KEY=... see docs\n")
    plant.write(project / "src/app.py", "API_KEY = os.environ['API_KEY']\n")
    plant.write(
        project / ".github/workflows/ci.yml", "on: push\njobs:\n  t:\n    steps:\n      - run: pytest\n"
    )
    plant.write(project / "certs/ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    plant.write(project / "package.json", '{"name": "app"}')
    skipped: list[tuple[str, str]] = []

    found = find_exposure(
        home,
        [project],
        env={"HOME": str(home), "PATH": "/usr/bin"},
        on_skip=lambda p, r: skipped.append((p, r)),
        system_root=system,
    )

    assert found == []
    assert rotation_checklist(found) == []
    assert skipped == []


# ---------------------------------------------------------------------------------------------
# Pairs: what counts and what does not


def test_private_key_counts_public_key_does_not(tree: tuple[Path, Path, Path]) -> None:
    home, _, system = tree
    plant = Plant()
    private, _ = openssh_key(b"x")
    locked, _ = openssh_key(b"y", cipher=b"aes256-ctr", key_type=b"ssh-rsa")
    plant.write(home / ".ssh/id_ed25519", private)
    plant.write(home / ".ssh/id_ed25519.pub", "ssh-ed25519 AAAAC3Nza dev@laptop\n")
    plant.write(home / ".ssh/id_rsa", locked)
    plant.write(home / ".ssh/aws-prod.pem", rsa_pem("z"))  # any name, found by its header
    plant.write(home / ".ssh/notes.txt", "not a key\n")
    plant.write(home / ".ssh/id_legacy", "ssh-rsa AAAAB3Nza a public key without .pub\n")
    plant.write(home / ".ssh/id_odd", "binary garbage")  # id_* without .pub: a private key
    plant.write(home / ".ssh/authorized_keys", "ssh-ed25519 AAAA\n")

    found = by_path(find_exposure(home, [], system_root=system))

    assert set(found) == {
        str(home / ".ssh" / name) for name in ("id_ed25519", "id_rsa", "aws-prod.pem", "id_odd")
    }
    assert found[str(home / ".ssh/id_ed25519")].detail == "OpenSSH private key (ed25519, no passphrase)"
    assert found[str(home / ".ssh/id_rsa")].detail == "OpenSSH private key (rsa, passphrase-protected)"
    assert found[str(home / ".ssh/aws-prod.pem")].detail == "RSA private key (no passphrase)"
    assert found[str(home / ".ssh/id_odd")].detail == "private key (unrecognised format)"
    assert all(secret.kind is K.SSH_KEY for secret in found.values())


def test_identity_file_named_by_ssh_config(tree: tuple[Path, Path, Path]) -> None:
    home, _, system = tree
    plant = Plant()
    plant.write(home / "keys/server.pem", rsa_pem("k"))
    plant.write(
        home / ".ssh/config", "Host prod\n  IdentityFile ~/keys/server.pem\n  IdentityFile ~/keys/missing\n"
    )

    found = by_path(find_exposure(home, [], system_root=system))

    assert found[str(home / "keys/server.pem")].kind is K.SSH_KEY
    assert "IdentityFile" in found[str(home / "keys/server.pem")].detail


@pytest.mark.parametrize(
    ("name", "content", "reported"),
    [
        (".env", "DEBUG=1\n", True),  # a real .env is reported whatever its names
        (".env", "# only comments\n\n", False),
        (".env.local", "API_KEY=abc\n", True),
        (".envrc", "export AWS_SECRET_ACCESS_KEY=abc\n", True),
        ("prod.env", "DB_PASSWORD=abc\n", True),
        (".env.example", "API_KEY=\nSECRET_KEY=your-secret-key\n", False),  # placeholders only
        (".env.example", "API_KEY=${API_KEY}\n", False),  # a reference
        (".env.example", "API_KEY=sk-live-4f9a8b7c6d\n", True),  # a real value in a template
        (".env.sample", "DEBUG=1\n", False),  # no secret-looking name
        (".env.template", "DB_PASSWORD=postgres-prod-42\n", True),
        (".env.js", "module.exports = { API_KEY: 'x' }\n", False),  # code, not an env file
    ],
)
def test_env_files_and_templates(
    tree: tuple[Path, Path, Path], name: str, content: str, reported: bool
) -> None:
    home, project, system = tree
    Plant().write(project / name, content)
    found = find_exposure(home, [project], system_root=system)
    assert [secret.path for secret in found] == ([str(project / name)] if reported else [])
    assert all(secret.kind is K.DOTENV for secret in found)


@pytest.mark.parametrize(
    ("content", "reported"),
    [
        ("//registry.npmjs.org/:_authToken=npm_abcdef\n", True),
        ("_auth=dXNlcjpwYXNz\n", True),
        ("registry=https://registry.npmjs.org/\n", False),  # the payload reads it; nothing to rotate
        ("//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n", False),  # the token lives in the environment
        ("//registry.npmjs.org/:_authToken=\n", False),
    ],
)
def test_npmrc_with_and_without_token(tree: tuple[Path, Path, Path], content: str, reported: bool) -> None:
    home, _, system = tree
    Plant().write(home / ".npmrc", content)
    found = find_exposure(home, [], system_root=system)
    assert [(s.kind, s.path) for s in found] == ([(K.NPM, str(home / ".npmrc"))] if reported else [])


@pytest.mark.parametrize(
    ("relative", "content", "reported"),
    [
        (".aws/config", "[default]\nregion = eu-west-1\n", False),
        (".aws/config", "[profile ci]\naws_access_key_id = AKIA\naws_secret_access_key = x\n", True),
        (".aws/config", "[profile sso]\nsso_start_url = https://x.awsapps.com/start\n", True),
        (".docker/config.json", '{"credsStore": "secretservice"}', False),
        (".docker/config.json", '{"auths": {"https://index.docker.io/v1/": {"auth": "dTpw"}}}', True),
        (".pypirc", "[pypi]\nusername = __token__\npassword =\n", False),
        (".netrc", "machine example.org login dev\n", False),
        (".netrc", "machine example.org login dev password p\n", True),
        (".config/gh/hosts.yml", "github.com:\n    oauth_token: gho_x\n", True),
        (".my.cnf", "[client]\nuser = dev\n", False),
    ],
)
def test_config_files_count_only_with_a_credential(
    tree: tuple[Path, Path, Path], relative: str, content: str, reported: bool
) -> None:
    home, _, system = tree
    Plant().write(home / relative, content)
    found = find_exposure(home, [], system_root=system)
    assert [s.path for s in found] == ([str(home / relative)] if reported else [])


# ---------------------------------------------------------------------------------------------
# Unreadable places, symbolic links, bounds


def _deny(monkeypatch: pytest.MonkeyPatch, denied: set[Path]) -> None:
    """As root every directory is readable: make os.scandir refuse these ones instead."""
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) in denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Make a directory unreadable: chmod 000, or a refusing os.scandir when running as root."""
    chmodded: list[Path] = []
    denied: set[Path] = set()

    def make(directory: Path) -> None:
        if os.geteuid() == 0:
            denied.add(directory)
            _deny(monkeypatch, denied)
        else:
            directory.chmod(0)
            chmodded.append(directory)

    yield make
    for directory in chmodded:
        directory.chmod(0o755)


def test_unreadable_directories_are_skipped_not_fatal(
    tree: tuple[Path, Path, Path], unreadable: Callable[[Path], None]
) -> None:
    home, project, system = tree
    plant = Plant()
    plant.write(home / ".ssh/deploy_key", rsa_pem(plant.sentinel("deploy")))
    plant.write(home / ".aws/credentials", f"[default]\naws_secret_access_key = {plant.sentinel('aws')}\n")
    plant.write(project / "locked/.env", f"API_KEY={plant.sentinel('env')}\n")
    plant.write(project / "open/.env", f"API_KEY={plant.sentinel('env2')}\n")
    unreadable(home / ".ssh")
    unreadable(project / "locked")
    skipped: list[tuple[str, str]] = []

    found = find_exposure(home, [project], on_skip=lambda p, r: skipped.append((p, r)), system_root=system)

    assert {s.path for s in found} == {str(home / ".aws/credentials"), str(project / "open/.env")}
    assert (str(home / ".ssh"), "permission denied") in skipped
    assert (str(project / "locked"), "permission denied") in skipped
    assert len(skipped) == len(set(skipped))
    assert_no_leak(plant.forbidden, found, skipped)


def test_unreadable_file_is_skipped(tree: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    home, project, system = tree
    env_file = Plant().write(project / ".env", "API_KEY=x\n")
    if os.geteuid() == 0:  # root opens anything: make os.open refuse this file instead
        real_open = os.open

        def refusing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            if Path(path) == env_file:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", refusing_open)
    else:
        env_file.chmod(0)
    skipped: list[tuple[str, str]] = []
    try:
        found = find_exposure(
            home, [project], on_skip=lambda p, r: skipped.append((p, r)), system_root=system
        )
    finally:
        env_file.chmod(0o600)
    assert found == []
    assert skipped == [(str(env_file), "permission denied")]


def test_symbolic_links(tree: tuple[Path, Path, Path], tmp_path: Path) -> None:
    home, project, system = tree
    plant = Plant()
    outside = tmp_path / "outside"
    target = plant.write(outside / "aws-credentials", "[default]\naws_secret_access_key = x\n")
    (home / ".aws").mkdir()
    (home / ".aws/credentials").symlink_to(target)  # a linked file: reported under its link path
    plant.write(outside / "firefox/p1/logins.json", "{}")
    (home / ".mozilla").mkdir()
    (home / ".mozilla/firefox").symlink_to(outside / "firefox")  # a linked directory out of home
    plant.write(outside / "shared/.env", "API_KEY=x\n")
    (project / "shared").symlink_to(outside / "shared")  # never followed in a project walk
    (project / ".env").symlink_to(outside / "shared/.env")  # a linked file in a project: reported
    skipped: list[tuple[str, str]] = []

    found = by_path(
        find_exposure(home, [project], on_skip=lambda p, r: skipped.append((p, r)), system_root=system)
    )

    assert set(found) == {str(home / ".aws/credentials"), str(project / ".env")}
    assert found[str(home / ".aws/credentials")].size == target.stat().st_size
    assert found[str(home / ".aws/credentials")].modified == datetime.fromtimestamp(plant.times[target], UTC)
    assert [path for path, _ in skipped] == [str(home / ".mozilla/firefox")]


def test_project_walk_depth_and_pruning(tree: tuple[Path, Path, Path]) -> None:
    home, project, system = tree
    plant = Plant()
    deepest = project.joinpath(*[f"d{i}" for i in range(MAX_PROJECT_DEPTH)], ".env")
    too_deep = project.joinpath(*[f"d{i}" for i in range(MAX_PROJECT_DEPTH + 1)], ".env")
    plant.write(deepest, "A=1\n")
    plant.write(too_deep, "A=1\n")
    for pruned in ("node_modules/pkg", ".git", "lib/site-packages/pkg", ".venv", "__pycache__"):
        plant.write(project / pruned / ".env", "API_KEY=x\n")
    plant.write(project / "env/pyvenv.cfg", "home = /usr/bin\n")  # a virtualenv under another name
    plant.write(project / "env/.env", "API_KEY=x\n")
    fifo = project / "pipe/.env"
    fifo.parent.mkdir()
    os.mkfifo(fifo)  # must not block the walk

    found = find_exposure(home, [project], system_root=system)

    assert [s.path for s in found] == [str(deepest)]


def test_missing_project_root_is_skipped(tree: tuple[Path, Path, Path], tmp_path: Path) -> None:
    home, _, system = tree
    skipped: list[tuple[str, str]] = []
    assert (
        find_exposure(
            home, [tmp_path / "nope"], on_skip=lambda p, r: skipped.append((p, r)), system_root=system
        )
        == []
    )
    assert skipped == [(str(tmp_path / "nope"), "not found")]


def test_home_is_not_walked(tree: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Only known locations are listed: ordinary folders of the home are never read."""
    home, _, system = tree
    plant = Plant()
    for index in range(50):
        plant.write(home / f"Documents/folder{index}/.env", "API_KEY=x\n")
    plant.write(home / ".aws/credentials", "[default]\naws_secret_access_key = x\n")
    listed: list[Path] = []
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        listed.append(Path(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = find_exposure(home, [], system_root=system)

    assert [s.path for s in found] == [str(home / ".aws/credentials")]
    assert not any("Documents" in path.parts for path in listed)


# ---------------------------------------------------------------------------------------------
# The environment and system locations


def test_files_named_by_the_environment(tree: tuple[Path, Path, Path], tmp_path: Path) -> None:
    home, _, system = tree
    plant = Plant()
    kubeconfig = plant.write(tmp_path / "ops/kubeconfig-prod", "users:\n- user:\n    client-key-data: x\n")
    adc = plant.write(tmp_path / "ops/sa.json", json.dumps({"type": "service_account", "private_key": "x"}))
    docker = plant.write(
        tmp_path / "ci-docker/config.json", json.dumps({"auths": {"r": {"identitytoken": "x"}}})
    )
    env = {
        "KUBECONFIG": f"{kubeconfig}{os.pathsep}{tmp_path / 'missing'}",
        "GOOGLE_APPLICATION_CREDENTIALS": str(adc),
        "DOCKER_CONFIG": str(docker.parent),
        "TOKENIZERS_PARALLELISM": "false",
        "NEXT_PUBLIC_API_KEY": "public",
        "EMPTY_TOKEN": "",
    }

    found = by_path(find_exposure(home, [], env=env, system_root=system))

    assert found[str(kubeconfig)].kind is K.KUBECONFIG
    assert "client-key-data" in found[str(kubeconfig)].detail
    assert found[str(adc)].detail.endswith("service-account key")
    assert found[str(docker)].kind is K.DOCKER
    # Empty values, TOKENIZERS_* and NEXT_PUBLIC_* do not count; the credentials path's name does.
    assert found[ENVIRONMENT_PATH].detail == "1 secret-looking name: GOOGLE_APPLICATION_CREDENTIALS"


def test_system_locations(tree: tuple[Path, Path, Path]) -> None:
    home, _, system = tree
    plant = Plant()
    token = plant.write(system / "run/secrets/kubernetes.io/serviceaccount/..2026_03_24/token", "t")
    (system / "run/secrets/kubernetes.io/serviceaccount/..data").symlink_to("..2026_03_24")
    (system / "run/secrets/kubernetes.io/serviceaccount/token").symlink_to("..data/token")
    assert token.exists()
    (system / "var").mkdir()
    (system / "var/run").symlink_to("../run")  # as on most Linux hosts
    plant.write(system / "run/secrets/eks.amazonaws.com/serviceaccount/token", "t")
    plant.write(system / "etc/kubernetes/admin.conf", "users:\n- user:\n    client-certificate-data: x\n")
    plant.write(system / "etc/ssh/ssh_host_ed25519_key", openssh_key(b"h")[0])
    plant.write(system / "etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAA root@host\n")
    plant.write(system / "etc/environment", 'PATH="/usr/bin"\n')  # no secret: not reported

    found = by_path(find_exposure(home, [], system_root=system))

    assert {path: s.kind for path, s in found.items()} == {
        str(system / "var/run/secrets/kubernetes.io/serviceaccount/token"): K.KUBERNETES_TOKEN,
        str(system / "var/run/secrets/eks.amazonaws.com/serviceaccount/token"): K.AWS,
        str(system / "etc/kubernetes/admin.conf"): K.KUBECONFIG,
        str(system / "etc/ssh/ssh_host_ed25519_key"): K.SSH_KEY,
    }
    assert find_exposure(home, [], system_root=None) == []


# ---------------------------------------------------------------------------------------------
# Names and the checklist


@pytest.mark.parametrize(
    "name",
    [
        "OPENAI_API_KEY",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "GITHUB_TOKEN",
        "PYPI_PASSWORD",
        "TWINE_PASSWORD",
        "DB_PASS",
        "DATABASE_URL",
        "REDIS_URL",
        "MONGODB_URI",
        "SENTRY_DSN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "AZURE_CLIENT_SECRET",
        "AZURE_STORAGE_CONNECTION_STRING",
        "SLACK_WEBHOOK_URL",
        "NPM_AUTH_TOKEN",
        "HF_TOKEN",
        "db_password",
        "jwtSecret",
        "PGPASSWORD",
    ],
)
def test_secret_looking_names(name: str) -> None:
    assert looks_secret(name)


@pytest.mark.parametrize(
    "name",
    [
        "PATH",
        "HOME",
        "PWD",
        "DEBUG",
        "TOKENIZERS_PARALLELISM",
        "NEXT_PUBLIC_SUPABASE_ANON_KEY",
        "STRIPE_PUBLISHABLE_KEY",
        "AWS_REGION",
        "AWS_PROFILE",
        "SSH_AUTH_SOCK",
        "DB_HOST",
        "KEYBOARD_LAYOUT",
        "bad name",
        "",
    ],
)
def test_ordinary_names(name: str) -> None:
    assert not looks_secret(name)


def test_every_kind_has_one_playbook_entry() -> None:
    assert set(PLAYBOOK) == set(SecretKind) == set(RANK)
    assert sorted(RANK.values()) == list(range(1, len(SecretKind) + 1))
    assert all(entry.action and entry.title for entry in PLAYBOOK.values())


def test_blast_radius_order() -> None:
    order = [
        K.AWS,
        K.KUBECONFIG,
        K.PYPI,
        K.NPM,
        K.DOCKER,
        K.GIT,
        K.SSH_KEY,
        K.DOTENV,
        K.DATABASE,
        K.BROWSER_PROFILE,
        K.CRYPTO_WALLET,
    ]
    assert [RANK[kind] for kind in order] == sorted(RANK[kind] for kind in order)
    assert "Trusted Publishing" in PLAYBOOK[K.PYPI].action
    assert "CloudTrail" in PLAYBOOK[K.AWS].action
    assert "gcloud auth revoke" in PLAYBOOK[K.GCP].action
    assert "authorized_keys" in PLAYBOOK[K.SSH_KEY].action
    assert "Move the funds" in PLAYBOOK[K.CRYPTO_WALLET].action


def test_checklist_groups_paths_by_kind() -> None:
    when = datetime(2026, 3, 24, tzinfo=UTC)
    exposed = [
        ExposedSecret(K.CRYPTO_WALLET, "/h/.bitcoin/wallet.dat", 1, when),
        ExposedSecret(K.SSH_KEY, "/h/.ssh/id_rsa", 1, when),
        ExposedSecret(K.AWS, "/h/.aws/credentials", 1, when),
        ExposedSecret(K.SSH_KEY, "/h/.ssh/id_ed25519", 1, when),
        ExposedSecret(K.SSH_KEY, "/h/.ssh/id_rsa", 1, when),
    ]
    assert rotation_checklist(exposed) == [
        RotationStep(K.AWS, RANK[K.AWS], PLAYBOOK[K.AWS].action, ("/h/.aws/credentials",)),
        RotationStep(
            K.SSH_KEY, RANK[K.SSH_KEY], PLAYBOOK[K.SSH_KEY].action, ("/h/.ssh/id_ed25519", "/h/.ssh/id_rsa")
        ),
        RotationStep(
            K.CRYPTO_WALLET,
            RANK[K.CRYPTO_WALLET],
            PLAYBOOK[K.CRYPTO_WALLET].action,
            ("/h/.bitcoin/wallet.dat",),
        ),
    ]
    assert rotation_checklist([]) == []
