"""Access to the spec files shipped with the package (``harness.specs``)."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The JSON Schema ``specs/schemas/<name>.schema.json`` as a dict."""
    resource = files("harness.specs").joinpath("schemas", f"{name}.schema.json")
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return schema
