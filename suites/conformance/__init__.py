"""Conformance: real STUN answers, SDP and signaling messages, strictly checked (STUN, SDP, SIG)."""
