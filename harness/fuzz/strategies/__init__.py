"""Reusable Hypothesis strategies: ``stun`` (checks, attributes, malformed datagrams), ``sdp``,
``signaling`` (valid and malformed ``session.create`` requests) and ``datagrams`` (hostile
datagrams built with scapy, raw bytes, signed-but-broken and forged checks)."""
