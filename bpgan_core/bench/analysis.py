"""Rate-distortion summaries of a run: Bjontegaard deltas vs an anchor, quality at fixed rates, and
each of our operating points against reference codecs at its own rate."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bpgan_core.bench.bjontegaard import BjontegaardError, bd_quality, bd_rate, quality_at_rate
from bpgan_core.bench.results import BenchResult, CodecResult, PointResult


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


def _item_curves(codec: CodecResult, metric: str) -> dict[str, tuple[list[float], list[float]]]:
    """Per item name, the rates and ``metric`` values of every operating point of ``codec``."""
    curves: dict[str, tuple[list[float], list[float]]] = {}
    for point in codec.points:
        for item in point.items:
            rates, values = curves.setdefault(item.item, ([], []))
            rates.append(item.rate)
            values.append(item.metrics[metric])
    return curves


def _value_at(rates: Sequence[float], values: Sequence[float], rate: float) -> float | None:
    """``values`` interpolated at ``rate`` (pchip in log rate); None outside the range or on unusable rates."""
    try:
        return quality_at_rate(rates, values, rate)
    except BjontegaardError:
        return None


def _per_item(point: PointResult, reference: dict[str, tuple[list[float], list[float]]], metric: str) -> dict[str, Any]:
    """How often ``point`` is ahead of the ``reference`` curve of the same item at that item's rate."""
    differences, outside = [], 0
    for item in point.items:
        value = _value_at(*reference[item.item], item.rate) if item.item in reference else None
        if value is None:
            outside += 1
        else:
            differences.append(item.metrics[metric] - value)
    return {
        "ahead": sum(d > 0 for d in differences),
        "behind": sum(d <= 0 for d in differences),
        "outside": outside,
        "mean_difference": sum(differences) / len(differences) if differences else None,
    }


def at_rate_table(result: BenchResult, references: Sequence[str], family: str = "bpgan") -> list[dict[str, Any]]:
    """Each operating point of the ``family`` codecs against each of ``references`` at its own rate.

    One row per (point, reference, metric): the point's mean rate and quality, the reference's mean
    curve interpolated there (pchip in log rate) and the difference. Below the reference's lowest
    rate, ``floor`` holds that lowest point and ``dominates`` whether this point is both cheaper and
    better; above its highest rate the reference value is None. ``items`` compares item by item, each
    against the reference's curve for that item (counts ahead, behind, outside its rate range, and
    the mean difference over the items inside).
    """
    present = {codec.name: codec for codec in result.codecs}
    curves = {(name, metric): (rd_curve(present[name], metric), _item_curves(present[name], metric))
              for name in references if name in present for metric in result.metric_names}
    rows = []
    for codec in result.codecs:
        if codec.family != family:
            continue
        for point in codec.points:
            mean = point.summary()
            for (name, metric), ((rates, values), items) in curves.items():
                lowest = min(range(len(rates)), key=rates.__getitem__)
                value, own = _value_at(rates, values, mean["rate"]), mean["metrics"][metric]
                below = mean["rate"] < rates[lowest]
                rows.append({
                    "codec": codec.name, "setting": point.setting.label, "reference": name, "metric": metric,
                    "rate": mean["rate"], "value": own, "reference_value": value,
                    "difference": None if value is None else own - value,
                    "floor": {"rate": rates[lowest], "value": values[lowest]} if below else None,
                    "dominates": below and own >= values[lowest],
                    "items": _per_item(point, items, metric),
                })
    return rows
