"""Int8 receiver generators (``bpgan quantize``): a model's ONNX generator with 8-bit convolutions.

ONNX Runtime's static quantization (QDQ format) rewrites the float generator: each convolution's
weights become int8 per output channel and the activation entering it uint8, with ranges calibrated
(min/max) on the latents a folder of signals gives (the sender's encoder, unrefined, mapped to the
centers: what a receiver sees). Residual additions and the last convolution, the one that writes
the signal, stay in float32; quantizing those too cost image-0.5 three times the quality for little
more speed. On a CPU with 8-bit dot-product instructions (AVX512-VNNI, AVX-VNNI, ARM dot product)
the file decodes several times faster than the float one.

The file lies next to the float generator and model.json names it in ``int8_generator`` with the
agreement measured at calibration. The fingerprint does not cover it: streams are the same, and
decoding with it (``decompress(blob, precision="int8")``) approximates the float generator, as
another execution provider does.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from .api import atomic_write
from .models import MODEL_FILE, ModelCard

INT8_FILE = "generator.int8.onnx"
CONV_OPS = ("Conv", "ConvTranspose")


def model_latents(card: ModelCard, files: list[Path]) -> Iterator[np.ndarray]:
    """The dequantized latents (1, channels, *spatial) the receiver would see for each chunk of ``files``."""
    from .prior_fit import model_indices

    quantizer = card.quantizer()
    for idx in model_indices(card, files):
        yield np.ascontiguousarray(quantizer.dequantize(idx), dtype=np.float32)


def quantize_onnx(src: str | os.PathLike[str], dst: str | os.PathLike[str], latents: Iterable[np.ndarray]) -> None:
    """Write to ``dst`` the int8 (QDQ) version of the ONNX generator ``src``, calibrated on ``latents``."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .export import with_float32_weights

    model = with_float32_weights(src)
    convs = [node.name for node in model.graph.node if node.op_type in CONV_OPS]
    if len(convs) < 2:
        raise ValueError(f"{src} has no convolution besides the output one, which stays float32: nothing to quantize")
    name = model.graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = ({name: z} for z in latents)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._feeds, None)

    with tempfile.TemporaryDirectory(prefix="bpgan-int8-") as tmp:
        plain, prepared = Path(tmp) / "float.onnx", Path(tmp) / "prepared.onnx"
        onnx.save(model, str(plain))
        quant_pre_process(str(plain), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax, op_types_to_quantize=list(CONV_OPS),
            nodes_to_exclude=convs[-1:],
        )


def agreement_db(float_path: Path, int8_path: Path, latents: Iterable[np.ndarray]) -> float:
    """Signal-to-difference ratio (dB) of the int8 generator's output against the float one's."""
    from .onnx_runtime import OnnxGenerator

    ref, approx = OnnxGenerator(float_path, "cpu"), OnnxGenerator(int8_path, "cpu")
    power = error = 0.0
    for z in latents:
        a, b = ref.generate(z), approx.generate(z)
        power += float(np.sum(np.square(a, dtype=np.float64)))
        error += float(np.sum(np.square(a - b, dtype=np.float64)))
    return float(10 * np.log10(power / max(error, 1e-30)))


def quantize_model(model_dir: str | os.PathLike[str], data: str | os.PathLike[str], limit: int = 16) -> dict[str, Any]:
    """Write ``generator.int8.onnx`` into the model folder ``model_dir``, calibrated on the first
    ``limit`` files of ``data``, and name it in model.json; returns the file, its size and the agreement."""
    from . import registry
    from .prior_fit import signal_files

    folder = Path(model_dir)
    card = ModelCard.load(folder)
    files = signal_files(Path(data), registry.get_modality(card.modality).file_suffixes, limit)
    latents = list(model_latents(card, files))
    target = folder / INT8_FILE
    atomic_write(target, force=True, writer=lambda tmp: quantize_onnx(card.generator_path, tmp, latents))
    agreement = round(agreement_db(card.generator_path, target, latents), 2)
    spec = {**card.spec, "int8_generator": {"file": INT8_FILE, "calibration_files": len(files), "agreement_db": agreement}}
    atomic_write(folder / MODEL_FILE, json.dumps(spec, indent=1).encode(), force=True)
    return {"file": str(target), "bytes": target.stat().st_size, "calibration_files": len(files), "agreement_db": agreement}
