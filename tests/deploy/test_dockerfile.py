"""The container images: one Dockerfile target per service, small, non-root, health-checked.

Docker cannot run here, so these check the Dockerfile's structure against the code: every
service has a target whose command starts a module that exists, on the port the service
reports, with a HEALTHCHECK on that port and a numeric non-root user.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest

from tests.deploy.dockerfile import Stage, exec_form, inherited, parse_stages

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"

# target -> (factory the service runs, port it listens on)
SERVICES = {
    "api": ("tidings.api.app:create_app", 8888),
    "storage": ("tidings.storage.app:create_app", 8801),
    "websocket": ("tidings.websocket.app:create_app", 9000),
    "notifier": ("tidings.notifier.app:create_app", 8821),
}


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    return parse_stages(DOCKERFILE)


def module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def env_of(stages: dict[str, Stage], name: str) -> dict[str, str]:
    """ENV key=value pairs of a stage and the stages below it (the stage's own win)."""
    chain: list[Stage] = []
    stage: Stage | None = stages[name]
    while stage is not None:
        chain.append(stage)
        stage = stages.get(stage.base)
    env: dict[str, str] = {}
    for each in reversed(chain):
        for argument in each.values("ENV"):
            for pair in shlex.split(argument):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


@pytest.mark.parametrize("target", sorted(SERVICES))
def test_every_service_has_a_target_running_its_factory(
    stages: dict[str, Stage], target: str
) -> None:
    factory, port = SERVICES[target]
    assert target in stages, f"no `--target {target}` in the Dockerfile"
    cmd = exec_form(stages[target].last("CMD") or "null")
    assert cmd[:4] == ["python", "-m", "uvicorn", "--factory"]
    assert cmd[4] == factory
    assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
    assert cmd[cmd.index("--port") + 1] == str(port)
    assert module_exists(factory.partition(":")[0]), f"{factory} is not an importable module"
    assert str(port) in stages[target].values("EXPOSE")


@pytest.mark.parametrize("target", sorted(SERVICES))
def test_every_service_target_has_a_healthcheck_on_its_port(
    stages: dict[str, Stage], target: str
) -> None:
    _, port = SERVICES[target]
    check = stages[target].last("HEALTHCHECK")
    assert check is not None, f"target {target} has no HEALTHCHECK"
    options, _, command = check.partition(" CMD ")
    assert re.search(r"--timeout=\d+s", options)
    probe = exec_form(command)
    assert probe[0] == "python"  # the slim image carries no curl
    assert f"http://127.0.0.1:{port}/healthz" in probe[-1]


@pytest.mark.parametrize("target", [*sorted(SERVICES), "migrate"])
def test_images_run_as_a_numeric_non_root_user(stages: dict[str, Stage], target: str) -> None:
    user = inherited(stages, target, "USER")
    assert user is not None, f"target {target} runs as root"
    uid, _, gid = user.partition(":")
    # Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
    assert uid.isdigit() and int(uid) != 0
    assert not gid or (gid.isdigit() and int(gid) != 0)


def test_migration_target_runs_the_migrate_module(stages: dict[str, Stage]) -> None:
    cmd = exec_form(stages["migrate"].last("CMD") or "null")
    assert cmd == ["python", "-m", "tidings.storage.migrate"]
    assert module_exists("tidings.storage.migrate")


def test_production_images_log_json(stages: dict[str, Stage]) -> None:
    for target in [*SERVICES, "migrate"]:
        assert env_of(stages, target).get("TIDINGS_LOG_FORMAT") == "json", target


def test_images_share_a_slim_base_and_copy_only_the_virtualenv(stages: dict[str, Stage]) -> None:
    runtime = stages["runtime"]
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", DOCKERFILE.read_text(), re.MULTILINE)
    assert base is not None and base[1].startswith("python:") and "slim" in base[1]
    assert stages["build"].base == stages["runtime"].base == "${PYTHON_IMAGE}"
    assert all(stages[t].base == "runtime" for t in [*SERVICES, "migrate"])
    copies = runtime.values("COPY")
    assert copies == ["--from=build /opt/tidings /opt/tidings"], "runtime must not carry sources"


def test_build_context_holds_what_the_build_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text().split()
    for needed in ("pyproject.toml", "README.md", "libs/", "services/", "tools/"):
        assert f"!{needed}" in ignore
