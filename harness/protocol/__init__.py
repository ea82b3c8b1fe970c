"""ULLC protocol foundation: STUN/ICE wire format, strict checking, SDP profile.

One concept a module:

- :mod:`~harness.protocol.requirements`: the catalogue of STUN-n / SDP-n requirement IDs.
- :mod:`~harness.protocol.violations`: :class:`Violation`, one broken requirement.
- :mod:`~harness.protocol.errors`: the errors this package raises.
- :mod:`~harness.protocol.stun_wire`: header and attribute TLV walk, raw encoder.
- :mod:`~harness.protocol.stun_attributes`: attribute types and value codecs.
- :mod:`~harness.protocol.stun_integrity`: MESSAGE-INTEGRITY(-SHA256), FINGERPRINT, keys.
- :mod:`~harness.protocol.stun_message`: :class:`StunMessage` and the strict parser.
- :mod:`~harness.protocol.ice`: credentials and building ICE checks and responses.
- :mod:`~harness.protocol.stun_checker`: list every violation in a datagram.
- :mod:`~harness.protocol.ice_responder`: the bot's decision for one datagram.
- :mod:`~harness.protocol.sdp`: the pre-generated SDP profile, parse and generate.
- :mod:`~harness.protocol.sdp_checker`: list every profile violation of a description.
"""
