"""Hypothesis strategies for ``session.create`` requests: valid ones and malformed ones.

A malformed request says which field it broke (:attr:`MalformedRequest.field`), so a
test can check SIG-6's "bad_request naming the offending field" as well as "never
crashes the gateway". Frames that are not JSON objects at all have ``field = None``.

Example::

    from hypothesis import given
    from harness.fuzz.strategies.signaling import malformed_requests

    @given(malformed_requests(edge_ip="127.0.0.1"))
    def test_gateway_survives(request): ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from harness.protocol.ice import ICE_CHARS

_REQUEST_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789._-"
request_ids = st.text(alphabet=_REQUEST_ID_CHARS, min_size=1, max_size=64)
ufrags = st.text(alphabet=ICE_CHARS, min_size=12, max_size=32)
"""Valid ice-ufrags with room for SIG-8's randomness (the schema allows 4..256)."""
pwds = st.text(alphabet=ICE_CHARS, min_size=22, max_size=64)


@st.composite
def valid_requests(draw: st.DrawFn, *, edge_ip: str, sdp: str = "v=0\r\n") -> dict[str, Any]:
    """Schema-valid ULLC ``session.create`` bodies (the SDP is opaque to the schema)."""
    client_ufrag = draw(ufrags)
    bot_ufrag = draw(ufrags.filter(lambda u: u != client_ufrag))
    body: dict[str, Any] = {
        "type": "session.create",
        "request_id": draw(request_ids),
        "mode": "ullc",
        "client": {"sdp": sdp, "ice_ufrag": client_ufrag, "ice_pwd": draw(pwds)},
        "bot": {"ice_ufrag": bot_ufrag, "ice_pwd": draw(pwds)},
        "edge_ip": edge_ip,
    }
    if draw(st.booleans()):
        body["call_id"] = draw(st.text(max_size=40))
    return body


@dataclass(frozen=True)
class MalformedRequest:
    """One frame the gateway must answer with an error and survive (SIG-6, SIG-12)."""

    frame: str | bytes
    field: str | None
    """The schema field that was broken (its last path component), or None for frames
    that are not a JSON object of type ``session.create``."""
    how: str


_JUNK_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False),
    st.text(max_size=80),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
_BAD_STRINGS = {
    "request_id": st.one_of(st.just(""), st.text(min_size=1, max_size=8).map(lambda t: t + " !")),
    "ice_ufrag": st.one_of(st.text(alphabet=ICE_CHARS, max_size=3), st.just("bad ufrag!")),
    "ice_pwd": st.one_of(st.text(alphabet=ICE_CHARS, max_size=21), st.just("p" * 21 + ":")),
    "edge_ip": st.sampled_from(["", "999.1.1.1", "edge.example", "1.2.3", "::zz"]),
    "mode": st.sampled_from(["", "ULLC", "turbo", "sequential "]),
}
# Paths of string fields and whether dropping them breaks the request (required in ullc).
_FIELDS: list[tuple[tuple[str, ...], bool]] = [
    (("request_id",), True),
    (("mode",), True),
    (("client",), True),
    (("client", "sdp"), True),
    (("client", "ice_ufrag"), True),
    (("client", "ice_pwd"), True),
    (("bot",), True),
    (("bot", "ice_ufrag"), True),
    (("bot", "ice_pwd"), True),
    (("edge_ip",), True),
]


def _node(body: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = body
    for key in path[:-1]:
        node = node[key]
    return node


@st.composite
def malformed_requests(draw: st.DrawFn, *, edge_ip: str) -> MalformedRequest:
    """Requests with exactly one defect: a field dropped, of the wrong type, breaking its
    pattern, an unknown field added; or frames that are not requests at all."""
    kind = draw(
        st.sampled_from(["drop", "retype", "pattern", "extra", "not-json", "not-object", "type"])
    )
    body = draw(valid_requests(edge_ip=edge_ip))
    if kind == "not-json":
        text = draw(st.text(max_size=200).filter(lambda t: not _is_json(t)))
        return MalformedRequest(text, None, "not JSON")
    if kind == "not-object":
        value = draw(st.one_of(st.lists(st.integers(), max_size=3), st.integers(), st.text()))
        return MalformedRequest(json.dumps(value), None, "JSON but not an object")
    if kind == "type":
        body["type"] = draw(st.sampled_from(["session.created", "error", "ping", ""]))
        return MalformedRequest(json.dumps(body), None, "not a session.create")
    if kind == "extra":
        name = draw(st.sampled_from(["debug", "priority", "xyz"]))
        body[name] = draw(_JUNK_VALUES)
        return MalformedRequest(json.dumps(body), name, f"unknown field {name}")
    path, _ = draw(st.sampled_from(_FIELDS))
    node = _node(body, path)
    leaf = path[-1]
    if kind == "drop":
        del node[leaf]
        return MalformedRequest(json.dumps(body), leaf, f"{'.'.join(path)} missing")
    if kind == "pattern" and leaf in _BAD_STRINGS:
        node[leaf] = draw(_BAD_STRINGS[leaf])
        return MalformedRequest(json.dumps(body), leaf, f"{'.'.join(path)} breaks its pattern")
    # Retype: a value of another JSON type than the schema's (objects for strings, etc.).
    original = node[leaf]
    node[leaf] = draw(_JUNK_VALUES.filter(lambda v: type(v) is not type(original)))
    return MalformedRequest(json.dumps(body), leaf, f"{'.'.join(path)} of the wrong type")


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
