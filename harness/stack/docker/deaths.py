"""Deaths on the docker backend: containers of the run that exited unannounced.

Docker is each component's supervisor, so a death is a container of this run
in state ``exited`` (or ``dead``) whose stop nobody announced after its current
start (:func:`harness.stack.deaths.expect`, which ``DockerBackend.kill`` calls).
One list call per poll, and an inspect of each exited container only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.stack.deaths import Death, announced_ns, death
from harness.stack.docker import daemon, labels

STOPPED = ("exited", "dead")


def timestamp_ns(text: str) -> int | None:
    """Docker's RFC 3339 time with nanoseconds (``2026-11-30T15:41:30.182503847Z``) in ns.

    None for Docker's zero time (never started or never finished).
    """
    if not text or text.startswith("0001-"):
        return None
    whole, _, rest = text.rstrip("Z").partition(".")
    seconds = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp()
    digits = "".join(ch for ch in rest if ch.isdigit())[:9]
    return int(seconds) * 1_000_000_000 + int(digits.ljust(9, "0") or 0)


def status_text(state: dict[str, Any]) -> str:
    """The exit code as Docker reports it (137: SIGKILL), and an OOM kill said aloud."""
    text = str(state.get("ExitCode", "unknown"))
    if state.get("OOMKilled"):
        text += ", killed for want of memory (OOM)"
    if state.get("Error"):
        text += f", {state['Error']}"
    return text


class DockerDeathWatch:
    """Polls the run's containers for deaths; each death is reported once."""

    def __init__(self, run_dir: Path, session: str) -> None:
        self.run_dir = run_dir
        self.session = session
        self._seen: set[tuple[str, str]] = set()  # (component, FinishedAt) handled

    def new_deaths(self) -> list[Death]:
        client = daemon.connect()
        try:
            found: list[dict[str, Any]] = client.api.containers(
                all=True,
                filters={**labels.session_filter(self.session), "status": list(STOPPED)},
            )
            deaths: list[Death] = []
            for container in sorted(found, key=lambda c: str(c["Labels"].get(labels.COMPONENT))):
                name = container["Labels"].get(labels.COMPONENT)
                if name is None:
                    continue
                state: dict[str, Any] = client.api.inspect_container(container["Id"])["State"]
                key = (name, str(state.get("FinishedAt")))
                if key in self._seen:
                    continue
                self._seen.add(key)
                if not self._expected(name, state):
                    deaths.append(death(self.run_dir, name, status_text(state)))
            return deaths
        finally:
            client.close()

    def _expected(self, name: str, state: dict[str, Any]) -> bool:
        """Killed on purpose: announced after the container's current start."""
        announced = announced_ns(self.run_dir, name)
        started = timestamp_ns(str(state.get("StartedAt", "")))
        return announced is not None and (started is None or announced >= started)
