"""Pure units: PROXY v2 codec, toxic arithmetic in virtual time, attribute validation, seeds."""

from __future__ import annotations

import random

import pytest

from harness.errors import ProtocolError
from harness.faults.errors import ApiError
from harness.faults.model import Direction, Protocol, Stream, ToxicConfig
from harness.faults.proxy_protocol import (
    SIGNATURE,
    Command,
    Family,
    Transport,
    client_address_v2,
    decode_v2,
    encode_local_v2,
    encode_v2,
)
from harness.faults.seeding import derive_seed
from harness.faults.toxics import registry
from harness.faults.toxics.base import State
from harness.faults.toxics.udp import UdpToxic


@pytest.mark.parametrize(
    ("src", "dst", "family"),
    [
        (("192.0.2.1", 5000), ("198.51.100.7", 3478), Family.INET),
        (("2001:db8::1", 5000), ("2001:db8::2", 3478), Family.INET6),
        (("192.0.2.1", 5000), ("2001:db8::2", 3478), Family.INET6),
    ],
)
def test_proxy_v2_round_trip(src: tuple[str, int], dst: tuple[str, int], family: Family) -> None:
    header, payload = decode_v2(encode_v2(src, dst) + b"\x00\x01stun")
    assert payload == b"\x00\x01stun"
    assert header is not None
    assert (header.command, header.family) == (Command.PROXY, family)
    assert (header.src, header.dst) == (src, dst)


def test_proxy_v2_without_signature_and_local_and_truncated() -> None:
    assert decode_v2(b"\x00\x01plain stun") == (None, b"\x00\x01plain stun")
    header, payload = decode_v2(encode_local_v2() + b"hc")
    assert header is not None
    assert header.command is Command.LOCAL
    assert header.src is None
    assert payload == b"hc"
    with pytest.raises(ProtocolError, match="truncated"):
        decode_v2(encode_v2(("192.0.2.1", 1), ("192.0.2.2", 2))[:20])
    with pytest.raises(ProtocolError, match="version"):
        decode_v2(SIGNATURE + b"\x11\x12\x00\x00")


_V4 = encode_v2(("192.0.2.1", 5000), ("198.51.100.7", 3478))


@pytest.mark.parametrize(
    "datagram",
    [
        _V4 + b"\x00\x01stun",
        _V4,  # header only: empty payload
        encode_v2(("2001:db8::1", 5000), ("2001:db8::2", 3478)) + b"stun",
        encode_v2(("192.0.2.1", 1), ("192.0.2.2", 2), transport=Transport.STREAM) + b"tcp",
        _V4[:15] + b"\x10" + _V4[16:] + b"x",  # longer address block: TLVs follow
        encode_local_v2() + b"hc",
        b"\x00\x01plain stun",
        _V4[:20],  # truncated
        SIGNATURE + b"\x11\x12\x00\x00",  # wrong version
    ],
)
def test_proxy_v2_fast_path_agrees_with_decode(datagram: bytes) -> None:
    """client_address_v2 (the relays' fast path) answers, or fails, exactly like decode_v2."""
    try:
        header, payload = decode_v2(datagram)
    except ProtocolError as error:
        expected: tuple[object, bytes] | str = error.message
    else:
        expected = (header.src if header else None, payload)
    try:
        fast: tuple[object, bytes] | str = client_address_v2(datagram)
    except ProtocolError as error:
        fast = error.message
    assert fast == expected


def _udp(type_name: str, seed: int = 1, **attributes: float) -> UdpToxic:
    attrs = registry.validate_attributes(Protocol.UDP, type_name, attributes)
    config = ToxicConfig("t", type_name, Stream.UPSTREAM, 1.0, attrs)
    toxic = registry.build(Protocol.UDP, config, Direction.UPSTREAM, seed, "p")
    assert isinstance(toxic, UdpToxic)
    return toxic


def _run(toxic: UdpToxic, n: int) -> list[tuple[float, bytes]]:
    state, out = State(), []
    for i in range(n):
        toxic.process(state, i * 0.001, i.to_bytes(4, "big"), out)
    return out


def test_duplicate_reorder_and_bandwidth_in_virtual_time() -> None:
    assert len(_run(_udp("duplicate", probability=1.0), 10)) == 20
    reordered = _run(_udp("reorder", probability=0.5, delay=5), 200)
    times = [t for t, _ in reordered]
    assert times != sorted(times)  # some datagrams were overtaken
    shaped = _run(_udp("bandwidth", rate=4, queue=10_000), 10)  # 4 B per 1 ms at 4 KB/s
    assert shaped[-1][0] == pytest.approx(0.010)
    dropped = _run(_udp("bandwidth", rate=1, queue=5), 100)  # 4 ms each, 5 ms queue
    assert len(dropped) < 100


def test_seed_derivation_is_order_free_and_distinct() -> None:
    assert derive_seed(1, "proxy", "toxic") == derive_seed(1, "proxy", "toxic")
    assert derive_seed(1, "proxy", "toxic") != derive_seed(2, "proxy", "toxic")
    assert derive_seed(1, "a", "bc") != derive_seed(1, "ab", "c")
    one = [d for _, d in _run(_udp("loss", probability=0.5), 500)]
    assert one == [d for _, d in _run(_udp("loss", probability=0.5), 500)]
    assert one != [d for _, d in _run(_udp("loss", seed=2, probability=0.5), 500)]


@pytest.mark.parametrize(
    ("protocol", "type_name", "attributes", "fragment"),
    [
        (Protocol.TCP, "latency", {"latency": True}, "must be a number"),
        (Protocol.UDP, "loss", {"probabilty": 0.5}, "unknown attribute"),
        (Protocol.TCP, "slicer", {"average_size": 1.5}, "integer"),
        (Protocol.UDP, "loss", {"probability": 1.5}, "<= 1"),
        (Protocol.UDP, "latency", [], "JSON object"),
    ],
)
def test_attribute_validation(
    protocol: Protocol, type_name: str, attributes: object, fragment: str
) -> None:
    with pytest.raises(ApiError, match=fragment) as caught:
        registry.validate_attributes(protocol, type_name, attributes)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("attributes", "kept", "fragment"),
    [
        ({"latancy": 5}, {"latency": 0, "jitter": 0}, "unknown attribute(s) latancy"),
        ({"latency": -5}, {"latency": -5, "jitter": 0}, "'latency' of latency should be >= 0"),
    ],
)
def test_toxiproxy_types_warn_where_toxiproxy_accepts(
    attributes: dict[str, float], kept: dict[str, float], fragment: str
) -> None:
    """Toxiproxy ignores unknown attributes and takes negative values; so do we, with a
    warning (the caller puts it in a response header and the log)."""
    warnings: list[str] = []
    assert registry.validate_attributes(Protocol.TCP, "latency", attributes, warnings) == kept
    assert len(warnings) == 1
    assert fragment in warnings[0]


def test_gilbert_elliott_state_machine_has_the_stationary_loss() -> None:
    toxic = _udp("loss_burst", seed=random.randrange(1 << 30), p=0.1, r=0.4)
    kept = len(_run(toxic, 50_000))
    assert 1 - kept / 50_000 == pytest.approx(0.1 / 0.5, abs=0.02)


def test_original_sender_is_the_header_client_else_the_datagram_source() -> None:
    from harness.faults.proxy_protocol import encode_v2, original_sender

    relayed = encode_v2(("127.1.0.10", 50000), ("127.2.0.1", 3478)) + b"payload"
    assert original_sender(relayed, ("127.9.9.9", 1)) == (("127.1.0.10", 50000), b"payload")
    assert original_sender(b"payload", ("127.9.9.9", 1)) == (("127.9.9.9", 1), b"payload")
