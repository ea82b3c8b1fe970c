"""The one network chooser of every backend: draw a /16, claim it, check it fits.

Both backends lay a stack out in a /16 of their own (local: inside 127.0.0.0/8;
docker: a private subnet for its internal network). Checking that a network is
free and taking it later leaves a window in which a parallel runner (an xdist
worker) checks the same one, so every candidate is claimed first
(:mod:`harness.stack.local.network_claim`, an flock the kernel drops when the
runner dies) and only then checked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from harness.stack.errors import StackAddressInUseError
from harness.stack.local.network_claim import NetworkClaim, try_claim

AUTO_OCTETS = range(100, 250)
"""Second octet of automatic /16 networks (``127.B.0.0/16`` or ``10.B.0.0/16``)."""
TRIES = 30


def candidates(first_octet: int) -> list[str]:
    """Every automatic /16 under ``first_octet``, in a random order.

    System RNG: tests may seed ``random``, and parallel workers must not agree.
    """
    octets = list(AUTO_OCTETS)
    secrets.SystemRandom().shuffle(octets)
    return [f"{first_octet}.{octet}.0.0/16" for octet in octets]


def choose_network(
    networks: Sequence[str], fits: Callable[[str], bool], *, hint: str
) -> tuple[str, NetworkClaim]:
    """The first of ``networks`` this runner can claim and on which ``fits`` holds.

    The claim is held until released (the stack's ``stop``) or the process exits.
    """
    for network in list(networks)[:TRIES]:
        claim = try_claim(network)
        if claim is None:
            continue  # another runner of ours is starting or running a stack there
        if fits(network):
            return network, claim
        claim.release()
    first, last = networks[0].split(".")[0], len(networks)
    raise StackAddressInUseError(
        f"no free /16 found among {min(TRIES, last)} candidates in {first}.0.0.0/8 "
        "for an automatic network",
        hint=hint,
    )
