"""The signature of spec 6.1, byte for byte, and what a signature grants (no services)."""

from __future__ import annotations

import datetime

import pytest

from tidings.common import signed_url as su
from tidings.common.errors import InvalidRequest

EXPIRES = datetime.datetime(2035, 1, 1, tzinfo=datetime.UTC)
NOW = datetime.datetime(2030, 6, 1, tzinfo=datetime.UTC)
KEY = "secret"
PATHS = ["/v2/queues/myqueue/messages", "/v2/queues/myqueue/claims"]


def test_the_spec_test_vectors() -> None:
    message = su.signed_message(PATHS, ["POST", "GET"], "7e55e1a7e", EXPIRES)
    assert message == (
        "/v2/queues/myqueue/claims,/v2/queues/myqueue/messages\\nGET,POST\\n7e55e1a7e"
        "\\n2035-01-01T00:00:00"
    )
    assert su.signature(KEY, PATHS, ["POST", "GET"], "7e55e1a7e", EXPIRES) == (
        "9155f4cf4a20044595c3f9b274b13bc2486ec90be8019754319e96d022432e1b"
    )
    assert su.signature(KEY, ["/v2/queues/myqueue/messages"], ["GET"], None, EXPIRES) == (
        "b27cfcdab3a29b5783d42a715c05f8bd482def38c21d8354ea4be8376c773362"
    )


def test_expiry_offsets_are_converted_to_utc_before_signing() -> None:
    shifted = su.parse_expires("2035-01-01T01:00:00+01:00")
    assert su.format_expires(shifted) == "2035-01-01T00:00:00"
    assert su.signature(KEY, PATHS, ["GET"], "p", shifted) == su.signature(
        KEY, PATHS, ["GET"], "p", EXPIRES
    )
    with pytest.raises(ValueError):
        su.parse_expires("1234567890")
    with pytest.raises(ValueError):
        su.parse_expires("tomorrow")


def signed(**changes: object) -> su.SignedRequest:
    good = su.create(KEY, PATHS, ["GET", "POST"], "p1", EXPIRES)
    fields: dict[str, object] = {
        "signature": good.signature,
        "expires": good.expires,
        "methods": good.methods,
        "paths": good.paths,
        "project": "p1",
    }
    fields.update(changes)
    return su.SignedRequest(**fields)  # type: ignore[arg-type]


def test_a_good_signature_grants_its_methods_on_its_paths_and_below() -> None:
    assert signed().grants(KEY, "GET", "/v2/queues/myqueue/messages", NOW)
    assert signed().grants(KEY, "POST", "/v2/queues/myqueue/claims", NOW)
    assert signed().grants(KEY, "GET", "/v2/queues/myqueue/messages/abc123", NOW)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v2/queues/myqueue/messages"),  # method not signed
        ("get", "/v2/queues/myqueue/messages"),  # methods compare exactly
        ("GET", "/v2/queues/myqueue/subscriptions"),  # path not signed
        ("GET", "/v2/queues/myqueue"),  # a parent of a signed path
        ("POST", "/v2/queues/myqueue/share"),  # never sharable further
        ("GET", "/v2/queues/myqueue/messagesX"),  # not a whole segment
        ("GET", "/v2/queues/other/messages"),
        ("GET", "/x/v2/queues/myqueue/messages"),  # Zaqar's unanchored search took this
        ("GET", "/v2/queues/myqueue/messages/../../other/messages"),
    ],
)
def test_a_signature_grants_nothing_else(method: str, path: str) -> None:
    assert not signed().grants(KEY, method, path, NOW)


def test_a_dot_in_a_signed_queue_name_is_not_a_wildcard() -> None:
    request = signed(
        signature=su.signature(KEY, ["/v2/queues/a.b/messages"], ["GET"], "p1", EXPIRES),
        paths=["/v2/queues/a.b/messages"],
        methods=["GET"],
    )
    assert request.grants(KEY, "GET", "/v2/queues/a.b/messages", NOW)
    assert not request.grants(KEY, "GET", "/v2/queues/aXb/messages", NOW)


def test_forged_truncated_empty_and_tampered_signatures_are_refused() -> None:
    good = signed().signature
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    for bad in [flipped, good[:-1], good[:32], "", good.upper(), good + "0", "é" * 64]:
        assert not signed(signature=bad).grants(KEY, "GET", PATHS[0], NOW), bad
    # Every signed field is bound.
    assert not signed(project="p2").grants(KEY, "GET", PATHS[0], NOW)
    assert not signed(project=None).grants(KEY, "GET", PATHS[0], NOW)
    assert not signed(methods=["GET", "POST", "DELETE"]).grants(KEY, "GET", PATHS[0], NOW)
    assert not signed(paths=[*PATHS, "/v2/queues/x/messages"]).grants(
        KEY, "GET", "/v2/queues/x/messages", NOW
    )
    assert not signed(expires="2036-01-01T00:00:00").grants(KEY, "GET", PATHS[0], NOW)
    assert not signed(expires="").grants(KEY, "GET", PATHS[0], NOW)
    # Another key, or none configured.
    assert not signed().grants("other", "GET", PATHS[0], NOW)
    assert not signed().grants(None, "GET", PATHS[0], NOW)
    assert not signed().grants("", "GET", PATHS[0], NOW)


def test_an_expired_signature_is_refused_even_when_genuine() -> None:
    past = datetime.datetime(2030, 5, 31, 23, 59, 59, tzinfo=datetime.UTC)
    request = signed(
        signature=su.signature(KEY, PATHS, ["GET", "POST"], "p1", past),
        expires=su.format_expires(past),
    )
    assert not request.grants(KEY, "GET", PATHS[0], NOW)
    assert request.grants(KEY, "GET", PATHS[0], past - datetime.timedelta(seconds=1))


def test_an_empty_signature_header_is_no_signature() -> None:
    assert su.SignedRequest.from_http_headers({"url-signature": ""}) is None
    assert su.SignedRequest.from_frame_headers({"URL-Signature": ""}) is None
    assert su.SignedRequest.from_http_headers({}) is None


def test_frame_headers_need_json_arrays() -> None:
    good = signed()
    as_frame = {
        "URL-Signature": good.signature,
        "URL-Expires": good.expires,
        "URL-Methods": ",".join(good.methods),  # a comma string is not a frame's list
        "URL-Paths": good.paths,
        "X-Project-ID": "p1",
    }
    parsed = su.SignedRequest.from_frame_headers(as_frame)
    assert parsed is not None and not parsed.grants(KEY, "GET", PATHS[0], NOW)
    as_frame["URL-Methods"] = good.methods
    parsed = su.SignedRequest.from_frame_headers(as_frame)
    assert parsed is not None and parsed.grants(KEY, "GET", PATHS[0], NOW)


def test_share_request_parsing() -> None:
    paths, methods, expires = su.parse_share_request({}, "/v2/queues/q", NOW)
    assert (paths, methods) == (["/v2/queues/q/messages"], ["GET"])
    assert expires == NOW + datetime.timedelta(days=1)
    paths, methods, expires = su.parse_share_request(
        {"paths": ["claims", "messages"], "methods": ["POST", "GET"],
         "expires": "2031-01-01T00:00:00.123456"},
        "/v2/queues/q",
        NOW,
    )  # fmt: skip
    assert paths == ["/v2/queues/q/claims", "/v2/queues/q/messages"]
    assert su.format_expires(expires) == "2031-01-01T00:00:00"
    for bad in [
        [],
        {"project_id": "p"},
        {"paths": ["queues"]},
        {"paths": "messages"},
        {"paths": []},
        {"methods": "GET"},
        {"methods": []},
        {"methods": ["GET,POST"]},
        {"expires": 1735689600},
        {"expires": "1735689600"},
        {"expires": "not a date"},
        {"expires": "2030-01-01T00:00:00"},  # in the past
    ]:
        with pytest.raises(InvalidRequest):
            su.parse_share_request(bad, "/v2/queues/q", NOW)
