"""A speech-like test signal made in code: voiced harmonics under moving formants, plus fricative noise."""
from __future__ import annotations

import numpy as np

# (start Hz, end Hz, bandwidth Hz) of the first three formants over the signal
_FORMANTS = ((700.0, 300.0, 90.0), (1200.0, 2200.0, 110.0), (2600.0, 3000.0, 160.0))


def speech_like(seconds: float = 2.5, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A deterministic float32 signal with a gliding pitch (100-170 Hz), formant glides and syllable rhythm.

    The glottal source is additive harmonics with a -12 dB/octave tilt; each harmonic is weighted by
    the formant resonances at its current frequency. Short noise bursts stand in for fricatives.
    """
    n = int(round(seconds * sample_rate))
    t = np.arange(n) / sample_rate
    frac = t / max(seconds, 1e-9)
    f0 = 135.0 + 35.0 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    formants = [(a + (b - a) * (0.5 - 0.5 * np.cos(np.pi * 2 * frac)), bw) for a, b, bw in _FORMANTS]
    voiced = np.zeros(n)
    for k in range(1, int(0.45 * sample_rate / 100.0)):
        fk = k * f0
        gain = sum(1.0 / (1.0 + ((fk - fc) / bw) ** 2) for fc, bw in formants) / k
        voiced += np.where(fk < 0.45 * sample_rate, gain, 0.0) * np.sin(k * phase)
    syllables = np.clip(np.sin(2 * np.pi * 3.5 * t), 0.0, None) ** 0.6
    rng = np.random.default_rng(seed)
    bursts = (np.sin(2 * np.pi * 3.5 * t + np.pi) > 0.85) * rng.standard_normal(n) * 0.05
    x = voiced * syllables + np.diff(bursts, prepend=0.0)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)
