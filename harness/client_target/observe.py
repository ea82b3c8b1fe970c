"""One observed run of a client under test: capture on the client's links, run, read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.client_target.command import ClientCommand, ClientRun
from harness.client_target.wire import WireCall, WireLog, read_wire
from harness.fixtures.captures import Capture
from harness.fixtures.target_session import RunningTarget
from harness.target.writer import write_target

CLIENT_LINK_PREFIXES = ("client-dns", "client-gateway", "client-edge")

ObserveClient = Callable[[int], "ClientObservation"]
"""The client suite's ``observe_client(calls)`` fixture: run the client, read the wire."""


@dataclass(frozen=True)
class ClientObservation:
    runs: tuple[ClientRun, ...]
    """One run for a ``{calls}`` command, else one per call."""
    wire: WireLog

    @property
    def calls(self) -> list[WireCall]:
        return self.wire.calls

    @property
    def succeeded(self) -> bool:
        return all(run.succeeded for run in self.runs)

    def describe(self) -> str:
        failed = [run for run in self.runs if not run.succeeded] or list(self.runs[:1])
        return "\n".join(
            [
                f"{len(self.runs)} run(s) of the client command, {len(self.wire.calls)} "
                "call(s) seen on the wire",
                *(run.describe() for run in failed[:3]),
            ]
        )


def client_links(running: RunningTarget) -> list[str]:
    """Every hop between the client and the stack: what the client's behaviour crosses."""
    return sorted(link for link in running.link_addresses if link.startswith(CLIENT_LINK_PREFIXES))


def target_file_for_client(running: RunningTarget, folder: Path) -> Path:
    """The target file the client is given: what the harness's own client uses (hops in
    front of every endpoint); a client reads its endpoints and ignores ``[reference]``."""
    return write_target(running.target, folder / "client-target.toml")


def observe(
    command: ClientCommand,
    running: RunningTarget,
    capture: Capture,
    target_path: Path,
    *,
    calls: int,
    deadline_s: float,
) -> ClientObservation:
    """Run the client for ``calls`` calls (in one process when it takes ``{calls}``) with
    capture on every client link; what it did, on the wire."""
    links = client_links(running)
    capture.start(*links)
    if command.places_several_calls:
        runs = [command.run(running.target, target_path, calls=calls, deadline_s=deadline_s)]
    else:
        runs = [
            command.run(running.target, target_path, calls=1, deadline_s=deadline_s)
            for _ in range(calls)
        ]
    records = {link: capture.records(link) for link in links}
    listen = {link: f"{running.link_addresses[link].host}:{running.link_addresses[link].port}"
              for link in links}  # fmt: skip
    return ClientObservation(tuple(runs), read_wire(records, listen))
