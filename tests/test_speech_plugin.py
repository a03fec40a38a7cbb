"""Tests of the speech plugin on synthetic audio (no shared data, no trained model)."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import bpgan_core
from bpgan_core.errors import InvalidSignalError
from bpgan_speech import AudioSignal, SpeechModality, SpeechPreprocessor
from bpgan_speech.audio import StreamResampler, resample
from bpgan_speech.dsp import MelConfig, log_mel
from bpgan_speech.synth import speech_like

RATE = 16000
CONFIG = {"mel": MelConfig.for_rate(RATE).to_dict(), "chunk_frames": 64, "time_factor": 16}


@pytest.fixture(scope="module")
def pre() -> SpeechPreprocessor:
    return SpeechPreprocessor(CONFIG)


def roundtrip(pre: SpeechPreprocessor, signal, **options) -> tuple[AudioSignal, dict, list[np.ndarray]]:
    """Forward then inverse with the true log-mel chunks (no network)."""
    prepared = pre.forward(signal, **options)
    chunks = list(prepared.chunks)
    assert len(chunks) == prepared.num_chunks
    return pre.inverse(chunks, prepared.meta), prepared.meta, chunks


@pytest.mark.parametrize("signal, options, message", [
    (np.zeros(100, np.float32), {}, "sample rate"),
    (np.zeros(0, np.float32), {"sample_rate": RATE}, "empty"),
    (np.array([0.0, np.nan, 0.1], np.float32), {"sample_rate": RATE}, "NaN"),
    (np.zeros(100, np.float32), {"sample_rate": -5}, "positive integer"),
    ((np.zeros(100, np.float32), 8000), {"sample_rate": RATE}, "disagrees"),
    (np.zeros((2, 3, 4), np.float32), {"sample_rate": RATE}, "1-D"),
])
def test_invalid_signals(pre, signal, options, message):
    with pytest.raises(InvalidSignalError, match=message):
        pre.forward(signal, **options)


def test_unreadable_file(tmp_path):
    bad = tmp_path / "noise.wav"
    bad.write_bytes(b"this is not audio")
    with pytest.raises(InvalidSignalError, match="not a readable audio file"):
        SpeechModality().read_file(str(bad))


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_file_round_trip_and_stereo_downmix(tmp_path, pre, suffix):
    x = speech_like(0.5, RATE)
    stereo = np.stack([x, 0.5 * x], axis=1)
    path = tmp_path / f"a{suffix}"
    SpeechModality().write_file((stereo, RATE), str(path))
    samples, options = SpeechModality().read_file(str(path))
    assert options == {"sample_rate": RATE} and samples.shape == stereo.shape
    down = list(pre.forward(stereo, sample_rate=RATE).chunks)
    mono = list(pre.forward(0.75 * x, sample_rate=RATE).chunks)
    np.testing.assert_allclose(np.stack(down), np.stack(mono), atol=1e-5)


def test_chunks_equal_whole_log_mel(pre):
    x = speech_like(1.3, RATE)
    prepared = pre.forward(x, sample_rate=RATE)
    chunks = np.concatenate(list(prepared.chunks), axis=1)
    whole = log_mel(x, pre.mel)
    np.testing.assert_allclose(chunks[:, :whole.shape[1]], whole, atol=2e-5)
    assert np.all(chunks[:, whole.shape[1]:] == 0)  # padding is silence


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100])
def test_any_rate_decodes_at_original_rate_and_length(pre, rate):
    x = speech_like(0.8, rate)
    y, meta, _ = roundtrip(pre, (x, rate))
    assert meta == ({"n": x.size} if rate == RATE else {"sr": rate, "n": x.size})
    assert y.sample_rate == rate and y.samples.shape == x.shape and y.samples.dtype == np.float32
    assert SpeechModality().measure((x, rate), y, 100)["mel_distance_db"] < 3


def test_silence_and_short_clip(pre):
    y, _, chunks = roundtrip(pre, np.zeros(5000, np.float32), sample_rate=RATE)
    assert all(np.all(c == 0) for c in chunks) and np.all(y.samples == 0)
    short = speech_like(0.01, RATE)
    y, _, chunks = roundtrip(pre, short, sample_rate=RATE)
    assert len(chunks) == 1 and y.samples.shape == short.shape


def test_no_energy_dips_at_chunk_borders(pre):
    t = np.arange(2 * RATE) / RATE
    x = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 1330 * t)).astype(np.float32)
    y, _, _ = roundtrip(pre, x, sample_rate=RATE)
    hop = pre.mel.hop_length
    frame_rms = np.sqrt(np.mean(y.samples[: len(y.samples) // hop * hop].reshape(-1, hop) ** 2, axis=1))
    steady = frame_rms[8:-8]
    assert steady.min() > 0.8 * np.median(steady)
    borders = np.arange(pre.chunk_frames, len(frame_rms) - 8, pre.chunk_frames)
    assert np.all(frame_rms[borders] > 0.9 * np.median(steady))


def test_streaming_equals_whole_decode(pre):
    x = speech_like(1.0, 22050)
    prepared = pre.forward((x, 22050))
    chunks = list(prepared.chunks)
    blocks = list(pre.inverse_stream(chunks, prepared.meta))
    whole = pre.inverse(chunks, prepared.meta)
    np.testing.assert_array_equal(np.concatenate(blocks), whole.samples)


@pytest.mark.parametrize("rates", [(16000, 44100), (44100, 16000), (8000, 16000)])
def test_stream_resampler_matches_one_shot(rates):
    x = np.random.default_rng(1).standard_normal(20011).astype(np.float32)
    stream = StreamResampler(*rates)
    out = [stream.push(x[i:i + 777]) for i in range(0, x.size, 777)] + [stream.flush()]
    np.testing.assert_allclose(np.concatenate(out), resample(x, *rates), atol=1e-6)


def test_example_signal():
    signal, options = SpeechModality().example()
    assert options == {"sample_rate": RATE} and signal.dtype == np.float32 and 2 * RATE <= signal.size <= 3 * RATE
    assert 0 < np.abs(signal).max() <= 1


@pytest.mark.parametrize("arch_args", [
    ["--arch", "conv1d", "--width", "16", "--latent-channels", "4"],
    ["--arch", "conv2d", "--widths", "8", "8", "8", "--latent-channels", "8"],
])
def test_train_export_and_public_api(tmp_path, monkeypatch, arch_args):
    """A few training steps of a tiny network of each architecture, exported, then compress/decompress through the API."""
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        sf.write(data / f"u{i}.wav", speech_like(1.2, RATE, seed=i), RATE)
    out = tmp_path / "run"
    argv = ["--data", str(data), "--out", str(out), *arch_args, "--steps", "3",
            "--float-steps", "1", "--soft-steps", "1", "--batch-size", "2", "--model-id", "speech-test-tiny",
            "--no-bf16", "--checkpoint-every", "2"]
    assert SpeechModality().train(argv) == 0
    assert (out / "log.csv").is_file() and (out / "checkpoint.pt").is_file()
    monkeypatch.setenv("BPGAN_MODEL_PATH", str(out / "export"))
    x = speech_like(2.5, 22050)
    for effort in ("fast", "default"):
        blob = bpgan_core.compress(x, modality="speech", model="speech-test-tiny", effort=effort, sample_rate=22050)
        y = bpgan_core.decompress(blob)
        assert isinstance(y, AudioSignal) and y.sample_rate == 22050 and y.samples.shape == x.shape
        assert np.all(np.isfinite(y.samples))
    stream = np.concatenate(list(bpgan_core.api.decompress_stream(blob)))
    np.testing.assert_array_equal(stream, y.samples)
