"""The image plugin on synthetic pictures: preprocessing, tiling, errors, training and the public API."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bpgan_core import api
from bpgan_core.errors import InvalidSignalError, PrecisionUnavailableError
from bpgan_core.models import register_model_dir, unregister_model_dir
from bpgan_core.testing.conformance import ModalityConformance
from bpgan_image import ImageModality
from bpgan_image.preprocess import ImagePreprocessor, tile_grid
from bpgan_image.synthetic import synthetic_image


def _roundtrip(signal: object, tile: int = 64) -> tuple[np.ndarray, list[np.ndarray]]:
    pre = ImagePreprocessor(tile)
    prepared = pre.forward(signal)
    chunks = list(prepared.chunks)
    assert len(chunks) == prepared.num_chunks
    assert all(c.dtype == np.float32 and c.shape[0] == 3 and c.shape[1] % 16 == 0 and c.shape[2] % 16 == 0 for c in chunks)
    return pre.inverse(chunks, prepared.meta), chunks


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 13, 3), (17, 300, 3), (130, 70, 3), (1, 1), (9, 31)])
def test_preprocessor_round_trip_is_exact(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, shape, dtype=np.uint8)
    y, _ = _roundtrip(x)
    assert y.shape == x.shape and y.dtype == np.uint8
    np.testing.assert_array_equal(y, x)


def test_grayscale_rgba_and_16_bit() -> None:
    rng = np.random.default_rng(2)
    rgba = rng.integers(0, 256, (20, 21, 4), dtype=np.uint8)
    y, _ = _roundtrip(rgba)
    np.testing.assert_array_equal(y, rgba[:, :, :3])  # alpha is not coded
    gray_alpha = rng.integers(0, 256, (5, 6, 2), dtype=np.uint8)
    y, _ = _roundtrip(gray_alpha)
    np.testing.assert_array_equal(y, gray_alpha[:, :, :1])
    deep = rng.integers(0, 65536, (19, 23), dtype=np.uint16)
    y, _ = _roundtrip(deep)
    assert y.dtype == np.uint16
    np.testing.assert_array_equal(y, (np.round(deep / 257.0) * 257).astype(np.uint16))
    y, _ = _roundtrip(Image.fromarray(rgba, "RGBA").convert("P"))
    assert y.shape == (20, 21, 3)


def test_tiles_cover_large_images_with_equal_sizes() -> None:
    rows, cols = tile_grid(4096, 1504, 1024)
    assert rows == [0, 1024, 2048, 3072] and cols == [0, 752]
    x = synthetic_image(150, 200)
    y, chunks = _roundtrip(x, tile=64)
    assert len(chunks) == 3 * 4
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("bad", [np.zeros((0, 5, 3), np.uint8), np.zeros((4, 4, 5), np.uint8),
                                 np.zeros((4, 4, 3), np.float32), np.zeros((2, 2, 2, 3), np.uint8), "not an image"])
def test_bad_signals_raise_clear_errors(bad: object) -> None:
    with pytest.raises(InvalidSignalError):
        ImagePreprocessor().forward(bad)


def test_unreadable_and_empty_files(tmp_path: Path) -> None:
    mod = ImageModality()
    for name, data in (("empty.png", b""), ("junk.jpg", b"definitely not a jpeg")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InvalidSignalError, match="not a readable image"):
            mod.read_file(str(tmp_path / name))


def test_file_round_trip_and_measure(tmp_path: Path) -> None:
    mod = ImageModality()
    x, options = mod.example()
    assert x.shape == (256, 384, 3) and options == {}
    for suffix in (".png", ".bmp", ".tiff"):
        mod.write_file(x, str(tmp_path / f"a{suffix}"))
        y, _ = mod.read_file(str(tmp_path / f"a{suffix}"))
        np.testing.assert_array_equal(y, x)
    deep = (np.arange(60, dtype=np.uint16).reshape(6, 10) * 1000)
    mod.write_file(deep, str(tmp_path / "deep.png"))
    np.testing.assert_array_equal(mod.read_file(str(tmp_path / "deep.png"))[0], deep)
    figures = mod.measure(x, x, 1000)
    assert figures["bpp"] == pytest.approx(8000 / (256 * 384)) and figures["psnr_db"] == float("inf")


def _train_tiny_model(root: Path, model_id: str, *extra: str) -> Path:
    """A tiny image model trained for 3 steps through ``bpgan train image`` on synthetic pictures."""
    data = root / "data"
    data.mkdir()
    for seed in range(3):
        Image.fromarray(synthetic_image(64, 96, seed)).save(data / f"{seed}.png")
    argv = ["--data", str(data), "--out", str(root / "run"), "--crop", "32", "--latent-channels", "4",
            "--widths", "8", "8", "8", "--encoder-blocks", "1", "1", "1", "--generator-blocks", "1", "1", "1",
            "--steps", "3", "--float-steps", "1", "--soft-steps", "1", "--batch-size", "2", "--centers", "8",
            "--threads", "1", "--model-id", model_id, "--no-bf16", *extra]
    assert ImageModality().train(argv) == 0
    model = root / "run" / "export"
    assert (model / "generator.onnx").is_file() and (model / "sender.pt").is_file()
    assert json.loads((model / "model.json").read_text())["entropy_coder"]["name"] == "range-context"
    assert (model / "context_prior.npy").is_file()
    assert (root / "run" / "log.csv").is_file() and (root / "run" / "checkpoint.pt").is_file()
    return model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = _train_tiny_model(tmp_path_factory.mktemp("image_model"), "image-test-tiny")
    register_model_dir(model)
    yield model
    unregister_model_dir(model)


@pytest.mark.parametrize("shape", [(7, 13, 3), (40, 33), (60, 70, 4)])
def test_public_api_round_trip(tiny_model: Path, shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)
    blob = api.compress(x, "image", model="image-test-tiny", effort="fast")
    y = api.decompress(blob)
    assert y.dtype == np.uint8 and y.shape == (shape if len(shape) == 2 else shape[:2] + (3,))


def test_tiled_compression_of_a_large_image(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageModality, "preprocessor", lambda self, card: ImagePreprocessor(tile=128))
    x = synthetic_image(300, 260)
    blob, report = api.compress_with_report(x, "image", model="image-test-tiny", effort="default",
                                            refine={"iterations": 2})
    assert report.info["chunks"] == 3 * 3
    y, dreport = api.decompress_with_report(blob)
    assert y.shape == x.shape and dreport.info["chunks"] == 9
    assert ImageModality().measure(x, y, len(blob))["psnr_db"] > 5


@pytest.mark.parametrize("factor", [8, 16])
def test_factor_sets_the_latent_resolution(factor: int) -> None:
    import torch

    from bpgan_image.networks import NetworkConfig, build

    encoder, generator, _ = build(NetworkConfig(4, (8, 8, 8), (1, 1, 1), (1, 1, 1), factor))
    z = encoder(torch.zeros(1, 3, 32, 48))
    assert z.shape == (1, 4, 32 // factor, 48 // factor)
    assert generator(z).shape == (1, 3, 32, 48)


@pytest.mark.parametrize("factor", [8, 16])
def test_grown_networks_compute_what_the_small_ones_did(factor: int) -> None:
    import torch

    from bpgan_image.networks import NetworkConfig, build, grown_state

    torch.manual_seed(0)
    small = build(NetworkConfig(4, (8, 8, 8), (1, 1, 1), (1, 1, 2), factor))
    big = build(NetworkConfig(4, (8, 8, 8), (1, 2, 2), (2, 1, 4), factor))
    x = torch.rand(1, 3, 32, 48) - 0.5
    for a, b in zip(small[:2], big[:2]):
        assert len(b.state_dict()) > len(a.state_dict())
        b.load_state_dict(grown_state(a.state_dict(), b))
    z = small[0](x)
    assert torch.equal(big[0](x), z)
    assert torch.allclose(big[1](z), small[1](z), atol=1e-6)
    # more latent channels: the old ones are kept, the new ones are computed but not yet used
    wide = build(NetworkConfig(7, (8, 8, 8), (1, 2, 2), (2, 1, 4), factor))
    for a, b in zip(small[:2], wide[:2]):
        b.load_state_dict(grown_state(a.state_dict(), b))
    z_wide = wide[0](x)
    assert z_wide.shape[1] == 7 and torch.equal(z_wide[:, :4], z) and z_wide[:, 4:].abs().sum() > 0
    assert torch.allclose(wide[1](z_wide), small[1](z), atol=1e-6)
    # new blocks are identities only until trained: a perturbed big generator, shrunk back, keeps its
    # shared layers and drops its extra blocks
    with torch.no_grad():
        for p in big[1].parameters():
            p.add_(0.01)
    small[1].load_state_dict(grown_state(big[1].state_dict(), small[1]))
    assert torch.equal(small[1].state_dict()["net.0.weight"], big[1].state_dict()["net.0.weight"])


def test_unsupported_factor_is_refused() -> None:
    from bpgan_image.networks import NetworkConfig

    with pytest.raises(ValueError, match="factor must be 8 or 16"):
        NetworkConfig(factor=4)


def test_factor_8_model_round_trip(tmp_path: Path) -> None:
    model = _train_tiny_model(tmp_path, "image-test-f8", "--factor", "8")
    assert json.loads((model / "model.json").read_text())["config"]["network"]["factor"] == 8
    register_model_dir(model)
    try:
        x = np.random.default_rng(4).integers(0, 256, (37, 50, 3), dtype=np.uint8)
        y = api.decompress(api.compress(x, "image", model="image-test-f8", effort="fast"))
    finally:
        unregister_model_dir(model)
    assert y.shape == x.shape and y.dtype == np.uint8


def _renamed_copy(model: Path, dst: Path, model_id: str) -> Path:
    """A copy of the model folder ``model`` at ``dst`` under another id."""
    shutil.copytree(model, dst)
    spec = json.loads((dst / "model.json").read_text())
    (dst / "model.json").write_text(json.dumps({**spec, "id": model_id}))
    return dst


def _picture_folder(folder: Path, shape: tuple[int, int], seeds: range) -> Path:
    """``folder`` holding one synthetic PNG of ``shape`` per seed."""
    folder.mkdir()
    for seed in seeds:
        Image.fromarray(synthetic_image(*shape, seed)).save(folder / f"{seed}.png")
    return folder


def test_fit_prior_refits_the_entropy_tables(tiny_model: Path, tmp_path: Path) -> None:
    from bpgan_core import cli
    from bpgan_core.models import ModelCard

    model = _renamed_copy(tiny_model, tmp_path / "refit", "image-test-refit")
    before = ModelCard.load(model).fingerprint
    data = _picture_folder(tmp_path / "data", (80, 64), range(10, 12))
    (data / "notes.txt").write_text("not an image: skipped by suffix")
    assert cli.main(["fit-prior", str(model), "--data", str(data)]) == 0
    card = ModelCard.load(model)
    assert card.spec["entropy_coder"]["name"] == "range-context" and card.fingerprint != before
    assert card.table("context_prior").shape == (4, 9 * 9, 8)
    np.save(model / "context_prior.npy", card.table("context_prior").astype(np.int32) + 1)
    assert ModelCard.load(model).fingerprint != card.fingerprint, "the fingerprint covers the table file"
    assert cli.main(["fit-prior", str(model), "--data", str(data), "--neighbours", "3"]) == 0
    assert ModelCard.load(model).table("context_prior").shape == (4, 9 ** 3, 8)
    register_model_dir(model)
    try:
        x = synthetic_image(50, 70, 3)
        for refine in (None, {"rate_weight": 0.05}):  # the rate term counts bits with the three-neighbour table
            blob = api.compress(x, "image", model="image-test-refit", refine=refine)
            assert api.decompress(blob).shape == x.shape
    finally:
        unregister_model_dir(model)
    assert cli.main(["fit-prior", str(model), "--data", str(tmp_path / "missing")]) == 1


def test_file_api(tiny_model: Path, tmp_path: Path) -> None:
    src = tmp_path / "pic.png"
    buf = io.BytesIO()
    Image.fromarray(synthetic_image(48, 40)).save(buf, "PNG")
    src.write_bytes(buf.getvalue())
    out = api.compress_file(src, model="image-test-tiny", effort="fast")
    decoded = api.decompress_file(out, tmp_path / "back.png")
    assert np.asarray(Image.open(decoded)).shape == (48, 40, 3)


class TestImageConformance(ModalityConformance):
    """The core's conformance kit on the image modality with a tiny trained model."""

    modality = "image"

    @pytest.fixture(scope="class")
    @classmethod
    def model_dir(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        return _train_tiny_model(tmp_path_factory.mktemp("image_kit"), "image-test-kit")

    def signals(self) -> list[tuple[object, dict]]:
        return [(synthetic_image(40, 56), {}), (np.full((3, 5), 7, np.uint8), {})]

    def bad_signals(self) -> list[tuple[object, dict]]:
        return [(np.zeros((0, 3, 3), np.uint8), {}), (np.zeros((8, 8, 3), np.float64), {}), (np.zeros((2, 2, 7), np.uint8), {})]


def test_int8_generator_decodes_what_the_float_one_does(tiny_model: Path, tmp_path: Path) -> None:
    import onnx

    from bpgan_core import cli
    from bpgan_core.bench.bpgan_codec import bpgan_codecs
    from bpgan_core.models import ModelCard

    model = _renamed_copy(tiny_model, tmp_path / "int8", "image-test-int8")
    before = ModelCard.load(model).fingerprint
    data = _picture_folder(tmp_path / "data", (64, 80), range(20, 23))
    assert cli.main(["quantize", str(model), "--data", str(tmp_path / "missing")]) == 1
    assert not (model / "generator.int8.onnx").exists() and "int8_generator" not in ModelCard.load(model).spec
    assert cli.main(["quantize", str(model), "--data", str(data), "--limit", "2"]) == 0
    card = ModelCard.load(model)
    assert card.fingerprint == before, "streams are the same: the int8 file is a receiver's choice"
    assert card.spec["int8_generator"]["calibration_files"] == 2 and card.int8_generator_path.is_file()
    graph = onnx.load(str(card.int8_generator_path)).graph
    int8_weights = [i for i in graph.initializer if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 4]
    convs = [n for n in graph.node if n.op_type in ("Conv", "ConvTranspose")]
    assert len(int8_weights) == len(convs) - 1, "every convolution but the last has int8 weights"
    register_model_dir(model)
    try:
        x = synthetic_image(48, 72, 7)
        blob = api.compress(x, "image", model="image-test-int8", effort="fast")
        ref = api.decompress(blob)
        approx, report = api.decompress_with_report(blob, precision="int8")
        assert report.info["precision"] == "int8" and approx.shape == ref.shape and approx.dtype == np.uint8
        assert np.mean(np.abs(approx.astype(int) - ref.astype(int))) < 3.0
        out = tmp_path / "pic.png"
        (tmp_path / "pic.png.bpgan").write_bytes(blob)
        assert cli.main(["decompress", str(tmp_path / "pic.png.bpgan"), str(out), "--precision", "int8"]) == 0
        np.testing.assert_array_equal(np.asarray(Image.open(out)), approx)
        codecs = bpgan_codecs("image", ["fast"], models=["image-test-tiny", "image-test-int8"], precisions=("float32", "int8"))
        assert [c.name for c in codecs] == ["bpgan:fast", "bpgan:fast:int8"]
        assert [s.label for s in codecs[1].settings] == ["image-test-int8"] and "int8" in codecs[1].settings[0].value
    finally:
        unregister_model_dir(model)


def test_int8_precision_needs_an_int8_generator(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = api.compress(synthetic_image(32, 32, 1), "image", model="image-test-tiny", effort="fast")
    with pytest.raises(PrecisionUnavailableError, match="bpgan quantize"):
        api.decompress(blob, precision="int8")
    with pytest.raises(ValueError, match="unknown precision"):
        api.decompress(blob, precision="float16")
    monkeypatch.setenv("BPGAN_PRECISION", "int8")
    with pytest.raises(PrecisionUnavailableError):
        api.decompress(blob)
    assert api.decompress_with_report(blob, precision="float32")[1].info["precision"] == "float32"
