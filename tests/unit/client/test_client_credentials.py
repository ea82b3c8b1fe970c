"""Pre-generated credentials and offers (SIG-4, SIG-8, RFC 8839 §5.4)."""

from __future__ import annotations

import re

from harness.client.offer import CallOffer
from harness.protocol.ice import (
    GENERATED_PWD_LENGTH as PWD_LENGTH,
)
from harness.protocol.ice import (
    GENERATED_UFRAG_LENGTH as UFRAG_LENGTH,
)
from harness.protocol.ice import (
    ICE_CHARS,
    PWD_MIN_BITS,
    UFRAG_MIN_BITS,
    IceCredentials,
    entropy_bits,
)
from harness.protocol.sdp_checker import check_sdp_pair
from harness.signaling import Mode, SessionCreateRequest, validate

ICE_CHAR = re.compile(r"^[A-Za-z0-9+/]+$")


def test_charset_and_lengths_follow_rfc_8839() -> None:
    assert len(ICE_CHARS) == 64
    for _ in range(200):
        creds = IceCredentials.generate()
        assert ICE_CHAR.match(creds.ufrag)
        assert ICE_CHAR.match(creds.pwd)
        assert len(creds.ufrag) == UFRAG_LENGTH
        assert len(creds.pwd) == PWD_LENGTH


def test_entropy_meets_sig_8() -> None:
    assert entropy_bits(UFRAG_LENGTH) >= UFRAG_MIN_BITS
    assert entropy_bits(PWD_LENGTH) >= PWD_MIN_BITS
    # Drawn from the whole alphabet, never repeating: a weak source would collide.
    ufrags = {IceCredentials.generate().ufrag for _ in range(2000)}
    assert len(ufrags) == 2000
    seen = set("".join(ufrags))
    assert len(seen) == 64


def test_password_never_in_repr() -> None:
    offer = CallOffer.generate()
    assert offer.client.pwd not in repr(offer)
    assert offer.bot.pwd not in repr(offer)
    assert offer.client.ufrag in repr(offer)


def test_request_built_from_an_offer_matches_the_schema() -> None:
    offer = CallOffer.generate()
    ullc = SessionCreateRequest(
        request_id="c1.1",
        mode=Mode.ULLC,
        client=offer.client_offer(),
        bot=offer.bot_credentials(),
        edge_ip="127.10.1.1",
    )
    assert validate(ullc.to_json()) == []
    sequential = SessionCreateRequest("c1.2", Mode.SEQUENTIAL, offer.client_offer())
    assert validate(sequential.to_json()) == []
    assert offer.client.ufrag != offer.bot.ufrag


def test_sdp_pair_passes_the_profile_checker() -> None:
    offer = CallOffer.generate(("127.1.1.10", 40000))
    assert f"a=ice-ufrag:{offer.client.ufrag}" in offer.local_sdp
    assert "127.1.1.10 40000 typ host" in offer.local_sdp
    remote = offer.remote_sdp(("127.10.1.1", 3478))
    assert "a=ice-lite" in remote
    violations = check_sdp_pair(offer.local_sdp, remote)
    assert list(violations) == []
