"""Speech bench suite: Opus and Codec2 against our codec, in kbps / PESQ-WB / STOI."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from bpgan_core.bench.codec import Codec, Setting
from bpgan_core.bench.suite import BenchSuite, data_files
from bpgan_core.models import ModelCard
from bpgan_speech.audio import read_audio, resample, to_mono
from bpgan_speech.metrics import fit_length, pesq_score, stoi_score

SPEECH_SUFFIXES = (".flac", ".wav")
Speech = tuple[np.ndarray, int]


def _ogg_crc(data: bytes) -> int:
    """Ogg page checksum: CRC-32, polynomial 0x04C11DB7, not reflected, initial value 0."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7 if crc & 0x80000000 else crc << 1) & 0xFFFFFFFF
    return crc


def _ogg_page(header: bytes, body: bytes) -> bytes:
    """Ogg page from the first 26 header bytes of an existing page and a new body (< 255 * 255 bytes)."""
    lacing = [255] * (len(body) // 255) + [len(body) % 255]
    page = bytearray(header[:22] + b"\0\0\0\0" + bytes([len(lacing), *lacing]) + body)
    page[22:26] = struct.pack("<I", _ogg_crc(bytes(page)))
    return bytes(page)


def compact_opus_tags(ogg: bytes) -> bytes:
    """Drop the zero padding libsndfile reserves in the OpusTags header (~760 bytes).

    The second Ogg page holds only the OpusTags packet; it is rewritten ending right after the
    (empty) comment list, which leaves a valid Ogg Opus stream that decodes to the same samples.
    """
    first_len = 27 + ogg[26] + sum(ogg[27 : 27 + ogg[26]])
    page = ogg[first_len:]
    n_segments = page[26]
    body_start = 27 + n_segments
    body_len = sum(page[27:body_start])
    body = page[body_start : body_start + body_len]
    if not body.startswith(b"OpusTags"):
        raise ValueError("second Ogg page is not an OpusTags header")
    end = 12 + struct.unpack_from("<I", body, 8)[0]
    n_comments = struct.unpack_from("<I", body, end)[0]
    end += 4
    for _ in range(n_comments):
        end += 4 + struct.unpack_from("<I", body, end)[0]
    return ogg[:first_len] + _ogg_page(page[:26], body[:end]) + page[body_start + body_len :]


class OpusCodec(Codec):
    """Opus in Ogg through libsndfile (soundfile), VBR at a nominal bitrate.

    libsndfile maps ``compression_level`` linearly to the Opus bitrate: 0 -> 256 kbps, 1 -> 6 kbps.
    """

    name = "opus"
    bitrates_kbps = (6, 9, 12)

    @property
    def version(self) -> str:
        """libsndfile version."""
        return sf.__libsndfile_version__

    @property
    def settings(self) -> list[Setting]:
        """One setting per nominal bitrate (kbps)."""
        return [Setting(f"{kbps} kbps", kbps) for kbps in self.bitrates_kbps]

    def encode(self, signal: Speech, setting: Setting) -> bytes:
        """Ogg Opus file bytes, OpusTags padding removed (see ``compact_opus_tags``)."""
        samples, rate = signal
        level = 1.0 - (setting.value * 1000 - 6000) / 250000
        buffer = io.BytesIO()
        sf.write(buffer, samples, rate, format="OGG", subtype="OPUS", compression_level=level)
        return compact_opus_tags(buffer.getvalue())

    def decode(self, data: bytes, like: Speech) -> Speech:
        """Decoded waveform at the file's sample rate."""
        samples, rate = sf.read(io.BytesIO(data), dtype="float32")
        return samples, rate


class Codec2Codec(Codec):
    """Codec2 (pycodec2) at 8 kHz, in the ``.c2`` file format: 7-byte header, then whole-byte frames.

    Input is resampled 16 -> 8 kHz and the output back to the input's rate. The decoder drops
    codec2's 20 ms algorithmic delay (measured: it maximizes STOI in every mode), as Opus's
    pre-skip is dropped by libsndfile, so that time-aligned metrics such as STOI compare like with like.
    """

    name = "codec2"
    sample_rate = 8000
    modes = {3200: 0, 2400: 1, 1300: 4}
    """Bitrate -> mode number of the ``.c2`` header (codec2's CODEC2_MODE_* values)."""
    magic = bytes([0xC0, 0xDE, 0xC2, 1, 0])
    delay = 160
    """Samples at 8 kHz by which the decoded speech lags the input."""

    @property
    def version(self) -> str:
        """pycodec2 version."""
        from importlib.metadata import version

        return f"pycodec2 {version('pycodec2')}"

    @property
    def settings(self) -> list[Setting]:
        """One setting per mode, lowest bitrate first."""
        return [Setting(f"{bps} bps", bps) for bps in sorted(self.modes)]

    def encode(self, signal: Speech, setting: Setting) -> bytes:
        """Header with the mode, then every frame's bytes."""
        import pycodec2

        samples, rate = signal
        codec = pycodec2.Codec2(setting.value)
        frame = codec.samples_per_frame()
        pcm = np.clip(resample(samples, rate, self.sample_rate) * 32768.0, -32768, 32767).astype(np.int16)
        pcm = np.pad(pcm, (0, -len(pcm) % frame))
        frames = (codec.encode(pcm[i : i + frame]) for i in range(0, len(pcm), frame))
        return self.magic + bytes([self.modes[setting.value], 0]) + b"".join(frames)

    def decode(self, data: bytes, like: Speech) -> Speech:
        """Decoded waveform at ``like``'s sample rate."""
        import pycodec2

        if data[:5] != self.magic:
            raise ValueError("not a .c2 stream")
        bitrate = {mode: bps for bps, mode in self.modes.items()}[data[5]]
        codec = pycodec2.Codec2(bitrate)
        size = codec.bytes_per_frame()
        payload = data[7:]
        pcm = np.concatenate([codec.decode(payload[i : i + size]) for i in range(0, len(payload), size)])
        return resample(pcm[self.delay :].astype(np.float32) / 32768.0, self.sample_rate, like[1]), like[1]


class SpeechBenchSuite(BenchSuite):
    """16 kHz mono speech; rate in kbps of the whole file; PESQ wideband first, then STOI.

    Models of the other sample rate take no part: the 8 kHz ones are measured by ``speech-nb``.
    """

    modality = "speech"
    rate_unit = "kbps"
    fixed_rates = (1.0, 2.0, 3.0, 6.0, 9.0)
    anchor = "opus"
    sample_rate = 16000

    def load_items(self, data_dir: Path, limit: int | None) -> list[tuple[str, Speech]]:
        """FLAC/WAV files of ``data_dir`` in name order, mixed to mono, resampled to the suite's rate."""
        items = []
        for path in data_files(data_dir, SPEECH_SUFFIXES, limit):
            samples, rate = read_audio(str(path))
            items.append((path.name, (resample(to_mono(samples), rate, self.sample_rate), self.sample_rate)))
        return items

    def accepts_model(self, card: ModelCard) -> bool:
        """Models whose sample rate is the suite's."""
        return int(card.config["mel"]["sample_rate"]) == self.sample_rate

    def rate(self, n_bytes: int, signal: Speech) -> float:
        """Kilobits per second of signal."""
        return n_bytes * 8 / self.duration(signal) / 1000

    def duration(self, signal: Speech) -> float:
        """Seconds of audio."""
        return len(signal[0]) / signal[1]

    def metrics(self, original: Speech, decoded: Speech) -> dict[str, float]:
        """``pesq_wb`` and ``stoi``, after bringing the decoded audio to the original's rate and length."""
        reference, rate = original
        degraded = fit_length(resample(np.asarray(decoded[0], np.float32), decoded[1], rate), len(reference))
        name, pesq_value = pesq_score(reference, degraded, rate)
        return {name: pesq_value, "stoi": stoi_score(reference, degraded, rate)}

    def classical_codecs(self) -> list[Codec]:
        """Opus, and Codec2 when pycodec2 is installed."""
        from importlib.util import find_spec

        return [OpusCodec(), *([Codec2Codec()] if find_spec("pycodec2") else [])]


class NarrowbandSpeechBenchSuite(SpeechBenchSuite):
    """The 8 kHz setting of the BPGAN paper: speech at 8 kHz, PESQ narrowband (P.862) and STOI."""

    name = "speech-nb"
    fixed_rates = (1.0, 2.0, 3.0, 6.0)
    anchor = "codec2"
    sample_rate = 8000
