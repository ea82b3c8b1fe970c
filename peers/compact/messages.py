"""Session Creation Request validation (schemas/session-create-request.schema.json, SIG-6)."""

from __future__ import annotations

import re
from typing import Any

from peers.compact.routing import canonical_ip

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
UFRAG = re.compile(r"^[A-Za-z0-9+/]{4,256}$")
PWD = re.compile(r"^[A-Za-z0-9+/]{22,256}$")


class BadRequest(ValueError):
    """SIG-6: the request does not match the schema; the message names the field."""


def _credentials(value: object, where: str, required: set[str], allowed: set[str]) -> None:
    if not isinstance(value, dict):
        raise BadRequest(f"{where}: expected an object")
    missing = required - set(value)
    if missing:
        raise BadRequest(f"{where}.{sorted(missing)[0]}: required field is missing")
    extra = set(value) - allowed
    if extra:
        raise BadRequest(f"{where}.{sorted(extra)[0]}: unknown field")
    for key, pattern in (("ice_ufrag", UFRAG), ("ice_pwd", PWD)):
        item = value[key]
        if not isinstance(item, str) or not pattern.match(item):
            raise BadRequest(f"{where}.{key}: does not match {pattern.pattern}")
    sdp = value.get("sdp")
    if "sdp" in value and (not isinstance(sdp, str) or len(sdp) > 65536):
        raise BadRequest(f"{where}.sdp: expected a string of at most 65536 characters")


def validate(request: Any, edge_ips: frozenset[str]) -> dict[str, Any]:
    """The request, or BadRequest naming the first offending field; an ``edge_ip`` must be
    one of ``edge_ips``, the deployment's edges (SIG-18)."""
    if not isinstance(request, dict):
        raise BadRequest("the message must be a JSON object")
    if request.get("type") != "session.create":
        raise BadRequest(f"type: expected 'session.create', got {request.get('type')!r}")
    allowed = {"type", "request_id", "mode", "call_id", "client", "bot", "edge_ip"}
    extra = set(request) - allowed
    if extra:
        raise BadRequest(f"{sorted(extra)[0]}: unknown field")
    request_id = request.get("request_id")
    if not isinstance(request_id, str) or not REQUEST_ID.match(request_id):
        raise BadRequest("request_id: required, 1..64 characters of [A-Za-z0-9._-]")
    mode = request.get("mode")
    if mode not in ("ullc", "sequential"):
        raise BadRequest(f"mode: expected 'ullc' or 'sequential', got {mode!r}")
    call_id = request.get("call_id")
    if "call_id" in request and (not isinstance(call_id, str) or len(call_id) > 128):
        raise BadRequest("call_id: expected a string of at most 128 characters")
    if "client" not in request:
        raise BadRequest("client: required field is missing")
    client = request["client"]
    _credentials(client, "client", {"sdp", "ice_ufrag", "ice_pwd"}, {"sdp", "ice_ufrag", "ice_pwd"})
    if not client["sdp"]:
        raise BadRequest("client.sdp: must not be empty")
    if mode == "ullc":
        for field in ("bot", "edge_ip"):
            if field not in request:
                raise BadRequest(f"{field}: required in ullc mode (SIG-4)")
        _credentials(
            request["bot"], "bot", {"ice_ufrag", "ice_pwd"}, {"ice_ufrag", "ice_pwd", "sdp"}
        )
        edge_ip = request["edge_ip"]
        if not isinstance(edge_ip, str) or canonical_ip(edge_ip) is None:
            raise BadRequest(f"edge_ip: expected an IPv4 or IPv6 address, got {edge_ip!r}")
        if canonical_ip(edge_ip) not in edge_ips:
            raise BadRequest(
                f"edge_ip: {edge_ip} is not an edge of this deployment (SIG-18); "
                f"use the address the global endpoint resolves to, one of {sorted(edge_ips)}"
            )
    else:
        for field in ("bot", "edge_ip"):
            if field in request:
                raise BadRequest(f"{field}: not allowed in sequential mode (SIG-9)")
    return request


def error(request_id: object, code: str, message: str, retryable: bool) -> dict[str, Any]:
    """An `error` message (SIG-12); request_id is copied when it is a valid one (SIG-3)."""
    body: dict[str, Any] = {
        "type": "error",
        "code": code,
        "message": message,
        "retryable": retryable,
    }
    if isinstance(request_id, str) and REQUEST_ID.match(request_id):
        body["request_id"] = request_id
    return body
