"""Rate-distortion summaries of a run: Bjontegaard deltas vs an anchor, quality at fixed rates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bpgan_core.bench.bjontegaard import BjontegaardError, bd_quality, bd_rate, quality_at_rate
from bpgan_core.bench.results import BenchResult, CodecResult


def rd_curve(codec: CodecResult, metric: str) -> tuple[list[float], list[float]]:
    """Mean rate and mean ``metric`` of each operating point of ``codec``."""
    summaries = [point.summary() for point in codec.points]
    return [s["rate"] for s in summaries], [s["metrics"][metric] for s in summaries]


def bd_table(result: BenchResult, anchor: str, method: str = "pchip") -> list[dict[str, Any]]:
    """One row per (codec other than the anchor, metric): BD-rate (%) and BD-quality, or the reason why not."""
    anchors = [codec for codec in result.codecs if codec.name == anchor]
    if not anchors:
        return []
    rows = []
    for codec in result.codecs:
        if codec.name == anchor:
            continue
        for metric in result.metric_names:
            row: dict[str, Any] = {"codec": codec.name, "anchor": anchor, "metric": metric, "error": None}
            curves = (*rd_curve(anchors[0], metric), *rd_curve(codec, metric))
            for key, delta in (("bd_rate_pct", bd_rate), ("bd_quality", bd_quality)):
                try:
                    row[key] = delta(*curves, method=method)
                except BjontegaardError as exc:
                    row[key] = None
                    row["error"] = row["error"] or str(exc)
            rows.append(row)
    return rows


def fixed_rate_table(result: BenchResult, rates: Sequence[float]) -> list[dict[str, Any]]:
    """One row per (codec, metric): quality interpolated at each of ``rates`` (None out of range)."""
    rows = []
    for codec in result.codecs:
        for metric in result.metric_names:
            curve = rd_curve(codec, metric)
            try:
                values = [quality_at_rate(*curve, rate) for rate in rates]
            except BjontegaardError:
                values = [None for _ in rates]
            rows.append({"codec": codec.name, "metric": metric, "values": values})
    return rows
