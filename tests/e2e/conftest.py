"""python-zaqarclient, unchanged, against the running suite on SQLite and on PostgreSQL.

Each test gets its own project id, so tests share the two session suites without seeing each
other's queues.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable

import pytest
from zaqarclient.queues import client as zaqar

from tests.fixtures.scaled import ScaledSuite
from tests.fixtures.suite import Suite

ZaqarFactory = Callable[..., zaqar.Client]


@pytest.fixture(scope="session", params=["sqlite", "postgresql", "scaled"])
def rest_urls(request: pytest.FixtureRequest) -> list[str]:
    """The api of the SQLite suite, of the PostgreSQL suite (two storage replicas), then both
    api replicas of the scaled-out suite (two of each service, two pools; issue 6)."""
    if request.param == "scaled":
        scaled: ScaledSuite = request.getfixturevalue("scaled_suite")
        return scaled.api_urls
    running: Suite = request.getfixturevalue("suite" if request.param == "sqlite" else "pg_suite")
    return [running.api_url]


@pytest.fixture
def rest_url(rest_urls: list[str]) -> str:
    return rest_urls[0]


@pytest.fixture
def project() -> str:
    return f"e2e {uuid.uuid4().hex[:12]}"  # a space, as Zaqar's tests use: any string goes


def make_client(url: str, project: str, client_uuid: str | None = None) -> zaqar.Client:
    conf = {
        "auth_opts": {"backend": "noauth", "options": {"os_project_id": project}},
        "client_uuid": client_uuid or uuid.uuid4().hex,
    }
    return zaqar.Client(url, version=2, conf=conf)


@pytest.fixture
def zaqar_factory(rest_urls: list[str], project: str) -> ZaqarFactory:
    """``zaqar_factory()`` -> a client of this test's project with a new Client-ID;
    ``zaqar_factory(project="other")`` for another project. Clients take the api replicas in
    turn, so one test's clients talk to different replicas of a scaled suite."""
    turn = itertools.cycle(rest_urls)

    def make(project: str = project, client_uuid: str | None = None) -> zaqar.Client:
        return make_client(next(turn), project, client_uuid)

    return make


@pytest.fixture
def cli(zaqar_factory: ZaqarFactory) -> zaqar.Client:
    return zaqar_factory()
