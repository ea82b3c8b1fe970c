"""ULLC signaling messages (specs/signaling.md) and their JSON Schema validation."""

from harness.signaling.messages import (
    BotCredentials,
    ClientOffer,
    ErrorCode,
    MediaAddress,
    Mode,
    SessionCreated,
    SessionCreateRequest,
    SignalingError,
    parse_message,
)
from harness.signaling.validation import SchemaViolation, validate

__all__ = [
    "BotCredentials",
    "ClientOffer",
    "ErrorCode",
    "MediaAddress",
    "Mode",
    "SchemaViolation",
    "SessionCreateRequest",
    "SessionCreated",
    "SignalingError",
    "parse_message",
    "validate",
]
