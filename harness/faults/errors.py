"""Errors of the fault engine.

:class:`ApiError` mirrors Toxiproxy's ``ApiError`` (message plus HTTP status) so the
HTTP layer can answer exactly as Toxiproxy does; the engine raises it and never
knows about HTTP.
"""

from __future__ import annotations

from harness.errors import HarnessError


class ApiError(HarnessError):
    """A request to the hop engine was refused; ``status`` is Toxiproxy's HTTP code for it.

    Fix the request as the message says (404: wrong name, 409: name taken,
    400: bad field or attribute, 500: the operating system refused, e.g. port in use).
    """

    def __init__(self, message: str, status: int, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


# Toxiproxy's fixed messages (api.go); the wording is what its clients match on.
BAD_REQUEST_BODY = "bad request body"
MISSING_FIELD = "missing required field"


def bad_request(detail: str) -> ApiError:
    return ApiError(f"{BAD_REQUEST_BODY}: {detail}", 400)


def missing_field(field: str) -> ApiError:
    return ApiError(f"{MISSING_FIELD}: {field}", 400)


def proxy_not_found() -> ApiError:
    return ApiError("proxy not found", 404)


def proxy_exists() -> ApiError:
    return ApiError("proxy already exists", 409)


def invalid_stream() -> ApiError:
    return ApiError("stream was invalid, can be either upstream or downstream", 400)


def invalid_toxic_type() -> ApiError:
    return ApiError("invalid toxic type", 400)


def toxic_exists() -> ApiError:
    return ApiError("toxic already exists", 409)


def toxic_not_found() -> ApiError:
    return ApiError("toxic not found", 404)


class HopServerError(HarnessError):
    """The hop server process did not start or answer.

    The message carries the last lines it printed; the hint says what to check.
    """
