"""The session record in a DC's Redis (SESS-2, SESS-7), shared by bot, ingress and handler."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

SESSION_KEY_PREFIX = "ullc:session:"
MEDIA_KEY_PREFIX = "ullc:media:"
SESSIONS_CHANNEL = "ullc:sessions"


def session_key(bot_ufrag: str) -> str:
    return f"{SESSION_KEY_PREFIX}{bot_ufrag}"


@dataclass(frozen=True)
class SessionRecord:
    """SESS-7. No password: the store is a routing table, the secret stays in the bot."""

    session_id: str
    dc: str
    instance: str  # "ip:port" of the owning bot instance's media socket
    client_ufrag: str
    created_ms: int

    def to_wire(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_wire(cls, raw: str | bytes) -> SessionRecord:
        body: dict[str, Any] = json.loads(raw)
        return cls(
            session_id=str(body["session_id"]),
            dc=str(body["dc"]),
            instance=str(body["instance"]),
            client_ufrag=str(body["client_ufrag"]),
            created_ms=int(body["created_ms"]),
        )


@dataclass(frozen=True)
class StoredNotice:
    """SESS-7's publish after a store: what a holding ingress needs to forward at once.

    Carrying the owning instance (and the time to live) in the message spares the
    ingress a second KV round trip (a GET after the publish) on the critical path.
    """

    bot_ufrag: str
    instance: str  # "ip:port", as in the record
    ttl_ms: int

    def to_wire(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_wire(cls, raw: str | bytes) -> StoredNotice:
        """Raises ValueError (also for a non-JSON message) or KeyError/TypeError when broken."""
        body: dict[str, Any] = json.loads(raw)
        return cls(str(body["bot_ufrag"]), str(body["instance"]), int(body["ttl_ms"]))
