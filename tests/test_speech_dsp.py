"""Speech DSP layer: normalized log-mel, PGHI + fast Griffin-Lim inversion, streaming inverter.

All signals are synthesized here (sines, chirps, noise bursts, a vowel-like harmonic signal);
nothing is read from disk.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bpgan_speech import phase as ph
from bpgan_speech.dsp import (
    DEFAULT_GL_ITERS,
    MelConfig,
    StreamingMelInverter,
    log_mel,
    mel_to_audio,
    mel_to_magnitude,
)

CFG16 = MelConfig.for_rate(16000)
CFG8 = MelConfig.for_rate(8000)


# --------------------------------------------------------------------- signals


def sine(freq: float, seconds: float, sr: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def chirp(f0: float, f1: float, seconds: float, sr: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds)))).astype(np.float32)


def vowel(seconds: float, sr: int, f0: float = 190.0, amp: float = 0.3, seed: int = 0) -> np.ndarray:
    """Harmonic source with vibrato through three formant resonances, with an attack and a decay."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    inst_f0 = f0 * (1 + 0.03 * np.sin(2 * np.pi * 5.0 * t))
    phase0 = 2 * np.pi * np.cumsum(inst_f0) / sr
    formants = ((700.0, 110.0), (1200.0, 130.0), (2600.0, 200.0))
    x = np.zeros(n)
    for h in range(1, int(0.45 * sr / f0)):
        fh = h * f0
        gain = sum(1.0 / (1.0 + ((fh - fc) / bw) ** 2) for fc, bw in formants) / h**0.5
        x += gain * np.sin(h * phase0 + rng.uniform(0, 2 * np.pi))
    env = np.minimum(1.0, t / 0.05) * np.minimum(1.0, (seconds - t) / 0.1)
    x *= env
    return (amp * x / np.max(np.abs(x))).astype(np.float32)


def noise_bursts(seconds: float, sr: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = np.zeros(n, dtype=np.float32)
    for start in (0.25, 0.65):
        a, b = int(start * seconds * sr), int((start + 0.2) * seconds * sr)
        x[a:b] = 0.2 * rng.standard_normal(b - a)
    return x


def spectral_convergence(y: np.ndarray, target_mag: np.ndarray, cfg: MelConfig) -> float:
    """|| |STFT(y)| - target || / || target || over the target's frames."""
    got = np.abs(ph.stft(y, cfg.n_fft, cfg.hop_length))[: target_mag.shape[0]]
    return float(np.linalg.norm(got - target_mag) / np.linalg.norm(target_mag))


# ---------------------------------------------------------------------- config


def test_standard_configs() -> None:
    assert (CFG16.n_fft, CFG16.hop_length, CFG16.n_mels, CFG16.sample_rate) == (512, 128, 128, 16000)
    assert (CFG8.n_fft, CFG8.hop_length, CFG8.n_mels, CFG8.sample_rate) == (256, 64, 64, 8000)
    assert CFG16.fmin == 0.0 and CFG16.fmax is None and CFG16.fmax_hz == 8000.0 and CFG16.top_db == 80.0


def test_unsupported_rate_is_explained() -> None:
    with pytest.raises(ValueError, match="16000"):
        MelConfig.for_rate(44100)


def test_config_dict_round_trip() -> None:
    cfg = MelConfig(sample_rate=16000, n_fft=1024, hop_length=256, n_mels=80, fmin=50.0, fmax=7600.0, top_db=90.0)
    data = json.loads(json.dumps(cfg.to_dict()))
    assert MelConfig.from_dict(data) == cfg
    assert MelConfig.from_dict(CFG8.to_dict()) == CFG8
    with pytest.raises(ValueError):
        MelConfig.from_dict({**CFG16.to_dict(), "window": "hamming"})


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(n_fft=500, hop_length=128),  # not a multiple of hop
        dict(n_fft=512, hop_length=512),  # no overlap
        dict(fmax=9000.0),  # above Nyquist
        dict(top_db=0.0),
    ],
)
def test_invalid_config(kwargs: dict) -> None:
    base = dict(sample_rate=16000, n_fft=512, hop_length=128, n_mels=128)
    with pytest.raises(ValueError):
        MelConfig(**{**base, **kwargs})


# --------------------------------------------------------------------- log-mel


@pytest.mark.parametrize("n", [0, 1, 100, 511, 512, 513, 16000, 16127])
def test_log_mel_shape_and_range(n: int) -> None:
    x = np.random.default_rng(n).uniform(-1, 1, n).astype(np.float32)
    m = log_mel(x, CFG16)
    assert m.shape == (128, 1 + n // 128)
    assert m.dtype == np.float32
    assert m.min() >= 0.0 and m.max() <= 1.0


def test_log_mel_matches_librosa_filterbank_and_stft() -> None:
    import librosa

    x = vowel(0.5, 16000)
    spec = np.abs(librosa.stft(x, n_fft=512, hop_length=128, window="hann", center=True, pad_mode="constant")) ** 2
    fb = librosa.filters.mel(sr=16000, n_fft=512, n_mels=128, norm=None)
    mel = (fb / fb.sum(axis=1, keepdims=True)) @ spec * (4.0 / 512) ** 2
    want = (np.clip(10 * np.log10(np.maximum(mel, 1e-30)), -80, 0) + 80) / 80
    np.testing.assert_allclose(log_mel(x, CFG16), want, atol=2e-4)


def test_fixed_reference_level() -> None:
    x = sine(1000.0, 0.5, 16000, amp=1.0)
    loud = log_mel(x, CFG16)
    quiet = log_mel(0.1 * x, CFG16)
    # a full-scale tone reads close to the 0 dB ceiling, never above it
    assert 0.97 < loud.max() <= 1.0
    # a 20 dB quieter copy reads 20 dB (20 / top_db) lower, not renormalized
    mid = slice(4, -4)
    peak = int(np.argmax(loud[:, 10]))
    np.testing.assert_allclose(loud[peak, mid] - quiet[peak, mid], 20.0 / 80.0, atol=0.01)
    assert quiet.max() < loud.max() - 0.2


def test_speech_level_signal_is_mid_range() -> None:
    m = log_mel(vowel(0.5, 16000, amp=0.3), CFG16)
    assert 0.7 < m.max() < 1.0


def test_silence() -> None:
    m = log_mel(np.zeros(4000, dtype=np.float32), CFG16)
    assert np.all(m == 0.0)
    y = mel_to_audio(m, CFG16, length=4000)
    assert y.shape == (4000,) and np.all(np.isfinite(y)) and np.max(np.abs(y)) == 0.0


# ------------------------------------------------------------------- inversion


@pytest.mark.parametrize("cfg, max_sc", [(CFG16, 0.13), (CFG8, 0.22)], ids=["16k", "8k"])
def test_round_trip_harmonic(cfg: MelConfig, max_sc: float) -> None:
    sr = cfg.sample_rate
    x = vowel(0.6, sr)
    m = log_mel(x, cfg)
    target = mel_to_magnitude(m, cfg)
    y = mel_to_audio(m, cfg, length=x.size)
    assert y.shape == x.shape and y.dtype == np.float32 and np.all(np.isfinite(y))
    # spectral convergence against the magnitude the mel describes (measured: 0.10 / 0.17)
    sc = spectral_convergence(y, target, cfg)
    assert sc < max_sc, sc
    # the re-analysed log-mel is close to the input where there is signal (above -40 dB):
    # mean error under 1 dB (measured 0.2 / 0.6 dB)
    strong = m > 0.5
    assert np.mean(np.abs(log_mel(y, cfg) - m)[strong]) * cfg.top_db < 1.0
    # the level is preserved
    assert abs(10 * np.log10(np.mean(y**2) / np.mean(x**2))) < 1.0
    # the threshold is meaningful: a random phase without iterations misses it by far
    rnd = np.random.default_rng(0).uniform(-np.pi, np.pi, target.shape)
    y_rnd = ph.istft(target * np.exp(1j * rnd), cfg.n_fft, cfg.hop_length, x.size)
    assert spectral_convergence(y_rnd, target, cfg) > 2 * max_sc


def test_more_iterations_help_and_pghi_beats_random() -> None:
    x = chirp(200.0, 3000.0, 0.6, 16000)
    m = log_mel(x, CFG16)
    target = mel_to_magnitude(m, CFG16)
    sc0 = spectral_convergence(mel_to_audio(m, CFG16, x.size, gl_iters=0), target, CFG16)
    sc_def = spectral_convergence(mel_to_audio(m, CFG16, x.size), target, CFG16)
    assert sc_def < sc0 < 0.35
    assert sc_def < 0.13


@pytest.mark.parametrize("method", ["frames", "heap"])
def test_pghi_on_exact_magnitude(method: str) -> None:
    """PGHI alone recovers a consistent phase for a tone mixture and for noise bursts."""
    for x in (chirp(300.0, 2500.0, 0.4, 16000) + sine(900.0, 0.4, 16000, 0.2), noise_bursts(0.7, 16000)):
        mag = np.abs(ph.stft(x, 512, 128))
        phase = ph.pghi(mag, 512, 128, method=method)
        y = ph.istft(mag * np.exp(1j * phase), 512, 128, x.size)
        sc = spectral_convergence(y, mag, CFG16)
        assert sc < 0.25, (method, sc)


def test_pghi_known_phase_is_kept() -> None:
    x = vowel(0.4, 16000)
    spec = ph.stft(x, 512, 128)
    mag = np.abs(spec)
    known = np.angle(spec[:5])
    phase = ph.pghi(mag, 512, 128, known_phase=known)
    np.testing.assert_allclose(np.exp(1j * phase[:5]), np.exp(1j * known), atol=1e-6)
    # continuing from the true phase keeps the continuation close to the truth
    y = ph.istft(mag * np.exp(1j * phase), 512, 128, x.size)
    assert spectral_convergence(y, mag, CFG16) < 0.12


def test_stft_istft_perfect_reconstruction() -> None:
    x = noise_bursts(0.3, 16000) + chirp(100, 4000, 0.3, 16000)
    for n in (x.size, x.size - 77):
        xi = x[:n]
        np.testing.assert_allclose(ph.istft(ph.stft(xi, 512, 128), 512, 128, n), xi, atol=1e-5)


def test_length_handling() -> None:
    x = vowel(0.3, 16000)
    m = log_mel(x, CFG16)
    t = m.shape[1]
    assert mel_to_audio(m, CFG16, gl_iters=2).shape == ((t - 1) * 128,)
    for length in (x.size, x.size - 50, 10, 0, (t + 5) * 128):
        y = mel_to_audio(m, CFG16, length=length, gl_iters=2)
        assert y.shape == (length,) and np.all(np.isfinite(y))
    with pytest.raises(ValueError):
        mel_to_audio(m, CFG16, length=-1)
    with pytest.raises(ValueError):
        mel_to_audio(m[:100], CFG16)


@pytest.mark.parametrize("cfg", [CFG16, CFG8], ids=["16k", "8k"])
def test_very_short_input(cfg: MelConfig) -> None:
    for n in (1, 37, cfg.n_fft - 1):
        x = sine(440.0, 1.0, cfg.sample_rate)[:n]
        m = log_mel(x, cfg)
        assert m.shape == (cfg.n_mels, 1 + n // cfg.hop_length)
        y = mel_to_audio(m, cfg, length=n)
        assert y.shape == (n,) and np.all(np.isfinite(y))


def test_out_of_range_and_nan_input_is_tolerated() -> None:
    m = np.random.default_rng(0).uniform(-0.5, 1.5, (128, 20)).astype(np.float32)
    m[3, 4] = np.nan
    y = mel_to_audio(m, CFG16, gl_iters=2)
    assert np.all(np.isfinite(y))


# ------------------------------------------------------------------- streaming


def _stream(m: np.ndarray, cfg: MelConfig, block: int, length: int | None = None, **kw) -> tuple[np.ndarray, list[int]]:
    inv = StreamingMelInverter(cfg, **kw)
    outs = [inv.push(m[:, i : i + block]) for i in range(0, m.shape[1], block)]
    outs.append(inv.flush(length))
    return np.concatenate(outs), [o.size for o in outs]


@pytest.mark.parametrize("cfg", [CFG16, CFG8], ids=["16k", "8k"])
def test_streaming_matches_batch(cfg: MelConfig) -> None:
    sr = cfg.sample_rate
    x = np.concatenate([vowel(0.5, sr), noise_bursts(0.4, sr), chirp(300.0, 0.4 * sr, 0.4, sr)])
    m = log_mel(x, cfg)
    target = mel_to_magnitude(m, cfg)
    batch = mel_to_audio(m, cfg, length=x.size)
    streamed, sizes = _stream(m, cfg, 37, length=x.size)
    assert streamed.shape == x.shape and streamed.dtype == np.float32
    assert sum(sizes[:-1]) > 0.6 * x.size  # most samples come out before flush
    sc_b = spectral_convergence(batch, target, cfg)
    sc_s = spectral_convergence(streamed, target, cfg)
    # Tolerance: the stream meets the target magnitude as well as the batch
    # inversion does (within 0.01 absolute spectral convergence) ...
    assert sc_s < sc_b + 0.01, (sc_s, sc_b)
    # ... and the two outputs have the same spectrogram: magnitude SNR >= 20 dB
    # (their phases may differ slightly, so waveforms are not compared) ...
    mb = np.abs(ph.stft(batch, cfg.n_fft, cfg.hop_length))
    ms = np.abs(ph.stft(streamed, cfg.n_fft, cfg.hop_length))
    assert 20 * np.log10(np.linalg.norm(mb) / np.linalg.norm(ms - mb)) > 20.0
    # ... and the same log-mel within 0.5 dB on average
    assert np.mean(np.abs(log_mel(streamed, cfg) - log_mel(batch, cfg))) * cfg.top_db < 0.5


def test_streaming_is_independent_of_block_split() -> None:
    x = vowel(0.5, 16000)
    m = log_mel(x, CFG16)
    a, _ = _stream(m, CFG16, 37)
    b, _ = _stream(m, CFG16, 1)
    c, _ = _stream(m, CFG16, 1000)
    assert a.shape == b.shape == c.shape == (m.shape[1] * 128,)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(a, b)


def test_streaming_sine_has_no_seams() -> None:
    sr, block = 16000, 37
    x = sine(440.0, 1.2, sr, amp=0.5)
    m = log_mel(x, CFG16)
    y, sizes = _stream(m, CFG16, block, length=x.size)
    hop = CFG16.hop_length
    # envelope: RMS over one-period windows (440 Hz -> ~36 samples), sampled every 8 samples
    w = 36
    energy = np.convolve(y.astype(np.float64) ** 2, np.ones(w) / w, mode="valid")
    env = np.sqrt(energy)
    inner = env[CFG16.n_fft : -CFG16.n_fft]
    ref = np.median(inner)
    assert abs(ref - 0.5 / np.sqrt(2)) < 0.05
    # no dip (nor bump) anywhere, in particular at block borders and at the inverter's steps
    assert inner.min() > 0.9 * ref and inner.max() < 1.1 * ref, (inner.min() / ref, inner.max() / ref)
    borders = np.cumsum(sizes)[:-2]
    for b in borders:
        if CFG16.n_fft <= b < y.size - 2 * CFG16.n_fft:
            seg = env[b - 2 * hop : b + 2 * hop]
            assert seg.min() > 0.9 * ref
    # and the block borders of the input (every 37 frames)
    for k in range(block, m.shape[1] - 8, block):
        c = k * hop
        if CFG16.n_fft <= c < y.size - 2 * CFG16.n_fft:
            assert env[c - 2 * hop : c + 2 * hop].min() > 0.9 * ref


def test_streaming_latency_is_bounded() -> None:
    x = vowel(1.0, 16000)
    m = log_mel(x, CFG16)
    inv = StreamingMelInverter(CFG16)
    lo, hi = inv.latency_frames
    assert lo == inv.lookahead_frames + 2 and hi == lo + inv.chunk_frames - 1
    got = 0
    for t in range(m.shape[1]):
        got += inv.push(m[:, t : t + 1]).size
        # the centre sample of every frame up to t - hi is out
        if t >= hi:
            assert got >= (t - hi) * CFG16.hop_length + 1
        assert got <= (t + 1) * CFG16.hop_length  # never runs ahead of the input
    got += inv.flush().size
    assert got == m.shape[1] * CFG16.hop_length


def test_streaming_reuse_and_empty() -> None:
    inv = StreamingMelInverter(CFG8)
    assert inv.flush().size == 0
    assert inv.push(np.zeros((64, 0), dtype=np.float32)).size == 0
    m = log_mel(sine(300.0, 0.2, 8000), CFG8)
    first = np.concatenate([inv.push(m), inv.flush()])
    second = np.concatenate([inv.push(m), inv.flush()])
    np.testing.assert_array_equal(first, second)
    with pytest.raises(ValueError):
        inv.push(np.zeros((10, 3), dtype=np.float32))


def test_default_iterations_constant() -> None:
    assert StreamingMelInverter(CFG16).gl_iters == DEFAULT_GL_ITERS


def test_no_torch_import() -> None:
    """dsp/phase import neither torch nor anything that does (loaded without the package __init__)."""
    pkg_dir = str(Path(ph.__file__).parent)
    code = (
        "import sys, types; "
        f"pkg = types.ModuleType('bpgan_speech'); pkg.__path__ = [{pkg_dir!r}]; "
        "sys.modules['bpgan_speech'] = pkg; "
        "import bpgan_speech.dsp, bpgan_speech.phase; "
        "sys.exit(1 if any(k == 'torch' or k.startswith('torch.') for k in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
