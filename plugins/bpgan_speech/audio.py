"""Audio input handling (numpy only): validation, stereo downmix, resampling, file reading.

Any input rate is resampled to the model's rate with a polyphase filter (scipy ``resample_poly``,
Kaiser window), and multi-channel input is downmixed to mono by averaging the channels.
"""
from __future__ import annotations

from math import gcd
from typing import Any, NamedTuple

import numpy as np

from bpgan_core.errors import InvalidSignalError


class AudioSignal(NamedTuple):
    """Decoded (or loaded) audio: mono float32 samples in [-1, 1] and their sample rate in Hz."""

    samples: np.ndarray
    sample_rate: int


def split_signal(signal: Any, sample_rate: Any) -> tuple[Any, int]:
    """Separate samples and rate from ``samples`` + ``sample_rate=`` or a ``(samples, rate)`` pair."""
    if isinstance(signal, tuple) and len(signal) == 2 and np.ndim(signal[1]) == 0 and np.ndim(signal[0]) >= 1:
        if sample_rate is not None and int(sample_rate) != int(signal[1]):
            raise InvalidSignalError(f"sample_rate={sample_rate} disagrees with the signal's own rate {signal[1]}")
        signal, sample_rate = signal
    if sample_rate is None:
        raise InvalidSignalError(
            "speech needs its sample rate: call compress(samples, modality='speech', sample_rate=16000) "
            "or pass a (samples, sample_rate) pair")
    try:
        rate = int(sample_rate)
    except (TypeError, ValueError):
        raise InvalidSignalError(f"sample_rate must be a positive integer, got {sample_rate!r}") from None
    if rate <= 0 or rate != sample_rate:
        raise InvalidSignalError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    return signal, rate


def to_mono(samples: Any) -> np.ndarray:
    """Validated mono float32 samples; 2-D input (frames, channels) or (channels, frames) is averaged.

    The channel axis of a 2-D array is the shorter one (soundfile gives (frames, channels)).
    """
    try:
        x = np.asarray(samples, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidSignalError(f"speech samples must be a numeric array: {exc}") from None
    if x.ndim == 2:
        x = x.mean(axis=1 if x.shape[1] <= x.shape[0] else 0, dtype=np.float32)
    if x.ndim != 1:
        raise InvalidSignalError(f"speech samples must be 1-D (mono) or 2-D (multi-channel), got shape {x.shape}")
    if x.size == 0:
        raise InvalidSignalError("speech signal is empty (0 samples)")
    if not np.all(np.isfinite(x)):
        raise InvalidSignalError("speech signal contains NaN or infinite samples")
    return x


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling of a mono signal from ``rate_in`` to ``rate_out`` Hz (float32)."""
    if rate_in == rate_out:
        return x
    g = gcd(rate_in, rate_out)
    from scipy.signal import resample_poly  # imported here: it costs a process about 0.9 s

    return resample_poly(x, rate_out // g, rate_in // g).astype(np.float32)


def resampled_length(n: int, rate_in: int, rate_out: int) -> int:
    """Number of samples ``resample`` returns for ``n`` input samples."""
    return -(-n * rate_out // rate_in)


def read_audio(path: str) -> AudioSignal:
    """Load a WAV/FLAC/OGG file (any channels, float32); raises InvalidSignalError when unreadable."""
    import soundfile as sf

    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise InvalidSignalError(f"{path}: not a readable audio file (WAV, FLAC or OGG): {exc}") from None
    return AudioSignal(data[:, 0] if data.shape[1] == 1 else data, int(rate))


class StreamResampler:
    """Block-by-block polyphase resampling whose concatenated output equals ``resample`` on the whole.

    Each block is resampled together with enough already-seen and following input to cover the
    anti-aliasing filter, and only the outputs whose filter support lies inside are emitted, so the
    result matches the one-shot resampling up to float rounding; memory stays one block plus margins.
    """

    def __init__(self, rate_in: int, rate_out: int) -> None:
        g = gcd(rate_in, rate_out)
        self.up, self.down = rate_out // g, rate_in // g
        half = -(-10 * max(self.up, self.down) // self.up) + 2  # resample_poly's half filter, input samples
        self.margin = -(-half // self.down) * self.down  # a multiple of ``down``: outputs stay aligned
        self.rate_in, self.rate_out = rate_in, rate_out
        self.buffer = np.zeros(0, dtype=np.float32)
        self.start = 0  # absolute input index of buffer[0], a multiple of ``down``
        self.emitted = 0  # absolute input index up to which outputs were emitted (multiple of ``down``)
        self.seen = 0

    def _emit(self, stop: int) -> np.ndarray:
        """Outputs for input samples [emitted, stop), ``stop`` a multiple of ``down`` or the end."""
        if stop <= self.emitted:
            return np.zeros(0, dtype=np.float32)
        y = resample(self.buffer, self.rate_in, self.rate_out)
        first = (self.emitted - self.start) * self.up // self.down
        last = -(-(stop - self.start) * self.up // self.down)
        out = y[first:last]
        self.emitted = stop
        keep = max(self.emitted - self.margin, 0)
        self.buffer = self.buffer[keep - self.start:]
        self.start = keep
        return out

    def push(self, block: np.ndarray) -> np.ndarray:
        """Feed input samples; returns the output samples that are final."""
        if self.up == self.down:
            return np.asarray(block, dtype=np.float32)
        self.buffer = np.concatenate([self.buffer, np.asarray(block, dtype=np.float32)])
        self.seen += len(block)
        stop = (self.seen - self.margin) // self.down * self.down
        return self._emit(stop)

    def flush(self) -> np.ndarray:
        """The remaining output samples."""
        if self.up == self.down:
            return np.zeros(0, dtype=np.float32)
        return self._emit(self.seen)
