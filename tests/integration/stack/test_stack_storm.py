"""A bounded storm of malformed datagrams on every UDP endpoint of the reference stack while
calls connect: no component dies, no malformed or forged check binds, every call connects.

Slow (about 30 s): in the `slow` set. Seeded, so a failure replays with the same storm.
"""

from __future__ import annotations

import multiprocessing
import random
import secrets
import socket
import struct
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection

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
    signal,
)
from websockets.sync.client import ClientConnection

from harness.faults.proxy_protocol import SIGNATURE, encode_v2
from harness.stack.local.backend import LocalBackend, start_local_stack
from harness.stack.local.deaths import DeathWatch
from harness.stack.plan import Transport

pytestmark = pytest.mark.slow

DATAGRAMS = 60_000
"""The storm's size: bounded, so the test ends and a failure replays (seed below)."""
RATE = 4_000
"""Datagrams per second: what the stack (and its one hop process, which carries every
link) absorbs on two shared cores while its calls still connect within their budget."""
CALLS = 20
SEED = 14
MAGIC = 0x2112A442
Address = tuple[str, int]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalBackend]:
    with start_local_stack(network="auto", timeout=30) as running:
        yield running


def _stun(message_type: int, body: bytes, *, length: int | None = None) -> bytes:
    header = struct.pack("!HHI", message_type, len(body) if length is None else length, MAGIC)
    return header + secrets.token_bytes(12) + body


def _attribute(kind: int, value: bytes, *, length: int | None = None) -> bytes:
    size = len(value) if length is None else length
    return struct.pack("!HH", kind, size) + value + b"\x00" * (-len(value) % 4)


def _makers(live: list[Creds], stack: LocalBackend) -> list[Callable[[random.Random], bytes]]:
    """Kinds of malformed datagram; some name live sessions with a wrong password."""
    victim: Address = (stack.plan.client_ip(host=99), 4242)

    def noise(rng: random.Random) -> bytes:
        return rng.randbytes(rng.randrange(0, 600))

    def short_header(rng: random.Random) -> bytes:
        return _stun(0x0001, b"")[: rng.randrange(0, 20)]

    def lying_length(rng: random.Random) -> bytes:
        return _stun(0x0001, rng.randbytes(8), length=rng.choice([4, 12, 400, 0xFFFC]))

    def attribute_overrun(rng: random.Random) -> bytes:
        return _stun(0x0001, _attribute(0x0006, b"ab:cd", length=rng.choice([200, 0xFFFF])))

    def wrong_password(rng: random.Random) -> bytes:
        # A live session's ufrag, signed with a password that is not its own.
        return check(rng.choice(live), password=secrets.token_hex(16))[0]

    def no_integrity(rng: random.Random) -> bytes:
        creds = rng.choice(live)
        username = f"{creds.bot_ufrag}:{creds.client_ufrag}".encode()
        return _stun(0x0001, _attribute(0x0006, username))

    def forged_proxy(rng: random.Random) -> bytes:
        return encode_v2(victim, stack.plan.edge_public("edge-us")) + wrong_password(rng)

    def broken_proxy(rng: random.Random) -> bytes:
        return SIGNATURE + rng.randbytes(rng.randrange(0, 40))

    def forged_proxy_authentic(rng: random.Random) -> bytes:
        # An authentic check behind a forged client address: only a relay may say that.
        return encode_v2(victim, stack.plan.edge_public("edge-us")) + check(rng.choice(live))[0]

    return [
        noise, short_header, lying_length, attribute_overrun, wrong_password, no_integrity,
        forged_proxy, broken_proxy, forged_proxy_authentic,
    ]  # fmt: skip


def _udp_endpoints(stack: LocalBackend) -> list[Address]:
    binds = stack.plan.binds()
    return sorted({address for _, transport, address in binds if transport is Transport.UDP})


class _Storm:
    """Runs in a process of its own: in a thread, its sending held the GIL that the test's
    WebSocket client needs, and a starved client is not what this test measures."""

    def __init__(self, stack: LocalBackend, live: list[Creds]) -> None:
        self.rng = random.Random(SEED)
        self.makers = _makers(live, stack)
        self.targets = _udp_endpoints(stack)
        self.live = {c.bot_ufrag: c for c in live}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((stack.plan.client_ip(host=30), 0))
        self.sock.setblocking(False)
        self.sent = 0
        self.replies = 0
        self.false_bindings: list[bytes] = []

    def run(self, report: Connection) -> None:
        started = time.monotonic()
        try:
            while self.sent < DATAGRAMS:
                datagram = self.rng.choice(self.makers)(self.rng)
                target = self.rng.choice(self.targets)
                try:
                    self.sock.sendto(datagram, target)
                except OSError:
                    pass  # a full buffer drops it, as the network would
                self.sent += 1
                self._drain()
                if self.sent % 100 == 0:
                    ahead = started + self.sent / RATE - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                self._drain()
                time.sleep(0.01)
        finally:
            report.send((self.sent, self.replies, self.false_bindings))
            report.close()

    def _drain(self) -> None:
        while True:
            try:
                data = self.sock.recv(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            self.replies += 1
            # Every storm check was malformed, unsigned, wrongly signed or forged: a
            # success response to any of them is a false binding.
            if _is_binding_success(data):
                self.false_bindings.append(data)


def _is_binding_success(data: bytes) -> bool:
    return len(data) >= 20 and data[:2] == b"\x01\x01" and data[4:8] == MAGIC.to_bytes(4, "big")


def _connect_one(stack: LocalBackend, ws: ClientConnection) -> str | None:
    """None when a call connects (authentic success at the client's own address), else why not."""
    creds = Creds.new()
    edge = stack.plan.edge_public("edge-us")
    started = time.monotonic()
    try:
        created = signal(ws, create_request(creds, edge[0]))
    except TimeoutError:
        return "no signaling answer in 5 s"
    if created.get("type") != "session.created":
        return f"signaling: {created}"
    with client_socket(stack) as sock:
        answer = ping_until_answer(sock, edge, check(creds)[0])
        own = sock.getsockname()
    if answer is None or not is_authentic_success(answer, creds.bot_pwd):
        return f"no authentic success in {time.monotonic() - started:.1f} s: {answer}"
    if answer.attributes["XOR-MAPPED-ADDRESS"] != own:
        return f"mapped {answer.attributes['XOR-MAPPED-ADDRESS']}, not {own}"
    return None


def test_a_storm_of_malformed_datagrams_crashes_nothing_and_binds_nothing(
    stack: LocalBackend,
) -> None:
    watch = DeathWatch(stack.run_dir)
    live = [Creds.new() for _ in range(4)]
    with open_gateway(stack) as ws:
        for creds in live:
            created = signal(ws, create_request(creds, stack.plan.edge_public("edge-us")[0]))
            assert created["type"] == "session.created", created
        storm = _Storm(stack, live)
        assert len(storm.targets) >= 40, storm.targets  # every UDP endpoint, hops included
        receiving, sending = multiprocessing.get_context("fork").Pipe(duplex=False)
        process = multiprocessing.get_context("fork").Process(target=storm.run, args=(sending,))
        process.start()
        sending.close()
        storm.sock.close()  # the child has its own copy
        failures: list[str] = []
        calls = 0
        try:
            while calls < CALLS or process.is_alive():
                calls += 1
                failure = _connect_one(stack, ws)
                if failure is not None:
                    failures.append(failure)
                if calls >= 10 * CALLS:
                    break
            sent, replies, false_bindings = receiving.recv()
        finally:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
            receiving.close()
    print(
        f"\nstorm: {sent} datagrams to {len(storm.targets)} endpoints, "
        f"{replies} replies; calls {calls - len(failures)}/{calls} connected"
    )
    assert sent == DATAGRAMS
    assert not false_bindings, f"{len(false_bindings)} storm checks got a success"
    assert not failures, f"{len(failures)} of {calls} calls failed during the storm: {failures}"
    deaths = watch.new_deaths()
    assert not deaths, "\n\n".join(death.describe() for death in deaths)
    assert set(stack.pids()) >= set(stack.components())
    # The live sessions still answer their own checks after the storm.
    with client_socket(stack) as sock:
        for creds in live:
            answer = ping_until_answer(sock, stack.plan.edge_public("edge-us"), check(creds)[0])
            assert is_authentic_success(answer, creds.bot_pwd)


def test_the_storm_tells_a_success_from_an_error() -> None:
    """The storm's detector is not blind: a Binding success is a false binding, a 401 is not."""
    transaction = secrets.token_bytes(12)
    success = stun.Message(stun.Method.BINDING, stun.Class.RESPONSE, transaction)
    error = stun.Message(stun.Method.BINDING, stun.Class.ERROR, transaction)
    error.attributes["ERROR-CODE"] = (401, "Unauthorized")
    assert _is_binding_success(bytes(success))
    assert not _is_binding_success(bytes(error))
    assert not _is_binding_success(check(Creds.new())[0])  # a request
