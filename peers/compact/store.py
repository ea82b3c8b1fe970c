"""A DC's session store: an in-memory dict keyed by bot ufrag, each record with a TTL (SESS-2)."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Session:
    session_id: str
    bot_ufrag: str
    bot_pwd: str
    client_ufrag: str
    instance: str  # ip:port of the bot instance that owns it
    created: float  # time.monotonic()
    expires: float


class SessionStore:
    def __init__(self, ttl_ms: int) -> None:
        self.ttl_s = ttl_ms / 1000
        self._records: dict[str, Session] = {}

    def get(self, bot_ufrag: str) -> Session | None:
        """The live record, or None; an expired one is gone (SESS-6)."""
        record = self._records.get(bot_ufrag)
        if record is not None and record.expires <= time.monotonic():
            del self._records[bot_ufrag]
            return None
        return record

    def put(self, record: Session) -> None:
        self._records[record.bot_ufrag] = record

    def live(self) -> list[Session]:
        self.sweep()
        return list(self._records.values())

    def sweep(self) -> None:
        now = time.monotonic()
        for ufrag in [u for u, r in self._records.items() if r.expires <= now]:
            del self._records[ufrag]
