"""Synthetic IMU-like recordings: gait oscillations, drift, bursts and noise (training data and demos)."""
from __future__ import annotations

import numpy as np


def imu_recording(rng: np.random.Generator, samples: int, channels: int) -> np.ndarray:
    """A (samples, channels) float32 recording at a nominal 100 Hz."""
    t = np.arange(samples) / 100.0
    out = np.empty((samples, channels), np.float32)
    step_hz = rng.uniform(0.8, 2.5)
    for c in range(channels):
        phase = rng.uniform(0, 2 * np.pi)
        sig = rng.uniform(0.2, 2.0) * np.sin(2 * np.pi * step_hz * t + phase)
        sig += rng.uniform(0, 0.6) * np.sin(4 * np.pi * step_hz * t + 2 * phase)
        sig += np.cumsum(rng.normal(0, 0.01, samples))  # drift
        for _ in range(rng.integers(0, 4)):  # bursts (impacts, turns)
            at, width = rng.integers(0, samples), rng.uniform(0.05, 0.5)
            sig += rng.normal(0, 2) * np.exp(-0.5 * ((t - t[at]) / width) ** 2)
        sig += rng.normal(0, rng.uniform(0.005, 0.05), samples)
        out[:, c] = sig + rng.normal(0, 3)
    return out
