"""bpgan-sensor: an example third-party modality for multichannel sensor time series.

Signals are float arrays shaped (samples, channels), e.g. a 6-axis IMU recording, of any length and
channel count. Each channel is normalised (its mean and scale travel in the stream's metadata) and
coded independently by a small 1-D convolutional model. Importing this package does not import torch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from bpgan_core.errors import InvalidSignalError
from bpgan_core.interfaces import Modality, Preprocessor, SenderModels

from .preprocess import SensorPreprocessor

__all__ = ["SensorModality", "SensorPreprocessor"]


class SensorModality(Modality):
    """Multichannel sensor time series; files are CSV (one column per channel)."""

    name = "sensor"
    default_model = "sensor-imu-v1"
    batch_size = 32
    file_suffixes = (".csv",)

    def preprocessor(self, card: Any) -> Preprocessor:
        return SensorPreprocessor(int(card.config["chunk"]))

    def load_sender(self, card: Any) -> SenderModels:
        from .networks import load_sender

        return load_sender(card)

    def read_file(self, path: str) -> tuple[Any, dict[str, Any]]:
        try:
            data = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
        except (OSError, ValueError) as exc:
            raise InvalidSignalError(f"{path}: not a numeric CSV file: {exc}") from exc
        return data, {}

    def write_file(self, signal: Any, path: str) -> None:
        np.savetxt(path, np.asarray(signal), delimiter=",", fmt="%.6g")

    def example(self) -> tuple[Any, dict[str, Any]]:
        from .synthetic import imu_recording

        return imu_recording(np.random.default_rng(7), 2000, 6), {}

    def measure(self, original: Any, decoded: Any, num_bytes: int) -> dict[str, float]:
        x, y = np.asarray(original, np.float64), np.asarray(decoded, np.float64)
        snr = 10 * np.log10(np.sum((x - x.mean(0)) ** 2) / max(np.sum((x - y) ** 2), 1e-12))
        return {"bits_per_sample": 8.0 * num_bytes / x.size, "snr_db": float(snr)}

    def train(self, argv: list[str]) -> int:
        from .training import main

        return main(argv)
