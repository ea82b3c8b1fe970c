"""Latency histogram and CDF of a test's calls as one PNG (matplotlib, Agg).

Percentiles are nearest-rank, the same numbers :class:`~harness.client.stats.CallStats`
reports (DESIGN section 4), so the marks on the plot match the summary table.
The figure's numbers are also written into the PNG's ``Description`` text chunk
as JSON: a reader (and the tests) can check what was plotted without OCR.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from harness.client.stats import nearest_rank

WIDTH_PX = 1200
HEIGHT_PX = 450
_DPI = 100
PERCENTILES = (50, 95, 99)
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
_P_STYLES = {50: ":", 95: "--", 99: "-."}


@dataclass(frozen=True)
class LatencySeries:
    """Connect latencies (ms) of the connected calls of one batch."""

    label: str
    values_ms: tuple[float, ...]

    def percentile(self, p: float) -> float | None:
        return nearest_rank(self.values_ms, p)

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "count": len(self.values_ms),
            **{f"p{p}_ms": self.percentile(p) for p in PERCENTILES},
        }


def plot_summary(series: Sequence[LatencySeries], budget_ms: float | None) -> dict[str, Any]:
    """What :func:`latency_png` draws, as plain data (also embedded in the PNG)."""
    return {"budget_ms": budget_ms, "series": [s.summary() for s in series]}


def latency_png(
    series: Sequence[LatencySeries], *, budget_ms: float | None, title: str = "connect latency"
) -> bytes:
    """Histogram (left) and empirical CDF (right), budget line, p50/p95/p99 marked."""
    # Figure + FigureCanvasAgg, not pyplot: no global state, safe in any thread/backend.
    figure = Figure(figsize=(WIDTH_PX / _DPI, HEIGHT_PX / _DPI), dpi=_DPI)
    FigureCanvasAgg(figure)
    hist, cdf = figure.subplots(1, 2)
    drawn = [s for s in series if s.values_ms]
    upper = max([max(s.values_ms) for s in drawn] + [budget_ms or 0.0, 1.0])
    bins = [upper * 1.05 * i / 40 for i in range(41)]
    for index, item in enumerate(drawn):
        colour = _COLOURS[index % len(_COLOURS)]
        label = f"{item.label} (n={len(item.values_ms)})"
        hist.hist(item.values_ms, bins=bins, alpha=0.55, color=colour, label=label)
        ordered = sorted(item.values_ms)
        fractions = [(i + 1) / len(ordered) for i in range(len(ordered))]
        cdf.step(ordered, fractions, where="post", color=colour, label=label)
        for p in PERCENTILES:
            value = item.percentile(p)
            if value is None:
                continue
            hist.axvline(value, color=colour, linestyle=_P_STYLES[p], linewidth=1)
            hist.annotate(
                f"p{p} {value:.0f}",
                xy=(value, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, -12 - 11 * (PERCENTILES.index(p) + 3 * index)),
                textcoords="offset points",
                fontsize=8,
                color=colour,
            )
            cdf.plot([value], [p / 100.0], marker="o", color=colour)
            cdf.annotate(
                f"p{p} {value:.0f} ms",
                xy=(value, p / 100.0),
                xytext=(6, 4) if p == 99 else (6, -10),
                textcoords="offset points",
                fontsize=8,
                color=colour,
            )
    for axes in (hist, cdf):
        if budget_ms is not None:
            axes.axvline(budget_ms, color="#d62728", linewidth=2, label=f"budget {budget_ms:g} ms")
        axes.set_xlabel("connect latency (ms)")
        axes.set_xlim(0, upper * 1.08)
        axes.grid(alpha=0.3)
    hist.set_ylabel("calls")
    hist.set_title("histogram")
    cdf.set_ylabel("share of connected calls")
    cdf.set_ylim(0, 1.02)
    cdf.set_title("CDF (nearest-rank percentiles)")
    if not drawn:
        hist.text(0.5, 0.5, "no connected calls", ha="center", transform=hist.transAxes)
    for axes, corner in ((hist, "upper right"), (cdf, "lower right")):
        if axes.get_legend_handles_labels()[0]:  # an empty legend warns (warnings are errors)
            axes.legend(loc=corner, fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(
        buffer,
        format="png",
        metadata={"Title": title, "Description": json.dumps(plot_summary(series, budget_ms))},
    )
    return buffer.getvalue()
