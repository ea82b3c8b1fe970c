"""Which suite test is known to catch each planted defect, and the world it needs.

``selftest --quick`` runs only these tests; the full self-test runs every suite and reports
whatever fails. Test ids are node ids relative to the suites folder; an id without a
``[parameter]`` stands for all its cases.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.stack.defects import Defect

SHORT_TTL_WORLD = "short-ttl"
"""harness/stack/worlds/short-ttl.json: sessions live 3 s, so expiry is testable."""


@dataclass(frozen=True)
class KnownCatch:
    defect: Defect
    section: str
    """The spec section the planted bug breaks (specs/<section>.md)."""
    tests: tuple[str, ...]
    world: str | None = None
    """A world of harness/stack/worlds the catching tests need (None: the default)."""


HAPPY = "happy_path/test_happy_path.py"
REGIONS = "happy_path/test_regions.py"
STUN = "conformance/test_conformance_stun.py"
SIGNALING = "conformance/test_conformance_signaling.py"
SDP = "conformance/test_conformance_sdp.py"
SESSIONS = "conformance/test_conformance_sessions.py"
CONTROL = "conformance/test_conformance_control.py"
RACE = "chaos/test_chaos_race.py"
KEEPALIVE = "conformance/test_conformance_keepalive.py"

CATALOG = (
    KnownCatch(
        Defect.GATEWAY_ON_OTHER_MAP,
        "routing",
        (f"{HAPPY}::test_routing_bet_hits_every_call_with_one_map",),
    ),
    KnownCatch(
        Defect.DNS_IGNORES_CLIENT_REGION,
        "routing",
        (f"{REGIONS}::test_clients_of_every_region_hit_their_own_edge_and_true_dc",),
    ),
    KnownCatch(
        Defect.EDGE_TIES_BY_MAP_ORDER,
        "routing (latency maps)",
        (f"{CONTROL}::test_maps_with_latency_ties_route_both_sides_to_the_smallest_dc_id",),
    ),
    KnownCatch(
        Defect.EDGE_HEALTH_REPORTS_BOOT_MAP,
        "routing (diagnosis), control-api",
        (f"{CONTROL}::test_maps_with_latency_ties_route_both_sides_to_the_smallest_dc_id",),
    ),
    KnownCatch(
        Defect.MAPS_NAMING_UNKNOWN_DCS_ACCEPTED,
        "routing (latency maps), control-api",
        (f"{CONTROL}::test_invalid_maps_are_refused_with_400_and_the_old_map_stays",),
    ),
    KnownCatch(
        Defect.SESSION_TTL_UNIT_MIXUP,
        "sessions",
        (f"{SESSIONS}::test_a_session_is_gone_after_its_time_to_live",),
        world=SHORT_TTL_WORLD,
    ),
    KnownCatch(
        Defect.ANSWER_CACHE_KEYED_BY_TRANSACTION,
        "sessions (isolation)",
        (
            f"{SESSIONS}::test_answered_transaction_id_reused_with_wrong_credentials_earns_no_success",
        ),
    ),
    KnownCatch(
        Defect.LISTING_SHOWS_CREDENTIALS,
        "control-api (session listing)",
        (f"{SESSIONS}::test_the_dc_lists_the_session_without_passwords",),
    ),
    KnownCatch(
        Defect.INGRESS_IGNORES_INTEGRITY,
        "stun (integrity)",
        (f"{STUN}::test_responder_rule[bad_integrity]",),
    ),
    KnownCatch(
        Defect.BOT_SIGNS_SHA1_ONLY,
        "stun (integrity)",
        (f"{SESSIONS}::test_check_signed_with_sha256_is_answered_signed_to_match",),
    ),
    KnownCatch(Defect.NO_FINGERPRINT, "stun", (f"{STUN}::test_responder_rule[valid]",)),
    KnownCatch(
        Defect.EDGE_FORGETS_CLIENT_ADDRESS,
        "stun",
        (f"{HAPPY}::test_xor_mapped_address_is_the_clients_address",),
    ),
    KnownCatch(
        Defect.ANSWERS_EACH_TRANSACTION_ONCE,
        "race",
        (f"{STUN}::test_retransmitted_check_is_answered_every_time",),
    ),
    KnownCatch(
        Defect.NO_SESSION_HOLD,
        "race (hold)",
        (f"{RACE}::test_held_check_is_released_when_the_session_is_stored",),
    ),
    KnownCatch(
        Defect.WRONG_DC_ANSWERS_401,
        "fallback",
        (f"{STUN}::test_responder_rule[unknown_ufrag]",),
    ),
    KnownCatch(
        Defect.RESPONSE_WITHOUT_DC_LOCATION,
        "fallback, signaling",
        (f"{SIGNALING}::test_valid_request_gets_session_created_matching_the_schema",),
    ),
    KnownCatch(
        Defect.GATEWAY_CLOSES_ON_BINARY_FRAME,
        "signaling",
        (f"{SIGNALING}::test_binary_frame_gets_bad_request_and_the_connection_stays_open",),
    ),
    KnownCatch(
        Defect.GATEWAY_REAPS_IDLE_CONNECTIONS,
        "signaling",
        (f"{KEEPALIVE}::test_gateway_answers_pings_and_keeps_an_idle_connection",),
    ),
    KnownCatch(
        Defect.SEQUENTIAL_SDP_WITHOUT_ICE_LITE,
        "sdp",
        (f"{SDP}::test_sequential_bot_sdp_passes_the_profile_checker",),
    ),
)


def known(defect: Defect) -> KnownCatch:
    return next(entry for entry in CATALOG if entry.defect is defect)


def covers(test: str, node_id: str) -> bool:
    """Whether ``node_id`` (a run's test) is ``test`` or one of its parameter cases."""
    return node_id == test or ("[" not in test and node_id.startswith(test + "["))
