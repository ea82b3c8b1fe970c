"""Marker and record files that a reader polling from another process never sees half-written."""

from __future__ import annotations

from pathlib import Path


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a concurrent reader sees nothing or all of it.

    The temporary name starts with a dot, so readers that list the directory skip it.
    """
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    temp.replace(path)
