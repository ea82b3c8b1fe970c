"""Errors of the reference stack; each docstring says the cause and the fix."""

from __future__ import annotations

from harness.errors import HarnessError, MissingToolError, PortInUseError, UsageError


class RedisServerMissingError(MissingToolError):
    """``redis-server`` is not on PATH; each DC of the reference stack runs one.

    Install it (``apt-get install redis-server`` on Debian/Ubuntu) or set
    ``ULLC_REDIS_SERVER`` to the binary.
    """


class StackAddressInUseError(PortInUseError):
    """An address the stack binds is taken, usually by another stack on the same network.

    Stop that stack (its run directory is printed by ``ullc-harness up``) or lay
    this one out elsewhere (``--network 127.B.0.0/16``).
    """


class BackendNotAvailableError(UsageError):
    """The requested backend is unknown, or cannot run on this machine.

    The hint names the valid backends, or what to install and start (the docker
    backend needs ``dockerd`` and, for its base image, ``debootstrap``).
    """


class StackStartError(HarnessError):
    """The stack did not become healthy: a component exited or did not answer in time.

    The message names the component, what was awaited and its last log lines;
    the hint says where to look next. Nothing of the stack is left running.
    """


class UnknownComponentError(UsageError):
    """A component or group name that this stack does not have.

    The message lists the valid names (``stack.components()``).
    """


class UnknownDefectError(UsageError):
    """A defect name (``ULLC_REFERENCE_DEFECTS`` or a ``defects`` argument) that does not exist.

    Use the names the hint lists, comma-separated, or unset the variable
    (see harness/stack/defects.py).
    """
