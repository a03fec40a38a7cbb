"""Benchmark tool: metric code against known values, and tiny end-to-end runs on generated signals."""

from __future__ import annotations

import io
import json
import math
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from bpgan_core.bench import (
    BenchResult,
    BjontegaardError,
    Codec,
    Setting,
    bd_quality,
    bd_rate,
    quality_at_rate,
    run_suite,
)
from bpgan_core.bench.analysis import at_rate_table
from bpgan_core.bench.results import CodecResult, ItemResult, PointResult
from bpgan_core.bench.cli import main, select_codecs
from bpgan_core.bench.report import SCHEMA_VERSION, build_document, read_result, render_markdown, write_json
from bpgan_image.bench import ImageBenchSuite, JpegCodec, WebpCodec
from bpgan_image.metrics import psnr, ssim_metric
from bpgan_core.models import find_model
from bpgan_speech.bench import Codec2Codec, NarrowbandSpeechBenchSuite, OpusCodec, SpeechBenchSuite, compact_opus_tags
from bpgan_speech.synth import speech_like

IMAGE_SUITE = "bpgan_image.bench:ImageBenchSuite"
SPEECH_SUITE = "bpgan_speech.bench:SpeechBenchSuite"
ANCHOR_RATES = [0.1, 0.2, 0.4, 0.8, 1.6]
ANCHOR_PSNR = [26.0, 29.5, 32.5, 35.0, 37.0]


def smooth_image(seed: int, size: int = 64) -> np.ndarray:
    """A random smooth RGB picture: 6x6 noise upsampled bicubically."""
    noise = np.random.default_rng(seed).integers(0, 256, (6, 6, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(noise).resize((size, size), Image.BICUBIC))


def smooth_image_folder(tmp_path: Path, count: int = 2) -> Path:
    """``tmp_path/images`` holding ``count`` smooth PNG pictures pic0.png, pic1.png ..."""
    data = tmp_path / "images"
    data.mkdir()
    for i in range(count):
        Image.fromarray(smooth_image(i)).save(data / f"pic{i}.png")
    return data


# --- metrics -------------------------------------------------------------------------------------


def test_psnr_of_known_error() -> None:
    original = np.full((8, 8, 3), 100, dtype=np.uint8)
    decoded = original + np.uint8(5)  # MSE 25
    assert psnr(original, decoded) == pytest.approx(10 * math.log10(255**2 / 25))
    half = original.copy()
    half[:4] += np.uint8(10)  # error 10 on half the pixels: MSE 50
    assert psnr(original, half) == pytest.approx(10 * math.log10(255**2 / 50))
    assert psnr(original, original) == math.inf


def test_ssim_falls_back_to_single_scale_on_small_images() -> None:
    image = smooth_image(0)
    name, value = ssim_metric(image, image)
    assert name == "ssim" and value == pytest.approx(1.0, abs=1e-6)
    big = np.asarray(Image.fromarray(image).resize((192, 192)))
    name, value = ssim_metric(big, big)
    assert name == "ms_ssim" and value == pytest.approx(1.0, abs=1e-6)


# --- Bjontegaard ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_bd_rate_of_curve_shifted_in_rate(method: str) -> None:
    test_rates = [r * 0.8 for r in ANCHOR_RATES]
    assert bd_rate(ANCHOR_RATES, ANCHOR_PSNR, test_rates, ANCHOR_PSNR, method) == pytest.approx(-20.0, abs=1e-6)
    assert bd_rate(test_rates, ANCHOR_PSNR, ANCHOR_RATES, ANCHOR_PSNR, method) == pytest.approx(25.0, abs=1e-6)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_bd_psnr_of_curve_shifted_by_one_db(method: str) -> None:
    better = [q + 1.0 for q in ANCHOR_PSNR]
    assert bd_quality(ANCHOR_RATES, ANCHOR_PSNR, ANCHOR_RATES, better, method) == pytest.approx(1.0, abs=1e-9)
    assert bd_quality(ANCHOR_RATES, ANCHOR_PSNR, ANCHOR_RATES, ANCHOR_PSNR, method) == pytest.approx(0.0, abs=1e-9)


def test_bd_rejects_unusable_curves() -> None:
    with pytest.raises(BjontegaardError, match="at least"):
        bd_rate([0.1, 0.2], [30, 31], ANCHOR_RATES, ANCHOR_PSNR)
    with pytest.raises(BjontegaardError, match="non-monotonic"):
        bd_rate([0.1, 0.2, 0.4], [30, 29, 31], ANCHOR_RATES, ANCHOR_PSNR)
    with pytest.raises(BjontegaardError, match="overlap"):
        bd_rate([0.1, 0.2, 0.4], [50, 51, 52], ANCHOR_RATES, ANCHOR_PSNR)
    with pytest.raises(ValueError, match="unknown method"):
        bd_rate(ANCHOR_RATES, ANCHOR_PSNR, ANCHOR_RATES, ANCHOR_PSNR, method="spline")


def test_quality_at_rate_interpolates_in_log_rate() -> None:
    rates, quality = [0.125, 0.25, 0.5, 1.0], [20.0, 23.0, 26.0, 29.0]  # linear in log2(rate)
    assert quality_at_rate(rates, quality, 0.25) == pytest.approx(23.0)
    assert quality_at_rate(rates, quality, math.sqrt(0.125 * 0.25)) == pytest.approx(21.5)
    assert quality_at_rate(rates, quality, 2.0) is None
    assert quality_at_rate(rates, quality, 0.1) is None


# --- classical codecs -----------------------------------------------------------------------------


def test_opus_tags_padding_is_dropped_without_changing_the_audio() -> None:
    samples = speech_like(1.0, 16000)
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16000, format="OGG", subtype="OPUS", compression_level=1.0)
    raw = buffer.getvalue()
    compact = compact_opus_tags(raw)
    assert len(compact) < len(raw) - 500
    decoded, rate = sf.read(io.BytesIO(compact), dtype="float32")
    assert rate == 16000
    np.testing.assert_array_equal(decoded, sf.read(io.BytesIO(raw), dtype="float32")[0])
    assert OpusCodec().decode(compact, like=(samples, 16000))[0].shape == samples.shape


def test_codec2_stream_is_header_plus_whole_frames() -> None:
    signal = (speech_like(1.0, 16000), 16000)
    codec = Codec2Codec()
    data = codec.encode(signal, Setting("3200 bps", 3200))
    assert len(data) == 7 + 50 * 8  # 20 ms frames of 64 bits
    assert SpeechBenchSuite().rate(len(data), signal) == pytest.approx(407 * 8 / 1000)
    decoded, rate = codec.decode(data, like=signal)
    assert rate == 16000 and abs(len(decoded) - 16000) <= 320


def test_codec_selection_by_name_or_family() -> None:
    codecs = [JpegCodec(), WebpCodec()]
    assert [c.name for c in select_codecs(codecs, ["jpeg,webp"])] == ["jpeg", "webp"]
    assert [c.name for c in select_codecs(codecs, ["webp"])] == ["webp"]
    with pytest.raises(ValueError, match="no codec named"):
        select_codecs(codecs, ["avif2"])


def test_bpgan_codec_passes_model_and_effort_and_reports_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    import bpgan_core.api
    from bpgan_core.bench.bpgan_codec import BpganCodec

    calls = []

    def compress(signal: object, **kwargs: object) -> tuple[bytes, object]:
        calls.append(kwargs)
        return b"blob", bpgan_core.api.Report(timings={"encoder": 0.5, "refinement": 1.5})

    def decompress(blob: bytes, precision: str) -> tuple[object, object]:
        calls.append({"precision": precision})
        return "signal", bpgan_core.api.Report(timings={"generator": 0.25})

    monkeypatch.setattr(bpgan_core.api, "compress_with_report", compress)
    monkeypatch.setattr(bpgan_core.api, "decompress_with_report", decompress)
    cards = [
        SimpleNamespace(id=name, fingerprint=f"fp-{name}", sender_fingerprint=f"sfp-{name}") for name in ("model-a", "model-b")
    ]
    codec = BpganCodec("image", cards, "fast")
    assert codec.name == "bpgan:fast" and codec.family == "bpgan"
    assert [s.label for s in codec.settings] == ["model-a", "model-b"]
    assert codec.settings[1].value == {"model": "model-b", "fingerprint": "fp-model-b", "sender": "sfp-model-b"}
    assert codec.encode("signal", codec.settings[1]) == b"blob"
    assert calls == [{"modality": "image", "model": "model-b", "effort": "fast"}]
    assert codec.stage_timings() == {"encoder": 0.5, "refinement": 1.5}
    assert codec.decode(b"blob", like="signal") == "signal"
    assert codec.stage_timings() == {"generator": 0.25} and calls[-1] == {"precision": "float32"}


def test_bench_runs_only_the_models_asked_for() -> None:
    from bpgan_core.bench.bpgan_codec import bpgan_codecs

    codecs = bpgan_codecs("image", ["fast", "default"], models=["image-0.25"])
    assert [(c.name, [s.label for s in c.settings]) for c in codecs] == [
        ("bpgan:fast", ["image-0.25"]), ("bpgan:default", ["image-0.25"])]
    with pytest.raises(ValueError, match=r"no image model \['image-9'\] in this suite; available: image-0.1"):
        bpgan_codecs("image", ["fast"], models=["image-9"])


# --- reports --------------------------------------------------------------------------------------


class StagedCodec(Codec):
    """Posterized zlib images that report per-stage timings, standing in for our codec."""

    name = "fake:default"
    stages = {"encoder": 0.002, "entropy_coding": 0.001}

    @property
    def settings(self) -> list[Setting]:
        return [Setting(f"step={s}", s) for s in (64, 32, 16, 8)]

    def encode(self, signal: np.ndarray, setting: Setting) -> bytes:
        return bytes([setting.value]) + zlib.compress((signal // setting.value).tobytes(), 9)

    def decode(self, data: bytes, like: np.ndarray) -> np.ndarray:
        step = data[0]
        levels = np.frombuffer(zlib.decompress(data[1:]), dtype=np.uint8).reshape(like.shape)
        return (levels * step + step // 2).astype(np.uint8)

    def stage_timings(self) -> dict[str, float]:
        return dict(self.stages)


def test_document_and_markdown_from_a_run() -> None:
    suite = ImageBenchSuite()
    items = [(f"img{i}.png", smooth_image(i)) for i in range(2)]
    result = run_suite(suite, [JpegCodec(), StagedCodec()], items, "generated", repeats=1, progress=False)
    doc = build_document(result, "jpeg", suite.fixed_rates)
    json.dumps(doc, allow_nan=False)
    assert doc["schema_version"] == SCHEMA_VERSION
    assert set(doc) >= {"modality", "rate_unit", "data", "environment", "metrics", "codecs", "bd", "fixed_rates"}
    assert doc["metrics"] == ["psnr", "ssim"]
    assert set(doc["environment"]) >= {"cpu_count", "torch_threads", "memory_method", "repeats"}
    fake = doc["codecs"][1]
    assert fake["name"] == "fake:default" and len(fake["points"]) == 4
    point = fake["points"][0]
    assert set(point["mean"]) >= {"rate", "bytes", "metrics", "enc_s", "dec_s", "enc_peak_mb", "dec_peak_mb", "stages"}
    assert point["mean"]["stages"] == pytest.approx(StagedCodec.stages)
    item = point["items"][0]
    assert item["rate"] == pytest.approx(item["bytes"] * 8 / 64**2)
    assert item["enc_rtf"] is None  # images have no duration
    bd_rows = [(r["codec"], r["metric"]) for r in doc["bd"]["rows"]]
    assert bd_rows == [("fake:default", "psnr"), ("fake:default", "ssim")]
    assert len(doc["fixed_rates"]["rows"][0]["values"]) == len(suite.fixed_rates)

    markdown = render_markdown(doc)
    assert "| jpeg | q=10 |" in markdown and "| fake:default | step=8 |" in markdown
    assert "## Per-stage timings" in markdown and "encoder ms" in markdown
    assert "## Bjontegaard deltas" in markdown and "0.125 bpp" in markdown


def _codec_result(name: str, points: dict[str, dict[str, tuple[float, float]]]) -> CodecResult:
    """A CodecResult with one point per label, each {item: (rate, psnr)}."""
    return CodecResult(name, name.split(":")[0], "1", [
        PointResult(Setting(label, label), [ItemResult(item, 0, rate, {"psnr": value}, 0.0, 0.0, 0.0, 0.0)
                                            for item, (rate, value) in items.items()])
        for label, items in points.items()
    ])


def test_points_are_compared_with_the_references_at_their_own_rate() -> None:
    # The reference gains 3 dB per doubling of the rate, on each item and on the mean curve.
    reference = _codec_result("ref", {
        "q1": {"a": (0.1, 26.0), "b": (0.2, 28.0)},
        "q2": {"a": (0.2, 29.0), "b": (0.4, 31.0)},
        "q3": {"a": (0.4, 32.0), "b": (0.8, 34.0)},
    })
    ours = _codec_result("bpgan:default", {
        "inside": {"a": (0.2, 30.0), "b": (0.1, 27.0)},  # a: 1 dB ahead; b: below b's range
        "below": {"a": (0.05, 27.5), "b": (0.2, 27.0)},  # mean 0.125 bpp, under the reference's 0.15
        "above": {"a": (0.6, 33.0), "b": (1.0, 35.0)},
    })
    other = _codec_result("jpeg", {"q": {"a": (0.2, 20.0), "b": (0.4, 22.0)}})
    env = {"cpu_count": 2, "torch_threads": 2, "repeats": 1, "memory_method": "rss"}
    result = BenchResult("image", "bpp", "generated", ["a", "b"], [reference, ours, other], env)
    rows = {r["setting"]: r for r in at_rate_table(result, ["ref", "missing"])}
    assert set(rows) == {"inside", "below", "above"}  # only our codecs, only references that ran
    inside = rows["inside"]
    assert inside["rate"] == pytest.approx(0.15) and inside["value"] == pytest.approx(28.5)
    assert inside["reference_value"] == pytest.approx(27.0) and inside["difference"] == pytest.approx(1.5)
    assert inside["floor"] is None and not inside["dominates"]
    assert inside["items"] == {"ahead": 1, "behind": 0, "outside": 1, "mean_difference": pytest.approx(1.0)}
    below = rows["below"]
    assert below["reference_value"] is None and below["difference"] is None
    assert below["floor"] == {"rate": pytest.approx(0.15), "value": pytest.approx(27.0)} and below["dominates"]
    assert below["items"] == {"ahead": 0, "behind": 1, "outside": 1, "mean_difference": pytest.approx(-1.0)}
    assert rows["above"]["reference_value"] is None and rows["above"]["floor"] is None

    doc = build_document(result, "jpeg", (0.25,), references=["ref"])
    assert doc["at_rate"]["references"] == ["ref"]
    markdown = render_markdown(doc)
    assert "## Against reference codecs at each point's own rate" in markdown
    assert "| bpgan:default | inside | 0.150 | psnr | 28.500 | ref | 27.000 | +1.500 | 1 / 0 / 1 | +1.000 |" in markdown
    assert "| bpgan:default | above | 0.800 | psnr | 34.000 | ref | above its range | n/a | 0 / 0 / 2 | n/a |" in markdown
    assert "below its range (lowest: 0.150 bpp, 27.000) | +0.250 (cheaper and better)" in markdown
    assert build_document(result, "jpeg", (0.25,))["at_rate"]["references"] == ["jpeg"]


def test_result_round_trips_through_json(tmp_path: Path) -> None:
    suite = ImageBenchSuite()
    items = [(f"img{i}.png", smooth_image(i)) for i in range(2)]
    result = run_suite(suite, [StagedCodec()], items, "generated", repeats=1, progress=False)
    doc = build_document(result, "jpeg", suite.fixed_rates)
    write_json(doc, tmp_path / "results.json")
    loaded = read_result(tmp_path / "results.json")
    assert loaded == result == BenchResult.from_dict(doc)
    assert build_document(loaded, "jpeg", suite.fixed_rates)["codecs"] == doc["codecs"]

    result.codecs[0].points[0].items[0].metrics["psnr"] = math.inf  # lossless: written as null
    write_json(build_document(result, "jpeg", suite.fixed_rates), tmp_path / "lossless.json")
    point = read_result(tmp_path / "lossless.json").codecs[0].points[0]
    assert math.isnan(point.items[0].metrics["psnr"]) and not math.isfinite(point.summary()["metrics"]["psnr"])
    (tmp_path / "bad.json").write_text('{"schema_version": 99}')
    with pytest.raises(ValueError, match="not a bench results file"):
        read_result(tmp_path / "bad.json")


# --- end to end -----------------------------------------------------------------------------------


def read_outputs(out: Path, metrics: list[str]) -> dict:
    doc = json.loads((out / "results.json").read_text())
    assert doc["metrics"] == metrics
    assert (out / "results.md").read_text().startswith("# ")
    for metric in metrics:
        assert (out / f"rd_{metric}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return doc


def test_image_bench_end_to_end(tmp_path: Path) -> None:
    data = smooth_image_folder(tmp_path, 3)
    out = tmp_path / "out"
    argv = [IMAGE_SUITE, "--data", str(data), "--limit", "2", "--out", str(out), "--repeats", "1",
            "--codecs", "jpeg,webp", "--no-bpgan", "--no-progress"]
    assert main(argv) == 0
    doc = read_outputs(out, ["psnr", "ssim"])
    assert doc["data"]["items"] == ["pic0.png", "pic1.png"]
    assert [c["name"] for c in doc["codecs"]] == ["jpeg", "webp"]
    jpeg_psnr = [p["mean"]["metrics"]["psnr"] for p in doc["codecs"][0]["points"]]
    assert jpeg_psnr[-1] > jpeg_psnr[0] + 5


def test_speech_bench_end_to_end(tmp_path: Path) -> None:
    data = tmp_path / "speech"
    data.mkdir()
    for i in range(2):
        sf.write(data / f"utt{i}.flac", speech_like(1.0, 16000, seed=i), 16000)
    out = tmp_path / "out"
    argv = [SPEECH_SUITE, "--data", str(data), "--limit", "1", "--out", str(out), "--repeats", "1",
            "--codecs", "opus", "codec2", "--no-bpgan", "--no-progress"]
    assert main(argv) == 0
    doc = read_outputs(out, ["pesq_wb", "stoi"])
    assert doc["rate_unit"] == "kbps" and doc["data"]["items"] == ["utt0.flac"]
    codec2 = doc["codecs"][1]
    assert [p["setting"] for p in codec2["points"]] == ["1300 bps", "2400 bps", "3200 bps"]
    assert codec2["points"][2]["mean"]["rate"] == pytest.approx(3.256)
    assert codec2["points"][0]["items"][0]["enc_rtf"] is not None
    assert "| opus | 6 kbps |" in (out / "results.md").read_text()


def test_narrowband_speech_bench_runs_only_8_khz_models_and_is_not_reused_as_wideband(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "speech"
    data.mkdir()
    sf.write(data / "utt0.flac", speech_like(1.0, 16000, seed=0), 16000)
    out = tmp_path / "nb"
    common = ["--data", str(data), "--repeats", "1", "--no-progress"]
    argv = ["speech-nb", *common, "--out", str(out), "--codecs", "codec2", "bpgan", "--efforts", "fast"]
    assert main(argv) == 0
    doc = read_outputs(out, ["pesq_nb", "stoi"])
    assert doc["suite"] == "speech-nb" and doc["modality"] == "speech"
    ours = [c for c in doc["codecs"] if c["name"] == "bpgan:fast"][0]
    models = [p["setting"] for p in ours["points"]]
    rate = NarrowbandSpeechBenchSuite.sample_rate
    assert models and all(find_model("speech", m).config["mel"]["sample_rate"] == rate for m in models)
    assert "# Speech-nb benchmark" in (out / "results.md").read_text()
    capsys.readouterr()
    reuse = ["--reuse", str(out / "results.json"), "--codecs", "codec2", "--no-bpgan"]
    assert main([SPEECH_SUITE, *common, *reuse, "--out", str(tmp_path / "wb")]) == 2
    assert "is a 'speech-nb' benchmark, not 'speech'" in capsys.readouterr().err


def test_unknown_suite_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-modality", "--data", str(tmp_path), "--no-bpgan"]) == 2
    assert "unknown bench suite 'no-such-modality'" in capsys.readouterr().err


class CountingCodec(StagedCodec):
    """StagedCodec that records the setting of every encode call; ``steps`` and ``release`` are settable."""

    def __init__(self) -> None:
        self.labels: list[str] = []
        self.steps = (64, 32, 16, 8)
        self.release = "1"

    @property
    def version(self) -> str:
        return self.release

    @property
    def settings(self) -> list[Setting]:
        return [Setting(f"step={s}", s) for s in self.steps]

    def encode(self, signal: np.ndarray, setting: Setting) -> bytes:
        self.labels.append(setting.label)
        return super().encode(signal, setting)


class ModelsCodec(CountingCodec):
    """CountingCodec standing in for ``bpgan:default``: a setting per model, whose value changes when
    that model is retrained (as our models' fingerprints do)."""

    def __init__(self, steps: tuple[int, ...], retrained: set[int]) -> None:
        super().__init__()
        self.steps = steps
        self.retrained = retrained

    @property
    def settings(self) -> list[Setting]:
        return [Setting(f"step={s}", s + 1 if s in self.retrained else s) for s in self.steps]


def test_reuse_keeps_the_valid_points_of_models_and_codecs_this_run_leaves_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = smooth_image_folder(tmp_path)
    retrained: set[int] = set()
    made: list[ModelsCodec] = []

    def fake_models(modality: str, efforts: object = None, accepts: object = None, models: object = None,
                    precisions: object = ("float32",)) -> list:
        made.append(ModelsCodec(tuple(int(m) for m in models) if models else (64, 32, 16, 8), retrained))
        return made[-1:]

    monkeypatch.setattr("bpgan_core.bench.bpgan_codec.bpgan_codecs", fake_models)
    monkeypatch.setattr(ImageBenchSuite, "classical_codecs", lambda self: [JpegCodec()])
    jpeg_points = len(JpegCodec().settings)
    common = [IMAGE_SUITE, "--data", str(data), "--repeats", "1", "--no-progress"]
    assert main([*common, "--out", str(tmp_path / "first")]) == 0
    first = json.loads((tmp_path / "first" / "results.json").read_text())

    retrained.add(16)
    made.clear()
    capsys.readouterr()
    reuse = ["--reuse", str(tmp_path / "first" / "results.json")]
    assert main([*common, *reuse, "--models", "16", "--out", str(tmp_path / "second")]) == 0
    assert {label for codec in made for label in codec.labels} == {"step=16"}  # the retrained model only
    assert (f"{jpeg_points + 3} operating points of {reuse[1]}: {jpeg_points} not run again, 3 carried over "
            "from codecs not run here; 1 stale points dropped") in capsys.readouterr().err
    second = json.loads((tmp_path / "second" / "results.json").read_text())
    assert [c["name"] for c in second["codecs"]] == ["jpeg", "fake:default"]
    old, new = first["codecs"][1]["points"], second["codecs"][1]["points"]
    assert [p["setting"] for p in new] == ["step=64", "step=32", "step=16", "step=8"]
    assert [new[i] for i in (0, 1, 3)] == [old[i] for i in (0, 1, 3)] and new[2] != old[2]

    made.clear()
    reuse = ["--reuse", str(tmp_path / "second" / "results.json")]
    assert main([*common, *reuse, "--codecs", "jpeg", "--out", str(tmp_path / "third")]) == 0
    assert all(codec.labels == [] for codec in made)
    third = json.loads((tmp_path / "third" / "results.json").read_text())
    assert third["codecs"] == second["codecs"]


def test_reuse_takes_measured_points_from_an_earlier_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = smooth_image_folder(tmp_path)
    counting = CountingCodec()
    monkeypatch.setattr(ImageBenchSuite, "classical_codecs", lambda self: [JpegCodec(), counting])
    common = [IMAGE_SUITE, "--data", str(data), "--repeats", "1", "--no-bpgan", "--no-progress"]

    assert main([*common, "--codecs", "fake", "--out", str(tmp_path / "first")]) == 0
    assert set(counting.labels) == {"step=64", "step=32", "step=16", "step=8"}
    first = json.loads((tmp_path / "first" / "results.json").read_text())

    reuse = ["--reuse", str(tmp_path / "first" / "results.json")]
    counting.labels.clear()
    counting.steps = (64, 32, 16, 8, 4)
    assert main([*common, *reuse, "--out", str(tmp_path / "second")]) == 0
    assert set(counting.labels) == {"step=4"}  # only the new setting was run
    doc = read_outputs(tmp_path / "second", ["psnr", "ssim"])
    assert [c["name"] for c in doc["codecs"]] == ["jpeg", "fake:default"]
    fake = doc["codecs"][1]
    assert [p["setting"] for p in fake["points"]] == ["step=64", "step=32", "step=16", "step=8", "step=4"]
    assert fake["points"][:4] == first["codecs"][0]["points"]
    assert doc["environment"]["reused"]["codecs"] == ["fake:default"]
    assert doc["environment"]["reused"]["points"][0] == "fake:default step=64"
    bd_rows = [(r["codec"], r["metric"]) for r in doc["bd"]["rows"]]
    assert bd_rows == [("fake:default", "psnr"), ("fake:default", "ssim")]
    assert "reused from" in (tmp_path / "second" / "results.md").read_text()
    assert "fake:default (4 of 5)" in (tmp_path / "second" / "results.md").read_text()

    counting.labels.clear()
    counting.release = "2"  # another implementation: nothing of the earlier run applies
    assert main([*common, *reuse, "--codecs", "fake", "--out", str(tmp_path / "third")]) == 0
    assert set(counting.labels) == {"step=64", "step=32", "step=16", "step=8", "step=4"}
    assert json.loads((tmp_path / "third" / "results.json").read_text())["environment"]["reused"]["points"] == []

    capsys.readouterr()
    counting.labels.clear()
    assert main([*common, *reuse, "--limit", "1", "--out", str(tmp_path / "fifth")]) == 2
    err = capsys.readouterr().err
    assert "measured on other items" in err and len(err.strip().splitlines()) == 1
    other = tmp_path / "other"
    other.mkdir()
    Image.fromarray(smooth_image(0)).save(other / "pic0.png")
    assert main([*common[:2], str(other), *common[3:], *reuse, "--out", str(tmp_path / "fourth")]) == 2
    assert "measured on data dir" in capsys.readouterr().err
    assert counting.labels == []
