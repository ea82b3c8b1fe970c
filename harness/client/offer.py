"""The pre-generated call offer: both credential sets and the local/remote SDP (SIG-4).

The client prepares an offer *before* the user presses "call", so nothing on
the critical path waits for randomness or text formatting. The SDP follows the
profile of specs/sdp.md in its smallest form: one audio m-line, ICE
credentials, a DTLS fingerprint, ``setup``, ``mid`` and ``rtcp-mux``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from harness.client.credentials import IceCredentials
from harness.signaling.messages import BotCredentials, ClientOffer

_PAYLOAD = "111"


def _fingerprint() -> str:
    # The harness does no DTLS; a random sha-256 value keeps the SDP well-formed
    # without pretending a certificate exists.
    return ":".join(f"{byte:02X}" for byte in secrets.token_bytes(32))


def build_sdp(
    credentials: IceCredentials, *, bot: bool, host: tuple[str, int] | None = None
) -> str:
    """A minimal SDP of the ULLC profile; ``bot`` makes it the ICE-lite remote description."""
    session_id = secrets.randbelow(2**62)
    lines = [
        "v=0",
        f"o=- {session_id} 2 IN IP4 0.0.0.0",
        "s=-",
        "t=0 0",
    ]
    if bot:
        # RFC 8839 §5.3: ice-lite is a session-level attribute.
        lines.append("a=ice-lite")
    lines += [
        f"m=audio 9 UDP/TLS/RTP/SAVPF {_PAYLOAD}",
        "c=IN IP4 0.0.0.0",
        f"a=rtpmap:{_PAYLOAD} opus/48000/2",
        f"a=ice-ufrag:{credentials.ufrag}",
        f"a=ice-pwd:{credentials.pwd}",
        f"a=fingerprint:sha-256 {_fingerprint()}",
        "a=setup:passive" if bot else "a=setup:actpass",
        "a=mid:0",
        "a=rtcp-mux",
    ]
    if host is not None:
        ip, port = host
        priority = (126 << 24) | (65535 << 8) | 255
        lines.append(f"a=candidate:1 1 udp {priority} {ip} {port} typ host")
    return "\r\n".join(lines) + "\r\n"


@dataclass(frozen=True)
class CallOffer:
    """Everything the client pre-generates for one call; passwords never appear in ``repr``."""

    client: IceCredentials
    bot: IceCredentials
    local_sdp: str = field(repr=False)

    @classmethod
    def generate(cls) -> CallOffer:
        client = IceCredentials.generate()
        bot = IceCredentials.generate()
        # RFC 8445 §5.3 / SDP-15: the two sets must differ; with 96-bit ufrags a
        # collision is astronomically unlikely, but a loop costs nothing.
        while bot.ufrag == client.ufrag:
            bot = IceCredentials.generate()
        return cls(client=client, bot=bot, local_sdp=build_sdp(client, bot=False))

    def remote_sdp(self, edge: tuple[str, int] | None = None) -> str:
        """The bot's description as the client expects it (ICE-lite, the edge as host candidate)."""
        return build_sdp(self.bot, bot=True, host=edge)

    def client_offer(self) -> ClientOffer:
        return ClientOffer(sdp=self.local_sdp, ice_ufrag=self.client.ufrag, ice_pwd=self.client.pwd)

    def bot_credentials(self) -> BotCredentials:
        return BotCredentials(ice_ufrag=self.bot.ufrag, ice_pwd=self.bot.pwd)
