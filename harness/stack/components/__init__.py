"""One module per reference-stack component; each exposes ``async def run(ctx)``."""

from __future__ import annotations

from harness.stack.plan import Role

COMPONENT_MODULES = {
    Role.DNS: "harness.stack.components.dns_responder",
    Role.GATEWAY: "harness.stack.components.gateway",
    Role.EDGE: "harness.stack.components.edge",
    Role.HANDLER: "harness.stack.components.handler",
    Role.BOT: "harness.stack.components.bot",
    Role.INGRESS: "harness.stack.components.ingress",
}
"""The module that runs each role (the hop runs the fault API server instead).

Here, not in the local supervisor, so that a docker component imports only what it runs."""
