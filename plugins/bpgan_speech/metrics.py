"""Speech quality metrics on mono float waveforms of equal sample rate."""

from __future__ import annotations

import numpy as np


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Cut or zero-pad ``samples`` to ``length``."""
    if len(samples) >= length:
        return samples[:length]
    return np.pad(samples, (0, length - len(samples)))


def pesq_score(reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> tuple[str, float]:
    """``("pesq_wb", MOS-LQO)`` at 16 kHz (ITU-T P.862.2), ``("pesq_nb", ...)`` at 8 kHz (P.862)."""
    from pesq import pesq

    modes = {16000: "wb", 8000: "nb"}
    if sample_rate not in modes:
        raise ValueError(f"PESQ needs 8 or 16 kHz audio, got {sample_rate} Hz")
    mode = modes[sample_rate]
    return f"pesq_{mode}", float(pesq(sample_rate, reference, fit_length(degraded, len(reference)), mode))


def stoi_score(reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
    """Short-time objective intelligibility (pystoi, classic STOI), 0 to 1."""
    from pystoi import stoi

    return float(stoi(reference, fit_length(degraded, len(reference)), sample_rate, extended=False))
