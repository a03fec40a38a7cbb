"""The whole pipeline on the toy modality: compress, container, ONNX decode, errors."""
import os

import numpy as np
import pytest

import bpgan_core
from bpgan_core import registry
from bpgan_core.errors import (
    BitstreamError,
    BpganError,
    InvalidSignalError,
    ModelMismatchError,
    OutputExistsError,
    UnknownPluginError,
)
from bpgan_core.testing.toy import make_toy_model


def test_round_trip_and_report(toy, toy_signal):
    blob, report = bpgan_core.compress_with_report(toy_signal, toy)
    decoded, dreport = bpgan_core.decompress_with_report(blob)
    assert decoded.shape == toy_signal.shape and decoded.dtype == np.float32
    assert np.mean((decoded - toy_signal) ** 2) < 0.02
    assert {"preprocess", "encoder", "refinement", "entropy_coding"} <= set(report.timings)
    assert {"entropy_decoding", "generator", "postprocess"} <= set(dreport.timings)
    assert dreport.info["provider"] == "CPUExecutionProvider"
    assert report.info["bytes"] == len(blob)
    header = bpgan_core.read_header(blob)
    assert header.modality == toy and header.meta == {"n": toy_signal.size}


@pytest.mark.parametrize("effort", ["default", "best"])
def test_efforts_decode_to_what_was_scored(toy, toy_signal, effort):
    blob, report = bpgan_core.compress_with_report(toy_signal, toy, effort=effort, refine={"iterations": 10})
    decoded = bpgan_core.decompress(blob)
    padded = np.zeros(1024, np.float32)
    padded[:1000] = toy_signal
    padded_dec = np.zeros(1024, np.float32)
    padded_dec[:1000] = decoded
    # the toy's per-chunk loss is MSE over padded chunks: the decoded signal must score exactly as reported
    assert np.mean((padded - padded_dec) ** 2) == pytest.approx(report.info["final_loss"], rel=1e-3, abs=1e-7)
    assert report.info["final_loss"] <= report.info["initial_loss"] + 1e-9


def test_fast_effort_sends_the_encoder_choice_without_scoring_it(toy, toy_signal):
    blob, report = bpgan_core.compress_with_report(toy_signal, toy, effort="fast")
    assert report.info["initial_loss"] is None and report.info["final_loss"] is None
    slow, _ = bpgan_core.compress_with_report(toy_signal, toy, effort="default", refine={"method": "none"})
    assert blob == slow and bpgan_core.decompress(blob).shape == toy_signal.shape


def test_compression_is_deterministic(toy, toy_signal):
    assert bpgan_core.compress(toy_signal, toy) == bpgan_core.compress(toy_signal, toy)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 4000])
def test_any_length(toy, n):
    x = np.random.default_rng(n).uniform(-1, 1, n).astype(np.float32)
    assert bpgan_core.decompress(bpgan_core.compress(x, toy, effort="fast")).shape == (n,)


def test_empirical_table_and_elias_coder_are_pluggable(toy, toy_signal):
    a = bpgan_core.compress(toy_signal, toy, coder_table="empirical")
    assert bpgan_core.read_header(a).coder == {"table": "empirical"}  # the model's coder, another table
    assert np.allclose(bpgan_core.decompress(a), bpgan_core.decompress(bpgan_core.compress(toy_signal, toy)))


def test_bad_signal_raises(toy):
    with pytest.raises(InvalidSignalError):
        bpgan_core.compress(np.array([], np.float32), toy)
    with pytest.raises(InvalidSignalError):
        bpgan_core.compress(np.array([np.nan]), toy)


def test_unknown_names_list_what_is_installed(toy, toy_signal):
    with pytest.raises(UnknownPluginError, match="toy1d"):
        bpgan_core.compress(toy_signal, "no-such-modality")
    with pytest.raises(UnknownPluginError, match="toy1d-test"):
        bpgan_core.compress(toy_signal, toy, model="nope")
    with pytest.raises(ValueError, match="unknown effort"):
        bpgan_core.compress(toy_signal, toy, effort="turbo")


def test_every_truncation_or_corruption_raises(toy, toy_signal):
    blob = bpgan_core.compress(toy_signal[:300], toy)
    rng = np.random.default_rng(0)
    for cut in range(len(blob)):
        with pytest.raises(BitstreamError):
            bpgan_core.decompress(blob[:cut])
    for _ in range(200):
        bad = bytearray(blob)
        bad[rng.integers(len(bad))] ^= int(rng.integers(1, 256))
        with pytest.raises(BpganError):
            bpgan_core.decompress(bytes(bad))


def test_unknown_modality_in_stream(toy, toy_signal, monkeypatch):
    blob = bpgan_core.compress(toy_signal, toy)
    monkeypatch.setattr(registry.modalities, "_local", {})
    with pytest.raises(UnknownPluginError, match="toy1d"):
        bpgan_core.decompress(blob)


def test_fingerprint_mismatch_is_detected(toy, toy_signal, tmp_path, monkeypatch):
    blob = bpgan_core.compress(toy_signal, toy)
    other = make_toy_model(tmp_path / "m", model_id="toy1d-test", levels=8)
    from bpgan_core import models

    monkeypatch.setattr(models, "_local_dirs", [other])
    with pytest.raises(ModelMismatchError, match="fingerprint"):
        bpgan_core.decompress(blob)


def test_sender_fingerprint_follows_sender_weights_and_refinement_only(tmp_path):
    import json

    from bpgan_core.models import ModelCard

    path = make_toy_model(tmp_path / "m")
    card = ModelCard.load(path)
    spec = json.loads((path / "model.json").read_text())
    spec["refinement"] = {"default": {"iterations": 3}}
    (path / "model.json").write_text(json.dumps(spec))
    retuned = ModelCard.load(path)
    assert retuned.fingerprint == card.fingerprint, "refinement presets do not concern the receiver"
    assert retuned.sender_fingerprint != card.sender_fingerprint
    (path / "sender.pt").write_bytes((path / "sender.pt").read_bytes() + b"\0")
    assert ModelCard.load(path).sender_fingerprint not in (card.sender_fingerprint, retuned.sender_fingerprint)


def test_forcing_an_unavailable_provider_fails_clearly(toy, toy_signal):
    blob = bpgan_core.compress(toy_signal, toy)
    with pytest.raises(BpganError, match="not available"):
        bpgan_core.decompress(blob, provider="NoSuchExecutionProvider")
    assert bpgan_core.decompress(blob, provider="cpu").shape == toy_signal.shape


def test_a_generator_with_only_its_output_convolution_is_not_quantized(toy, toy_model_dir, tmp_path):
    from bpgan_core.int8 import quantize_onnx

    z = np.zeros((1, 4, 16), np.float32)
    with pytest.raises(ValueError, match="nothing to quantize"):
        quantize_onnx(toy_model_dir / "toy1d-test" / "generator.onnx", tmp_path / "g.onnx", [z])
    assert not (tmp_path / "g.onnx").exists()


def test_file_helpers_are_atomic_and_refuse_to_overwrite(toy, toy_signal, tmp_path):
    src = tmp_path / "sig.npy"
    np.save(src, toy_signal)
    out = bpgan_core.compress_file(src)
    assert out == tmp_path / "sig.npy.bpgan"
    with pytest.raises(OutputExistsError):
        bpgan_core.compress_file(src)
    dec = bpgan_core.decompress_file(out)
    assert dec == tmp_path / "sig.decoded.npy"
    assert np.load(dec).shape == toy_signal.shape
    with pytest.raises(OutputExistsError):
        bpgan_core.decompress_file(out, dec)
    bpgan_core.decompress_file(out, dec, force=True)
    (tmp_path / "broken.bpgan").write_bytes(out.read_bytes()[:-3])
    with pytest.raises(BitstreamError):
        bpgan_core.decompress_file(tmp_path / "broken.bpgan", tmp_path / "x.npy")
    assert not (tmp_path / "x.npy").exists()
    assert not list(tmp_path.glob(".bpgan-*")), "no temporary files left behind"
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask, "outputs get the usual permissions, not mkstemp's 0600"
