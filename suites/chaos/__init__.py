"""Chaos: latency, loss, outages and races on every link (specs: RACE, FB, STUN)."""
