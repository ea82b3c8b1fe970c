"""The reference stack end to end: real processes, real Redis, real hops, hand-built checks."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from aioice import stun
from ullc_stack_helpers import (
    Creds,
    check,
    client_socket,
    create_request,
    is_authentic_success,
    open_gateway,
    ping_until_answer,
    receive,
    signal,
    store,
)

from harness.stack.local.backend import LocalBackend, start_local_stack
from harness.stack.topology import default_topology


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalBackend]:
    with start_local_stack(network="auto", timeout=30) as running:
        print(f"\nreference stack healthy in {running.startup_seconds:.3f} s")
        yield running


def _edge(stack: LocalBackend, name: str = "edge-us") -> tuple[str, int]:
    return stack.plan.edge_public(name)


def _control(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as reply:
        body: dict[str, Any] = json.loads(reply.read())
        return body


def test_stack_is_healthy_and_writes_a_loadable_target(stack: LocalBackend) -> None:
    from harness.target.loader import load_target

    target = load_target(stack.target_path)
    assert target.endpoints.gateway == stack.plan.gateway_url
    assert target.reference is not None
    assert target.reference.proxies["client-edge.edge-us"] == "client-edge.edge-us"
    assert target.reference.hop_api == stack.hop_url
    for name in ("gateway", "edge-us", "dc-us.bot-0", "dc-eu.redis", "hop", "dns"):
        assert name in stack.pids()
    health = _control(f"{target.control.gateway}/control/health")
    assert health == {"component": "gateway", "role": "gateway", "status": "ok",
                      "map_version": "true"}  # fmt: skip


def test_dns_answers_the_nearest_edge_per_region(stack: LocalBackend) -> None:
    import dns.message
    import dns.query
    import dns.rcode

    host, port = stack.plan.dns_public
    for region, edge in (("us", "edge-us"), ("eu", "edge-eu"), ("ap", "edge-ap")):
        query = dns.message.make_query("media.ullc.test", "A")
        reply = dns.query.udp(
            query, host, port=port, timeout=2, source=stack.plan.client_ip(region)
        )
        assert reply.answer[0][0].address == _edge(stack, edge)[0]
    reply = dns.query.udp(
        dns.message.make_query("other.ullc.test", "A"), host, port=port, timeout=2,
        source=stack.plan.client_ip(),
    )  # fmt: skip
    assert reply.rcode() == dns.rcode.NXDOMAIN
    reply = dns.query.udp(
        dns.message.make_query("example.com", "A"), host, port=port, timeout=2,
        source=stack.plan.client_ip(),
    )  # fmt: skip
    assert reply.rcode() == dns.rcode.REFUSED


def test_ullc_check_gets_authentic_success_with_the_clients_own_address(
    stack: LocalBackend,
) -> None:
    creds = Creds.new()
    with open_gateway(stack) as ws, client_socket(stack) as sock:
        # RACE-1: the check leaves first, the request right after; the ingress holds it.
        datagram, transaction_id = check(creds)
        started = time.monotonic()
        sock.sendto(datagram, _edge(stack))
        ws.send(json.dumps(create_request(creds, _edge(stack)[0])))
        answer = ping_until_answer(sock, _edge(stack), datagram)
        connect_ms = (time.monotonic() - started) * 1000
        created = json.loads(ws.recv(timeout=5))
        own_address = sock.getsockname()
    print(f"\nULLC connect (hand-built check, hold at the ingress): {connect_ms:.1f} ms")
    assert created["type"] == "session.created", created
    assert created["dc"] == "dc-us"
    assert is_authentic_success(answer, creds.bot_pwd)
    assert answer is not None
    assert answer.transaction_id == transaction_id
    assert answer.attributes["XOR-MAPPED-ADDRESS"] == own_address


def test_retransmitted_check_is_answered_again(stack: LocalBackend) -> None:
    creds = Creds.new()
    with open_gateway(stack) as ws, client_socket(stack) as sock:
        created = signal(ws, create_request(creds, _edge(stack)[0]))
        assert created["type"] == "session.created"
        datagram, _ = check(creds)
        first = ping_until_answer(sock, _edge(stack), datagram)
        second = ping_until_answer(sock, _edge(stack), datagram)
    assert is_authentic_success(first, creds.bot_pwd)
    assert is_authentic_success(second, creds.bot_pwd)


def test_wrong_password_gets_401_and_never_binds(stack: LocalBackend) -> None:
    creds = Creds.new()
    with open_gateway(stack) as ws, client_socket(stack) as sock:
        assert signal(ws, create_request(creds, _edge(stack)[0]))["type"] == "session.created"
        forged, _ = check(creds, password="x" * 32)
        answer = ping_until_answer(sock, _edge(stack), forged)
        assert answer is not None
        assert answer.message_class == stun.Class.ERROR
        assert answer.attributes["ERROR-CODE"][0] == 401
        assert "MESSAGE-INTEGRITY" not in answer.attributes
        # SESS-5: the 5-tuple gained nothing: the next forged check is refused again.
        again = ping_until_answer(sock, _edge(stack), check(creds, password="y" * 32)[0])
        assert again is not None
        assert again.attributes["ERROR-CODE"][0] == 401
        genuine = ping_until_answer(sock, _edge(stack), check(creds)[0])
        assert is_authentic_success(genuine, creds.bot_pwd)


def test_role_conflict_and_missing_integrity(stack: LocalBackend) -> None:
    creds = Creds.new()
    with open_gateway(stack) as ws, client_socket(stack) as sock:
        assert signal(ws, create_request(creds, _edge(stack)[0]))["type"] == "session.created"
        answer = ping_until_answer(sock, _edge(stack), check(creds, controlled=True)[0])
        assert answer is not None
        assert answer.attributes["ERROR-CODE"][0] == 487
        assert answer.check_message_integrity(creds.bot_pwd.encode())
        bare = stun.Message(stun.Method.BINDING, stun.Class.REQUEST)
        bare.attributes["USERNAME"] = f"{creds.bot_ufrag}:{creds.client_ufrag}"
        bare.add_fingerprint()
        answer = ping_until_answer(sock, _edge(stack), bytes(bare))
        assert answer is not None
        assert answer.attributes["ERROR-CODE"][0] == 400


def test_unknown_session_gets_nothing(stack: LocalBackend) -> None:
    creds = Creds.new()  # never signalled
    with client_socket(stack) as sock:
        for _ in range(6):
            sock.sendto(check(creds)[0], _edge(stack))
        assert receive(sock, 0.8) is None


def test_one_sessions_credentials_cannot_reach_another(stack: LocalBackend) -> None:
    alice, mallory = Creds.new(), Creds.new()
    with open_gateway(stack) as ws, client_socket(stack) as sock:
        assert signal(ws, create_request(alice, _edge(stack)[0]))["type"] == "session.created"
        assert signal(ws, create_request(mallory, _edge(stack)[0]))["type"] == "session.created"
        # Mallory names Alice's session but signs with her own (valid) bot password.
        hybrid = Creds(mallory.client_ufrag, mallory.client_pwd, alice.bot_ufrag, alice.bot_pwd)
        forged, _ = check(hybrid, password=mallory.bot_pwd)
        answer = ping_until_answer(sock, _edge(stack), forged)
        assert answer is not None
        assert answer.attributes["ERROR-CODE"][0] == 401
        # Only the bot half of USERNAME names the session, and only the bot password
        # authenticates (STUN-44, RFC 8445 §7.3): whoever holds Alice's password is
        # answered whatever client half follows the colon.
        answer = ping_until_answer(sock, _edge(stack), check(hybrid)[0])
        assert is_authentic_success(answer, alice.bot_pwd)


def test_duplicate_bot_ufrag_is_a_conflict(stack: LocalBackend) -> None:
    creds = Creds.new()
    with open_gateway(stack) as ws:
        assert signal(ws, create_request(creds, _edge(stack)[0]))["type"] == "session.created"
        reply = signal(ws, create_request(creds, _edge(stack)[0]))
    assert reply["type"] == "error"
    assert reply["code"] == "conflict"


def test_invalid_request_names_the_field(stack: LocalBackend) -> None:
    creds = Creds.new()
    body = create_request(creds, _edge(stack)[0], request_id="bad-1")
    del body["bot"]["ice_pwd"]
    with open_gateway(stack) as ws:
        reply = signal(ws, body)
        ws.send(b"\x00binary")
        binary = json.loads(ws.recv(timeout=5))
    assert reply["type"] == "error"
    assert reply["code"] == "bad_request"
    assert reply["request_id"] == "bad-1"
    assert "ice_pwd" in reply["message"]
    assert binary["code"] == "bad_request"


def test_sequential_baseline_allocates_credentials_and_media(stack: LocalBackend) -> None:
    creds = Creds.new()
    with open_gateway(stack) as ws, client_socket(stack) as sock:
        started = time.monotonic()
        created = signal(ws, create_request(creds, None, mode="sequential"))
        assert created["type"] == "session.created", created
        bot = created["bot"]
        assert "a=ice-lite" in bot["sdp"]
        assert bot["ice_ufrag"] in bot["sdp"]
        allocated = Creds(creds.client_ufrag, creds.client_pwd, bot["ice_ufrag"], bot["ice_pwd"])
        media = (created["media"]["ip"], created["media"]["port"])
        answer = ping_until_answer(sock, media, check(allocated)[0])
        connect_ms = (time.monotonic() - started) * 1000
        own_address = sock.getsockname()
    print(f"\nsequential connect (hand-built): {connect_ms:.1f} ms")
    assert is_authentic_success(answer, bot["ice_pwd"])
    assert answer is not None
    assert answer.attributes["XOR-MAPPED-ADDRESS"] == own_address


def test_sessions_are_listed_without_passwords_and_expire(stack: LocalBackend) -> None:
    creds = Creds.new()
    with open_gateway(stack) as ws:
        created = signal(ws, create_request(creds, _edge(stack)[0]))
    listing = _control(f"http://{stack.plan.dcs['dc-us'].control[0]}:8080/control/sessions")
    mine = [s for s in listing["sessions"] if s["bot_ufrag"] == creds.bot_ufrag]
    assert mine
    assert mine[0]["session_id"] == created["session_id"]
    assert creds.bot_pwd not in json.dumps(listing)
    # SESS-6 with a real TTL: a key set by the bot carries PX; check it is bounded.
    with store(stack, "dc-us") as client:
        pttl = int(client.pttl(f"ullc:session:{creds.bot_ufrag}"))
    assert 0 < pttl <= default_topology().session_ttl_ms


def test_divergent_maps_fall_back_to_the_response_media_address(stack: LocalBackend) -> None:
    # Gateway routes edge-us's IP to dc-eu, the edge still to dc-us (FB-1..3).
    stack.set_latency_map("gateway", "all-to-dc-eu")
    try:
        creds = Creds.new()
        with open_gateway(stack) as ws, client_socket(stack) as sock:
            created = signal(ws, create_request(creds, _edge(stack)[0]))
            assert created["dc"] == "dc-eu"
            assert created["map_version"] == "all-to-dc-eu"
            # The edge sends these to dc-us, which has no session: silence (FB-3).
            for _ in range(6):
                sock.sendto(check(creds)[0], _edge(stack))
            assert receive(sock, 0.8) is None
            media = (created["media"]["ip"], created["media"]["port"])
            assert media == stack.plan.pin_address("edge-us", "dc-eu")
            answer = ping_until_answer(sock, media, check(creds)[0])
            own_address = sock.getsockname()
        assert is_authentic_success(answer, creds.bot_pwd)
        assert answer is not None
        assert answer.attributes["XOR-MAPPED-ADDRESS"] == own_address
    finally:
        stack.set_latency_map("gateway", "true")


def test_paused_dc_yields_a_timeout_error(stack: LocalBackend) -> None:
    stack.pause("dc-ap.handler")
    try:
        creds = Creds.new()
        with open_gateway(stack, "ap") as ws:
            started = time.monotonic()
            reply = signal(ws, create_request(creds, _edge(stack, "edge-ap")[0]), timeout=10)
            waited = time.monotonic() - started
        assert reply["type"] == "error"
        assert reply["code"] == "timeout"
        assert reply["retryable"]
        assert waited < 5  # SIG-13 says 2 s; generous for a loaded machine
    finally:
        stack.resume("dc-ap.handler")


def test_backend_satisfies_the_seams_and_restarts_a_killed_bot(stack: LocalBackend) -> None:
    from harness.faults.process import ProcessControl
    from harness.stack.backend import StackBackend

    assert isinstance(stack, ProcessControl)
    assert isinstance(stack, StackBackend)
    old = stack.pids()["dc-eu.bot-1"]
    stack.kill("dc-eu.bot-1")
    stack.restart("dc-eu.bot-1")
    assert stack.pids()["dc-eu.bot-1"] != old
    # Both instances serve again: round-robin puts consecutive sessions on each.
    with open_gateway(stack, "eu") as ws, client_socket(stack, "eu") as sock:
        for _ in range(2):
            creds = Creds.new()
            created = signal(ws, create_request(creds, _edge(stack, "edge-eu")[0]))
            assert created["dc"] == "dc-eu"
            answer = ping_until_answer(sock, _edge(stack, "edge-eu"), check(creds)[0])
            assert is_authentic_success(answer, creds.bot_pwd)


def test_a_link_can_be_impaired_while_the_stack_runs(stack: LocalBackend) -> None:
    from harness.faults.model import Stream

    creds = Creds.new()
    link = stack.fault_client().link("client-edge.edge-us")
    with open_gateway(stack) as ws, client_socket(stack) as sock:
        assert signal(ws, create_request(creds, _edge(stack)[0]))["type"] == "session.created"
        link.add_toxic("latency", stream=Stream.BOTH, name="extra", latency=100)
        try:
            started = time.monotonic()
            answer = ping_until_answer(sock, _edge(stack), check(creds)[0])
            elapsed = time.monotonic() - started
        finally:
            link.remove_toxic("extra")
    assert is_authentic_success(answer, creds.bot_pwd)
    assert elapsed >= 0.29  # 2 x (20 + 100) ms on the client-edge link + 2 x 30 ms to the DC
    names = {toxic.name for toxic in link.toxics()}
    assert names == {"topology-latency"}


def test_a_restarted_ingress_still_reaches_the_sessions_stored_before_it(
    stack: LocalBackend,
) -> None:
    """The ingress skips the per-call lookup once primed (every session stored before its
    subscription in its cache, by a SCAN); a session from before a restart must be found."""
    creds = Creds.new()
    with open_gateway(stack, "eu") as ws:
        created = signal(ws, create_request(creds, _edge(stack, "edge-eu")[0]))
    assert created["dc"] == "dc-eu"
    old = stack.pids()["dc-eu.ingress"]
    stack.kill("dc-eu.ingress")
    stack.restart("dc-eu.ingress")
    assert stack.pids()["dc-eu.ingress"] != old
    time.sleep(1.0)  # subscribed and primed: no lookup hides a missing SCAN
    with client_socket(stack, "eu") as sock:
        answer = ping_until_answer(sock, _edge(stack, "edge-eu"), check(creds)[0])
    assert answer is not None, "the restarted ingress never forwarded a check of a live session"
    assert is_authentic_success(answer, creds.bot_pwd)
