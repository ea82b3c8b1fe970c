"""SESS-7: the store's publish names the owner, so a holding ingress needs no second lookup."""

from __future__ import annotations

import json

import pytest

from harness.stack.sessions import StoredNotice


def test_notice_round_trips_as_compact_json() -> None:
    notice = StoredNotice("B0tUfragAbcdEfgh", "127.77.100.10:40000", 60_000)
    wire = notice.to_wire()
    assert json.loads(wire) == {
        "bot_ufrag": "B0tUfragAbcdEfgh",
        "instance": "127.77.100.10:40000",
        "ttl_ms": 60_000,
    }
    assert StoredNotice.from_wire(wire.encode()) == notice


@pytest.mark.parametrize("raw", [b"B0tUfragAbcdEfgh", b'{"bot_ufrag": "x"}', b"[1, 2]"])
def test_anything_else_is_refused(raw: bytes) -> None:
    # The ingress reads such a message as a bare ufrag to look up (SESS-7).
    with pytest.raises((ValueError, KeyError, TypeError)):
        StoredNotice.from_wire(raw)
