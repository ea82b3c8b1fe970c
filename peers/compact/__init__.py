"""A compact, independent ULLC implementation: one asyncio process, written from specs/ only.

It exists to keep the harness honest: the suites must judge it by the spec, not by
what the reference stack (harness/stack) happens to do. It imports nothing from
``harness``.
"""
