"""Errors of the protocol package, all under :class:`harness.errors.ProtocolError`."""

from __future__ import annotations

from harness.errors import ProtocolError


class StunParseError(ProtocolError):
    """The bytes are not a well-formed STUN message (RFC 8489 section 5 and 14).

    The message names the field, the offset and the length expected. The
    parser raises only this error, whatever the input; to learn *every*
    problem of a datagram instead of the first, run
    :func:`harness.protocol.stun_checker.check_stun` or ``ullc-harness lint-stun``.
    """

    def __init__(self, message: str, *, offset: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.offset = offset


class SdpParseError(ProtocolError):
    """A session description does not follow the SDP grammar (RFC 8866 section 5).

    ``line`` is the 1-based line number; fix that line. Profile rules (which
    attributes ULLC needs) are reported by ``ullc-harness lint-sdp`` instead.
    """

    def __init__(self, message: str, *, line: int | None = None, hint: str | None = None) -> None:
        prefix = f"line {line}: " if line is not None else ""
        super().__init__(prefix + message, hint=hint)
        self.line = line


class CredentialError(ProtocolError):
    """An ICE ufrag or password outside the grammar of RFC 8839 section 5.4.

    Use 4..256 ice-chars (ALPHA / DIGIT / "+" / "/") for a ufrag and 22..256
    for a password; :func:`harness.protocol.ice.generate_credentials` makes valid ones.
    """


class AttributeValueError(StunParseError):
    """One attribute's value breaks its format (its length, family, code range...).

    ``requirement`` is the STUN-n ID of the broken rule; fix the named attribute.
    """

    def __init__(self, requirement: str, message: str, *, offset: int | None = None) -> None:
        super().__init__(message, offset=offset)
        self.requirement = requirement
