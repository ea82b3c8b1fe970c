"""``reports/bench.png``: ULLC vs sequential CDFs and the concurrency histogram.

Drawn from the merged ``bench.json`` body, so running one section still plots the
other's last numbers. matplotlib's object API with the Agg canvas (no pyplot
state, no display needed); imported only when a plot is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.bench.concurrency import P99
from harness.bench.ullc_vs_sequential import EFFICIENCY, RATIO

HAPPY_PATH_BUDGET_MS = 1000.0  # DESIGN section 4: p95 budget of the happy path

COLORS = {"ullc": "#1f77b4", "sequential": "#d62728", "cached": "#2ca02c", "line": "#555555"}


def _cdf(samples: Sequence[float]) -> tuple[list[float], list[float]]:
    ordered = sorted(samples)
    count = len(ordered)
    return ordered, [(index + 1) / count for index in range(count)]


def _cdf_panel(axes: Any, section: dict[str, Any]) -> None:
    rtt = float(section["rtt_ms"])
    series = [
        ("ULLC", section["ullc"], COLORS["ullc"], "-"),
        ("sequential", section["sequential"], COLORS["sequential"], "-"),
        (
            "ULLC, DNS on every call (what-if)",
            section.get("what_if", {}).get("ullc_dns_every_call", {}),
            COLORS["cached"],
            "--",
        ),
    ]
    highest = rtt
    for label, data, color, style in series:
        samples = data.get("samples_ms") or []
        if not samples:
            continue
        xs, ys = _cdf(samples)
        p50 = data.get("p50_ms")
        text = f"{label} (p50 {p50:.1f} ms)" if p50 is not None else label
        axes.step(xs, ys, where="post", color=color, linestyle=style, linewidth=2, label=text)
        highest = max(highest, xs[-1])
    axes.axvline(rtt, color="black", linewidth=1.5, label=f"RTT floor {rtt:g} ms (TOPO-4)")
    axes.axvline(
        rtt / EFFICIENCY.limit,
        color=COLORS["ullc"],
        linestyle=":",
        linewidth=1.5,
        label=f"efficiency budget: ULLC p50 <= RTT/{EFFICIENCY.limit:g} "
        f"= {rtt / EFFICIENCY.limit:.1f} ms",
    )
    sequential_p50 = section["sequential"].get("p50_ms")
    if sequential_p50:
        axes.axvline(
            RATIO.limit * sequential_p50,
            color=COLORS["sequential"],
            linestyle=":",
            linewidth=1.5,
            label=f"ratio budget: ULLC p50 <= {RATIO.limit:g} x sequential p50 "
            f"= {RATIO.limit * sequential_p50:.1f} ms",
        )
    axes.axhline(0.5, color=COLORS["line"], linewidth=0.8, linestyle="--")
    right = highest * 1.08
    # From just below the floor: at 0 the ULLC curves would crowd into a few pixels.
    axes.set_xlim(rtt * 0.8, right)
    axes.set_ylim(0, 1.02)
    axes.annotate(
        f"happy-path p95 budget: {HAPPY_PATH_BUDGET_MS:g} ms (off scale)",
        xy=(right, 0.06),
        xytext=(rtt * 0.8 + (right - rtt * 0.8) * 0.45, 0.06),
        fontsize=8,
        va="center",
        arrowprops={"arrowstyle": "->", "color": COLORS["line"]},
    )
    verdict = section.get("verdict", "?")
    ratio, efficiency = section.get("p50_ratio"), section.get("efficiency")
    axes.set_title(
        f"connect latency CDF, {section.get('world', '?')} world, "
        f"{section['ullc'].get('count', 0)} calls per mode\n"
        f"p50 ratio {ratio if ratio is not None else '-'}, "
        f"efficiency {efficiency if efficiency is not None else '-'}: {verdict}",
        fontsize=10,
    )
    axes.set_xlabel("connect latency (ms): connect() to first authenticated Binding success")
    axes.set_ylabel("fraction of calls")
    axes.grid(True, alpha=0.3)
    # Between the two families of curves, where no line runs.
    axes.legend(loc="center", fontsize=8, framealpha=0.9)


def _histogram_panel(axes: Any, section: dict[str, Any]) -> None:
    samples = section.get("samples_ms") or []
    rtt = float(section["rtt_ms"])
    right = max([P99.limit, *samples]) * 1.05
    if samples:
        axes.hist(samples, bins=60, range=(0, right), color=COLORS["ullc"], alpha=0.8)
    axes.axvline(rtt, color="black", linewidth=1.5, label=f"RTT floor {rtt:g} ms")
    for key, style in (("p50_ms", "--"), ("p99_ms", "-.")):
        value = section.get(key)
        if value is not None:
            axes.axvline(
                value, color=COLORS["sequential"], linestyle=style, linewidth=1.5,
                label=f"{key[:3]} {value:.0f} ms",
            )  # fmt: skip
    axes.axvline(
        P99.limit, color=COLORS["line"], linestyle=":", linewidth=2,
        label=f"p99 target {P99.text()}",
    )  # fmt: skip
    axes.set_xlim(0, right)
    failed = section.get("failed", 0)
    if failed:
        axes.text(
            0.02, 0.97, f"{failed} failed calls are not in the histogram",
            transform=axes.transAxes, fontsize=8, va="top",
        )  # fmt: skip
    axes.set_title(
        f"{section.get('concurrent', '?')} simultaneous ULLC calls, "
        f"{section.get('world', '?')} world ({rtt:g} ms RTT)\n"
        f"connected {section.get('connected', '?')}, failed {failed}: "
        f"{section.get('verdict', '?')}",
        fontsize=10,
    )
    axes.set_xlabel("connect latency (ms)")
    axes.set_ylabel("calls")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper right", fontsize=8, framealpha=0.9)


def render(results: dict[str, Any], path: Path) -> Path | None:
    """Draw what ``results`` has (either panel may be missing); None when it has neither."""
    panels = [
        (name, draw)
        for name, draw in (("ullc_vs_sequential", _cdf_panel), ("concurrency", _histogram_panel))
        # A section that errored has no numbers to draw.
        if isinstance(results.get(name), dict) and "rtt_ms" in results[name]
    ]
    if not panels:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5 * len(panels), 5.5), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    for index, (name, draw) in enumerate(panels):
        draw(figure.add_subplot(1, len(panels), index + 1), results[name])
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
