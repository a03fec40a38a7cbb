"""Raw measurements of a bench run and their per-operating-point means."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bpgan_core.bench.codec import Codec, Setting


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ItemResult:
        """Inverse of :meth:`to_dict`; the real-time factors are derived, so they are not read.

        A metric written as null (not finite, e.g. the PSNR of a lossless point) comes back as NaN,
        so that means over it stay non-finite, as they were in the original run.
        """
        return cls(
            item=data["item"],
            n_bytes=data["bytes"],
            rate=data["rate"],
            metrics={name: math.nan if value is None else value for name, value in data["metrics"].items()},
            enc_s=data["enc_s"],
            dec_s=data["dec_s"],
            enc_peak_mb=data["enc_peak_mb"],
            dec_peak_mb=data["dec_peak_mb"],
            duration_s=data.get("duration_s"),
            stages=dict(data.get("stages", {})),
        )


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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: setting label and value, means over items, and the items."""
        return {
            "setting": self.setting.label,
            "value": self.setting.value,
            "mean": self.summary(),
            "items": [item.to_dict() for item in self.items],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PointResult:
        """Inverse of :meth:`to_dict`; the means are recomputed from the items, so ``mean`` is not read."""
        return cls(Setting(data["setting"], data["value"]), [ItemResult.from_dict(i) for i in data["items"]])


@dataclass
class CodecResult:
    """Every operating point of one codec."""

    name: str
    family: str
    version: str
    points: list[PointResult]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (an entry of ``codecs`` in the results document)."""
        return {
            "name": self.name,
            "family": self.family,
            "version": self.version,
            "points": [point.to_dict() for point in self.points],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CodecResult:
        """Inverse of :meth:`to_dict`."""
        return cls(data["name"], data["family"], data["version"], [PointResult.from_dict(p) for p in data["points"]])


@dataclass
class BenchResult:
    """A whole run: what was measured, on what data, on which machine."""

    modality: str
    rate_unit: str
    data_dir: str
    items: list[str]
    codecs: list[CodecResult]
    environment: dict[str, Any]
    suite: str = ""
    """The bench suite's name (e.g. ``speech-nb``); files without one: the modality."""

    @property
    def metric_names(self) -> list[str]:
        """Metric names in the order the suite reports them (the first is the primary metric)."""
        return _ordered_keys(
            item.metrics for codec in self.codecs for point in codec.points for item in point.items
        )

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> BenchResult:
        """The measurements of a results document (``results.json``); its summaries are not read."""
        return cls(
            modality=document["modality"],
            rate_unit=document["rate_unit"],
            data_dir=document["data"]["dir"],
            items=list(document["data"]["items"]),
            codecs=[CodecResult.from_dict(c) for c in document["codecs"]],
            environment=dict(document["environment"]),
            suite=document.get("suite", document["modality"]),
        )

    def merged_with(self, reused: Sequence[CodecResult], source: str, order: Sequence[Codec]) -> BenchResult:
        """This run plus the ``reused`` points of an earlier run (read from ``source``).

        The result lists the codecs of ``order`` in that order, each with its points in the order of
        its settings; ``environment["reused"]`` records the file and the reused codecs and points.
        """
        pools = [{c.name: c for c in self.codecs}, {c.name: c for c in reused}]
        codecs = []
        for codec in order:
            points = {p.setting.label: p for pool in pools if codec.name in pool for p in pool[codec.name].points}
            ordered = [points[s.label] for s in codec.settings if s.label in points]
            if ordered:
                codecs.append(CodecResult(codec.name, codec.family, codec.version, ordered))
        provenance = {
            "from": source,
            "codecs": [c.name for c in reused],
            "points": [f"{c.name} {p.setting.label}" for c in reused for p in c.points],
        }
        return replace(self, codecs=codecs, environment={**self.environment, "reused": provenance})


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
