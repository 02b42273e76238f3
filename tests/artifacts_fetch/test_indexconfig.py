from __future__ import annotations

import os
from pathlib import Path

import pytest

from depvet.artifacts.indexconfig import (
    DEFAULT_INDEX_URL,
    IndexConfig,
    normalize_index_url,
    resolve_index_config,
)
from depvet.errors import InputError


class Machine:
    """A home directory and a system config directory in tmp, so the host's /etc/pip.conf stays out."""

    def __init__(self, tmp_path: Path) -> None:
        self.home = tmp_path / "home"
        self.etc = tmp_path / "etc"
        self.home.mkdir()
        self.etc.mkdir()
        self.env: dict[str, str] = {}

    def write(self, path: Path, text: str) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def global_conf(self, text: str) -> Path:
        return self.write(self.etc / "pip.conf", text)

    def user_conf(self, text: str) -> Path:
        return self.write(self.home / ".config" / "pip" / "pip.conf", text)

    def legacy_conf(self, text: str) -> Path:
        return self.write(self.home / ".pip" / "pip.conf", text)

    def resolve(self, cli_index_url: str | None = None, cli_extra: tuple[str, ...] = ()) -> IndexConfig:
        return resolve_index_config(cli_index_url, cli_extra, self.env, self.home, system_dirs=[self.etc])


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_nothing_configured_is_pypi(machine: Machine) -> None:
    assert machine.resolve() == IndexConfig(DEFAULT_INDEX_URL, (), "default")


def test_command_line_wins_over_everything(machine: Machine) -> None:
    machine.env.update(
        UV_DEFAULT_INDEX="https://uv.example/simple", PIP_INDEX_URL="https://pip.example/simple"
    )
    machine.user_conf("[global]\nindex-url = https://file.example/simple\n")

    config = machine.resolve("https://cli.example/simple")

    assert (config.index_url, config.source) == ("https://cli.example/simple/", "--index-url")


@pytest.mark.parametrize(
    ("env", "url", "source"),
    [
        (
            {
                "UV_DEFAULT_INDEX": "https://a.example/simple/",
                "UV_INDEX_URL": "https://b.example/simple/",
                "PIP_INDEX_URL": "https://c.example/simple/",
            },
            "https://a.example/simple/",
            "UV_DEFAULT_INDEX",
        ),
        (
            {"UV_INDEX_URL": "https://b.example/simple/", "PIP_INDEX_URL": "https://c.example/simple/"},
            "https://b.example/simple/",
            "UV_INDEX_URL",
        ),
        ({"PIP_INDEX_URL": "https://c.example/simple"}, "https://c.example/simple/", "PIP_INDEX_URL"),
        # uv's named form ``name=URL``; an empty variable counts as unset.
        (
            {"UV_DEFAULT_INDEX": "corp=https://corp.example/simple", "UV_INDEX_URL": ""},
            "https://corp.example/simple/",
            "UV_DEFAULT_INDEX",
        ),
        ({"PIP_INDEX_URL": "  "}, "https://file.example/simple/", "CONF"),
    ],
)
def test_environment_precedence(machine: Machine, env: dict[str, str], url: str, source: str) -> None:
    conf = machine.user_conf("[global]\nindex-url = https://file.example/simple/\n")
    machine.env.update(env)

    config = machine.resolve()

    assert (config.index_url, config.source) == (url, str(conf) if source == "CONF" else source)


def test_later_config_files_override_earlier_ones(machine: Machine) -> None:
    machine.global_conf("[global]\nindex-url = https://global.example/simple\n")
    assert machine.resolve().index_url == "https://global.example/simple/"

    machine.legacy_conf("[global]\nindex-url = https://legacy.example/simple\n")
    assert machine.resolve().index_url == "https://legacy.example/simple/"

    user = machine.user_conf("[global]\nindex-url = https://user.example/simple\n")
    assert machine.resolve() == IndexConfig("https://user.example/simple/", (), str(user))

    venv = machine.home / "venv"
    site = machine.write(venv / "pip.conf", "[global]\nindex-url = https://site.example/simple\n")
    machine.env["VIRTUAL_ENV"] = str(venv)
    assert machine.resolve() == IndexConfig("https://site.example/simple/", (), str(site))


def test_xdg_config_home_moves_the_user_file(machine: Machine) -> None:
    machine.user_conf("[global]\nindex-url = https://default-place.example/simple\n")
    xdg = machine.home / "xdg"
    moved = machine.write(xdg / "pip" / "pip.conf", "[global]\nindex-url = https://xdg.example/simple\n")
    machine.env["XDG_CONFIG_HOME"] = str(xdg)

    assert machine.resolve() == IndexConfig("https://xdg.example/simple/", (), str(moved))


def test_pip_config_file_overrides_and_skips_user_files(machine: Machine) -> None:
    machine.global_conf("[global]\nextra-index-url = https://global-extra.example/simple\n")
    machine.user_conf(
        "[global]\nindex-url = https://user.example/simple\nextra-index-url = https://user-extra.example/simple\n"
    )
    env_file = machine.write(machine.home / "ci.conf", "[global]\nindex-url = https://ci.example/simple\n")
    machine.env["PIP_CONFIG_FILE"] = str(env_file)

    config = machine.resolve()

    assert config == IndexConfig(
        "https://ci.example/simple/", ("https://global-extra.example/simple/",), str(env_file)
    )


def test_pip_config_file_devnull_disables_every_file(machine: Machine) -> None:
    machine.global_conf("[global]\nindex-url = https://global.example/simple\n")
    machine.user_conf("[global]\nindex-url = https://user.example/simple\n")
    machine.env["PIP_CONFIG_FILE"] = os.devnull

    assert machine.resolve() == IndexConfig(DEFAULT_INDEX_URL, (), "default")


def test_install_section_beats_global_even_from_an_earlier_file(machine: Machine) -> None:
    system = machine.global_conf("[install]\nindex-url = https://install.example/simple\n")
    machine.user_conf(
        "[global]\nindex-url = https://global.example/simple\n[download]\nindex-url = https://x/\n"
    )

    assert machine.resolve() == IndexConfig("https://install.example/simple/", (), str(system))


@pytest.mark.parametrize("key", ["index-url", "index_url", "--index-url", "INDEX-URL"])
def test_option_name_spellings(machine: Machine, key: str) -> None:
    machine.user_conf(f"[global]\n{key} = https://spelled.example/simple\n")

    assert machine.resolve().index_url == "https://spelled.example/simple/"


def test_extras_are_the_union_in_order_without_duplicates(machine: Machine) -> None:
    machine.user_conf(
        "[global]\n"
        "index-url = https://primary.example/simple\n"
        "extra-index-url =\n"
        "    https://conf-a.example/simple\n"
        "    https://shared.example/simple/\n"
    )
    machine.env.update(
        UV_INDEX="named=https://uv-index.example/simple https://shared.example/simple",
        UV_EXTRA_INDEX_URL="https://uv-extra.example/simple",
        PIP_EXTRA_INDEX_URL="https://pip-extra.example/simple  https://primary.example/simple/",
    )

    config = machine.resolve(cli_extra=("https://cli-extra.example/simple", "https://shared.example/simple"))

    assert config.index_url == "https://primary.example/simple/"
    assert config.extra_index_urls == (
        "https://cli-extra.example/simple/",
        "https://shared.example/simple/",
        "https://uv-index.example/simple/",
        "https://uv-extra.example/simple/",
        "https://pip-extra.example/simple/",
        "https://conf-a.example/simple/",
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "index-url = https://__token__:SECRET@x.example/simple\n",
            "line 1 comes before any [section] header",
        ),
        ("[global]\nindex-url SECRET\n", "line 2 is neither"),
        ("[global]\nindex-url = a\nindex-url = b\n", "line 3 repeats option 'index-url'"),
    ],
)
def test_unparseable_config_file_is_an_input_error(machine: Machine, text: str, problem: str) -> None:
    conf = machine.user_conf(text)

    with pytest.raises(InputError) as info:
        machine.resolve()

    message = str(info.value)
    assert message.startswith(f"cannot parse pip configuration {conf}: {problem}")
    assert "\n" not in message
    assert "SECRET" not in message


def test_undecodable_config_file_is_an_input_error(machine: Machine) -> None:
    conf = machine.user_conf("")
    conf.write_bytes(b"[global]\nindex-url = https://\xff\xfe.example/\n")

    with pytest.raises(InputError, match=f"cannot read pip configuration {conf}: not UTF-8"):
        machine.resolve()


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("https://example.org/simple", "https://example.org/simple/"),
        (" https://example.org/simple/ ", "https://example.org/simple/"),
        ("https://example.org/simple?x=1", "https://example.org/simple/?x=1"),
        ("file:///srv/mirror", "file:///srv/mirror/"),
    ],
)
def test_normalize_index_url(raw: str, url: str) -> None:
    assert normalize_index_url(raw) == url


def test_a_bare_path_becomes_a_file_url(tmp_path: Path) -> None:
    assert normalize_index_url(str(tmp_path / "mirror")) == (tmp_path / "mirror").as_uri() + "/"
