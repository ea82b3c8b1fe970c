"""Fault hops on every link: Toxiproxy-compatible TCP and UDP impairment, seeded.

Start here: :class:`harness.faults.client.FaultClient` (links and faults),
:mod:`harness.faults.vocabulary` (context managers), :mod:`harness.faults.schedule`
(timed faults), :mod:`harness.faults.log` (the fault log),
:class:`harness.faults.api.launcher.HopServer` (one hop process for a stack),
:mod:`harness.faults.proxy_protocol` (PROXY v2 for the edges). See README.md here.
Nothing heavy is imported by this package itself.
"""
