"""Reusable Hypothesis strategies: ``stun`` (checks, attributes, malformed datagrams), ``sdp``."""
