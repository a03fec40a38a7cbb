"""The one interface every benchmarked codec implements, classical or ours."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One operating point of a codec: a printable ``label`` and the ``value`` the codec uses."""

    label: str
    value: Any


class Codec(ABC):
    """A lossy codec the bench runs: bytes out of ``encode`` are exactly what is counted as rate.

    ``name`` identifies the codec in results and on ``--codecs``; the part before the first ``:``
    is its family (``bpgan:model:effort`` belongs to family ``bpgan``).
    """

    name: str

    @property
    def family(self) -> str:
        """Family name: ``name`` up to the first ``:``."""
        return self.name.split(":", 1)[0]

    @property
    def version(self) -> str:
        """Version of the implementation used, recorded in the results ("" when unknown)."""
        return ""

    @property
    @abstractmethod
    def settings(self) -> list[Setting]:
        """Operating points to sweep, from lowest to highest rate."""

    @abstractmethod
    def encode(self, signal: Any, setting: Setting) -> bytes:
        """Compress ``signal`` at ``setting`` into a self-contained byte string (headers included)."""

    @abstractmethod
    def decode(self, data: bytes, like: Any) -> Any:
        """Decompress ``data``; ``like`` is the original signal, for shape and sample rate only."""

    def stage_timings(self) -> dict[str, float]:
        """Seconds per processing stage of the latest ``encode`` or ``decode`` call ({} if not reported)."""
        return {}
