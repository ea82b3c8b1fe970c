"""Sessions and their credentials, as seen from the wire (SESS, STUN-11, STUN-45, CTL-4).

Checks are signed the ways a client may sign them (MESSAGE-INTEGRITY, -SHA256 or both)
and the answer must be signed to match; a transaction ID that a session already answered
earns nothing when it comes back with a bad integrity or another session's password; a
DC lists its sessions without passwords, and forgets them when their time to live ends.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from harness.conformance.datagrams import Address, Exchange, exchange
from harness.conformance.session import ProbeSession, open_probe_session
from harness.conformance.signed_checks import Classified, Kind, classify, signed_check
from harness.conformance.skips import lacks_sessions_reason
from harness.fixtures.control import sessions_body
from harness.fixtures.target_session import RunningTarget
from harness.protocol.ice import generate_credentials
from harness.protocol.stun_checker import check_stun

pytestmark = pytest.mark.conformance

EXPIRY_MAX_TTL_MS = 10_000
"""The expiry test waits out the session's TTL; longer than this it would stall the suite."""
COPIES = 3
"""Copies of a check sent Tp apart (a retransmitted transaction, STUN-30): one late answer
on a loaded machine must not read as silence."""


def _send(target: RunningTarget, to: Address, datagrams: list[bytes], linger_s: float) -> Exchange:
    # Twice the usual linger: these tests count answers, and a late one is not a missing one.
    return asyncio.run(
        exchange(to, datagrams, bind_ip=target.target.client.bind_ip, linger_s=2 * linger_s)
    )


def _replies(result: Exchange, transaction_id: bytes) -> list[Classified]:
    return [classify(a.data) for a in result.answers_to(transaction_id)]


@pytest.fixture
def fresh_session(ullc_target: RunningTarget) -> ProbeSession:
    """A session opened for this test alone: a module-long one would expire mid-module on a
    short-TTL target (the very targets the expiry test needs)."""
    if ullc_target.capabilities.stun_only:
        pytest.skip(lacks_sessions_reason(ullc_target))
    return asyncio.run(open_probe_session(ullc_target.target))


@pytest.fixture
def other_session(ullc_target: RunningTarget, fresh_session: ProbeSession) -> ProbeSession:
    """A second live session, for checks that borrow its credentials."""
    return asyncio.run(open_probe_session(ullc_target.target))


@pytest.mark.parametrize(
    ("sha1", "sha256"),
    [pytest.param(False, True, id="sha256-only"), pytest.param(True, True, id="both")],
)
# The strict checker judges each answer's framing too: padding (STUN-6), attribute
# values (STUN-15) and short-term credentials only (STUN-16).
@pytest.mark.requirements("STUN-11", "STUN-24", "STUN-48", "SESS-1", "STUN-6", "STUN-15", "STUN-16")
def test_check_signed_with_sha256_is_answered_signed_to_match(
    sha1: bool,
    sha256: bool,
    ullc_target: RunningTarget,
    fresh_session: ProbeSession,
    linger_s: float,
) -> None:
    pwd = fresh_session.bot.pwd
    check = signed_check(
        fresh_session.bot,
        fresh_session.client,
        sha1_password=pwd if sha1 else None,
        sha256_password=pwd if sha256 else None,
    )

    result = _send(ullc_target, fresh_session.edge, [check.data] * COPIES, linger_s)

    answers = result.answers_to(check.transaction_id)
    assert answers, "STUN-11: a check signed with MESSAGE-INTEGRITY-SHA256 got no answer"
    expected = {"MESSAGE-INTEGRITY-SHA256"} | ({"MESSAGE-INTEGRITY"} if sha1 else set())
    for answer in answers:
        reply = classify(answer.data)
        assert reply.kind is Kind.SUCCESS, f"STUN-11/STUN-48: answered {reply}"
        # STUN-48: MI-SHA256 when the check carried it; MI only when the check had it too.
        assert reply.integrity == expected, f"STUN-48: answer signed with {set(reply.integrity)}"
        report = check_stun(answer.data, request=check.data, password=pwd)
        assert report.conformant, [str(v) for v in report.violations]


@pytest.mark.parametrize(
    "signing",
    [
        pytest.param("sha256-wrong", id="sha256-only-wrong-password"),
        pytest.param("sha256-wrong-sha1-right", id="sha256-wrong-sha1-right"),
    ],
)
@pytest.mark.requirements("STUN-11", "STUN-45", "SESS-5")
def test_a_wrong_sha256_integrity_counts_even_beside_a_right_sha1(
    signing: str, ullc_target: RunningTarget, fresh_session: ProbeSession, linger_s: float
) -> None:
    # STUN-11: when MI-SHA256 is present it is the integrity that counts.
    wrong = generate_credentials().pwd
    right = fresh_session.bot.pwd
    check = signed_check(
        fresh_session.bot,
        fresh_session.client,
        sha1_password=right if signing == "sha256-wrong-sha1-right" else None,
        sha256_password=wrong,
    )

    result = _send(ullc_target, fresh_session.edge, [check.data] * COPIES, linger_s)

    replies = _replies(result, check.transaction_id)
    assert replies, "STUN-45: a check with a bad MESSAGE-INTEGRITY-SHA256 got no 401"
    for reply in replies:
        assert reply.kind is Kind.E401, f"STUN-45: answered {reply}; expected 401"
        assert not reply.integrity, "STUN-50: a 401 carries no MESSAGE-INTEGRITY"


@pytest.mark.parametrize(
    "forgery",
    [
        pytest.param("wrong-password", id="bad-integrity"),
        pytest.param("other-session-password", id="other-session-password"),
        pytest.param("other-session-username", id="other-session-username"),
    ],
)
@pytest.mark.requirements("SESS-5", "STUN-45", "STUN-49")
def test_answered_transaction_id_reused_with_wrong_credentials_earns_no_success(
    forgery: str,
    ullc_target: RunningTarget,
    fresh_session: ProbeSession,
    other_session: ProbeSession,
    linger_s: float,
) -> None:
    mine = fresh_session.bot
    genuine = signed_check(mine, fresh_session.client, sha1_password=mine.pwd, sha256_password=None)
    if forgery == "wrong-password":
        bot, pwd = mine, generate_credentials().pwd
    elif forgery == "other-session-password":
        bot, pwd = mine, other_session.bot.pwd
    else:  # B's ufrag, A's password: B's owner must not accept A's key
        bot, pwd = other_session.bot, mine.pwd
    forged = signed_check(
        bot,
        fresh_session.client,
        sha1_password=pwd,
        sha256_password=None,
        transaction_id=genuine.transaction_id,
    )

    # The genuine check first, then the forged one from the same socket with the same ID:
    # a bot that remembers "this transaction was authentic" would wave it through.
    result = _send(
        ullc_target, fresh_session.edge, [genuine.data, genuine.data, forged.data], linger_s
    )

    answers = result.answers_to(genuine.transaction_id)
    kinds = [classify(a.data) for a in answers]
    assert kinds, "the genuine check was not answered"
    assert kinds[0].kind is Kind.SUCCESS, f"the genuine check was answered {kinds[0]}"
    successes = sum(k.kind is Kind.SUCCESS for k in kinds)
    failures = [k for k in kinds if k.kind is not Kind.SUCCESS]
    # Two genuine copies earn two successes (STUN-49); the forged copy earns 401 or silence.
    assert successes == 2, f"SESS-5: {successes} successes for 2 genuine copies + 1 forgery"
    assert all(k.kind is Kind.E401 for k in failures), f"SESS-5: forged copy answered {failures}"


def _listing(target: RunningTarget, dc: str) -> tuple[dict[str, object], str]:
    url = target.declared.control.dcs.get(dc)
    if url is None:
        pytest.skip(f"target declares session_listing but no [control].dcs.{dc} URL")
    body = sessions_body(url)
    return body, json.dumps(body)


@pytest.mark.requires_capability("session_listing")
@pytest.mark.requirements("CTL-4", "SESS-2", "SESS-1")
def test_the_dc_lists_the_session_without_passwords(
    ullc_target: RunningTarget, fresh_session: ProbeSession
) -> None:
    dc = fresh_session.created.dc
    body, raw = _listing(ullc_target, dc)

    assert body.get("dc") == dc, body
    sessions = body.get("sessions")
    assert isinstance(sessions, list), body
    mine = [s for s in sessions if s.get("bot_ufrag") == fresh_session.bot.ufrag]
    assert len(mine) == 1, f"CTL-4/SESS-2: session {fresh_session.bot.ufrag} not listed once"
    entry = mine[0]
    assert entry.get("session_id") == fresh_session.created.session_id, entry
    assert {"session_id", "bot_ufrag", "instance", "age_ms"} <= set(entry), entry
    assert isinstance(entry["age_ms"], int | float), entry
    assert entry["age_ms"] >= 0, entry
    for secret in (fresh_session.bot.pwd, fresh_session.client.pwd):
        assert secret not in raw, "CTL-4: a password appears in the session listing"
    for other in ullc_target.declared.control.dcs:
        if other != dc:
            _, elsewhere = _listing(ullc_target, other)
            assert fresh_session.bot.ufrag not in elsewhere, f"listed in {other} too"


@pytest.mark.requirements("SESS-6", "SESS-4", "SESS-2")
def test_a_session_is_gone_after_its_time_to_live(
    ullc_target: RunningTarget, linger_s: float
) -> None:
    ttl_ms = ullc_target.target.limits.session_ttl_ms
    if ullc_target.capabilities.stun_only:
        pytest.skip("a STUN-only target has no sessions (TGT-5)")
    if ttl_ms > EXPIRY_MAX_TTL_MS:
        pytest.skip(
            f"session_ttl_ms is {ttl_ms}: declare [limits].session_ttl_ms of at most "
            f"{EXPIRY_MAX_TTL_MS} (a short-TTL deployment) to run the expiry test; for the "
            "reference stack pass --ullc-topology with a short-TTL world such as the shipped "
            "harness/stack/worlds/short-ttl.json"
        )
    session = asyncio.run(open_probe_session(ullc_target.target))
    opened = time.monotonic()
    live = signed_check(
        session.bot, session.client, sha1_password=session.bot.pwd, sha256_password=None
    )
    before = _send(ullc_target, session.edge, [live.data] * COPIES, linger_s)
    assert Kind.SUCCESS in {r.kind for r in _replies(before, live.transaction_id)}, (
        "the live session's check was not answered"
    )

    # Past the TTL, with a margin for the store's expiry sweep and a loaded machine.
    time.sleep(max(0.0, ttl_ms / 1000.0 + 1.0 - (time.monotonic() - opened)))
    late = signed_check(
        session.bot, session.client, sha1_password=session.bot.pwd, sha256_password=None
    )
    after = _send(ullc_target, session.edge, [late.data] * COPIES, linger_s)

    replies = _replies(after, late.transaction_id)
    assert all(r.kind is not Kind.SUCCESS for r in replies), f"SESS-6: expired, answered {replies}"
    assert not replies, f"SESS-4/FB-3: a check of an expired session is not answered: {replies}"
    if ullc_target.capabilities.session_listing:
        _, raw = _listing(ullc_target, session.created.dc)
        assert session.bot.ufrag not in raw, "SESS-6: the expired session is still listed"
