"""Sample inputs for `ullc-harness lint-stun` and `lint-sdp`; see README.md here."""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).parent


def find(name: str) -> Path | None:
    """The packaged sample called ``name`` (e.g. ``ullc-check.hex``), if there is one.

    The linters fall back to it when ``name`` is no file in the working directory,
    so the README's "try" commands work wherever the package is installed.
    """
    # Hex messages are passed on the same command line: only a plain file name counts.
    if "/" in name or name.startswith(".") or any(ch.isspace() for ch in name):
        return None
    candidate = FOLDER / name
    try:
        found = candidate.is_file()
    except OSError:  # e.g. a hex string longer than a file name may be
        return None
    return candidate if found and candidate.suffix != ".py" else None
