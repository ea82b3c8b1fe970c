"""Real STUN responders on loopback, each a STUN-only target (TGT-5) with its profile.

=========  ===========================================  ========  ===========
name       program                                      profile   credentials
=========  ===========================================  ========  ===========
coturn     ``turnserver --stun-only`` (Debian coturn)   rfc8489   none
stund      ``stund`` (Debian stun-server, RFC 3489)     classic   none
aioice     :mod:`harness.conformance.aioice_responder`  ice       short-term
libnice    ``nice_lite.c`` built against libnice        ice       short-term
=========  ===========================================  ========  ===========

:func:`start_peer` starts one, proves it answers (a Binding request for the plain
servers, the ``READY host port`` line for the ICE agents), and the ``with`` block
stops it (SIGTERM to its process group, then SIGKILL). :meth:`StunPeer.write_target`
writes its target file, ``[stun]`` section included.
"""

from __future__ import annotations

import contextlib
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from harness.conformance.crafting import plain_binding
from harness.conformance.errors import StunServerError, StunServerMissingError
from harness.conformance.stun_server import PlainStunServer
from harness.processes import kill_group, stop_group
from harness.protocol.ice import IceCredentials, generate_credentials

PEERS = ("coturn", "stund", "aioice", "libnice")

_DAMAGED = "answers an RFC 8489 message whose cookie is damaged as if RFC 3489 (RFC 8489 §6.3)"
_OVERRUN = "answers a request whose last attribute overruns the message (RFC 8489 §6.3)"
_MALFORMED = "answers a malformed {} instead of 400 (STUN-43)"
KNOWN_DEVIATIONS: dict[str, dict[str, str]] = {
    "coturn": {
        "bad-cookie": f"coturn 4.6 {_DAMAGED}",
        "check-bad-cookie": f"coturn 4.6 {_DAMAGED}",
        "truncated-attribute": f"coturn 4.6 {_OVERRUN}",
        "username-not-utf8": "coturn 4.6 " + _MALFORMED.format("USERNAME (not UTF-8)"),
        "username-too-long": "coturn 4.6 " + _MALFORMED.format("USERNAME (512 bytes)"),
    },
    "stund": {
        "unknown-required": "stund 0.97 drops unknown attributes below 0x7FFF, no 420 "
        "(RFC 3489 §8.1.1)",
        "check-no-username": "stund 0.97 drops PRIORITY (unknown to RFC 3489), no 420",
        "username-too-long": "stund 0.97 drops a 512-byte USERNAME",
    },
    "aioice": {
        "classic-binding": "aioice 0.13 answers RFC 3489 requests with the RFC 8489 cookie",
        "classic-change-request": "aioice 0.13 answers RFC 3489 requests with the RFC 8489 cookie",
        "top-bits": "aioice 0.13 answers 400 to a message with the top bits set (RFC 8489 §6.3)",
        "truncated-attribute": f"aioice 0.13 {_OVERRUN}",
        "username-not-utf8": "aioice 0.13 drops a non-UTF-8 USERNAME instead of 400 (STUN-43)",
        "check-unknown-required": "aioice 0.13 ignores unknown comprehension-required "
        "attributes: success, not 420 (RFC 8489 §6.3.1)",
        "check-priority-3-bytes": "aioice 0.13 drops a 3-byte PRIORITY instead of 400",
        "check-use-candidate-not-empty": "aioice 0.13 "
        + _MALFORMED.format("USE-CANDIDATE (4 bytes)"),
        "check-controlling-7-bytes": "aioice 0.13 drops a 7-byte ICE-CONTROLLING instead of 400",
    },
    "libnice": {
        "check-priority-3-bytes": "libnice 0.1.21 " + _MALFORMED.format("PRIORITY (3 bytes)"),
        "check-use-candidate-not-empty": "libnice 0.1.21 "
        + _MALFORMED.format("USE-CANDIDATE (4 bytes)"),
        "check-controlling-7-bytes": "libnice 0.1.21 "
        + _MALFORMED.format("ICE-CONTROLLING (7 bytes)"),
    },
}
"""What each peer is known to get wrong, reviewed on the golden captures
(tests/data/stun/golden.json); its target file declares them (``[stun].known_deviations``)."""
READY_TIMEOUT_S = 10.0
NICE_SOURCE = Path(__file__).with_name("nice_lite.c")


@dataclass
class StunPeer:
    """One running responder; ``credentials`` is None for servers without ICE."""

    name: str
    profile: str
    host: str
    port: int
    process: subprocess.Popen[bytes] | None
    workdir: Path
    credentials: IceCredentials | None = None
    client_ufrag: str | None = None
    server: PlainStunServer | None = None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def write_target(self, path: Path) -> Path:
        """A STUN-only target file (TGT-5) for this peer, with its ``[stun]`` section."""
        lines = [
            "[target]",
            f'name = "{self.name}-stun-only"',
            "",
            "[endpoints]",
            f'stun = "{self.host}:{self.port}"',
            "",
            "[capabilities]",
            "stun_only = true",
            "",
            "[stun]",
            f'profile = "{self.profile}"',
        ]
        if self.credentials is not None:
            lines += [
                f'ufrag = "{self.credentials.ufrag}"',
                f'pwd = "{self.credentials.pwd}"',
                f'client_ufrag = "{self.client_ufrag}"',
            ]
        deviations = KNOWN_DEVIATIONS.get(self.name, {})
        if deviations:
            lines += ["", "[stun.known_deviations]"]
            lines += [f'"{probe}" = "{why}"' for probe, why in deviations.items()]
        path.write_text("\n".join(lines) + "\n", "utf-8")
        return path

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.process is not None and self.process.poll() is None:
            stop_group(self.process)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> StunPeer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_peer(name: str, host: str = "127.0.0.1") -> StunPeer:
    """Start the responder ``name`` (one of :data:`PEERS`) on ``host``."""
    if name == "coturn":
        server = PlainStunServer.start(host)
        return StunPeer(name, "rfc8489", host, server.port, None, server.workdir, server=server)
    workdir = Path(tempfile.mkdtemp(prefix=f"ullc-{name}-"))
    try:
        if name == "stund":
            return _start_stund(host, workdir)
        credentials, client = generate_credentials(), generate_credentials()
        if name == "aioice":
            command = [
                sys.executable, "-P", "-m", "harness.conformance.aioice_responder", "--host", host,
                "--ufrag", credentials.ufrag, "--pwd", credentials.pwd,
                "--client-ufrag", client.ufrag,
            ]  # fmt: skip
        elif name == "libnice":
            program = _build_nice(workdir)
            command = [
                str(program), host, str(_free_udp_port(host)),
                credentials.ufrag, credentials.pwd, client.ufrag,
            ]  # fmt: skip
        else:
            raise ValueError(f"unknown STUN peer {name!r}; expected one of {', '.join(PEERS)}")
        process = _spawn(command, workdir)
        port = _read_ready(process, name, workdir)
        return StunPeer(name, "ice", host, port, process, workdir, credentials, client.ufrag)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _spawn(command: list[str], workdir: Path, *, pipe: bool = True) -> subprocess.Popen[bytes]:
    # Only the ICE agents' one READY line is read; stund's chatter goes to a file so a
    # full pipe can never block it. The child keeps its own copies of the log files.
    with (workdir / "stdout.log").open("wb") as out, (workdir / "stderr.log").open("wb") as err:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe else out,
            stderr=err,
            cwd=workdir,
            # Its own process group: stop() ends it and anything it forked, nothing else.
            start_new_session=True,
        )


def _read_ready(process: subprocess.Popen[bytes], name: str, workdir: Path) -> int:
    assert process.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline().decode("utf-8", "replace").split()
            if len(line) == 3 and line[0] == "READY" and line[2] != "0":
                return int(line[2])
        if process.poll() is not None:
            break
    log = (workdir / "stderr.log").read_text("utf-8", "replace")[-1500:]
    kill_group(process)
    process.stdout.close()
    raise StunServerError(f"{name} did not report READY in {READY_TIMEOUT_S:g} s: {log}")


def _free_udp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _build_nice(workdir: Path) -> Path:
    compiler, pkg_config = shutil.which("cc"), shutil.which("pkg-config")
    if compiler is None or pkg_config is None:
        raise StunServerMissingError(
            "the libnice responder needs a C compiler and pkg-config",
            hint="apt-get install -y gcc pkg-config libnice-dev",
        )
    flags = subprocess.run(
        [pkg_config, "--cflags", "--libs", "nice"], capture_output=True, text=True, check=False
    )
    if flags.returncode != 0:
        raise StunServerMissingError(
            f"pkg-config knows no libnice: {flags.stderr.strip()}",
            hint="apt-get install -y libnice-dev",
        )
    program = workdir / "nice_lite"
    built = subprocess.run(
        [compiler, "-O", "-o", str(program), str(NICE_SOURCE), *flags.stdout.split()],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        raise StunServerError(f"building {NICE_SOURCE.name} failed: {built.stderr[-1500:]}")
    return program


def _start_stund(host: str, workdir: Path) -> StunPeer:
    program = shutil.which("stund")
    if program is None:
        raise StunServerMissingError(
            "stund is not on PATH", hint="apt-get install -y stun-server (RFC 3489 stund)"
        )
    last = ""
    for _ in range(3):
        port = _free_udp_port(host)
        # RFC 3489 servers want a second address and port (CHANGE-REQUEST); any other
        # loopback address will do.
        command = [program, "-h", host, "-a", "127.0.0.2", "-p", str(port), "-o", str(port + 1)]
        process = _spawn(command, workdir, pipe=False)
        if _answers(host, port, process):
            return StunPeer("stund", "classic", host, port, process, workdir)
        last = (workdir / "stderr.log").read_text("utf-8", "replace")[-500:]
        kill_group(process)
    raise StunServerError(f"stund answered no Binding request: {last}")


def _answers(host: str, port: int, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.settimeout(0.2)
        while time.monotonic() < deadline and process.poll() is None:
            probe = plain_binding()
            sock.sendto(probe.data, (host, port))
            with contextlib.suppress(TimeoutError, OSError):
                data, _ = sock.recvfrom(2048)
                if data[8:20] == probe.transaction_id:
                    return True
    return False


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.conformance.stun_peers PEER [-- PYTEST ARGS]``: start the peer,
    run pytest (default: suites/) against its STUN-only target file, stop the peer."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("peer", choices=PEERS)
    parser.add_argument("pytest_args", nargs="*", default=["suites"])
    args = parser.parse_args(argv)
    with start_peer(args.peer) as peer:
        target = peer.write_target(peer.workdir / f"{peer.name}-stun-only.toml")
        print(f"{peer.name} ({peer.profile}) on {peer.host}:{peer.port}; target {target}")
        command = [sys.executable, "-P", "-m", "pytest", "--ullc-target", str(target)]
        return subprocess.call([*command, *args.pytest_args])


if __name__ == "__main__":
    raise SystemExit(main())
