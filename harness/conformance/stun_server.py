"""A plain STUN server from the OS packages, for the STUN-only target of TGT-5.

coturn's ``turnserver`` in ``--stun-only`` mode, started on loopback with flags only
(``-n``: no configuration file), on a port no one else holds, its log in a temporary
directory, and stopped (SIGTERM, then SIGKILL) on exit::

    with PlainStunServer.start() as server:
        path = server.write_target(tmp_path / "stun-only.toml")
        ...  # pytest --ullc-target path suites/conformance

Readiness is proven, not assumed: :meth:`start` sends Binding requests until one is
answered, and reports the log's tail if none is.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from harness.conformance.crafting import plain_binding
from harness.conformance.errors import StunServerError, StunServerMissingError
from harness.processes import stop_group

PROGRAM = "turnserver"
APT_PACKAGE = "coturn"
START_ATTEMPTS = 3
READY_TIMEOUT_S = 10.0


def _free_udp_port(host: str) -> int:
    # The kernel's choice; turnserver binds it a moment later. A parallel run taking it in
    # between is possible, so start() retries on another port when it does not come up.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class PlainStunServer:
    """One running ``turnserver --stun-only``; use :meth:`start` and ``with``."""

    host: str
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def log_path(self) -> Path:
        return self.workdir / "turnserver.log"

    @classmethod
    def start(cls, host: str = "127.0.0.1") -> PlainStunServer:
        program = shutil.which(PROGRAM)
        if program is None:
            raise StunServerMissingError(
                f"{PROGRAM} is not on PATH",
                hint=f"apt-get install -y {APT_PACKAGE} (the STUN-only target of TGT-5)",
            )
        last = ""
        for _ in range(START_ATTEMPTS):
            workdir = Path(tempfile.mkdtemp(prefix="ullc-stun-"))
            port = _free_udp_port(host)
            server = cls(host, port, _launch(program, host, port, workdir), workdir)
            try:
                server._wait_ready()
            except StunServerError as error:
                last = str(error)
                server.stop()
                continue
            except BaseException:
                server.stop()
                raise
            return server
        raise StunServerError(
            f"{PROGRAM} did not come up in {START_ATTEMPTS} attempts: {last}",
            hint=f"run `{PROGRAM} -n -S -L {host} -p 3478` by hand to see why",
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.host, 0))
            sock.settimeout(0.2)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise StunServerError(
                        f"{PROGRAM} exited with {self.process.returncode}: {self.log_tail()}"
                    )
                probe = plain_binding()
                sock.sendto(probe.data, self.address)
                with contextlib.suppress(TimeoutError, OSError):
                    data, _ = sock.recvfrom(2048)
                    if data[8:20] == probe.transaction_id:
                        return
        raise StunServerError(
            f"{PROGRAM} on {self.host}:{self.port} answered no Binding request in "
            f"{READY_TIMEOUT_S:g} s: {self.log_tail()}"
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text("utf-8", "replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def write_target(self, path: Path, *, name: str = "coturn-stun-only") -> Path:
        """A target file for this server (TGT-5): a STUN endpoint and no gateway."""
        path.write_text(
            "[target]\n"
            f'name = "{name}"\n\n'
            "[endpoints]\n"
            f'stun = "{self.host}:{self.port}"\n\n'
            "[capabilities]\n"
            "stun_only = true\n",
            "utf-8",
        )
        return path

    def stop(self) -> None:
        stop_group(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PlainStunServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _launch(program: str, host: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    log = workdir / "turnserver.log"
    command = [
        program,
        "-n",  # no configuration file: everything is on this line
        "--stun-only",
        "--listening-ip", host,
        "--listening-port", str(port),
        # The RFC 5780 alternate port would be port+1, which may be taken; nothing here
        # needs CHANGE-REQUEST.
        "--alt-listening-port", "0",
        "--no-tls", "--no-dtls", "--no-cli",
        "--fingerprint",
        "--log-file", str(log), "--simple-log",
        "--pidfile", str(workdir / "turnserver.pid"),
        "--userdb", str(workdir / "turndb"),
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
        # Its own process group: stop() ends it and anything it forked, nothing else.
        start_new_session=True,
    )
