"""The SDP profile: generate/parse round trip, violations with line numbers, lint-sdp."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from random import Random

import pytest
from hypothesis import given, settings

from harness.cli import main
from harness.fuzz.strategies.sdp import call_descriptions
from harness.protocol.errors import SdpParseError
from harness.protocol.sdp import (
    CallDescription,
    Role,
    generate_sdp,
    host_candidate,
    parse_candidate,
    parse_sdp,
    pregenerate_call,
)
from harness.protocol.sdp_checker import check_sdp, check_sdp_pair, parse_description

CLIENT, BOT = pregenerate_call(
    client_candidates=[host_candidate("192.0.2.10", 50000)],
    edge=("203.0.113.5", 3478),
    rng=Random(7),
)
CLIENT_SDP, BOT_SDP = generate_sdp(CLIENT), generate_sdp(BOT)


def edit(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def line_of(text: str, prefix: str) -> int:
    lines = text.split("\r\n")
    return next(i for i, line in enumerate(lines, start=1) if line.startswith(prefix))


def test_pregenerated_pair_is_conformant() -> None:
    assert check_sdp_pair(CLIENT_SDP, BOT_SDP) == []
    assert parse_description(CLIENT_SDP, Role.CLIENT) == CLIENT
    assert parse_description(BOT_SDP, Role.BOT) == BOT


@settings(max_examples=60, deadline=None)
@given(call_descriptions())
def test_generate_then_parse_round_trips(desc: CallDescription) -> None:
    text = generate_sdp(desc)
    assert check_sdp(text, desc.role) == []
    assert parse_description(text, desc.role) == desc


BOT_DEFECTS = [
    ("a=ice-lite\r\n", "", "SDP-8", None),
    ("a=setup:passive", "a=setup:active", "SDP-10", "a=setup"),
    (f"a=ice-ufrag:{BOT.credentials.ufrag}", "a=ice-ufrag:ab", "SDP-6", "a=ice-ufrag"),
    (f"a=ice-pwd:{BOT.credentials.pwd}", "a=ice-pwd:short", "SDP-7", "a=ice-pwd"),
    ("a=fingerprint:sha-256", "a=fingerprint:sha-1", "SDP-9", "a=fingerprint"),
    ("a=rtcp-mux\r\n", "", "SDP-14", "m="),
    ("a=mid:0\r\n", "", "SDP-13", "m="),
    ("a=rtpmap:111 opus/48000/2\r\n", "", "SDP-5", "m="),
    ("typ host", "typ srflx raddr 10.0.0.1 rport 1", "SDP-12", "a=candidate"),
    (" 3478 typ", " 70000 typ", "SDP-11", "a=candidate"),
    ("UDP/TLS/RTP/SAVPF", "RTP/AVP", "SDP-3", "m="),
    ("t=0 0", "t=1 2", "SDP-2", "t="),
    ("c=IN IP4 203.0.113.5", "c=IN IP4 not-an-ip", "SDP-4", "c="),
]


@pytest.mark.parametrize(
    ("old", "new", "ident", "prefix"), BOT_DEFECTS, ids=[d[2] + " " + d[1] for d in BOT_DEFECTS]
)
def test_each_bot_defect_is_reported_on_its_line(
    old: str, new: str, ident: str, prefix: str | None
) -> None:
    text = edit(BOT_SDP, old, new)
    violations = check_sdp(text, Role.BOT)
    assert {v.requirement for v in violations} == {ident}, [str(v) for v in violations]
    if prefix is not None:
        assert violations[0].line == line_of(text, prefix)


def test_the_client_must_not_be_lite_and_offers_actpass() -> None:
    text = edit(CLIENT_SDP, "t=0 0\r\n", "t=0 0\r\na=ice-lite\r\n")
    text = edit(text, "a=setup:actpass", "a=setup:passive")
    found = {(v.requirement, v.line) for v in check_sdp(text, Role.CLIENT)}
    assert found == {("SDP-8", 5), ("SDP-10", line_of(text, "a=setup"))}


def test_grammar_errors_carry_the_line_number() -> None:
    broken = edit(BOT_SDP, "s=-", "s = -")
    with pytest.raises(SdpParseError, match="line 3") as caught:
        parse_sdp(broken)
    assert caught.value.line == 3
    out_of_order = edit(BOT_SDP, "t=0 0\r\n", "").replace(
        "a=ice-lite\r\n", "a=ice-lite\r\nt=0 0\r\n"
    )
    (violation,) = check_sdp(out_of_order, Role.BOT)
    assert (violation.requirement, violation.line) == ("SDP-1", 5)


def test_lf_only_line_endings_are_reported() -> None:
    assert [v.requirement for v in check_sdp(BOT_SDP.replace("\r\n", "\n"), Role.BOT)] == ["SDP-1"]


def test_pair_rules() -> None:
    clone = generate_sdp(
        CallDescription(Role.BOT, CLIENT.credentials, BOT.fingerprint, BOT.candidates)
    )
    found = {v.requirement for v in check_sdp_pair(CLIENT_SDP, clone)}
    assert found == {"SDP-15"}


def test_parse_description_raises_with_the_first_violation_line() -> None:
    # The client text read as the bot's: no a=ice-lite (reported on line 1) comes first.
    with pytest.raises(SdpParseError, match="SDP-8") as caught:
        parse_description(CLIENT_SDP, Role.BOT)
    assert caught.value.line == 1
    assert "lint-sdp" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [
        "1 1 UDP 2130706431 192.0.2.1 3478",
        "1 0 UDP 2130706431 192.0.2.1 3478 typ host",
        "1 1 UDP 0 192.0.2.1 3478 typ host",
        "1 1 UDP 2130706431 192.0.2.1 3478 type host",
        "1 1 UDP 2130706431 192.0.2.1 3478 typ host raddr",
    ],
)
def test_bad_candidates_are_refused(value: str) -> None:
    with pytest.raises(SdpParseError, match="candidate"):
        parse_candidate(value, line=9)


def test_candidate_with_related_address_round_trips() -> None:
    text = (
        "a1 1 UDP 1694498815 198.51.100.1 50001 typ srflx raddr 10.0.0.1 rport 50000 generation 0"
    )
    cand = parse_candidate(text)
    assert (cand.related_address, cand.related_port, cand.extensions) == (
        "10.0.0.1",
        50000,
        (("generation", "0"),),
    )
    assert cand.to_sdp() == "candidate:" + text


def test_lint_sdp_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples = files("harness.data.samples")
    assert main(["lint-sdp", str(samples.joinpath("bot.sdp")), "--role", "bot"]) == 0
    assert main(["lint-sdp", str(samples.joinpath("client.sdp"))]) == 0
    capsys.readouterr()
    bad = tmp_path / "bot.sdp"
    bad.write_text(edit(BOT_SDP, "a=setup:passive", "a=setup:active"), newline="")
    assert main(["lint-sdp", str(bad), "--role", "bot"]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:{line_of(BOT_SDP, 'a=setup')}: SDP-10 (RFC 4145 §4, RFC 5763 §5)" in out
    assert main(["lint-sdp", str(tmp_path / "missing.sdp")]) == 2
    assert "cannot read" in capsys.readouterr().err
