"""Raw measurements of a bench run and their per-operating-point means."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bpgan_core.bench.codec import Setting


@dataclass
class ItemResult:
    """One item coded at one operating point. Times are medians over the timed repeats, in seconds."""

    item: str
    n_bytes: int
    rate: float
    metrics: dict[str, float]
    enc_s: float
    dec_s: float
    enc_peak_mb: float
    dec_peak_mb: float
    duration_s: float | None = None
    stages: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (see docs/benchmarks.md)."""
        return {
            "item": self.item,
            "bytes": self.n_bytes,
            "rate": self.rate,
            "metrics": dict(self.metrics),
            "enc_s": self.enc_s,
            "dec_s": self.dec_s,
            "enc_rtf": _ratio(self.enc_s, self.duration_s),
            "dec_rtf": _ratio(self.dec_s, self.duration_s),
            "enc_peak_mb": self.enc_peak_mb,
            "dec_peak_mb": self.dec_peak_mb,
            "duration_s": self.duration_s,
            "stages": dict(self.stages),
        }


@dataclass
class PointResult:
    """All items coded at one setting of one codec."""

    setting: Setting
    items: list[ItemResult]

    def summary(self) -> dict[str, Any]:
        """Means over items (peak memory: maximum; real-time factors: total time / total duration)."""
        n = len(self.items)
        metric_names = _ordered_keys(item.metrics for item in self.items)
        stage_names = _ordered_keys(item.stages for item in self.items)
        durations = [item.duration_s for item in self.items]
        total_duration = None if None in durations else sum(durations)
        enc_total = sum(item.enc_s for item in self.items)
        dec_total = sum(item.dec_s for item in self.items)
        return {
            "rate": sum(item.rate for item in self.items) / n,
            "bytes": sum(item.n_bytes for item in self.items) / n,
            "metrics": {m: _mean(item.metrics.get(m) for item in self.items) for m in metric_names},
            "enc_s": enc_total / n,
            "dec_s": dec_total / n,
            "enc_rtf": _ratio(enc_total, total_duration),
            "dec_rtf": _ratio(dec_total, total_duration),
            "enc_peak_mb": max(item.enc_peak_mb for item in self.items),
            "dec_peak_mb": max(item.dec_peak_mb for item in self.items),
            "stages": {s: _mean(item.stages.get(s) for item in self.items) for s in stage_names},
        }


@dataclass
class CodecResult:
    """Every operating point of one codec."""

    name: str
    family: str
    version: str
    points: list[PointResult]


@dataclass
class BenchResult:
    """A whole run: what was measured, on what data, on which machine."""

    modality: str
    rate_unit: str
    data_dir: str
    items: list[str]
    codecs: list[CodecResult]
    environment: dict[str, Any]

    @property
    def metric_names(self) -> list[str]:
        """Metric names in the order the suite reports them (the first is the primary metric)."""
        return _ordered_keys(
            item.metrics for codec in self.codecs for point in codec.points for item in point.items
        )


def _ordered_keys(dicts: Any) -> list[str]:
    keys: dict[str, None] = {}
    for d in dicts:
        keys.update(dict.fromkeys(d))
    return list(keys)


def _mean(values: Any) -> float:
    present = [v for v in values if v is not None]
    return sum(present) / len(present)


def _ratio(seconds: float, duration: float | None) -> float | None:
    return None if not duration else seconds / duration
