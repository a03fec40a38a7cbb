"""Peak memory of a block of code, native allocations included where the OS allows."""

from __future__ import annotations

import ctypes
import tracemalloc
from pathlib import Path
from types import TracebackType

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None)


def _status_kb(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _rss_supported() -> bool:
    if _MALLOC_TRIM is None:
        return False
    try:
        _CLEAR_REFS.write_text("5")
        _status_kb("VmHWM")
    except (OSError, KeyError):
        return False
    return True


MEMORY_METHOD = "rss" if _rss_supported() else "tracemalloc"
"""How peaks are measured: "rss" (Linux/glibc: free heap memory is returned to the OS, then the
resident-set high-water mark is reset, so native allocations such as torch's count too) or
"tracemalloc" (elsewhere: Python and numpy allocations only)."""


class PeakMemory:
    """Context manager; after the block, ``peak_mb`` is the peak memory above the level at entry."""

    peak_mb: float = 0.0

    def __enter__(self) -> PeakMemory:
        if MEMORY_METHOD == "rss":
            _MALLOC_TRIM(0)
            _CLEAR_REFS.write_text("5")
            self._base_kb = _status_kb("VmRSS")
        else:
            self._started = not tracemalloc.is_tracing()
            if self._started:
                tracemalloc.start()
            tracemalloc.reset_peak()
            self._base_bytes = tracemalloc.get_traced_memory()[0]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if MEMORY_METHOD == "rss":
            self.peak_mb = max(0, _status_kb("VmHWM") - self._base_kb) / 1024
        else:
            self.peak_mb = max(0, tracemalloc.get_traced_memory()[1] - self._base_bytes) / 2**20
            if self._started:
                tracemalloc.stop()
