"""One suite for the operations tests: storage, api, websocket (and the notifier once it is
installed) on their own NATS and SQLite, logging JSON at DEBUG, with depth metrics refreshed
every fraction of a second and at most three depth series per family."""

from __future__ import annotations

import importlib.util
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.nats import start_nats
from tests.fixtures.suite import ServiceProcess, Suite

WEBSOCKET_APP = "tidings.websocket.app:create_app"
NOTIFIER_APP = "tidings.notifier.app:create_app"
DEPTH_INTERVAL = 0.2
DEPTH_MAX_SERIES = 3
CLIENT_ID = "3381af92-2b9e-11e3-b191-71861300734c"

# (metric name, labels) -> value, for every sample of one scrape.
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def notifier_installed() -> bool:
    try:
        return importlib.util.find_spec("tidings.notifier.app") is not None
    except ModuleNotFoundError:
        return False


@dataclass
class Scrape:
    families: dict[str, str]  # family name -> type
    samples: Samples

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels (0 when the series does not exist yet)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples whose labels include these."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items() if n == name and wanted <= ls)

    def series(self, name: str) -> list[dict[str, str]]:
        return [dict(ls) for (n, ls) in self.samples if n == name]


def scrape(service: ServiceProcess) -> Scrape:
    response = httpx.get(f"{service.url}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        families[family.name] = family.type
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return Scrape(families, samples)


@dataclass
class OpsSuite:
    suite: Suite
    websocket: ServiceProcess
    notifier: ServiceProcess | None

    @property
    def storage(self) -> ServiceProcess:
        return self.suite.storage[0]

    @property
    def api(self) -> ServiceProcess:
        return self.suite.api[0]

    @property
    def services(self) -> dict[str, ServiceProcess]:
        found = {"storage": self.storage, "api": self.api, "websocket": self.websocket}
        if self.notifier is not None:
            found["notifier"] = self.notifier
        return found

    def log_path(self, service: ServiceProcess) -> Path:
        return self.suite.root / "logs" / f"{service.name}.log"


@pytest.fixture(scope="session")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpsSuite]:
    root = tmp_path_factory.mktemp("ops-suite")
    nats = start_nats(root / "nats")
    suite = Suite(
        root,
        nats.url,
        env={
            "TIDINGS_LOG_FORMAT": "json",
            "TIDINGS_LOG_LEVEL": "DEBUG",
            "TIDINGS_DEPTH_METRICS_INTERVAL": str(DEPTH_INTERVAL),
            "TIDINGS_DEPTH_METRICS_MAX_SERIES": str(DEPTH_MAX_SERIES),
        },
    )
    websocket = suite.add("websocket-0", WEBSOCKET_APP)
    notifier = suite.add("notifier-0", NOTIFIER_APP) if notifier_installed() else None
    try:
        suite.start()
        yield OpsSuite(suite, websocket, notifier)
    finally:
        suite.stop()
        nats.stop()


@pytest.fixture
def rest(ops: OpsSuite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ops.api.url, timeout=10) as client:
        yield client


def headers(project: str, **extra: str) -> dict[str, str]:
    return {"Client-ID": CLIENT_ID, "X-Project-ID": project, **extra}


def new_project() -> str:
    return f"ops {uuid.uuid4().hex[:8]}"


def wait_for(check: Callable[[], bool], timeout: float = 5.0, interval: float = 0.05) -> None:
    """Poll ``check()`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)
