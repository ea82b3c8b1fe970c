"""Running a client-under-test command (specs/client.md CLI-1)."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UsageError
from harness.processes import kill_group
from harness.target.model import Target

EXIT_GRACE_S = 5.0
"""Beyond ``calls`` * (deadline + 1 s), how long a command may take to start and exit."""


class ClientCommandError(UsageError):
    """The client command cannot be run as given (empty, unbalanced quotes, not found).

    Fix the ``--ullc-client-command`` value; ``ullc-harness call --target {target}`` is the
    reference client's command."""


@dataclass(frozen=True)
class ClientRun:
    """One run of the command: what it exited with, when (``time.monotonic``), its output."""

    argv: tuple[str, ...]
    calls: int
    exit_code: int | None
    """None: the harness killed it at its time limit."""
    started_at: float
    ended_at: float
    stdout: str
    stderr: str

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0

    def describe(self) -> str:
        state = "killed at its time limit" if self.exit_code is None else f"exit {self.exit_code}"
        tail = (self.stderr or self.stdout).strip().splitlines()[-5:]
        shown = "\n  ".join(tail) if tail else "(no output)"
        took = self.ended_at - self.started_at
        return f"`{shlex.join(self.argv)}`: {state} after {took:.1f} s\n  {shown}"


@dataclass(frozen=True)
class ClientCommand:
    """The template, e.g. ``my-client --config {target}`` or ``ullc-harness call --target
    {target} --calls {calls}``."""

    template: str

    @property
    def places_several_calls(self) -> bool:
        """True when the client can place several calls in one process (``{calls}``)."""
        return "{calls}" in self.template

    def argv(self, target_path: Path, calls: int) -> list[str]:
        try:
            words = shlex.split(self.template)
        except ValueError as error:
            raise ClientCommandError(
                f"client command {self.template!r} does not parse: {error}",
                hint="quote it as one shell word, e.g. "
                "--ullc-client-command 'ullc-harness call --target {target}'",
            ) from None
        if not words:
            raise ClientCommandError(
                "the client command is empty",
                hint="--ullc-client-command 'ullc-harness call --target {target}'",
            )
        return [
            word.replace("{target}", str(target_path)).replace("{calls}", str(calls))
            for word in words
        ]

    def environment(self, target: Target, target_path: Path, calls: int) -> dict[str, str]:
        endpoints = target.endpoints
        found = {"ULLC_TARGET": str(target_path), "ULLC_CALLS": str(calls)}
        if target.client.bind_ip is not None:
            found["ULLC_CLIENT_BIND_IP"] = target.client.bind_ip
        if endpoints.gateway is not None:
            found["ULLC_GATEWAY"] = str(endpoints.gateway)
        if endpoints.dns is not None:
            found["ULLC_DNS"] = f"{endpoints.dns.host}:{endpoints.dns.port}"
        if endpoints.global_endpoint is not None:
            found["ULLC_GLOBAL_ENDPOINT"] = f"{endpoints.global_endpoint}:{endpoints.global_port}"
        return found

    def run(self, target: Target, target_path: Path, *, calls: int, deadline_s: float) -> ClientRun:
        """Run it once for ``calls`` calls; kill its process group past the time limit."""
        argv = self.argv(target_path, calls)
        environment = {**os.environ, **self.environment(target, target_path, calls)}
        limit_s = calls * (deadline_s + 1.0) + EXIT_GRACE_S
        started_at = time.monotonic()
        try:
            process = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
                env=environment,
                start_new_session=True,  # so a timeout or Ctrl-C ends its children too
            )
        except OSError as error:
            raise ClientCommandError(
                f"client command {argv[0]!r} cannot be started: {error.strerror}",
                hint="give a command on PATH or an absolute path",
            ) from None
        exit_code: int | None
        try:
            stdout, stderr = process.communicate(timeout=limit_s)
            exit_code = process.returncode
        except subprocess.TimeoutExpired:
            kill_group(process)
            stdout, stderr = process.communicate()
            exit_code = None
        except BaseException:
            kill_group(process)
            raise
        return ClientRun(
            tuple(argv), calls, exit_code, started_at, time.monotonic(), stdout, stderr
        )
