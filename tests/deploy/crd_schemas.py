"""JSON Schemas for the two custom resources the chart may render.

kubernetes-validate knows only the built-in API; ServiceMonitor (prometheus-operator) and
HTTPRoute (Gateway API) are CRDs. These schemas cover the fields the chart writes, strictly
(unknown fields are errors), as the CRDs' published API references define them.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def _strict(properties: Schema, required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


_STRING: Schema = {"type": "string"}
_PORT: Schema = {"type": "integer", "minimum": 1, "maximum": 65535}
_LABELS: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
_DURATION: Schema = {
    "type": "string",
    "pattern": r"^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
}
_METADATA: Schema = _strict(
    {"name": _STRING, "namespace": _STRING, "labels": _LABELS, "annotations": _LABELS},
    ["name"],
)

SERVICE_MONITOR: Schema = _strict(
    {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "ServiceMonitor"},
        "metadata": _METADATA,
        "spec": _strict(
            {
                "selector": _strict({"matchLabels": _LABELS}),
                "namespaceSelector": _strict(
                    {"matchNames": {"type": "array", "items": _STRING}, "any": {"type": "boolean"}}
                ),
                "endpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": _strict(
                        {
                            "port": _STRING,
                            "path": {"type": "string", "pattern": "^/"},
                            "interval": _DURATION,
                            "scrapeTimeout": _DURATION,
                        }
                    ),
                },
            },
            ["selector", "endpoints"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

_PATH_MATCH: Schema = _strict(
    {
        "type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
        "value": {"type": "string", "pattern": "^/", "maxLength": 1024},
    }
)
_HEADER_MATCH: Schema = _strict(
    {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$"},
        "type": {"enum": ["Exact", "RegularExpression"]},
        "value": {"type": "string", "minLength": 1, "maxLength": 4096},
    },
    ["name", "value"],
)
_PARENT_REF: Schema = _strict(
    {
        "group": _STRING,
        "kind": _STRING,
        "namespace": _STRING,
        "name": {"type": "string", "minLength": 1},
        "sectionName": _STRING,
        "port": _PORT,
    },
    ["name"],
)

HTTP_ROUTE: Schema = _strict(
    {
        "apiVersion": {"const": "gateway.networking.k8s.io/v1"},
        "kind": {"const": "HTTPRoute"},
        "metadata": _METADATA,
        "spec": _strict(
            {
                "parentRefs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 32,
                    "items": _PARENT_REF,
                },
                "hostnames": {"type": "array", "maxItems": 16, "items": _STRING},
                "rules": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 16,
                    "items": _strict(
                        {
                            "matches": {
                                "type": "array",
                                "maxItems": 64,
                                "items": _strict(
                                    {
                                        "path": _PATH_MATCH,
                                        "headers": {"type": "array", "items": _HEADER_MATCH},
                                    }
                                ),
                            },
                            "backendRefs": {
                                "type": "array",
                                "items": _strict(
                                    {"name": _STRING, "port": _PORT}, ["name", "port"]
                                ),
                            },
                        }
                    ),
                },
            },
            ["parentRefs", "rules"],
        ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
)

CUSTOM_RESOURCES: dict[tuple[str, str], Schema] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR,
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): HTTP_ROUTE,
}
