"""The requirement IDs of ``specs/stun.md`` and ``specs/sdp.md`` with their RFC clauses.

The spec files are normative; this catalogue mirrors them so that a violation
can name its RFC clause without a second source of truth drifting away:
``tests/unit/protocol/test_requirements_catalog.py`` fails when the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    id: str
    rfc: str
    title: str


def _catalog(*entries: tuple[str, str, str]) -> dict[str, Requirement]:
    return {ident: Requirement(ident, rfc, title) for ident, rfc, title in entries}


STUN_REQUIREMENTS = _catalog(
    ("STUN-1", "RFC 8489 §5", "the two most significant bits of a STUN message are zero"),
    ("STUN-2", "RFC 8489 §5", "the magic cookie is 0x2112A442"),
    ("STUN-3", "RFC 8489 §5", "Message Length matches the datagram and is a multiple of 4"),
    ("STUN-4", "RFC 8489 §5, §6.2.1", "a new random 96-bit transaction ID per new transaction"),
    ("STUN-5", "RFC 8489 §6.3.1.1, §6.3.3", "a response echoes the transaction ID and method"),
    ("STUN-6", "RFC 8489 §14", "attributes are TLVs padded to 4 bytes that fill the message"),
    ("STUN-7", "RFC 8489 §14.5, §14.6", "only MI-SHA256 and FINGERPRINT follow MESSAGE-INTEGRITY"),
    ("STUN-8", "RFC 8489 §14.7, RFC 8445 §7.2.4", "FINGERPRINT is present and last"),
    ("STUN-9", "RFC 8489 §14.7", "FINGERPRINT is CRC-32 of the message XOR 0x5354554E"),
    ("STUN-10", "RFC 8489 §14.5, §9.1.1", "MESSAGE-INTEGRITY is a 20-byte HMAC-SHA1 that verifies"),
    ("STUN-11", "RFC 8489 §14.6", "MESSAGE-INTEGRITY-SHA256 is 16..32 bytes and verifies"),
    ("STUN-12", "RFC 8489 §14.2", "XOR-MAPPED-ADDRESS has family 0x01 or 0x02 and its length"),
    ("STUN-13", "RFC 8489 §6.3.1.1, RFC 8445 §7.3", "XOR-MAPPED-ADDRESS is the client's address"),
    ("STUN-14", "RFC 8489 §6.3.1, §6.3.3", "no unknown comprehension-required attributes"),
    ("STUN-15", "RFC 8489 §14.3, §14.8, §14.13, RFC 8445 §7.1", "attribute values well-formed"),
    ("STUN-16", "RFC 8489 §9.1, RFC 8445 §7.2.2", "only the short-term credential mechanism"),
    ("STUN-20", "RFC 8445 §7.2.4", "ULLC uses the Binding method only"),
    ("STUN-21", "RFC 8445 §7.2.2", 'a check carries USERNAME "BOTUFRAG:CLIENTUFRAG"'),
    ("STUN-22", "RFC 8445 §7.1.1, §5.1.2.1", "a check carries PRIORITY"),
    ("STUN-23", "RFC 8445 §7.1.3, §6.1.1", "a check carries ICE-CONTROLLING, never ICE-CONTROLLED"),
    ("STUN-24", "RFC 8445 §7.2.2, RFC 8489 §9.1.2", "a check carries MESSAGE-INTEGRITY"),
    ("STUN-25", "RFC 8445 §7.1.2, §8.1.1", "USE-CANDIDATE is optional"),
    (
        "STUN-30",
        "RFC 8489 §6.2.1, RFC 8445 §14.2, §14.3",
        "the client paces retransmissions at Tp, then backs off",
    ),
    ("STUN-31", "RFC 8489 §6.2.1", "a new transaction only when the client re-targets"),
    ("STUN-32", "RFC 8489 §6.2.1", "the client gives up at the call deadline with a timeout"),
    ("STUN-33", "RFC 8489 §6.3.3, §9.1.4, RFC 8445 §7.2.5.2.1", "which responses count"),
    ("STUN-34", "RFC 8445 §7.2.5.3", "connected is the first authentic Binding success"),
    ("STUN-40", "RFC 8489 §6.3", "the bot silently discards what is not STUN"),
    ("STUN-41", "RFC 8489 §6.3, §7", "the bot silently discards a bad or missing FINGERPRINT"),
    ("STUN-42", "RFC 8489 §6.3.2, §6.3.3", "the bot discards indications and responses"),
    ("STUN-43", "RFC 8489 §9.1.3", "400 when USERNAME or MESSAGE-INTEGRITY is missing"),
    ("STUN-44", "RFC 8489 §9.1.3, RFC 8445 §7.3", "an unknown bot ufrag is discarded at ingress"),
    ("STUN-45", "RFC 8489 §9.1.3", "401 without MESSAGE-INTEGRITY when integrity fails"),
    ("STUN-46", "RFC 8489 §6.3.1, §14.13", "420 with UNKNOWN-ATTRIBUTES"),
    ("STUN-47", "RFC 8445 §7.3.1.1, §6.1.1", "487 Role Conflict for ICE-CONTROLLED"),
    ("STUN-48", "RFC 8489 §6.3.1.1, §9.1.3, RFC 8445 §7.3", "the Binding success response"),
    ("STUN-49", "RFC 8489 §6.3.1", "a retransmitted check gets an equivalent success"),
    ("STUN-50", "RFC 8489 §6.3.1.1, §9.1.3, §14.8", "the form of error responses"),
)

SDP_REQUIREMENTS = _catalog(
    ("SDP-1", "RFC 8866 §5", "lines are <type>=<value> in the RFC 8866 order"),
    ("SDP-2", "RFC 8866 §5.1, §5.2, §5.3, §5.9", "v=0, o= with six fields, s=, t=0 0"),
    ("SDP-3", "RFC 8866 §5.14, RFC 5764 §8", "exactly one audio m-line over UDP/TLS/RTP/SAVPF"),
    ("SDP-4", "RFC 8866 §5.7", "a c= line covers the media"),
    ("SDP-5", "RFC 8866 §6.6", "every dynamic payload type has an rtpmap"),
    ("SDP-6", "RFC 8839 §5.4", "exactly one a=ice-ufrag of 4..256 ice-chars"),
    ("SDP-7", "RFC 8839 §5.4", "exactly one a=ice-pwd of 22..256 ice-chars"),
    ("SDP-8", "RFC 8839 §5.3, RFC 8445 §6.1.1", "a=ice-lite on the bot, session level only"),
    ("SDP-9", "RFC 8122 §5, RFC 8842 §5", "a=fingerprint with sha-256"),
    ("SDP-10", "RFC 4145 §4, RFC 5763 §5", "a=setup: actpass on the client, passive on the bot"),
    ("SDP-11", "RFC 8839 §5.1", "a=candidate lines follow the grammar"),
    ("SDP-12", "RFC 8839 §5.1, RFC 8445 §5.1.1", "candidate set: one host candidate on the bot"),
    ("SDP-13", "RFC 5888 §4", "a=mid on the m-line"),
    ("SDP-14", "RFC 5761 §5.1.1", "a=rtcp-mux on the m-line"),
    ("SDP-15", "RFC 8445 §5.3", "client and bot credentials differ"),
)

REQUIREMENTS: dict[str, Requirement] = {**STUN_REQUIREMENTS, **SDP_REQUIREMENTS}


def requirement(ident: str) -> Requirement:
    """The catalogue entry for ``ident``; a KeyError here is a bug in the caller."""
    return REQUIREMENTS[ident]
