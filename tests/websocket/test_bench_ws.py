"""``tidings-bench-ws`` against the test suite's two replicas: it counts every frame."""

from __future__ import annotations

import subprocess
import sys

from tests.websocket.conftest import WsSuite


def test_push_benchmark_sees_every_frame_on_both_replicas(ws_suite: WsSuite) -> None:
    command = [
        sys.executable, "-m", "tidings.bench.websocket", "--url", ws_suite.api_url,
        "--ws-url", ws_suite.ws_url(0), "--ws-url", ws_suite.ws_url(1),
        "--sockets", "6", "--rate", "20", "--duration", "1", "--grace", "5",
        "--p99-target", "5000",  # only correctness here: timing is the benchmark's business
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "posts: 20 sent, 20 acknowledged, 0 failed" in result.stdout
    assert (
        "frames: 120 expected, 120 received, 0 lost, 0 duplicated, 0 out of marker order, "
        "0 of unacknowledged posts; 0 sockets closed early"
    ) in result.stdout
    assert "target p99 < 5000 ms and no lost frame: met" in result.stdout


def test_push_benchmark_refuses_non_loopback_targets() -> None:
    command = [
        sys.executable, "-m", "tidings.bench.websocket", "--url", "http://127.0.0.1:9",
        "--ws-url", "ws://192.0.2.1:9000", "--sockets", "1", "--duration", "0.1",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "only targets plain ws:// on loopback addresses" in result.stderr
