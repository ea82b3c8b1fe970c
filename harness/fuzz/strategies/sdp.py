"""Hypothesis strategies for the ULLC SDP profile (specs/sdp.md)."""

from __future__ import annotations

from hypothesis import strategies as st

from harness.protocol.sdp import (
    CallDescription,
    Candidate,
    Role,
    generate_sdp,
    host_candidate,
    random_fingerprint,
)

from .stun import ice_credentials

_FOUNDATION = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789+/", min_size=1, max_size=32)
ports = st.integers(1, 65535)
ipv4 = st.ip_addresses(v=4).map(str)


@st.composite
def candidates(draw: st.DrawFn, *, host_only: bool = False) -> Candidate:
    """Candidates on component 1 over UDP, any type unless ``host_only``."""
    cand_type = "host" if host_only else draw(st.sampled_from(["host", "srflx", "prflx", "relay"]))
    address, port = draw(ipv4), draw(ports)
    related: tuple[str | None, int | None] = (None, None)
    if cand_type != "host":
        related = (draw(ipv4), draw(ports))
    return Candidate(
        draw(_FOUNDATION),
        1,
        "UDP",
        draw(st.integers(1, 2**31 - 1)),
        address,
        port,
        cand_type,
        related[0],
        related[1],
    )


@st.composite
def call_descriptions(draw: st.DrawFn, role: Role | None = None) -> CallDescription:
    """Profile-valid descriptions of either role (or the one given)."""
    chosen = draw(st.sampled_from(list(Role))) if role is None else role
    if chosen is Role.BOT:
        cands: tuple[Candidate, ...] = (host_candidate(draw(ipv4), draw(ports)),)
    else:
        cands = tuple(draw(st.lists(candidates(), min_size=1, max_size=4)))
    fp = random_fingerprint(draw(st.randoms(use_true_random=False)))
    return CallDescription(
        chosen,
        draw(ice_credentials()),
        fp,
        cands,
        mid=draw(st.sampled_from(["0", "audio", "a1"])),
        port=cands[0].port,
        connection_address=cands[0].address,
        session_id=draw(st.integers(0, 2**62)),
    )


def profile_sdps(role: Role | None = None) -> st.SearchStrategy[str]:
    """The text of profile-valid descriptions."""
    return call_descriptions(role).map(generate_sdp)
