"""Fuzzing the REST api from its own OpenAPI description (schemathesis over real HTTP).

The schema is loaded from the running api's ``/openapi.json``; every operation gets a bounded
number of generated requests in three passes:

* ``identified``: schema-valid requests with a project and a UUID ``Client-ID``, so they pass
  the header checks of spec 1.2 and reach the handlers and storage (part of them on a seeded
  queue and topic with messages, a claim and a subscription);
* ``hostile``: schema-violating requests (negative generation) with the same identity headers
  (these two passes run on SQLite and on PostgreSQL: answers must not depend on the database);
* ``anonymous`` (SQLite only: it rarely gets past the headers): schema-valid requests whose
  identity headers are themselves generated (often absent or malformed), so the header checks
  are fuzzed too.

Every response must pass these checks:

* ``not_a_server_error``: no 5xx (guarantee 6 of DESIGN.md section 7);
* ``status_code_conformance``: the status is one the operation documents;
* ``content_type_conformance``: the body's media type is the documented one;
* ``response_schema_conformance``: the body matches the documented schema;
* ``response_headers_conformance``: documented response headers are present and well formed.

Excluded, because they do not hold for Zaqar semantics (the document cannot say more):

* ``positive_data_acceptance`` expects every schema-valid request to succeed, but many are
  refused by rules an OpenAPI description cannot express: ``DELETE .../messages`` needs
  exactly one of ``ids`` and ``pop``; ``share`` answers 400 while no secret key is configured;
  reserved queue metadata (``_default_message_ttl`` ...) has cross-field rules; a subscription
  PATCH needs at least one known field; bodies are bounded in bytes, not in items.
* ``negative_data_rejection`` expects every schema-violating request to be refused, but Zaqar
  validates bodies with Python types, where ``true`` is the integer 1 (``"delay": false`` is a
  valid delay), and ignores unknown query parameters and body fields everywhere.
* ``missing_required_header``, ``ignored_auth``, ``use_after_free``,
  ``ensure_resource_availability``, ``unsupported_method``: the document declares no security
  scheme (noauth reads ``X-Project-ID``; Keystone is covered by tests/auth), no links between
  operations, and 405s are covered by tests/api/test_hostile.py.

Generated subscriptions carry arbitrary subscriber URIs: they are only stored, because the
session suite runs no notifier (every notifier of the tests has its own NATS and database).

The run is derandomized (same cases on every run) and bounded by ``TIDINGS_FUZZ_MAX_EXAMPLES``
cases per operation and pass (default below); a bigger campaign::

    TIDINGS_FUZZ_MAX_EXAMPLES=500 .venv/bin/pytest tests/api/test_fuzz_openapi.py -q
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks as st_checks
from schemathesis.core.result import Ok

from tests.api.conftest import CLIENT_ID, new_project
from tests.fixtures.suite import Suite
from tidings.common.validation import PATCH_CONTENT_TYPE

pytestmark = pytest.mark.slow

DEFAULT_MAX_EXAMPLES = 40
REQUEST_TIMEOUT = 10.0
SEEDED_NAME = "fuzz-seeded"
IDENTITY_HEADER_NAMES = {"Client-ID", "X-Project-ID"}

# Queue PATCH bodies are JSON under Zaqar's own media type.
schemathesis.serializer.alias(PATCH_CONTENT_TYPE, "application/json")


@schemathesis.deserializer("application/json-home")
def json_home(_: schemathesis.DeserializationContext, response: schemathesis.Response) -> Any:
    """The home document (``GET /v2/``) is JSON, so its schema can be checked too."""
    return json.loads(response.content)


def max_examples() -> int:
    return int(os.environ.get("TIDINGS_FUZZ_MAX_EXAMPLES", DEFAULT_MAX_EXAMPLES))


def response_checks() -> list[Any]:
    return [
        st_checks.not_a_server_error,
        st_checks.status_code_conformance,
        st_checks.content_type_conformance,
        st_checks.response_schema_conformance,
        st_checks.response_headers_conformance,
    ]


@dataclass
class Campaign:
    """The tally of one pass: cases sent, and the failures by operation."""

    cases: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)

    def record(self, label: str, message: str) -> None:
        self.failures.setdefault(label, []).append(message)

    def report(self) -> str:
        lines = []
        for label, messages in self.failures.items():
            lines.append(f"{label}: {len(messages)} failing case(s); first:\n{messages[0]}")
        return "\n".join(lines)


@pytest.fixture(scope="module")
def schema(api_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{api_url}/openapi.json")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_api(request: pytest.FixtureRequest, api_url: str) -> str:
    """The api of the session suite on SQLite, or of the one on PostgreSQL (whose text
    parameters take no NUL: both databases must give the same documented answers)."""
    if request.param == "sqlite":
        return api_url
    pg_suite: Suite = request.getfixturevalue("pg_suite")
    return pg_suite.api_url


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


def fuzz_operation(
    operation: Any,
    strategy: st.SearchStrategy[Any],
    session: requests.Session,
    base_url: str,
    campaign: Campaign,
) -> None:
    """Run one operation's cases; the first failing case is recorded as generated."""
    label = operation.label

    @settings(
        max_examples=max_examples(),
        derandomize=True,
        database=None,
        deadline=None,
        # No shrinking: it would re-send requests for an unbounded while, and schemathesis
        # reports a failing case with its curl command, which is enough to reproduce it.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        campaign.cases += 1
        response = case.call(base_url=base_url, session=session, timeout=REQUEST_TIMEOUT)
        campaign.statuses[response.status_code] += 1
        case.validate_response(response, checks=response_checks())

    try:
        run()
    # One operation's failure must not hide the others'; schemathesis raises its findings as
    # an exception group (a BaseException).
    except (Exception, BaseExceptionGroup) as exc:
        campaign.record(label, str(exc)[:3000])


def run_campaign(
    schema: schemathesis.BaseSchema,
    session: requests.Session,
    base_url: str,
    make_strategy: Callable[[Any], st.SearchStrategy[Any]],
    negative: bool = False,
) -> Campaign:
    campaign = Campaign()
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            campaign.record("schema", f"an operation cannot be fuzzed: {result.err()}")
            continue
        operation = result.ok()
        if negative and not has_inputs(operation):
            continue  # nothing in it can be made invalid (GET /)
        fuzz_operation(operation, make_strategy(operation), session, base_url, campaign)
    return campaign


def has_inputs(operation: Any) -> bool:
    """Whether negative generation has something to spoil besides the fixed identity headers."""
    names = {parameter["name"] for parameter in operation.definition.raw.get("parameters", [])}
    return bool(names - IDENTITY_HEADER_NAMES) or bool(operation.body)


def identity_headers() -> dict[str, str]:
    return {"X-Project-ID": new_project(), "Client-ID": str(uuid.UUID(CLIENT_ID))}


def assert_clean(name: str, campaign: Campaign, started: float) -> None:
    elapsed = time.monotonic() - started
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(campaign.statuses.items()))
    print(f"\nfuzz pass {name}: {campaign.cases} cases in {elapsed:.1f} s ({statuses})")
    assert not campaign.failures, campaign.report()


def seed_resources(api_url: str, headers: dict[str, str]) -> dict[str, str]:
    """A queue and a topic with messages, a claim and a subscription, so that part of the
    generated requests address things that exist (random names and ids mostly miss)."""
    with httpx.Client(base_url=api_url, headers=headers, timeout=REQUEST_TIMEOUT) as http:
        for collection in ("queues", "topics"):
            assert http.put(f"/v2/{collection}/{SEEDED_NAME}").status_code == 201
            ids = post_messages_to(http, f"/v2/{collection}/{SEEDED_NAME}/messages", 12)
        queue = f"/v2/queues/{SEEDED_NAME}"
        claimed = http.post(f"{queue}/claims?limit=2", json={"ttl": 300, "grace": 60})
        assert claimed.status_code == 201, claimed.text
        subscribed = http.post(f"{queue}/subscriptions", json={"subscriber": "http://127.0.0.1:9"})
        assert subscribed.status_code == 201, subscribed.text
    return {
        "queue_name": SEEDED_NAME,
        "topic_name": SEEDED_NAME,
        "message_id": ids[-1],
        "claim_id": claimed.headers["Location"].rsplit("/", 1)[1],
        "subscription_id": subscribed.json()["subscription_id"],
    }


def post_messages_to(http: httpx.Client, path: str, count: int) -> list[str]:
    messages = [{"body": {"n": n}, "ttl": 600} for n in range(count)]
    response = http.post(path, json={"messages": messages})
    assert response.status_code == 201, response.text
    return [href.rsplit("/", 1)[1] for href in response.json()["resources"]]


def seeded_or_generated(
    operation: Any, headers: dict[str, str], seeded: dict[str, str]
) -> st.SearchStrategy[Any]:
    """Cases with generated path parameters, or with those of the seeded resources."""
    names = {p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"}
    generated: st.SearchStrategy[Any] = operation.as_strategy(headers=headers)
    if not names:
        return generated
    fixed = {name: seeded[name] for name in names}
    return st.one_of(generated, operation.as_strategy(headers=headers, path_parameters=fixed))


def test_identified_requests_get_documented_answers(
    schema: schemathesis.BaseSchema, session: requests.Session, database_api: str
) -> None:
    headers = identity_headers()
    seeded = seed_resources(database_api, headers)
    started = time.monotonic()
    campaign = run_campaign(
        schema,
        session,
        database_api,
        lambda operation: seeded_or_generated(operation, headers, seeded),
    )
    assert_clean("identified", campaign, started)
    # The identity headers got the cases past the header checks, into handlers and storage.
    assert sum(n for code, n in campaign.statuses.items() if code < 300) > campaign.cases // 4


def test_hostile_requests_get_documented_refusals(
    schema: schemathesis.BaseSchema, session: requests.Session, database_api: str
) -> None:
    headers = identity_headers()
    started = time.monotonic()
    campaign = run_campaign(
        schema,
        session,
        database_api,
        lambda operation: operation.as_strategy(
            generation_mode=schemathesis.GenerationMode.NEGATIVE, headers=headers
        ),
        negative=True,
    )
    assert_clean("hostile", campaign, started)
    assert campaign.cases > 0


def test_anonymous_requests_get_documented_refusals(
    schema: schemathesis.BaseSchema, session: requests.Session, api_url: str
) -> None:
    started = time.monotonic()
    campaign = run_campaign(schema, session, api_url, lambda operation: operation.as_strategy())
    assert_clean("anonymous", campaign, started)
    assert campaign.statuses[400] > 0  # missing or malformed identity headers were refused
