"""What to rotate after a payload ran, and in which order: one table, ordered by blast radius.

The order follows what an attacker can do with a stolen secret: cloud and cluster credentials
reach everything a team runs, so they come first; then the tokens that publish software (the
LiteLLM 1.82.7/1.82.8 releases were themselves uploaded with a stolen PyPI token), then keys
that open other machines, then application and database secrets, then what reaches one person
(browser sessions), and last wallets, whose funds must be moved rather than a key rotated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from depvet.hunt.model import ExposedSecret, RotationStep, SecretKind


@dataclass(frozen=True, slots=True)
class Playbook:
    title: str  # what the secret is, for report headings
    action: str  # what to do, concrete for this kind of secret


# Blast radius, widest first: a kind's rank is its place in this tuple (1 is rotated first).
_ORDERED: Final[tuple[tuple[SecretKind, Playbook], ...]] = (
    (
        SecretKind.AWS,
        Playbook(
            "AWS credentials",
            "In IAM, deactivate then delete every access key in these files (aws iam update-access-key "
            "--status Inactive, then aws iam delete-access-key), create new ones only where still needed "
            "(prefer IAM Identity Center or role credentials), revoke active sessions of roles they could "
            "assume, run aws sso logout for cached SSO tokens, and review CloudTrail from the install time "
            "on for their use - the LiteLLM payload also read Secrets Manager and SSM Parameter Store, so "
            "rotate the secrets stored there that these credentials could read.",
        ),
    ),
    (
        SecretKind.GCP,
        Playbook(
            "Google Cloud credentials",
            "Run gcloud auth revoke --all and gcloud auth application-default revoke, then sign in again; "
            "for every service-account key file, delete the key (gcloud iam service-accounts keys delete "
            "KEY_ID --iam-account=ACCOUNT) and create a new one only if Workload Identity cannot replace "
            "it; review Cloud Audit Logs from the install time on.",
        ),
    ),
    (
        SecretKind.AZURE,
        Playbook(
            "Azure credentials",
            "Run az logout and az account clear, revoke the account's sign-in sessions in Microsoft Entra "
            "ID (Revoke sessions, or Graph revokeSignInSessions) so cached refresh tokens stop working, "
            "reset the secrets or certificates of every service principal stored here (az ad sp credential "
            "reset), and review the Entra sign-in logs and the Azure Activity Log from the install time on.",
        ),
    ),
    (
        SecretKind.KUBECONFIG,
        Playbook(
            "Kubernetes cluster credentials",
            "For each cluster in these kubeconfigs, replace the credentials they hold: static and "
            "service-account tokens (delete the token Secret so it is reissued), client certificates "
            "(Kubernetes cannot revoke one certificate: remove the user's RBAC bindings, or rotate the "
            "cluster CA for admin.conf-style certificates), and for exec or auth-provider users revoke the "
            "cloud login (see its step); then review the API server audit log from the install time on.",
        ),
    ),
    (
        SecretKind.KUBERNETES_TOKEN,
        Playbook(
            "Kubernetes service-account tokens",
            "Delete the pod that mounted the token (bound tokens die with it) or, for a legacy token "
            "Secret, delete the Secret so a new token is issued; if the account may have been abused, "
            "delete and recreate the service account, cut its RBAC to what the pod needs, and review the "
            "audit log for requests made with it from the install time on.",
        ),
    ),
    (
        SecretKind.VAULT,
        Playbook(
            "HashiCorp Vault tokens",
            "Revoke the token (vault token revoke -self, or vault token revoke -accessor ACCESSOR), which "
            "also revokes its child tokens and leases, sign in again, and rotate every secret the token's "
            "policies could read; review the Vault audit device log for its accessor from the install time.",
        ),
    ),
    (
        SecretKind.TERRAFORM,
        Playbook(
            "Terraform state, variables and tokens",
            "State files and tfvars hold provider credentials and every resource attribute in plain text "
            "(database passwords, generated keys): rotate each credential and generated secret in them, "
            "move state to a remote backend with encryption and access control, and revoke the Terraform "
            "Cloud/Enterprise API tokens in credentials.tfrc.json (User settings, Tokens).",
        ),
    ),
    (
        SecretKind.CONTAINER_SECRET,
        Playbook(
            "Secrets mounted into the container",
            "Rotate each mounted value at its issuer, then publish the new value (docker secret create "
            "and docker service update --secret-rm/--secret-add, or update the Kubernetes Secret or the "
            "Compose secret file) and restart the workloads that use it.",
        ),
    ),
    (
        SecretKind.PYPI,
        Playbook(
            "PyPI upload credentials",
            "Revoke the API tokens on pypi.org (Account settings, API tokens) and change the password of "
            "any account whose password is stored - the LiteLLM attack itself started from a stolen PyPI "
            "token; publish from CI with Trusted Publishing so no long-lived token exists, or create a "
            "token scoped to one project, and check your projects' release history for uploads you did "
            "not make.",
        ),
    ),
    (
        SecretKind.NPM,
        Playbook(
            "npm registry tokens",
            "Revoke the tokens (npm token list, npm token revoke ID, or Access Tokens on npmjs.com or your "
            "private registry), create granular tokens only where needed (prefer trusted publishing from "
            "CI), and check the packages you maintain for versions you did not publish.",
        ),
    ),
    (
        SecretKind.DOCKER,
        Playbook(
            "Container registry logins",
            "Revoke the password or access token stored for each registry (Docker Hub Security, Access "
            "tokens; GHCR: the GitHub token; cloud registries: their cloud credentials), run docker logout "
            "REGISTRY, use a credential helper instead of auths in config.json, and check the registries "
            "for images pushed since the install time.",
        ),
    ),
    (
        SecretKind.GIT,
        Playbook(
            "Git hosting tokens",
            "Revoke the tokens stored for each host (GitHub: Settings, Developer settings, Personal access "
            "tokens, and Applications for the gh CLI OAuth token, then gh auth login again; GitLab: Access "
            "tokens), create new fine-grained tokens, and review the account's security log and its "
            "repositories (pushes, deploy keys, workflows, releases) for changes since the install time.",
        ),
    ),
    (
        SecretKind.NETRC,
        Playbook(
            ".netrc passwords",
            "Every machine entry with a password holds a plain-text password or token: change or revoke "
            "each one at its service (API tokens at the provider, e.g. heroku authorizations:revoke), then "
            "keep the file at mode 0600 with short-lived tokens, or remove it.",
        ),
    ),
    (
        SecretKind.ENV_VARIABLE_NAMES,
        Playbook(
            "Secrets held in environment variables and CI",
            "Rotate the value of every listed variable at its issuer and update it where it is set (the "
            "shell profile, the service definition, or the CI secret store for names referenced by CI "
            "configs); the LiteLLM publishing token was read from CI environment variables, so replace "
            "long-lived CI secrets with OIDC (Trusted Publishing, cloud workload identity) where possible.",
        ),
    ),
    (
        SecretKind.SSH_KEY,
        Playbook(
            "SSH private keys",
            "Remove each key's public half from every authorized_keys it was added to (the servers in "
            "~/.ssh/known_hosts and ~/.ssh/config) and from GitHub, GitLab and Bitbucket (SSH, signing and "
            "deploy keys), then generate new keys with a passphrase (ssh-keygen -t ed25519); rotate "
            "passphrase-protected keys too, since a stolen one can be cracked offline; for host keys, "
            "regenerate them and tell users the fingerprint changed.",
        ),
    ),
    (
        SecretKind.PRIVATE_KEY,
        Playbook(
            "TLS, signing and VPN private keys",
            "Generate a new key for each: have the certificate reissued and the old one revoked by its CA "
            "(ACME: certbot revoke, then a new certificate with a new key), replace code-signing "
            "certificates the same way, and for WireGuard run wg genkey and update the public key on "
            "every peer.",
        ),
    ),
    (
        SecretKind.DOTENV,
        Playbook(
            "Application secrets in .env files",
            "Rotate every secret variable of each file at its issuer (API keys in the provider's console, "
            "database passwords, signing keys such as SECRET_KEY or JWT secrets, which also logs users "
            "out), then update the file or move the values to a secret manager; a file listed without "
            "secret-looking names may still hold secrets under other names, so check its values.",
        ),
    ),
    (
        SecretKind.DATABASE,
        Playbook(
            "Database passwords",
            "Change the passwords stored in these files (ALTER ROLE ... PASSWORD for PostgreSQL, ALTER "
            "USER ... IDENTIFIED BY for MySQL, db.changeUserPassword for MongoDB, requirepass for Redis), "
            "update the applications that use them, and check the database logs for logins from unknown "
            "hosts since the install time.",
        ),
    ),
    (
        SecretKind.MAIL,
        Playbook(
            "Mail account passwords",
            "Change the SMTP/IMAP passwords, or revoke the app passwords, stored in these files at the mail "
            "provider, and check the account for forwarding rules added since the install time.",
        ),
    ),
    (
        SecretKind.SHELL_HISTORY,
        Playbook(
            "Shell and database client histories",
            "Histories keep secrets typed on command lines (export TOKEN=..., mysql -p..., curl -H "
            "'Authorization: ...'): search them yourself for credentials, rotate every one you find, then "
            "clear the history.",
        ),
    ),
    (
        SecretKind.BROWSER_PROFILE,
        Playbook(
            "Browser passwords and session cookies",
            "Sign out of all sessions of important sites (email, GitHub, cloud consoles, password manager) "
            "to kill stolen cookies, change the saved passwords starting with the accounts that reset "
            "others (email first), enable phishing-resistant 2FA, and stop saving passwords in the browser.",
        ),
    ),
    (
        SecretKind.CRYPTO_WALLET,
        Playbook(
            "Cryptocurrency wallets",
            "Move the funds now to a new wallet created on a clean machine with a new seed phrase - theft "
            "on-chain is fast and final; never reuse the old seed, keystore or keypair, even an encrypted "
            "one (it can be brute-forced offline), and revoke token approvals the old address granted.",
        ),
    ),
)

PLAYBOOK: Final[Mapping[SecretKind, Playbook]] = MappingProxyType(dict(_ORDERED))
RANK: Final[Mapping[SecretKind, int]] = MappingProxyType(
    {kind: rank for rank, (kind, _) in enumerate(_ORDERED, start=1)}
)


def rotation_checklist(exposed: Sequence[ExposedSecret]) -> list[RotationStep]:
    """One step per kind of secret present, widest blast radius first, naming every path of it."""
    paths: dict[SecretKind, list[str]] = {}
    for secret in exposed:
        paths.setdefault(secret.kind, []).append(secret.path)
    steps = [
        RotationStep(kind=kind, rank=RANK[kind], action=PLAYBOOK[kind].action, paths=tuple(_unique(found)))
        for kind, found in paths.items()
    ]
    return sorted(steps, key=lambda step: step.rank)


def _unique(paths: list[str]) -> list[str]:
    return sorted(set(paths))
