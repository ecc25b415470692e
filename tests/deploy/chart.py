"""Running helm on the Tidings chart: lint, render, and find rendered objects."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "tidings"
RELEASE = "tidings"
NAMESPACE = "queues"
HELM_TIMEOUT = 120

Manifest = dict[str, Any]


class HelmFailed(AssertionError):
    """helm exited non-zero; the message carries its output."""


@dataclass
class Helm:
    binary: Path

    def run(self, *args: str) -> str:
        result = subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            timeout=HELM_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise HelmFailed(f"helm {' '.join(args)}\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def lint(self, values: Iterable[str] = ()) -> str:
        return self.run("lint", "--strict", str(CHART), *value_args(values))

    def render(self, values: Iterable[str] = (), sets: Iterable[str] = ()) -> Rendered:
        args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
        args += value_args(values)
        for each in sets:
            args += ["--set", each]
        return Rendered([doc for doc in yaml.safe_load_all(self.run(*args)) if doc])

    def render_notes(self, values: Iterable[str] = ()) -> str:
        """NOTES.txt as ``helm install`` would print it. Only an install against a cluster
        prints the notes, so a copy of the chart renders the very same file through ``tpl``
        from a template of its own."""
        with tempfile.TemporaryDirectory() as workdir:
            copy = Path(workdir) / CHART.name
            shutil.copytree(CHART, copy)
            shutil.copy(CHART / "templates" / "NOTES.txt", copy / "notes.txt")
            (copy / "templates" / "zz-notes.yaml").write_text(
                'notes: {{ tpl (.Files.Get "notes.txt") . | toJson }}\n'
            )
            args = ["template", RELEASE, str(copy), "--namespace", NAMESPACE]
            args += value_args(values)
            output = self.run(*args, "--show-only", "templates/zz-notes.yaml")
        notes: str = yaml.safe_load(output)["notes"]
        return notes


def value_args(values: Iterable[str]) -> list[str]:
    args: list[str] = []
    for name in values:
        args += ["--values", str(CHART / name)]
    return args


@dataclass
class Rendered:
    manifests: list[Manifest]

    def of_kind(self, kind: str) -> list[Manifest]:
        return [m for m in self.manifests if m["kind"] == kind]

    def named(self, kind: str, name: str) -> Manifest:
        for manifest in self.of_kind(kind):
            if manifest["metadata"]["name"] == name:
                return manifest
        raise KeyError(f"no {kind} {name} in {sorted(self.names(kind))}")

    def names(self, kind: str) -> set[str]:
        return {m["metadata"]["name"] for m in self.of_kind(kind)}

    def containers(self) -> Iterator[tuple[Manifest, dict[str, Any]]]:
        """(manifest, container) for every container of every pod-bearing object."""
        for manifest in self.manifests:
            spec = pod_spec(manifest)
            if spec is not None:
                for container in spec.get("containers", []):
                    yield manifest, container


def pod_spec(manifest: Manifest) -> dict[str, Any] | None:
    if manifest["kind"] == "Pod":
        spec: dict[str, Any] = manifest["spec"]
        return spec
    if manifest["kind"] in {"Deployment", "StatefulSet", "Job", "DaemonSet"}:
        template: dict[str, Any] = manifest["spec"]["template"]["spec"]
        return template
    return None


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """name -> value, or name -> valueFrom for variables taken from a Secret."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}
