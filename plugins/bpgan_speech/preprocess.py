"""Speech preprocessor (numpy only): audio <-> fixed chunks of normalized log-mel.

Forward: validate, downmix to mono, resample to the model's rate, then cut the log-mel into chunks
of ``chunk_frames`` frames, shaped (n_mels, chunk_frames). Chunks are computed lazily, each from
its own slice of audio (plus the STFT window's overlap), and equal the matching columns of the
whole signal's log-mel, so memory stays bounded whatever the duration. The last chunk is only as
wide as needed, a multiple of the latent's ``time_factor`` padded with silence (0), so short clips
cost few bits.

Inverse: the decoded chunks are concatenated in time and turned into audio by one continuous
streaming phase reconstruction (PGHI + fast Griffin-Lim, ``StreamingMelInverter``, with the model
config's ``gl_iters`` iterations, 32 when absent) that runs across chunk borders, so the borders get
no separate phase and no seam. The audio is then resampled back to the input's original rate and
cut to its original length.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from bpgan_core.interfaces import Prepared, Preprocessor

from .audio import AudioSignal, StreamResampler, resample, resampled_length, split_signal, to_mono
from .dsp import DEFAULT_GL_ITERS, MelConfig, StreamingMelInverter, log_mel


class SpeechPreprocessor(Preprocessor):
    """Audio to log-mel chunks and back, for one model's configuration."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.mel = MelConfig.from_dict(config["mel"])
        self.chunk_frames = int(config["chunk_frames"])
        self.time_factor = int(config["time_factor"])
        self.gl_iters = int(config.get("gl_iters", DEFAULT_GL_ITERS))

    @property
    def rate(self) -> int:
        """The model's sample rate in Hz."""
        return self.mel.sample_rate

    def forward(self, signal: Any, sample_rate: Any = None, **options: Any) -> Prepared:
        """Chunks of ``signal`` (samples with ``sample_rate``, or a (samples, rate) pair)."""
        if options:
            raise TypeError(f"speech takes only the sample_rate option, got {sorted(options)}")
        samples, rate = split_signal(signal, sample_rate)
        mono = to_mono(samples)
        x = resample(mono, rate, self.rate)
        meta = {"n": int(mono.size)} if rate == self.rate else {"sr": rate, "n": int(mono.size)}
        frames = self.mel.n_frames(x.size)
        num = -(-frames // self.chunk_frames)
        rest = frames - (num - 1) * self.chunk_frames
        last = min(self.chunk_frames, -(-rest // self.time_factor) * self.time_factor)
        widths = [self.chunk_frames] * (num - 1) + [last]
        return Prepared(meta, (self.chunk(x, k, w) for k, w in enumerate(widths)), num)

    def chunk(self, x: np.ndarray, k: int, width: int) -> np.ndarray:
        """Columns [k T, k T + width) of ``log_mel(x)`` (T = chunk_frames), from a slice of ``x`` only."""
        hop, half = self.mel.hop_length, self.mel.n_fft // 2
        start = k * self.chunk_frames * hop - half
        seg = np.zeros((width + 1) * hop + 2 * half, dtype=np.float32)
        lo, hi = max(start, 0), min(start + seg.size, x.size)
        if hi > lo:
            seg[lo - start:hi - start] = x[lo:hi]
        skip = half // hop
        return log_mel(seg, self.mel)[:, skip:skip + width]

    def inverse_stream(self, chunks: Iterable[np.ndarray], meta: dict[str, Any]) -> Iterator[np.ndarray]:
        """Audio blocks (float32, at the original rate) as the chunks arrive; ends at the original length."""
        rate, remaining = self._check_meta(meta)
        inverter = StreamingMelInverter(self.mel, gl_iters=self.gl_iters)
        back = StreamResampler(self.rate, rate)
        length = resampled_length(remaining, rate, self.rate)
        for chunk in chunks:
            block = inverter.push(np.asarray(chunk, dtype=np.float32).reshape(self.mel.n_mels, -1))
            length, block = length - block.size, block[:max(length, 0)]
            out = back.push(block)[:remaining]
            remaining -= out.size
            if out.size:
                yield np.clip(out, -1.0, 1.0)
        tail = inverter.flush()[:max(length, 0)]
        if length > tail.size:
            raise ValueError(f"decoded audio is {length - tail.size} samples shorter than the stream declares")
        out = np.concatenate([back.push(tail), back.flush()])[:remaining]
        if out.size:
            yield np.clip(out, -1.0, 1.0)

    def inverse(self, chunks: Iterable[np.ndarray], meta: dict[str, Any]) -> AudioSignal:
        """The whole decoded signal at its original rate and length."""
        blocks = list(self.inverse_stream(chunks, meta))
        samples = np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)
        return AudioSignal(samples.astype(np.float32, copy=False), self._check_meta(meta)[0])

    def _check_meta(self, meta: dict[str, Any]) -> tuple[int, int]:
        """(original rate, original length) from the stream's metadata ``{"sr": .., "n": ..}``.

        ``sr`` is left out when it is the model's rate (ten bytes less per stream).
        """
        rate, length = meta.get("sr", self.rate), meta.get("n")
        if not (isinstance(rate, int) and isinstance(length, int) and rate > 0 and length > 0):
            raise ValueError(f"stream metadata needs a positive integer rate 'sr' and length 'n', got {meta}")
        return rate, length
