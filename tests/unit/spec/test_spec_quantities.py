"""The numbers the spec states: one value per quantity, and the harness uses that value.

Issue 17 found SIG-8 asking for 60 bits of ufrag randomness while SDP-6 asked
for 24 and said the harness generates 8 characters (it generated 16). Quantity
markers (harness.spec_quantities) make such numbers data; these tests fail when
two places state one quantity differently, or when the harness's constant for
a quantity is not what the spec says.
"""

from __future__ import annotations

import json
import re
import tomllib
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

from harness.client.client import DEADLINE_MARGIN_S, DEFAULT_DEADLINE_S
from harness.client.media import BACKOFF_AFTER_S, BACKOFF_CAP_S
from harness.conformance.bounds import HOLD_MS, SLACK_MS
from harness.protocol import ice
from harness.spec_index import by_id, parse, requirements, statements, statements_in
from harness.spec_quantities import MARKER, conflicts, malformed
from harness.stack.components.ingress import HOLD_PER_UFRAG, HOLD_TOTAL
from harness.stack.plan import INGRESS_HOLD_S, SIGNALING_TIMEOUT_S
from harness.target.model import DEFAULT_STUN_PORT, Limits

SPECS = Path(__file__).resolve().parents[3] / "specs"

# The two paragraphs as they stood before issue 17, with their numbers marked.
OLD_SIG_8 = (
    "**SIG-8** The client's ICE ufrags MUST carry {ufrag_random_bits >= 60 bits} of\n"
    "randomness and its passwords {pwd_random_bits >= 128 bits}.\n"
)
OLD_SDP_6 = (
    "- **SDP-6** (RFC 8839 §5.4) Exactly one `a=ice-ufrag`. The client generates both\n"
    "ufrags with {ufrag_random_bits >= 24 bits} of randomness (RFC 8445 §5.3); the\n"
    "harness generates {harness_ufrag_length = 8 characters}.\n"
)


def test_old_contradiction_of_sig_8_and_sdp_6_is_reported_with_both_places() -> None:
    found = statements_in(OLD_SIG_8, "signaling.md") + statements_in(OLD_SDP_6, "sdp.md")
    reported = conflicts(found)
    assert [c.name for c in reported] == ["ufrag_random_bits"]
    text = str(reported[0])
    assert "SIG-8 (signaling.md:1)" in text
    assert "SDP-6 (sdp.md:2)" in text
    assert ">= 60 bits" in text
    assert ">= 24 bits" in text


def test_same_fact_in_other_words_is_no_conflict() -> None:
    text = (
        "**SIG-1** Wait {call_deadline = 5 s}.\n\n**SIG-2** Or {call_deadline = 5000 ms}.\n\n"
        "**SIG-3** Under {username_bytes < 509 bytes}.\n\n"
        "**SIG-4** Up to {username_bytes <= 508 bytes}.\n"
    )
    assert conflicts(statements_in(text, "t.md")) == []
    shifted = text.replace("5000 ms", "5001 ms")
    assert [c.name for c in conflicts(statements_in(shifted, "t.md"))] == ["call_deadline"]


def test_markers_render_as_plain_words_and_stay_data_in_the_index() -> None:
    text = (
        "**SIG-9** Tp is {tp = 50 ms} within {tp_range in 20..100 ms}, ufrags carry "
        "{ufrag_random_bits >= 60 bits}, USERNAME {username_bytes < 509 bytes}, at most "
        "{hold_total = 10,000 datagrams}, RTO {rfc8489_rto >= 0.5 s}.\n"
    )
    (requirement,) = parse(text, "t.md")
    assert requirement.text == (
        "Tp is 50 ms within 20..100 ms, ufrags carry at least 60 bits, USERNAME fewer "
        "than 509 bytes, at most 10,000 datagrams, RTO at least 0.5 s."
    )
    assert [q.name for q in requirement.quantities] == [
        "tp",
        "tp_range",
        "ufrag_random_bits",
        "username_bytes",
        "hold_total",
        "rfc8489_rto",
    ]
    assert requirement.quantities[1].high == Decimal(100)
    assert requirement.quantities[4].low == Decimal(10000)
    assert "{tp = 50 ms}" in requirement.source


def test_the_shipped_spec_states_every_quantity_one_way() -> None:
    found = statements()
    assert len(found) > 40  # the markers are there at all
    problems = conflicts(found)
    assert not problems, "\n".join(str(p) for p in problems)


def test_every_marker_like_brace_in_the_spec_parses() -> None:
    bad = [
        f"{path.name}: {excerpt}"
        for path in sorted(SPECS.glob("*.md"))
        for _, excerpt in malformed(path.read_text("utf-8"))
    ]
    assert not bad, "quantity markers that do not parse ({name OP value unit}):\n" + "\n".join(bad)
    assert list(malformed("{tp = fifty ms}")) == [(0, "{tp = fifty ms}")]


def test_ufrag_randomness_is_stated_alike_by_sig_8_and_sdp_6() -> None:
    # Issue 17's first point, settled: one floor (60 bits), one generated length (16).
    index = by_id()
    for ident in ("SIG-8", "SDP-6"):
        names = {q.name: q for q in index[ident].quantities}
        assert names["ufrag_random_bits"].low == 60, ident
        assert names["harness_ufrag_length"].low == 16, ident
    assert "generates 8" not in index["SDP-6"].text


def _stated(name: str) -> tuple[str, Decimal, Decimal | None, str]:
    values = {s.quantity.normalized() for s in statements() if s.quantity.name == name}
    assert len(values) == 1, f"{name}: stated {len(values)} ways (or not at all)"
    return values.pop()


def _ms(seconds: float) -> Decimal:
    return Decimal(str(seconds)) * 1000


def _world() -> dict[str, Decimal | tuple[Decimal, Decimal]]:
    """TOPO-10's figures, read from the default world the stack ships."""
    text = files("harness.stack").joinpath("worlds", "default.json").read_text("utf-8")
    latency = json.loads(text)["latency_ms"]

    def one(values: list[float]) -> Decimal:
        assert len(set(values)) == 1, values
        return Decimal(str(values[0]))

    home = [dcs[f"dc-{edge[5:]}"] for edge, dcs in latency["edge_dc"].items()]
    cross = [
        ms for edge, dcs in latency["edge_dc"].items() for dc, ms in dcs.items()
        if dc != f"dc-{edge[5:]}"
    ]  # fmt: skip
    client_edge = one(list(latency["client_edge"].values()))
    return {
        "world_client_edge": client_edge,
        "world_edge_dc": one(home),
        "world_client_dc_rtt": 2 * (client_edge + one(home)),
        "world_client_gateway": Decimal(str(latency["client_gateway"])),
        "world_gateway_dc": one(list(latency["gateway_dc"].values())),
        "world_dc_kv": one(list(latency["dc_kv"].values())),
        "world_cross_edge_dc": (Decimal(min(cross)), Decimal(max(cross))),
    }


HARNESS_VALUES: dict[str, tuple[Decimal, ...]] = {
    **{name: value if isinstance(value, tuple) else (value,) for name, value in _world().items()},
    "harness_ufrag_random_bits": (Decimal(ice.entropy_bits(ice.GENERATED_UFRAG_LENGTH)),),
    "harness_pwd_random_bits": (Decimal(ice.entropy_bits(ice.GENERATED_PWD_LENGTH)),),
    "ice_char_bits": (Decimal(ice.BITS_PER_CHAR),),
    # The spec's number -> the harness constant that implements it.
    "ufrag_random_bits": (Decimal(ice.UFRAG_MIN_BITS),),
    "pwd_random_bits": (Decimal(ice.PWD_MIN_BITS),),
    "harness_ufrag_length": (Decimal(ice.GENERATED_UFRAG_LENGTH),),
    "harness_pwd_length": (Decimal(ice.GENERATED_PWD_LENGTH),),
    "ufrag_length": tuple(Decimal(n) for n in ice.UFRAG_LENGTH),
    "pwd_length": tuple(Decimal(n) for n in ice.PWD_LENGTH),
    "username_bytes": (Decimal(ice.USERNAME_MAX_BYTES),),
    "tp": (Decimal(ice.DEFAULT_TP_MS), Decimal(Limits().pacing_ms)),
    "tp_range": tuple(Decimal(n) for n in ice.TP_RANGE_MS),
    "backoff_after": (_ms(BACKOFF_AFTER_S),),
    "backoff_cap": (_ms(BACKOFF_CAP_S),),
    "call_deadline": (_ms(DEFAULT_DEADLINE_S), _ms(ice.DEFAULT_DEADLINE_S)),
    "deadline_margin": (_ms(DEADLINE_MARGIN_S),),
    "signaling_timeout": (_ms(SIGNALING_TIMEOUT_S), Decimal(Limits().signaling_timeout_ms)),
    "hold": (_ms(INGRESS_HOLD_S), Decimal(str(HOLD_MS))),
    "hold_per_ufrag": (Decimal(HOLD_PER_UFRAG),),
    "hold_total": (Decimal(HOLD_TOTAL),),
    "race_slack": (Decimal(str(SLACK_MS)),),
    "fallback_slack": (Decimal(str(SLACK_MS)),),
    "fallback_bound": (Decimal(Limits().fallback_ms),),
    "session_ttl": (Decimal(Limits().session_ttl_ms),),
    "connect_budget": (Decimal(Limits().connect_budget_ms),),
    "default_media_port": (Decimal(DEFAULT_STUN_PORT),),
}


@pytest.mark.requirements("SIG-8", "SDP-6", "SDP-7", "STUN-30", "SIG-15", "TGT-9")
@pytest.mark.parametrize("name", sorted(HARNESS_VALUES))
def test_the_harness_uses_the_number_the_spec_states(name: str) -> None:
    _, low, high, _ = _stated(name)
    stated = (low,) if high is None else (low, high)
    implemented = HARNESS_VALUES[name]
    if len(stated) == 2:
        assert implemented == stated, f"{name}: spec {stated}, harness {implemented}"
    else:
        assert set(implemented) == set(stated), f"{name}: spec {stated}, harness {implemented}"


def test_generated_credentials_meet_the_stated_floor() -> None:
    _, floor, _, unit = _stated("ufrag_random_bits")
    assert unit == "bits"
    assert ice.entropy_bits(ice.GENERATED_UFRAG_LENGTH) >= floor
    _, characters, _, _ = _stated("ufrag_random_length")
    assert ice.GENERATED_UFRAG_LENGTH >= characters
    assert ice.entropy_bits(int(characters)) >= floor  # 10 ice-chars are 60 bits
    credentials = ice.IceCredentials.generate()
    assert len(credentials.ufrag) == ice.GENERATED_UFRAG_LENGTH


def test_the_quantity_names_of_the_spec_are_all_known_here() -> None:
    # A new quantity either gets a harness constant above or is listed as one the
    # harness does not implement by a constant (RFC figures, bounds it measures).
    not_constants = {
        # RFC 8489 wire format: the codec's own tests (tests/unit/protocol) hold these.
        "attribute_type_bits",
        "attribute_length_bits",
        "ipv4_address_value",
        "ipv6_address_value",
        "xor_port_bits",
        "message_integrity_length",
        "mi_sha256_length",
        "priority_length",
        "tiebreaker_length",
        "text_attribute_length",
        "unknown_attribute_entry",
        "rfc8445_ufrag_random_bits",
        "rfc8489_rto",
        "transaction_id_random_bits",
        "ufrag_random_length",
        "ufrag_advised_length",
        "ufrag_pair_length",
        "race_send_gap",
        "gateway_idle_keep",
        "request_id_length",
        # The client suite's allowance (harness/client_target/command.py), not a default.
        "client_exit_margin",
    }
    stated = {s.quantity.name for s in statements()}
    unknown = stated - set(HARNESS_VALUES) - not_constants
    assert not unknown, f"quantities with no harness value and no reason: {sorted(unknown)}"


_UNMARKED = re.compile(r"(?<![\w.§-])\d[\d,]*(?:\.\d+)?\s?(?:ms|s|bits|bytes|characters)\b")
"""A number with a unit of time, randomness or size: a quantity statement."""


def unmarked_numbers(source: str) -> list[str]:
    """Numbers with a unit written outside a marker (worked examples go in `code`)."""
    bare = re.sub(r"`[^`]*`", "", MARKER.sub("", source))
    return [match.group(0) for match in _UNMARKED.finditer(bare)]


def test_every_number_with_a_unit_in_a_requirement_is_a_marker() -> None:
    # Without this, "at least 24 bits" written in plain words would escape the
    # consistency check above.
    bare = {r.id: found for r in requirements() if (found := unmarked_numbers(r.source))}
    assert not bare, (
        "write these as quantity markers {name OP value unit} (or `code` for a worked "
        f"example): {bare}"
    )
    assert unmarked_numbers("at least 24 bits, {tp = 50 ms}, `0, 50 ms`") == ["24 bits"]


@pytest.mark.requirements("TGT-8", "SIG-13", "SESS-2", "FB-5")
def test_the_target_file_example_states_the_same_defaults() -> None:
    # The example's [limits] are numbers too, written in TOML rather than markers.
    text = (SPECS / "target-file.md").read_text("utf-8")
    example = tomllib.loads(text.split("```toml\n", 1)[1].split("```", 1)[0])
    limits = example["limits"]
    for key, quantity in (
        ("connect_budget_ms", "connect_budget"),
        ("fallback_ms", "fallback_bound"),
        ("session_ttl_ms", "session_ttl"),
        ("signaling_timeout_ms", "signaling_timeout"),
        ("pacing_ms", "tp"),
    ):
        _, value, _, unit = _stated(quantity)
        assert unit == "ms"
        assert Decimal(limits[key]) == value, (key, limits[key], value)
