"""The emulated world on the hop server: one latency toxic per link (TOPO-2), both backends.

The hop server starts with bare proxies; the topology's one-way latencies are
added as toxics named :data:`TOPOLOGY_TOXIC`, so tests can tell the world's
latency from a fault and a reset can put the world back.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from harness.stack.errors import StackStartError
from harness.stack.local import probes
from harness.stack.plan import Address, Link

TOPOLOGY_TOXIC = "topology-latency"
"""The reference stack's own latency toxic on every link (the emulated world, not a fault)."""


def add_latency(client: probes.Http, link: Link, log: Path) -> None:
    if link.latency_ms <= 0:
        return
    body = {
        "name": TOPOLOGY_TOXIC,
        "type": "latency",
        "stream": "both",
        "toxicity": 1.0,
        "attributes": {"latency": link.latency_ms, "jitter": 0},
    }
    status, reply = client.request("POST", f"/proxies/{link.name}/toxics", body)
    if status >= 300:
        raise StackStartError(
            f"hop server refused the latency toxic of link {link.name}: {status} {reply}",
            hint=f"read {log}",
        )


def restore_links(hop_api: Address, links: Sequence[Link], log: Path) -> None:
    """``POST /reset`` (drops every toxic), then the topology's latencies again."""
    client = probes.Http(hop_api, timeout=2.0)
    try:
        client.request("POST", "/reset")
        for link in links:
            add_latency(client, link, log)
    finally:
        client.close()


class TopologyToxics:
    """Adds every link's latency toxic in a thread, so the ~30 API calls overlap with the
    other components' start; :meth:`probe` is a health probe like the others."""

    def __init__(self, hop_api: Address, links: Sequence[Link], log: Path) -> None:
        self.hop_api = hop_api
        self.links = list(links)
        self.log = log
        self._thread: threading.Thread | None = None
        self._error: StackStartError | None = None

    def probe(self) -> str | None:
        """None once every toxic is on; raises the hop's refusal as StackStartError."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._apply, name="ullc-toxics", daemon=True)
            self._thread.start()
        if self._thread.is_alive():
            return "the topology's latency toxics on every link"
        if self._error is not None:
            raise self._error
        return None

    def _apply(self) -> None:
        client = probes.Http(self.hop_api, timeout=2.0)
        try:
            for link in self.links:
                add_latency(client, link, self.log)
        except StackStartError as error:
            self._error = error
        except OSError as error:
            self._error = StackStartError(
                f"hop server API failed while adding latency toxics: {error}",
                hint=f"read {self.log}",
            )
        finally:
            client.close()
