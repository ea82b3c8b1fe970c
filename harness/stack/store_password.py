"""The per-run password of the stack's Redis instances (one per run, never on a command line).

Each DC's Redis listens on its own loopback address only, in protected mode, and
answers nothing but AUTH without this password: any process on the machine could
otherwise read and rewrite every session (and the hop could be pointed at it).
The supervisor creates it before the first Redis starts; components, the runner's
health probe and tests read it from the run directory (mode 0600).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE = "redis-password"


def path(run_dir: Path) -> Path:
    return run_dir / "secrets" / FILE


def create(run_dir: Path) -> str:
    """A new random password for this run, written where :func:`read` finds it."""
    password = secrets.token_urlsafe(32)
    target = path(run_dir)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(password)
    return password


def read(run_dir: Path) -> str | None:
    """This run's password, None for a run without one (a stack started before it existed)."""
    try:
        return path(run_dir).read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None


def redis_config(run_dir: Path, name: str, password: str) -> Path:
    """A Redis config file (0600) carrying ``requirepass``: argv is readable by every user."""
    target = run_dir / "secrets" / f"{name}.conf"
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(f"requirepass {password}\n")
    return target
