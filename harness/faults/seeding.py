"""Seeds for every random draw of the fault engine.

Each toxic's generator is derived from (root seed, proxy name, toxic name,
direction, purpose) by hashing, so the pattern a toxic produces does not depend
on the order in which toxics or proxies were created, and two toxics never share
a stream of numbers. Same inputs -> same pattern on any machine and Python.
"""

from __future__ import annotations

import hashlib
import random


def derive_seed(root: int, *parts: str | int) -> int:
    """A 64-bit seed from ``root`` and a path of names (stable across processes)."""
    text = "\x1f".join([str(root), *(str(part) for part in parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def derive_rng(root: int, *parts: str | int) -> random.Random:
    """A private :class:`random.Random` for one consumer (see :func:`derive_seed`)."""
    return random.Random(derive_seed(root, *parts))
