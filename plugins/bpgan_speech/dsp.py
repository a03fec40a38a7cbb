"""Speech DSP for the BPGAN speech codec: normalized log-mel features and their inversion.

Pure numpy / scipy / librosa (librosa only for the mel filterbank).

Level convention (fixed reference)
----------------------------------
Audio is float in ``[-1, 1]``. The power spectrogram is scaled so that a
full-scale sinusoid (amplitude 1) centred on an FFT bin has power 1 in that bin
(``|X|^2 * (2 / sum(window))^2``), and every mel band is the *weighted mean* of
the bin powers under its triangle (the librosa Slaney-scale triangles, each row
normalized to sum to 1). Hence a full-scale tone reads at most 0 dB in its band,
whatever the FFT size or number of mels. The dB values are clipped to
``[-top_db, 0]`` and mapped linearly to ``[0, 1]``::

    norm = (clip(10 * log10(mel_power), -top_db, 0) + top_db) / top_db

There is no per-signal normalization, so a file scaled by 0.1 reads 20 dB
(``20 / top_db``) lower. Speech at ordinary recording levels (about -20 dBFS
RMS) peaks around -10 dB, i.e. near 0.87 with ``top_db = 80``; the 0 dB ceiling
is only reached by near-full-scale tones, so the clip almost never bites.
On the way back, values at the floor (``norm <= 0``) become exact silence.

Inversion
---------
:func:`mel_to_audio` maps mel power back to linear power with a pseudo-inverse
of the filterbank (clipped at 0), takes the square root as STFT magnitude,
estimates the phase with PGHI and refines it with a few fast Griffin-Lim
iterations (see :mod:`bpgan_speech.phase`). :class:`StreamingMelInverter` does
the same block by block with bounded latency and memory.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from . import phase as _phase

__all__ = [
    "MelConfig",
    "log_mel",
    "mel_power",
    "mel_to_magnitude",
    "mel_to_audio",
    "StreamingMelInverter",
    "DEFAULT_GL_ITERS",
    "DEFAULT_GL_ALPHA",
]

#: Fast Griffin-Lim iterations run after PGHI by default.
DEFAULT_GL_ITERS = 16
#: Momentum of fast Griffin-Lim (Perraudin et al. suggest 0.99).
DEFAULT_GL_ALPHA = 0.99

# standard settings: sample rate -> (n_fft, hop_length, n_mels)
_STANDARD = {16000: (512, 128, 128), 8000: (256, 64, 64)}


@dataclass(frozen=True)
class MelConfig:
    """Geometry and level range of the normalized log-mel features.

    Attributes:
        sample_rate: sampling rate in Hz.
        n_fft: FFT size, also the Hann window length; a multiple of ``hop_length``.
        hop_length: frame step in samples.
        n_mels: number of mel bands (Slaney mel scale, as librosa's default).
        fmin: lowest filter edge in Hz.
        fmax: highest filter edge in Hz; ``None`` means ``sample_rate / 2``.
        top_db: dynamic range kept below the 0 dB reference (full-scale tone).
    """

    sample_rate: int
    n_fft: int
    hop_length: int
    n_mels: int
    fmin: float = 0.0
    fmax: float | None = None
    top_db: float = 80.0

    def __post_init__(self) -> None:
        if self.sample_rate <= 0 or self.n_mels <= 0:
            raise ValueError("sample_rate and n_mels must be positive")
        if self.n_fft <= 0 or self.n_fft % 2 or self.hop_length <= 0 or self.n_fft % self.hop_length:
            raise ValueError(
                f"n_fft ({self.n_fft}) must be a positive even multiple of hop_length ({self.hop_length})"
            )
        if self.n_fft < 2 * self.hop_length:
            raise ValueError("n_fft must be at least 2 * hop_length for overlap-add")
        if not self.top_db > 0:
            raise ValueError("top_db must be positive")
        if not 0.0 <= self.fmin < self.fmax_hz <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= fmin < fmax <= sample_rate / 2, got {self.fmin}, {self.fmax}")

    @classmethod
    def for_rate(cls, sample_rate: int) -> "MelConfig":
        """Standard setting for a sample rate: 16 kHz -> 512/128/128 mels, 8 kHz -> 256/64/64 mels."""
        try:
            n_fft, hop, n_mels = _STANDARD[int(sample_rate)]
        except (KeyError, TypeError, ValueError):
            supported = ", ".join(str(r) for r in sorted(_STANDARD))
            raise ValueError(
                f"no standard mel setting for sample rate {sample_rate!r} Hz; supported rates: {supported} "
                "(resample the audio, or build MelConfig(...) explicitly)"
            ) from None
        return cls(sample_rate=int(sample_rate), n_fft=n_fft, hop_length=hop, n_mels=n_mels)

    @property
    def fmax_hz(self) -> float:
        """Upper filter edge in Hz (``fmax`` or Nyquist)."""
        return float(self.sample_rate) / 2 if self.fmax is None else float(self.fmax)

    @property
    def n_bins(self) -> int:
        """Number of STFT bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    def n_frames(self, n_samples: int) -> int:
        """Number of (centered) frames of a signal of ``n_samples`` samples."""
        return 1 + int(n_samples) // self.hop_length

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict of the fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "MelConfig":
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError``, missing optional keys take defaults."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown MelConfig keys: {sorted(unknown)}")
        kw = dict(data)
        for key in ("sample_rate", "n_fft", "hop_length", "n_mels"):
            if key in kw:
                kw[key] = int(kw[key])
        for key in ("fmin", "top_db"):
            if key in kw:
                kw[key] = float(kw[key])
        if kw.get("fmax") is not None:
            kw["fmax"] = float(kw["fmax"])
        return cls(**kw)


@functools.lru_cache(maxsize=8)
def _mel_basis(cfg: MelConfig) -> np.ndarray:
    """Row-normalized (weighted-mean) mel filterbank, float64 ``(n_mels, n_bins)``."""
    import librosa  # local import: keeps module import cheap

    fb = librosa.filters.mel(
        sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax_hz, norm=None
    ).astype(np.float64)
    rows = fb.sum(axis=1, keepdims=True)
    if np.any(rows <= 0):
        raise ValueError(f"{cfg}: some mel filters are empty; use fewer mels or a larger n_fft")
    fb /= rows
    fb.flags.writeable = False
    return fb


@functools.lru_cache(maxsize=8)
def _mel_inverse(cfg: MelConfig) -> np.ndarray:
    """Pseudo-inverse of the mel basis, float32 ``(n_bins, n_mels)``."""
    inv = np.linalg.pinv(_mel_basis(cfg), rcond=1e-6).astype(np.float32)
    inv.flags.writeable = False
    return inv


def _power_scale(cfg: MelConfig) -> float:
    """Factor turning ``|STFT|^2`` into power relative to a full-scale tone."""
    return (4.0 / cfg.n_fft) ** 2  # (2 / sum(hann))^2, sum(periodic hann) = n_fft / 2


def mel_power(audio: np.ndarray, cfg: MelConfig) -> np.ndarray:
    """Mel power spectrogram ``(n_mels, frames)`` (float64) at the fixed reference of the module docs."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"expected mono 1-D audio, got shape {audio.shape}")
    spec = _phase.stft(audio, cfg.n_fft, cfg.hop_length)
    power = (spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2) * _power_scale(cfg)
    return _mel_basis(cfg) @ power.T


def log_mel(audio: np.ndarray, cfg: MelConfig) -> np.ndarray:
    """Normalized log-mel spectrogram.

    Args:
        audio: mono float signal in ``[-1, 1]``, shape ``(n,)``, at ``cfg.sample_rate``.
        cfg: feature configuration.

    Returns:
        float32 array ``(cfg.n_mels, 1 + n // cfg.hop_length)`` in ``[0, 1]``;
        0 is ``-top_db`` dB or less, 1 is a full-scale tone (0 dB).
    """
    mel = mel_power(audio, cfg)
    db = 10.0 * np.log10(np.maximum(mel, 1e-30))
    np.clip(db, -cfg.top_db, 0.0, out=db)
    return ((db + cfg.top_db) / cfg.top_db).astype(np.float32)


def _check_mel(norm_logmel: np.ndarray, cfg: MelConfig) -> np.ndarray:
    m = np.asarray(norm_logmel, dtype=np.float32)
    if m.ndim != 2 or m.shape[0] != cfg.n_mels:
        raise ValueError(f"expected a ({cfg.n_mels}, frames) log-mel array, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        m = np.nan_to_num(m, nan=0.0, posinf=1.0, neginf=0.0)
    return m


def mel_to_magnitude(norm_logmel: np.ndarray, cfg: MelConfig) -> np.ndarray:
    """STFT magnitude ``(frames, n_bins)`` (float32, time-major, raw STFT units) from normalized log-mel.

    Undoes the normalization (values are clipped to ``[0, 1]``; ``<= 0`` is
    silence), maps mel power to bin power with the filterbank pseudo-inverse
    (clipped at 0) and takes the square root.
    """
    m = _check_mel(norm_logmel, cfg)
    m = np.clip(m, 0.0, 1.0)
    power = np.where(m > 0.0, np.power(np.float32(10.0), (m - 1.0) * np.float32(cfg.top_db / 10.0)), 0.0)
    lin = power.T.astype(np.float32) @ _mel_inverse(cfg).T
    np.maximum(lin, 0.0, out=lin)
    np.sqrt(lin, out=lin)
    lin *= np.float32(cfg.n_fft / 4.0)
    return lin


def mel_to_audio(
    norm_logmel: np.ndarray,
    cfg: MelConfig,
    length: int | None = None,
    gl_iters: int = DEFAULT_GL_ITERS,
    *,
    gl_alpha: float = DEFAULT_GL_ALPHA,
    pghi_method: str = "frames",
) -> np.ndarray:
    """Waveform from a normalized log-mel spectrogram.

    Args:
        norm_logmel: ``(cfg.n_mels, frames)`` array as produced by :func:`log_mel`.
        cfg: feature configuration.
        length: output length in samples; default ``(frames - 1) * hop_length``.
        gl_iters: fast Griffin-Lim iterations after PGHI (0 = PGHI phase only).
        gl_alpha: fast Griffin-Lim momentum.
        pghi_method: PGHI integrator, see :func:`bpgan_speech.phase.pghi`.

    Returns:
        float32 signal of ``length`` samples.
    """
    mag = mel_to_magnitude(norm_logmel, cfg)
    if length is not None and length < 0:
        raise ValueError("length must be non-negative")
    ph = _phase.pghi(mag, cfg.n_fft, cfg.hop_length, method=pghi_method)
    y, _ = _phase.fast_griffin_lim(
        mag, ph, cfg.n_fft, cfg.hop_length, gl_iters, alpha=gl_alpha, length=length
    )
    return y


class StreamingMelInverter:
    """Block-wise :func:`mel_to_audio` (temporary version: buffers everything until :meth:`flush`)."""

    def __init__(self, cfg: MelConfig, gl_iters: int = DEFAULT_GL_ITERS) -> None:
        self.cfg = cfg
        self.gl_iters = gl_iters
        self._blocks: list[np.ndarray] = []

    def push(self, frames: np.ndarray) -> np.ndarray:
        """Feed ``(n_mels, k)`` frames; returns the audio samples that are final so far."""
        self._blocks.append(_check_mel(frames, self.cfg))
        return np.zeros(0, dtype=np.float32)

    def flush(self, length: int | None = None) -> np.ndarray:
        """The remaining samples (up to ``frames * hop_length`` in total, or ``length``)."""
        if not self._blocks:
            return np.zeros(0, dtype=np.float32)
        mel = np.concatenate(self._blocks, axis=1)
        self._blocks = []
        t = mel.shape[1]
        return mel_to_audio(mel, self.cfg, t * self.cfg.hop_length if length is None else length, self.gl_iters)
