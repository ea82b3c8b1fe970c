"""Validation of signaling JSON against the schemas published in specs/schemas.

jsonschema is the judge; the gateway and the client run it on every message of
every call, where it cost a quarter of the gateway's CPU. So the two messages of
a call (``session.create`` and ``session.created``) first meet a hand-written
check that recognises the plainly valid ones. It is deliberately *stricter* than
the schema (anything it is unsure of, it leaves to jsonschema), so it can only
say "valid" where jsonschema says so too: the errors, their wording and their
field names all still come from jsonschema alone (SIG-6).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from harness.errors import ProtocolError
from harness.specs_data import load_schema

if TYPE_CHECKING:
    import jsonschema

SCHEMA_BY_TYPE = {
    "session.create": "session-create-request",
    "session.created": "session-create-response",
    "error": "error",
}


@dataclass(frozen=True)
class SchemaViolation:
    """One way a message breaks its schema; ``path`` is a JSON pointer-ish dotted path."""

    path: str
    message: str


@cache
def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    # jsonschema costs ~80 ms to import; result types import this module at start-up.
    import jsonschema

    return jsonschema.Draft202012Validator(
        load_schema(schema_name), format_checker=jsonschema.FormatChecker()
    )


# The schemas' patterns, anchored with fullmatch: jsonschema applies them with
# re.search, where "$" also matches before a final newline; fullmatch does not,
# which keeps the fast check the stricter one.
_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")  # request_id, dc
_UFRAG = re.compile(r"[A-Za-z0-9+/]{4,256}")
_PWD = re.compile(r"[A-Za-z0-9+/]{22,256}")
_CREATE_KEYS = frozenset({"type", "request_id", "mode", "call_id", "client", "bot", "edge_ip"})
_CLIENT_KEYS = frozenset({"sdp", "ice_ufrag", "ice_pwd"})
_BOT_KEYS = frozenset({"ice_ufrag", "ice_pwd", "sdp"})
_CREATED_KEYS = frozenset({"type", "request_id", "session_id", "dc", "media", "map_version", "bot"})
_MEDIA_KEYS = frozenset({"ip", "port"})
_SDP_MAX = 65536


@lru_cache(maxsize=1024)  # a handful of edge and media addresses, asked per call
def _is_ip(text: str) -> bool:
    """Format ipv4 or ipv6 as jsonschema's FormatChecker reads them (ipv6 without a scope)."""
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        pass
    try:
        return not ipaddress.IPv6Address(text).scope_id
    except ValueError:
        return False


def _text(value: Any, pattern: re.Pattern[str]) -> bool:
    return type(value) is str and pattern.fullmatch(value) is not None


def _credentials(value: Any, *, client: bool) -> bool:
    """The ``client`` object (sdp required, non-empty) or a ``bot`` object (sdp optional)."""
    keys = _CLIENT_KEYS if client else _BOT_KEYS
    if type(value) is not dict or not value.keys() <= keys:
        return False
    if not (_text(value.get("ice_ufrag"), _UFRAG) and _text(value.get("ice_pwd"), _PWD)):
        return False
    if "sdp" not in value:
        return not client
    sdp = value["sdp"]
    return type(sdp) is str and (1 if client else 0) <= len(sdp) <= _SDP_MAX


def _plainly_valid_create(message: dict[str, Any]) -> bool:
    """True only for a session.create that session-create-request.schema.json accepts."""
    if not message.keys() <= _CREATE_KEYS or message.get("type") != "session.create":
        return False
    mode = message.get("mode")
    if not (_text(message.get("request_id"), _NAME) and mode in ("ullc", "sequential")):
        return False
    call_id = message.get("call_id", "")
    if type(call_id) is not str or len(call_id) > 128:
        return False
    if not _credentials(message.get("client"), client=True):
        return False
    has_bot, has_edge = "bot" in message, "edge_ip" in message
    if mode == "sequential":
        return not (has_bot or has_edge)  # SIG-9
    edge_ip = message.get("edge_ip")
    return (
        has_bot
        and _credentials(message["bot"], client=False)
        and type(edge_ip) is str
        and _is_ip(edge_ip)
    )


def _plainly_valid_created(message: dict[str, Any]) -> bool:
    """True only for a session.created that session-create-response.schema.json accepts."""
    if not message.keys() <= _CREATED_KEYS or message.get("type") != "session.created":
        return False
    if not (_text(message.get("request_id"), _NAME) and _text(message.get("dc"), _NAME)):
        return False
    for key, longest in (("session_id", 128), ("map_version", 64)):
        value = message.get(key)
        if type(value) is not str or not 1 <= len(value) <= longest:
            return False
    media = message.get("media")
    if type(media) is not dict or media.keys() != _MEDIA_KEYS:
        return False
    ip, port = media["ip"], media["port"]
    if not (type(ip) is str and _is_ip(ip) and type(port) is int and 1 <= port <= 65535):
        return False
    return "bot" not in message or _credentials(message["bot"], client=False)


PLAINLY_VALID = {
    "session-create-request": _plainly_valid_create,
    "session-create-response": _plainly_valid_created,
}


def validate(message: Any, schema_name: str | None = None) -> list[SchemaViolation]:
    """Every schema violation of ``message``; empty when it conforms.

    Without ``schema_name`` the schema is picked from the message's ``type``.
    """
    if schema_name is None:
        if not isinstance(message, dict) or message.get("type") not in SCHEMA_BY_TYPE:
            kind = message.get("type") if isinstance(message, dict) else type(message).__name__
            return [SchemaViolation("type", f"unknown message type {kind!r}")]
        schema_name = SCHEMA_BY_TYPE[message["type"]]
    plainly_valid = PLAINLY_VALID.get(schema_name)
    if plainly_valid is not None and type(message) is dict and plainly_valid(message):
        return []
    errors = sorted(_validator(schema_name).iter_errors(message), key=lambda e: list(e.path))
    return [
        SchemaViolation(".".join(str(part) for part in error.path) or "(root)", error.message)
        for error in errors
    ]


class SignalingSchemaError(ProtocolError):
    """A signaling message does not match its JSON Schema (SIG-6, SIG-10, SIG-12).

    The message lists each offending field; fix the sender.
    """

    def __init__(self, kind: str, violations: list[SchemaViolation]) -> None:
        details = "; ".join(f"{v.path}: {v.message}" for v in violations)
        super().__init__(
            f"{kind} does not match its schema: {details}",
            hint="compare the message with specs/schemas/ (the schema file names the field rules)",
        )
        self.violations = violations
