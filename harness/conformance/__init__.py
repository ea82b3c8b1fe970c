"""Probing a ULLC target from the outside, without pytest: what the conformance, chaos and
fuzz suites are built on, reusable from a script.

One concept a module:

- :mod:`~harness.conformance.errors`: the errors this package raises.
- :mod:`~harness.conformance.datagrams`: send crafted UDP datagrams, collect every answer
  with its source and arrival time until a linger timeout.
- :mod:`~harness.conformance.crafting`: ICE checks broken in one named way each (bad
  integrity, no USERNAME, unknown attribute, bad cookie, ...), and what the rules expect.
- :mod:`~harness.conformance.session`: open a ULLC session through the gateway with
  credentials the caller keeps, so it can sign (or mis-sign) checks for it.
- :mod:`~harness.conformance.signaling`: raw frames on one gateway WebSocket, answers
  judged against the schemas, and whether the connection stays usable.
- :mod:`~harness.conformance.judging`: does an answer (or a silence) match what the STUN
  rules expect; the strict checker plus the class of the answer.
- :mod:`~harness.conformance.bounds`: the spec's degraded bounds (RACE-4, FB-5, TOPO-4)
  computed from a topology and the target's limits.
- :mod:`~harness.conformance.measured`: the chaos world of any target (the reference
  topology, or round trips measured through the harness's hops) and the links to impair.
- :mod:`~harness.conformance.accounting`: calls against the fault log: every failure must
  overlap a fault window that explains it, none may fail outside one.
- :mod:`~harness.conformance.stun_server`: a plain STUN server from the OS packages
  (coturn's ``turnserver``), for the STUN-only target of TGT-5.
- :mod:`~harness.conformance.stun_peers`: real responders for STUN-only targets (coturn,
  stund, an aioice agent via :mod:`~harness.conformance.aioice_responder`, a libnice
  ICE-lite agent built from ``nice_lite.c``), each with its profile and target file.
- :mod:`~harness.conformance.stun_probes`: the requests sent to them (golden captures,
  STUN-only rows); :mod:`harness.protocol.stun_outcome` says what each calls for.

Example::

    import asyncio
    from harness.conformance.crafting import Variant, craft
    from harness.conformance.datagrams import exchange
    from harness.conformance.session import open_probe_session

    async def main(target):
        probe = await open_probe_session(target)
        check = craft(Variant.BAD_INTEGRITY, probe.bot, probe.client)
        result = await exchange(probe.edge, [check.data], bind_ip=target.client.bind_ip)
        print(result.answers)
"""
