"""The pre-generated call offer: both credential sets and the local/remote SDP (SIG-4).

The client prepares an offer *before* the user presses "call", so nothing on
the critical path waits for randomness or text formatting. The SDP is the
profile of specs/sdp.md, written by :mod:`harness.protocol.sdp`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.protocol.ice import IceCredentials
from harness.protocol.sdp import (
    CallDescription,
    Role,
    generate_sdp,
    host_candidate,
    random_fingerprint,
)
from harness.signaling.messages import BotCredentials, ClientOffer


def build_sdp(
    credentials: IceCredentials, *, bot: bool, host: tuple[str, int] | None = None
) -> str:
    """The profile's description (specs/sdp.md) through the protocol package's generator.

    ``host`` is the description's one host candidate: the client's bound check
    socket in its own description, the edge in the bot's.
    """
    description = CallDescription(
        Role.BOT if bot else Role.CLIENT,
        credentials,
        random_fingerprint(),
        (host_candidate(*host),) if host is not None else (),
        port=host[1] if host is not None else 9,
        connection_address=host[0] if host is not None else "0.0.0.0",
    )
    return generate_sdp(description)


@dataclass(frozen=True)
class CallOffer:
    """Everything the client pre-generates for one call; passwords never appear in ``repr``."""

    client: IceCredentials
    bot: IceCredentials
    local_sdp: str = field(repr=False)

    @classmethod
    def generate(
        cls,
        candidate: tuple[str, int] | None = None,
        client: IceCredentials | None = None,
    ) -> CallOffer:
        """Fresh credentials; ``candidate`` is the client's bound check socket (SDP-12)."""
        client = client or IceCredentials.generate()
        bot = IceCredentials.generate()
        # RFC 8445 §5.3 / SDP-15: the two sets must differ; with 96-bit ufrags a
        # collision is astronomically unlikely, but a loop costs nothing.
        while bot.ufrag == client.ufrag:
            bot = IceCredentials.generate()
        return cls(client=client, bot=bot, local_sdp=build_sdp(client, bot=False, host=candidate))

    def remote_sdp(self, edge: tuple[str, int] | None = None) -> str:
        """The bot's description as the client expects it (ICE-lite, the edge as host candidate)."""
        return build_sdp(self.bot, bot=True, host=edge)

    def client_offer(self) -> ClientOffer:
        return ClientOffer(sdp=self.local_sdp, ice_ufrag=self.client.ufrag, ice_pwd=self.client.pwd)

    def bot_credentials(self) -> BotCredentials:
        return BotCredentials(ice_ufrag=self.bot.ufrag, ice_pwd=self.bot.pwd)
