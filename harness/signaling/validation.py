"""Validation of signaling JSON against the schemas published in specs/schemas."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from harness.errors import ProtocolError
from harness.specs_data import load_schema

if TYPE_CHECKING:
    import jsonschema

SCHEMA_BY_TYPE = {
    "session.create": "session-create-request",
    "session.created": "session-create-response",
    "error": "error",
}


@dataclass(frozen=True)
class SchemaViolation:
    """One way a message breaks its schema; ``path`` is a JSON pointer-ish dotted path."""

    path: str
    message: str


@cache
def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    # jsonschema costs ~80 ms to import; result types import this module at start-up.
    import jsonschema

    return jsonschema.Draft202012Validator(
        load_schema(schema_name), format_checker=jsonschema.FormatChecker()
    )


def validate(message: Any, schema_name: str | None = None) -> list[SchemaViolation]:
    """Every schema violation of ``message``; empty when it conforms.

    Without ``schema_name`` the schema is picked from the message's ``type``.
    """
    if schema_name is None:
        if not isinstance(message, dict) or message.get("type") not in SCHEMA_BY_TYPE:
            kind = message.get("type") if isinstance(message, dict) else type(message).__name__
            return [SchemaViolation("type", f"unknown message type {kind!r}")]
        schema_name = SCHEMA_BY_TYPE[message["type"]]
    errors = sorted(_validator(schema_name).iter_errors(message), key=lambda e: list(e.path))
    return [
        SchemaViolation(".".join(str(part) for part in error.path) or "(root)", error.message)
        for error in errors
    ]


class SignalingSchemaError(ProtocolError):
    """A signaling message does not match its JSON Schema (SIG-6, SIG-10, SIG-12).

    The message lists each offending field; fix the sender.
    """

    def __init__(self, kind: str, violations: list[SchemaViolation]) -> None:
        details = "; ".join(f"{v.path}: {v.message}" for v in violations)
        super().__init__(
            f"{kind} does not match its schema: {details}",
            hint="compare the message with specs/schemas/ (the schema file names the field rules)",
        )
        self.violations = violations
