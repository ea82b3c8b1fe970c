"""The one exception hierarchy of the harness.

Every error a user can meet derives from :class:`HarnessError` and carries a
``hint``: what to do next. Subclasses say their cause and fix in the docstring.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message


class UsageError(HarnessError):
    """Bad input from the user: a file that does not parse, a flag out of range.

    Fix the named file or flag; the message says which and how.
    """


class MissingToolError(HarnessError):
    """An external program the harness needs (redis-server, allure, ...) is not on PATH.

    Install it with the command named in the hint.
    """


class PortInUseError(HarnessError):
    """A port the harness wants to bind is taken by another process.

    Stop that process or choose another port/address as the hint says.
    """


class ProtocolError(HarnessError):
    """A peer sent something the protocol does not allow.

    The message names the requirement ID that was broken.
    """
