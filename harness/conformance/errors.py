"""Errors of :mod:`harness.conformance`; each says what happened and what to do."""

from __future__ import annotations

from harness.errors import HarnessError, MissingToolError


class ConformanceError(HarnessError):
    """Base of the probing errors: a probe could not even be set up or run."""


class ProbeSetupError(ConformanceError):
    """The target did not give the probe what it needs (no edge, no session created).

    The message names the step; the hint says which part of the target file or
    which component to look at. A probe that ran and got a wrong answer is not
    an error: it is a verdict (:mod:`harness.conformance.judging`).
    """


class StunServerError(ConformanceError):
    """The plain STUN server (coturn's ``turnserver``) did not start or answer.

    The message carries the end of its log; usually the port was taken by a
    parallel run (it is retried on another one) or the package is broken.
    """


class StunServerMissingError(MissingToolError):
    """``turnserver`` is not on PATH: install the ``coturn`` OS package.

    ``apt-get install -y coturn`` (Debian/Ubuntu); the package's service need not run,
    the harness starts its own server on loopback.
    """
