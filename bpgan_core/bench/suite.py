"""What a modality supplies to the bench, and how suites are found."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from bpgan_core.bench.codec import Codec
from bpgan_core.models import ModelCard


class BenchSuite(ABC):
    """Modality-specific parts of a benchmark: data loading, rate, quality metrics, reference codecs.

    Class attributes: ``modality`` (e.g. "image"; the models it runs), ``rate_unit`` (e.g. "bpp"), ``fixed_rates``
    (rates at which quality is interpolated), ``anchor`` (codec name BD deltas are taken against) and
    ``references`` (codecs each of our operating points is compared with at its own rate; default:
    the anchor).
    """

    modality: str
    rate_unit: str
    fixed_rates: tuple[float, ...]
    anchor: str
    references: tuple[str, ...] = ()

    @abstractmethod
    def load_items(self, data_dir: Path, limit: int | None) -> list[tuple[str, Any]]:
        """Return up to ``limit`` ``(item_name, signal)`` pairs from ``data_dir``, in a stable order."""

    @abstractmethod
    def rate(self, n_bytes: int, signal: Any) -> float:
        """Rate in ``rate_unit`` of ``n_bytes`` coding ``signal``."""

    @abstractmethod
    def metrics(self, original: Any, decoded: Any) -> dict[str, float]:
        """Quality metrics, higher is better; the first key is the primary metric."""

    @abstractmethod
    def classical_codecs(self) -> list[Codec]:
        """Reference codecs available on this machine."""

    @property
    def name(self) -> str:
        """The suite's name in results and default output folders; a subclass may set it (default: the modality)."""
        return self.modality

    def accepts_model(self, card: ModelCard) -> bool:
        """Whether an installed model of the modality takes part in this suite (default: every one)."""
        return True

    def duration(self, signal: Any) -> float | None:
        """Signal duration in seconds for real-time factors; None for signals without one."""
        return None


def data_files(data_dir: Path, suffixes: tuple[str, ...], limit: int | None) -> list[Path]:
    """Sorted files in ``data_dir`` whose suffix (case-insensitive) is in ``suffixes``, first ``limit``."""
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data directory not found: {data_dir}")
    files = sorted(p for p in data_dir.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise FileNotFoundError(f"no {'/'.join(suffixes)} files in {data_dir}")
    return files[:limit] if limit is not None else files


def load_suite(name: str) -> BenchSuite:
    """Instantiate the suite registered as ``name`` (group ``bpgan.bench_suites``), or given as ``module:Class``."""
    if ":" in name:
        module, _, attr = name.partition(":")
        return getattr(importlib.import_module(module), attr)()
    from bpgan_core.registry import bench_suites

    return bench_suites.get(name)()
