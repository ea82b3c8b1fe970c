"""Start the compact peer in a subprocess for tests and scripts, and always stop it.

    with running_peer(hold_ms=150) as peer:
        subprocess.run(["pytest", "--ullc-target", str(peer.target), "suites/"])

Each instance claims a fresh 127.X block, so several can run at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1  # <sys/prctl.h>


class PeerStartError(RuntimeError):
    """The peer did not come up; the message carries its output. Hint: is a 127.X block free?"""


@dataclass(frozen=True)
class Peer:
    target: Path  # the target file it wrote (specs/target-file.md)
    network: str  # "127.X.0.0/16"
    pid: int
    hold_ms: int  # the RACE-3 hold it runs with (also in its target file)
    log: Path  # the peer's stdout and stderr


def _wait_ready(process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> str:
    """The `network:` the peer printed once it listens, or PeerStartError with its output."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("network: "):
                return line.removeprefix("network: ")
        time.sleep(0.05)
    raise PeerStartError(
        f"the compact peer was not ready within {timeout_s:.0f} s (exit code {process.poll()}); "
        f"its output ({log}):\n{log.read_text(errors='replace')[-3000:]}"
    )


@contextlib.contextmanager
def running_peer(
    hold_ms: int = 0,
    *,
    base_ip: str | None = None,
    session_ttl_ms: int | None = None,
    directory: Path | None = None,
    start_timeout_s: float = 30.0,
) -> Iterator[Peer]:
    """A running peer and its target file; SIGTERM (then SIGKILL) on the way out."""
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ullc-peer-")))
        target = directory / "peer.toml"
        command = [sys.executable, "-m", "peers.compact", "--hold-ms", str(hold_ms)]
        command += ["--write-target", str(target)]
        if base_ip is not None:
            command += ["--base-ip", base_ip]
        if session_ttl_ms is not None:
            command += ["--session-ttl-ms", str(session_ttl_ms)]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        log = directory / "peer.log"
        # Output goes to a file, never a pipe: a pipe nobody reads would block the peer.
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                preexec_fn=_terminate_with_parent,
            )
        try:
            network = _wait_ready(process, log, start_timeout_s)
            yield Peer(target=target, network=network, pid=process.pid, hold_ms=hold_ms, log=log)
        finally:
            _stop(process)


def _terminate_with_parent() -> None:
    # A test run killed by SIGTERM or SIGKILL never reaches its fixture's teardown; the
    # kernel then stops the peer instead (Linux; elsewhere teardown is the only way).
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    """`python -m peers.compact.launch HOLD_MS -- COMMAND...`: run COMMAND against a fresh peer.

    `{peer_target}` in COMMAND is replaced by the target file's path; the exit status is COMMAND's.
    """
    args = sys.argv[1:]
    if len(args) < 3 or args[1] != "--":
        print(
            __doc__ + "\nusage: python -m peers.compact.launch HOLD_MS -- COMMAND...",
            file=sys.stderr,
        )
        return 2
    # SIGTERM unwinds like Ctrl-C, so the peer is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    with running_peer(hold_ms=int(args[0])) as peer:
        print(f"peer: {peer.network}, hold {args[0]} ms, target {peer.target}", flush=True)
        command = [part.replace("{peer_target}", str(peer.target)) for part in args[2:]]
        return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
