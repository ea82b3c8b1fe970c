"""Sample inputs for `ullc-harness lint-stun` and `lint-sdp`; see README.md here."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).parent


def find(name: str) -> Path | None:
    """The packaged sample called ``name`` (e.g. ``ullc-check.hex``), if there is one.

    The linters fall back to it when ``name`` is no file in the working directory,
    so the README's "try" commands work wherever the package is installed.
    """
    if "/" in name or name.startswith("."):
        return None
    candidate = FOLDER / name
    return candidate if candidate.is_file() and candidate.suffix != ".py" else None
