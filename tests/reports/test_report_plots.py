"""The latency PNG: decodes at its size and carries the numbers it draws."""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from harness.client.stats import nearest_rank
from harness.reports.plots import HEIGHT_PX, WIDTH_PX, LatencySeries, latency_png


def _decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_png_decodes_at_its_size_with_the_plotted_numbers() -> None:
    ullc = tuple(float(90 + (i * 37) % 120) for i in range(200))
    sequential = tuple(float(210 + (i * 53) % 160) for i in range(50))
    png = latency_png(
        [LatencySeries("ullc", ullc), LatencySeries("sequential", sequential)], budget_ms=1000
    )
    image = _decode(png)
    assert image.format == "PNG"
    assert image.size == (WIDTH_PX, HEIGHT_PX)
    described = json.loads(image.info["Description"])
    assert described["budget_ms"] == 1000
    by_label = {s["label"]: s for s in described["series"]}
    for label, values in (("ullc", ullc), ("sequential", sequential)):
        assert by_label[label]["count"] == len(values)
        for p in (50, 95, 99):
            # Same nearest-rank numbers as CallStats, so plot and summary agree.
            assert by_label[label][f"p{p}_ms"] == nearest_rank(values, p)


def test_budget_line_is_drawn_in_red() -> None:
    values = tuple(float(v) for v in range(100, 200))
    image = _decode(latency_png([LatencySeries("ullc", values)], budget_ms=800)).convert("RGB")
    pixels = np.asarray(image).astype(int)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    reds = int(((red > 200) & (green < 70) & (blue < 70)).sum())  # "#d62728", the budget colour
    assert reds > 200


def test_no_connected_calls_still_gives_a_png() -> None:
    image = _decode(latency_png([LatencySeries("ullc", ())], budget_ms=None))
    assert image.size == (WIDTH_PX, HEIGHT_PX)
    assert json.loads(image.info["Description"])["series"][0]["p95_ms"] is None
