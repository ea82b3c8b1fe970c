"""``specs/untested.toml``: the requirements no suite test checks, each with the reason.

One key per requirement ID, its value the reason in words: what tests it instead (a client
rule tested by the harness's own tests, a rule of the reference stack's world) or what a
suite test would need. Read from the package (``harness.specs``) like the spec itself.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files

from harness.errors import UsageError

FILE_NAME = "untested.toml"


@cache
def explanations() -> dict[str, str]:
    """Requirement ID -> why it is not tested by a suite test."""
    text = files("harness.specs").joinpath(FILE_NAME).read_text(encoding="utf-8")
    return parse(text)


def parse(text: str) -> dict[str, str]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UsageError(
            f"specs/{FILE_NAME} is not valid TOML: {error}",
            hint='each line is `"ID" = "reason"` (multi-line reasons in """ quotes)',
        ) from error
    found = {}
    for key, value in data.items():
        if not isinstance(value, str) or not value.strip():
            raise UsageError(
                f"specs/{FILE_NAME}: {key} must map to a non-empty reason string, got {value!r}",
                hint='write `"ID" = "not tested here, because ..."`',
            )
        found[key] = " ".join(value.split())
    return found
