"""Child processes of the single-machine launcher and of the test fixtures.

A :class:`ChildProcess` is one server process (nats-server or a uvicorn service) with its log
in a file, a readiness probe, and a stop that always works: SIGTERM, then SIGKILL after a grace
period, addressed by pid only. Children run in their own session so that a Ctrl-C in the
terminal reaches the launcher alone, which then stops them in order; and, on Linux, they get
SIGKILL if the process that started them dies, so a crashed launcher or test run leaves no
stray servers behind.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

Probe = Callable[[], bool]

_PR_SET_PDEATHSIG = 1


class ChildFailed(RuntimeError):
    """A child exited or did not become ready; the message carries the tail of its log."""


def http_probe(url: str, timeout: float = 1.0) -> Probe:
    """Ready when ``url`` answers 200."""

    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    return probe


def nats_probe(host: str, port: int, timeout: float = 1.0) -> Probe:
    """Ready when the port accepts a connection and greets with the NATS ``INFO`` line."""

    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=timeout) as sock:
                return sock.recv(5) == b"INFO "
        except OSError:
            return False

    return probe


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _die_with_parent() -> None:
    # Runs in the child between fork and exec. PR_SET_PDEATHSIG ties the child to the thread
    # that forked it, so children must be started from a long-lived thread (the main one).
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ChildProcess:
    """One server process; its output goes to ``log_path`` and, with ``echo``, to our stdout."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        probe: Probe | None = None,
        echo: bool = False,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_path = log_path
        self.probe = probe
        self.echo = echo
        self.cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._process.poll() if self._process is not None else None

    def start(self) -> None:
        """Spawn the child; call from a thread that outlives it (see ``_die_with_parent``)."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {self.name}\n".encode())
        log.flush()
        stdout: int | IO[bytes] = subprocess.PIPE if self.echo else log
        try:
            self._process = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # only calls prctl: safe between fork and exec
            )
        except BaseException:
            log.close()
            raise
        if self.echo:
            self._pump = threading.Thread(
                target=self._copy_output, args=(self._process, log), daemon=True
            )
            self._pump.start()
        else:
            log.close()  # the child holds its own descriptor

    def _copy_output(self, process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        """Copy the child's output to its log file and, prefixed, to the terminal."""
        prefix = f"{self.name:<10}| ".encode()
        assert process.stdout is not None
        with log:
            for line in iter(process.stdout.readline, b""):
                log.write(line)
                log.flush()
                sys.stdout.buffer.write(prefix + line)
                sys.stdout.buffer.flush()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_bytes()[-64_000:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _failure(self, reason: str) -> ChildFailed:
        return ChildFailed(
            f"{self.name} {reason}; last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def _check_ready(self) -> bool:
        if not self.running:
            raise self._failure(f"exited with status {self.returncode} before it was ready")
        return self.probe is None or self.probe()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self._check_ready():
            if time.monotonic() > deadline:
                raise self._failure(f"was not ready after {timeout:g} s")
            time.sleep(0.1)

    async def wait_ready_async(self, timeout: float) -> None:
        """Like :meth:`wait_ready`, without blocking an event loop that serves a load."""
        deadline = time.monotonic() + timeout
        while not await asyncio.to_thread(self._check_ready):
            if time.monotonic() > deadline:
                raise self._failure(f"was not ready after {timeout:g} s")
            await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, as a crash would; returns once the process is reaped."""
        process = self._process
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        self._join_pump()

    def stop(self, grace: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit status."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        self._join_pump()
        return process.returncode

    def _join_pump(self) -> None:
        if self._pump is not None:
            self._pump.join(timeout=2)
            self._pump = None

    def restart(self, grace: float = 10.0) -> None:
        self.stop(grace)
        self.start()
