"""Debian's Chromium for the browser tests: found, or installed with apt-get within a bound.

CI machines start with Python only, so the first browser test installs the ``chromium``
package itself (as root, ``apt-get update`` then ``apt-get install``, each bounded by
``INSTALL_TIMEOUT``). When that is impossible (not root, no apt-get, no network, too slow) the
tests fail with the reason: a console that was never looked at in a browser is not tested.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
INSTALL_TIMEOUT = 420.0  # seconds per apt-get step; the install took 17 s on this kind of machine

# The flags this machine needs (see the workplace notes): no sandbox as root, no GPU, and no
# background traffic that a closed network would refuse at every start.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class ChromiumUnavailable(RuntimeError):
    pass


def find_chromium() -> str | None:
    override = os.environ.get("TIDINGS_TEST_CHROMIUM")
    if override:
        if not Path(override).exists():
            raise ChromiumUnavailable(f"TIDINGS_TEST_CHROMIUM={override} does not exist")
        return override
    for candidate in CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def _run(argv: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise ChromiumUnavailable(
            f"{' '.join(argv)} did not finish in {INSTALL_TIMEOUT:.0f} s"
        ) from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise ChromiumUnavailable(f"{' '.join(argv)} exited {done.returncode}:\n{tail}")


def ensure_chromium() -> str:
    """The path of a Chromium executable, installing Debian's package when it is missing."""
    found = find_chromium()
    if found:
        return found
    apt_get = shutil.which("apt-get")
    if apt_get is None or os.geteuid() != 0:
        raise ChromiumUnavailable(
            "Chromium is not installed and cannot be installed from here (needs root and "
            "apt-get): run `apt-get install chromium`, or set TIDINGS_TEST_CHROMIUM to a "
            "Chromium executable."
        )
    _run([apt_get, "update", "-qq"])
    _run([apt_get, "install", "-y", "-qq", "chromium"])
    found = find_chromium()
    if found is None:
        raise ChromiumUnavailable("apt-get installed chromium, yet no chromium executable exists")
    return found
