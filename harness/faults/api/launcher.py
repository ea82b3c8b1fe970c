"""Start a hop server (``ullc-harness toxiproxy-server``) as a child process and stop it.

A separate process keeps the hop's timing independent of the test process's GIL
and event loop. The child exits with its parent (``--exit-with-parent``), so an
interrupted run leaves no hop behind.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from harness.faults.errors import HopServerError


class HopServer:
    """A running hop server process. Use :meth:`start`; ``url`` is its API base URL."""

    def __init__(
        self,
        process: subprocess.Popen[str],
        url: str,
        host: str,
        port: int,
        log: tempfile._TemporaryFileWrapper[str],
    ) -> None:
        self.process = process
        self.log = log
        self.url = url
        self.host = host
        self.port = port

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
        config: Path | None = None,
        timeout: float = 15.0,
        allow_remote_listen: bool = False,
        read_timeout: float | None = None,
    ) -> HopServer:
        command = [
            sys.executable,
            "-P",  # not the working folder first: a clone's harness/ is not the install
            "-m",
            "harness",
            "toxiproxy-server",
            "--host",
            host,
            "--port",
            str(port),
            "--seed",
            str(seed),
            "--exit-with-parent",
        ]
        if config is not None:
            command += ["--config", str(config)]
        if allow_remote_listen:
            command.append("--allow-remote-listen")
        if read_timeout is not None:
            command += ["--read-timeout", str(read_timeout)]
        # stderr goes to a file, not a pipe: nobody drains a pipe during a long run, and a
        # full pipe would block the hop the next time it logs.
        log = tempfile.NamedTemporaryFile("w+", prefix="ullc-hop-", suffix=".log")
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.1)
            if ready:
                line = process.stdout.readline()
                break
            if process.poll() is not None:
                break
        try:
            info = json.loads(line)
            return cls(process, str(info["url"]), str(info["host"]), int(info["port"]), log)
        except (ValueError, KeyError):
            process.kill()
            process.wait()
            process.stdout.close()
            log.seek(0)
            tail = "\n".join(log.read().strip().splitlines()[-5:])
            log.close()
            raise HopServerError(
                f"hop server did not report ready within {timeout:g} s "
                f"(exit code {process.returncode}); last output:\n{tail or line or '(none)'}",
                hint="run the command by hand to see the error: " + " ".join(command[2:]),
            ) from None

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait, then SIGKILL if it hangs; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log.close()
        return self.process.returncode

    def stderr_tail(self, lines: int = 20) -> str:
        """The last lines the hop process logged (for failure reports)."""
        self.log.flush()
        with open(self.log.name) as handle:
            return "\n".join(handle.read().splitlines()[-lines:])

    def __enter__(self) -> HopServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
