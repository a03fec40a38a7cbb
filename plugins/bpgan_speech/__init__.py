"""The ``speech`` modality of bpgan: mono audio at any rate, coded as log-mel chunks by a BPGAN model.

Use::

    blob = bpgan_core.compress(samples, modality="speech", sample_rate=44100)   # or ((samples, rate))
    audio = bpgan_core.decompress(blob)    # AudioSignal(samples, sample_rate), at the input's rate

Input of any rate is resampled to the model's rate (16 or 8 kHz), multi-channel input is averaged
to mono; decoding resamples back to the original rate and length. Importing this package does not
import torch (the receiver needs none).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bpgan_core.errors import InvalidSignalError
from bpgan_core.interfaces import Modality, Preprocessor, SenderModels

from .audio import AudioSignal, read_audio, resample, to_mono
from .preprocess import SpeechPreprocessor
from .synth import speech_like

__all__ = ["AudioSignal", "SpeechModality", "SpeechPreprocessor"]


def _samples_and_rate(signal: Any, default_rate: int) -> tuple[np.ndarray, int]:
    if isinstance(signal, tuple) and len(signal) == 2 and np.ndim(signal[1]) == 0:
        return to_mono(signal[0]), int(signal[1])
    return to_mono(signal), default_rate


class SpeechModality(Modality):
    """Speech: numpy samples with a sample rate, or WAV/FLAC/OGG files."""

    name = "speech"
    default_model = "speech-16k-2kbps"
    batch_size = 8
    file_suffixes = (".wav", ".flac", ".ogg")

    def preprocessor(self, card: Any) -> Preprocessor:
        return SpeechPreprocessor(card.config)

    def load_sender(self, card: Any) -> SenderModels:
        from bpgan_core.torch_adapters import TorchEncoder, TorchGenerator, load_sender_weights

        from .losses import spectral_loss
        from .networks import build

        encoder, generator = build(card.config)
        load_sender_weights(encoder, generator, card.sender_path, card.generator_path)
        return SenderModels(TorchEncoder(encoder), TorchGenerator(generator), spectral_loss)

    def read_file(self, path: str) -> tuple[Any, dict[str, Any]]:
        samples, rate = read_audio(path)
        return samples, {"sample_rate": rate}

    def write_file(self, signal: Any, path: str) -> None:
        import soundfile as sf

        if not (isinstance(signal, tuple) and len(signal) == 2):
            raise InvalidSignalError("write_file needs an AudioSignal or a (samples, sample_rate) pair")
        samples, rate = signal
        sf.write(path, np.asarray(samples, dtype=np.float32), int(rate), format=Path(path).suffix[1:].upper() or None)

    def example(self) -> tuple[Any, dict[str, Any]]:
        return speech_like(2.5, 16000), {"sample_rate": 16000}

    def measure(self, original: Any, decoded: Any, num_bytes: int) -> dict[str, float]:
        """kbps (every byte over the duration), log-mel distance in dB and PESQ when it accepts the signal.

        Both signals are compared at 16 kHz (8 kHz when the decoded rate is below 16 kHz), the band
        the models code.
        """
        y, rate = _samples_and_rate(decoded, 16000)
        x, x_rate = _samples_and_rate(original, rate)
        kbps = 8.0 * num_bytes / (x.size / x_rate) / 1000.0
        band = 16000 if rate >= 16000 else 8000
        x, y = resample(x, x_rate, band), resample(y, rate, band)
        n = min(x.size, y.size)
        figures = {"kbps": kbps, "mel_distance_db": _log_mel_distance(x[:n], y[:n], band)}
        try:
            from .metrics import pesq_score

            key, value = pesq_score(x[:n], y[:n], band)
            figures[key] = value
        except Exception:  # noqa: BLE001 - PESQ is optional and refuses some signals (too short, silent)
            pass
        return figures

    def train(self, argv: list[str]) -> int:
        from .recipe import main

        return main(argv)


def _log_mel_distance(x: np.ndarray, y: np.ndarray, rate: int) -> float:
    """RMS over mel bands of the dB difference of the log-mels (80 dB range), averaged over frames."""
    from .dsp import MelConfig, log_mel

    cfg = MelConfig.for_rate(rate)
    d = (log_mel(x, cfg) - log_mel(y, cfg)) * cfg.top_db
    return float(np.mean(np.sqrt(np.mean(d**2, axis=0))))
