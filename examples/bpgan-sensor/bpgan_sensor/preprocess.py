"""Sensor preprocessing: per-channel normalisation and fixed-length chunks (numpy only)."""
from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from bpgan_core.errors import InvalidSignalError
from bpgan_core.interfaces import Prepared, Preprocessor


class SensorPreprocessor(Preprocessor):
    """(samples, channels) float array <-> chunks shaped (1, chunk) per channel."""

    def __init__(self, chunk: int) -> None:
        self.chunk = chunk

    def forward(self, signal: Any, **options: Any) -> Prepared:
        if options:
            raise TypeError(f"the sensor modality takes no options, got {sorted(options)}")
        try:
            x = np.asarray(signal, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidSignalError(f"sensor signals must be numeric arrays: {exc}") from exc
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.size == 0:
            raise InvalidSignalError("sensor signals must be non-empty arrays shaped (samples, channels)")
        if not np.all(np.isfinite(x)):
            raise InvalidSignalError("sensor signal holds NaN or infinite values")
        mean = x.mean(axis=0)
        scale = np.maximum(np.abs(x - mean).max(axis=0), 1e-9)
        mean, scale = np.float32(mean), np.float32(scale)  # what the receiver will use
        meta = {"n": int(x.shape[0]), "mean": mean.tolist(), "scale": scale.tolist(), "vector": signal_is_1d(signal)}
        norm = ((x - mean) / scale).astype(np.float32)
        chunks = -(-x.shape[0] // self.chunk)
        return Prepared(meta, self._chunks(norm, chunks), chunks * x.shape[1])

    def _chunks(self, norm: np.ndarray, count: int) -> Iterator[np.ndarray]:
        padded = np.zeros((count * self.chunk, norm.shape[1]), np.float32)
        padded[: norm.shape[0]] = norm
        for c in range(norm.shape[1]):
            for i in range(count):
                yield padded[i * self.chunk:(i + 1) * self.chunk, c][None]

    def inverse(self, chunks: Iterable[np.ndarray], meta: dict[str, Any]) -> np.ndarray:
        mean, scale = np.asarray(meta["mean"], np.float32), np.asarray(meta["scale"], np.float32)
        flat = np.concatenate([np.asarray(c, np.float32).reshape(-1) for c in chunks])
        per_channel = flat.size // max(len(mean), 1)
        if per_channel < meta["n"] or flat.size != per_channel * len(mean):
            raise ValueError("decoded sensor chunks do not cover the declared length")
        out = flat.reshape(len(mean), per_channel)[:, : meta["n"]].T * scale + mean
        return out[:, 0] if meta.get("vector") else out


def signal_is_1d(signal: Any) -> bool:
    """Whether the caller passed a single channel as a 1-D array."""
    return np.ndim(signal) == 1
