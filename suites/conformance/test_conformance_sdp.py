"""The SDP the target hands out: the bot description of a sequential call (SDP-*, SIG-9).

In ULLC mode the client writes both descriptions itself; only the sequential
baseline has the DC allocate the bot's credentials and description, so that is the
SDP of the target's own making that the profile checker can judge.
"""

from __future__ import annotations

import asyncio

import pytest

from harness.client.offer import CallOffer
from harness.conformance.signaling import RawAnswer, SignalingProbe
from harness.fixtures.target_session import RunningTarget
from harness.protocol.sdp import Role
from harness.protocol.sdp_checker import check_sdp, check_sdp_pair, parse_description
from harness.signaling.messages import Mode, SessionCreateRequest

pytestmark = pytest.mark.conformance


@pytest.mark.requires_capability("sequential")
@pytest.mark.requirements(
    "SIG-9", "SDP-1", "SDP-2", "SDP-3", "SDP-6", "SDP-7", "SDP-8", "SDP-10", "SDP-12", "SDP-15",
    # check_sdp runs every rule of the bot profile, these too:
    "SDP-4", "SDP-5", "SDP-9", "SDP-11", "SDP-13", "SDP-14",
)  # fmt: skip
def test_sequential_bot_sdp_passes_the_profile_checker(ullc_target: RunningTarget) -> None:
    # A host candidate for the client description (SDP-12); the bot never dials it.
    offer = CallOffer.generate((ullc_target.target.client.bind_ip or "127.0.0.1", 9))
    request = SessionCreateRequest(
        request_id="conf.sdp", mode=Mode.SEQUENTIAL, client=offer.client_offer()
    ).to_json()

    async def ask() -> RawAnswer:
        async with SignalingProbe(ullc_target.target) as probe:
            return await probe.send(request)

    answer = asyncio.run(ask())

    assert answer.well_formed, (answer.text, answer.violations)
    assert answer.type == "session.created", answer.text
    bot = answer.body["bot"]
    violations = check_sdp(bot["sdp"], Role.BOT)
    assert violations == [], "\n".join(str(v) for v in violations)
    # The credentials in `bot` are the ones the description announces (SIG-9).
    described = parse_description(bot["sdp"], Role.BOT)
    assert (described.credentials.ufrag, described.credentials.pwd) == (
        bot["ice_ufrag"],
        bot["ice_pwd"],
    )
    pair = check_sdp_pair(offer.local_sdp, bot["sdp"])
    assert pair == [], "\n".join(str(v) for v in pair)
