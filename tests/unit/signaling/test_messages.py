"""SIG-4, SIG-10, SIG-12: messages round-trip and validate against the published schemas."""

from __future__ import annotations

import json

import pytest

from harness.errors import ProtocolError
from harness.signaling import (
    BotCredentials,
    ClientOffer,
    ErrorCode,
    MediaAddress,
    Mode,
    SessionCreated,
    SessionCreateRequest,
    SignalingError,
    parse_message,
    validate,
)

CLIENT = ClientOffer(sdp="v=0\r\n", ice_ufrag="Cl1entUfragAbcd", ice_pwd="p" * 24)
BOT = BotCredentials(ice_ufrag="B0tUfragAbcdEfgh", ice_pwd="q" * 24)


def test_ullc_request_round_trips() -> None:
    request = SessionCreateRequest("r-1", Mode.ULLC, CLIENT, BOT, edge_ip="127.10.1.1")
    assert validate(request.to_json()) == []
    assert parse_message(json.dumps(request.to_json())) == request


def test_ullc_request_without_edge_ip_is_invalid() -> None:  # SIG-4
    body = SessionCreateRequest("r-1", Mode.ULLC, CLIENT, BOT).to_json()
    assert [v.path for v in validate(body)] == ["(root)"]


def test_sequential_request_must_not_carry_bot_credentials() -> None:  # SIG-9
    body = SessionCreateRequest("r-2", Mode.SEQUENTIAL, CLIENT, BOT).to_json()
    assert validate(body)
    assert validate(SessionCreateRequest("r-2", Mode.SEQUENTIAL, CLIENT).to_json()) == []


def test_response_and_error_round_trip() -> None:  # SIG-10, SIG-12
    created = SessionCreated("r-1", "s-1", "dc-eu", MediaAddress("127.10.1.1", 40001), "v1")
    error = SignalingError(ErrorCode.CONFLICT, "ufrag in use", retryable=False, request_id="r-3")
    for message in (created, error):
        assert parse_message(json.dumps(message.to_json())) == message


@pytest.mark.parametrize(
    ("frame", "needle"),
    [
        ("{", "not JSON"),
        ('{"type": "bogus"}', "unknown message type"),
        ('{"type": "session.created", "request_id": "r"}', "session_id"),
        (
            json.dumps(
                {
                    **SessionCreateRequest("r", Mode.ULLC, CLIENT, BOT, "1.2.3.4").to_json(),
                    "edge_ip": "nope",
                }
            ),
            "edge_ip",
        ),
    ],
)
def test_invalid_frames_raise_protocol_error_naming_the_field(frame: str, needle: str) -> None:
    with pytest.raises(ProtocolError, match=needle):
        parse_message(frame)


def test_short_password_violates_schema() -> None:  # SIG-4 (ice-pwd is 22..256 chars)
    body = SessionCreateRequest(
        "r", Mode.ULLC, ClientOffer("v=0", "abcd", "short"), BOT, "1.2.3.4"
    ).to_json()
    assert any(v.path == "client.ice_pwd" for v in validate(body))
