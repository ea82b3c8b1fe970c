"""An aioice ICE agent answering connectivity checks on loopback, for STUN-only targets.

``python -m harness.conformance.aioice_responder --host 127.0.0.1 --ufrag U --pwd P
--client-ufrag C`` binds one host candidate, prints ``READY <host> <port>`` and answers
checks with aioice's own code (authentication, role conflicts, FINGERPRINT) until it
is terminated. It never calls ``connect()``, so it sends no checks of its own: aioice
defers triggered checks until then (RFC 8445 §7.3).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import aioice

# An ICE password is 22..256 ice-chars (RFC 8839 §5.4); the responder never checks,
# so the client's password is never used, but aioice wants one.
UNUSED_CLIENT_PASSWORD = "unusedclientpassword00"


async def serve(host: str, ufrag: str, pwd: str, client_ufrag: str) -> None:
    agent = aioice.Connection(
        ice_controlling=False,
        components=1,
        use_ipv6=False,
        local_username=ufrag,
        local_password=pwd,
    )
    agent.remote_username = client_ufrag
    agent.remote_password = UNUSED_CLIENT_PASSWORD
    # gather_candidates() skips 127.0.0.1; binding the loopback candidate directly is
    # the same code path for one address.
    candidates = await agent.get_component_candidates(component=1, addresses=[host])
    if not candidates:
        raise SystemExit(f"aioice could not bind {host}")
    print(f"READY {candidates[0].host} {candidates[0].port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await agent.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--ufrag", required=True)
    parser.add_argument("--pwd", required=True)
    parser.add_argument("--client-ufrag", required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.ufrag, args.pwd, args.client_ufrag))


if __name__ == "__main__":
    main()
