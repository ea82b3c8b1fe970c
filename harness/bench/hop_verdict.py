"""The ``hop`` section with verdicts: :mod:`harness.bench.hop` measures, this module judges.

``hop.py`` reports numbers and targets but no verdict; it is wrapped rather than
edited so its measurement stays as its author wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.bench import hop
from harness.bench.common import Goal, Judged, LoadMeter, MachineLoad, Row, judged_json

ADDED_P99 = Goal("added_p99_ms", "<", hop.TARGET_ADDED_P99_MS, "ms")
RATE = Goal("datagrams_per_s", ">=", hop.TARGET_DATAGRAMS_PER_S, "/s")


@dataclass(frozen=True)
class HopVerdict:
    bench: hop.HopBench
    load: MachineLoad

    @property
    def judged(self) -> list[Judged]:
        # The worse of UDP and TCP is what a link of either kind may add.
        worst = max(self.bench.udp_added.p99_ms, self.bench.tcp_added.p99_ms)
        return [Judged(ADDED_P99, worst), Judged(RATE, self.bench.udp_datagrams_per_s)]

    def rows(self) -> list[Row]:
        verdicts = {
            "udp added p99 (round trip)": ADDED_P99.judge(self.bench.udp_added.p99_ms),
            "tcp added p99 (round trip)": ADDED_P99.judge(self.bench.tcp_added.p99_ms),
            "udp datagrams/s through one hop": RATE.judge(self.bench.udp_datagrams_per_s),
        }
        rows: list[Row] = [
            (metric, value, target, verdicts[metric].value if metric in verdicts else "")
            for metric, value, target in self.bench.rows()
        ]
        rows.append(("machine load", self.load.text(), "", ""))
        return rows

    def to_json(self) -> dict[str, Any]:
        data = self.bench.to_json()
        # hop.py's own "targets" stays; the judged ones use the shared shape.
        data.update(judged_json(self.judged))
        data["load"] = self.load.to_json()
        return data


def run() -> HopVerdict:
    meter = LoadMeter()
    bench = hop.run()
    return HopVerdict(bench, meter.done())
