"""The bot description a sequential-mode DC hands out (specs/sdp.md, SIG-9)."""

from __future__ import annotations

import secrets


def bot_description(ufrag: str, pwd: str, ip: str, port: int, fingerprint: bytes) -> str:
    family = "IP6" if ":" in ip else "IP4"
    lines = [
        "v=0",
        f"o=- {secrets.randbelow(2**62)} 1 IN {family} {ip}",
        "s=-",
        "t=0 0",
        "a=ice-lite",  # SDP-8
        f"m=audio {port} UDP/TLS/RTP/SAVPF 111",
        f"c=IN {family} {ip}",
        "a=mid:0",
        f"a=ice-ufrag:{ufrag}",
        f"a=ice-pwd:{pwd}",
        "a=fingerprint:sha-256 " + ":".join(f"{b:02X}" for b in fingerprint),  # SDP-9
        "a=setup:passive",  # SDP-10
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        f"a=candidate:1 1 UDP 2130706431 {ip} {port} typ host",  # SDP-12
    ]
    return "\r\n".join(lines) + "\r\n"
