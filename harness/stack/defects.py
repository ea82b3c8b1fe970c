"""Deliberately broken variants of the reference stack: a self-test of the harness.

A suite that passes against a stack with a known bug proves nothing, so each
:class:`Defect` below is one realistic bug, planted at the place in the stack
where such a bug would really live (the gateway's boot map, the bot's encoder,
the ingress's hold...), and ``tests/variants/`` shows that at least one suite
test fails against it while passing against the clean stack.

Never active by default. Two ways to switch defects on:

- from Python: ``start_local_stack(defects={Defect.NO_FINGERPRINT})`` or
  ``LocalBackend(..., defects=...)``;
- from the environment, for a whole pytest run of the suites without any
  plugin change: ``ULLC_REFERENCE_DEFECTS=no-fingerprint,no-session-hold``
  (member values or names, case-insensitive; read by :class:`LocalBackend`
  whenever its ``defects`` argument is not given). ``ULLC_REFERENCE_DEFECTS=``
  (empty) means none.

A stack started with defects says so on stderr and in its ``stack.json``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from enum import Enum

from harness.stack.errors import UnknownDefectError

DEFECTS_ENV = "ULLC_REFERENCE_DEFECTS"


class Defect(Enum):
    """One planted bug; its docstring says what breaks and which requirement it violates."""

    GATEWAY_ON_OTHER_MAP = "gateway-on-other-map"
    """Gateway boots on another map version than the edges: every bet misses (ROUTE-1, ROUTE-7)."""

    INGRESS_IGNORES_INTEGRITY = "ingress-ignores-integrity"
    """Bot signs a success for any check naming its session, MI unread (STUN-45, SESS-5)."""

    RESPONSE_WITHOUT_DC_LOCATION = "response-without-dc-location"
    """Gateway strips dc and media from session.created: no fallback target (SIG-10, FB-1)."""

    NO_FINGERPRINT = "no-fingerprint"
    """Bot responses lack FINGERPRINT, so clients must discard them (STUN-8)."""

    NO_SESSION_HOLD = "no-session-hold"
    """Ingress drops checks for a not-yet-stored session instead of holding them (RACE-3)."""

    EDGE_FORGETS_CLIENT_ADDRESS = "edge-forgets-client-address"
    """Edge relays with its own socket as source: XOR-MAPPED-ADDRESS names it (STUN-13)."""

    ANSWERS_EACH_TRANSACTION_ONCE = "answers-each-transaction-once"
    """Bot drops retransmissions of a transaction it answered once (RACE-5, STUN-49)."""

    WRONG_DC_ANSWERS_401 = "wrong-dc-answers-401"
    """A DC without the session answers 401 (RFC 8489 §9.1.3), not silence (STUN-44, FB-3)."""

    DNS_IGNORES_CLIENT_REGION = "dns-ignores-client-region"
    """DNS answers every client with the default region's edge (TOPO-9, ROUTE-7)."""

    EDGE_TIES_BY_MAP_ORDER = "edge-ties-by-map-order"
    """Edges break latency ties by the map's key order, the gateway by DC id (ROUTE-3)."""

    MAPS_NAMING_UNKNOWN_DCS_ACCEPTED = "maps-naming-unknown-dcs-accepted"
    """Gateway and edges load maps routing to DCs they cannot reach (ROUTE-4, CTL-3)."""

    ANSWER_CACHE_KEYED_BY_TRANSACTION = "answer-cache-keyed-by-transaction"
    """Bot caches answers by transaction ID: a forged reuse gets the cached success (SESS-5)."""

    SESSION_TTL_UNIT_MIXUP = "session-ttl-unit-mixup"
    """The bot reads the session TTL as seconds: sessions outlive it 1000-fold (SESS-6)."""

    BOT_SIGNS_SHA1_ONLY = "bot-signs-sha1-only"
    """The bot verifies and answers MESSAGE-INTEGRITY only, MI-SHA256 unread (STUN-11)."""

    GATEWAY_CLOSES_ON_BINARY_FRAME = "gateway-closes-on-binary-frame"
    """The gateway closes the WebSocket on a binary frame instead of answering (SIG-1)."""

    GATEWAY_REAPS_IDLE_CONNECTIONS = "gateway-reaps-idle-connections"
    """The gateway closes a connection after 3 s without an answer sent (SIG-2)."""

    EDGE_HEALTH_REPORTS_BOOT_MAP = "edge-health-reports-boot-map"
    """Edge health names its start-up map version, not the one in use (ROUTE-6)."""

    LISTING_SHOWS_CREDENTIALS = "listing-shows-credentials"
    """The DC's session listing echoes the creation request, bot password included (SESS-1)."""

    SEQUENTIAL_SDP_WITHOUT_ICE_LITE = "sequential-sdp-without-ice-lite"
    """The sequential-mode bot SDP of session.created lacks a=ice-lite (SDP-8, SIG-9)."""


def parse_defects(names: Iterable[str]) -> frozenset[Defect]:
    """Defects by value (``no-fingerprint``) or name (``NO_FINGERPRINT``), case-insensitive."""
    by_key = {d.value: d for d in Defect} | {d.name.lower(): d for d in Defect}
    found = set()
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        defect = by_key.get(name.lower())
        if defect is None:
            raise UnknownDefectError(
                f"no reference-stack defect named {name!r}",
                hint=f"known defects: {', '.join(d.value for d in Defect)}",
            )
        found.add(defect)
    return frozenset(found)


def defects_from_env(environ: dict[str, str] | None = None) -> frozenset[Defect]:
    """The defects ``ULLC_REFERENCE_DEFECTS`` asks for; none when it is unset or empty."""
    value = (os.environ if environ is None else environ).get(DEFECTS_ENV, "")
    return parse_defects(value.split(","))


def describe(defects: Iterable[Defect]) -> str:
    """``a,b`` in a stable order: the form ``ULLC_REFERENCE_DEFECTS`` takes."""
    return ",".join(sorted(d.value for d in defects))
