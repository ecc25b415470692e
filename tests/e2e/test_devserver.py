"""``tidings-run`` as a user runs it: it starts the suite, serves REST, stops every child on
SIGTERM, and keeps the data for the next start."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.ports import free_port, free_port_run
from tidings.common.devserver import SERVICES, parse_assignments

MAX_REPLICAS = 2  # the most replicas of one service any test here asks for

HEADERS = {"Client-ID": "3381af92-2b9e-11e3-b191-71861300734c", "X-Project-ID": "devserver"}
LAUNCHER = [sys.executable, "-m", "tidings.common.devserver"]


class Launched:
    def __init__(self, data_dir: Path, *extra: str) -> None:
        # Runs of ports: replica i of a service listens on the service's port + i.
        self.ports = {spec.name: free_port_run(MAX_REPLICAS) for spec in SERVICES}
        self.api_port = self.ports["api"]
        self.nats_port = free_port()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.output = data_dir / f"launcher-{len(list(data_dir.glob('launcher-*')))}.out"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
        argv = [
            *LAUNCHER, "--data-dir", str(data_dir), "--nats-port", str(self.nats_port),
            "--ports", ",".join(f"{name}={port}" for name, port in self.ports.items()),
            "--quiet", *extra,
        ]  # fmt: skip
        with self.output.open("ab") as out:
            self.process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def text(self) -> str:
        return self.output.read_text()

    def wait_running(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "Press Ctrl-C to stop." not in self.text():
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.2)

    def child_pids(self) -> list[int]:
        return [int(pid) for pid in re.findall(r"\(pid (\d+)\)", self.text())]

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(60)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


Launch = Callable[..., Launched]


@pytest.fixture
def launch(data_dir: Path) -> Iterator[Launch]:
    """``launch(*args)`` starts the launcher on free ports; it is killed after the test."""
    started: list[Launched] = []

    def start(*extra: str) -> Launched:
        started.append(Launched(data_dir, *extra))
        return started[-1]

    yield start
    for launched in started:
        launched.kill()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too; it only waits for its parent to collect it.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def test_run_serve_stop_and_keep_data(launch: Launch, data_dir: Path) -> None:
    first = launch()
    first.wait_running()
    text = first.text()
    assert f"REST             {first.rest_url}" in text
    assert f"nats://127.0.0.1:{first.nats_port}" in text
    assert str(data_dir / "tidings.db") in text
    with httpx.Client(base_url=first.rest_url, headers=HEADERS, timeout=10) as http:
        posted = http.post("/v2/queues/kept/messages", json={"messages": [{"body": "hi"}]})
        assert posted.status_code == 201

    assert first.terminate() == 0
    pids = [int(p) for p in re.findall(r"stopping \S+ \(pid (\d+)\)", first.text())]
    installed = [spec.name for spec in SERVICES if spec.installed()]
    assert len(pids) == len(installed) + 1  # and nats
    assert not [pid for pid in pids if alive(pid)]
    assert (data_dir / "logs" / "api.log").read_text()
    assert (data_dir / "nats" / "jetstream").is_dir()

    second = launch()
    second.wait_running()
    with httpx.Client(base_url=second.rest_url, headers=HEADERS, timeout=10) as http:
        listed = http.get("/v2/queues/kept/messages", params={"echo": "true"})
    assert [m["body"] for m in listed.json()["messages"]] == ["hi"]
    assert second.terminate() == 0


def test_replicas_listen_on_consecutive_ports(launch: Launch) -> None:
    launched = launch("--replicas", "storage=2,api=2")
    launched.wait_running()
    for port in (launched.api_port, launched.api_port + 1):
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
        assert response.status_code == 200
    assert f"({'storage-1'})" in launched.text()
    assert launched.terminate() == 0


def test_start_failure_names_the_cause(launch: Launch) -> None:
    launched = launch("--nats-url", f"nats://127.0.0.1:{free_port()}")
    assert launched.process.wait(30) == 1
    assert "no NATS answers at" in launched.text()


def test_replica_assignments_are_parsed_strictly() -> None:
    assert parse_assignments("storage=2, api=1", "replicas") == {"storage": 2, "api": 1}
    for bad in ("storage", "nope=1", "api=x", "api=-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_assignments(bad, "replicas")
