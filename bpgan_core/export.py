"""Export torch networks to ONNX with dynamic batch and spatial axes and bpgan metadata embedded."""
from __future__ import annotations

import os
from typing import Any

import numpy as np


def export_onnx(
    module: Any,
    example: Any,
    path: str | os.PathLike[str],
    metadata: dict[str, str] | None = None,
    input_name: str = "z",
    output_name: str = "x",
    opset: int = 17,
    check: bool = True,
) -> None:
    """Export ``module`` (eval mode, fp32) so every axis but the channel axis is dynamic.

    ``metadata`` is stored as ONNX metadata_props (e.g. model id, modality). With ``check`` the
    exported graph is run through ONNX Runtime and compared with torch on ``example``.
    """
    import warnings

    import onnx
    import torch

    module = module.eval().float()
    axes = {0: "batch", **{i: f"dim{i}" for i in range(2, example.dim())}}
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but handles dynamic axes well
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module, (example,), str(path), input_names=[input_name], output_names=[output_name],
            dynamic_axes={input_name: axes, output_name: dict(axes)}, opset_version=opset, dynamo=False,
        )
    model = onnx.load(str(path))
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = str(key), str(value)
    onnx.save(model, str(path))
    if check:
        from .onnx_runtime import create_session

        with torch.no_grad():
            expected = module(example).numpy()
        got = create_session(path, "cpu").run(None, {input_name: example.numpy()})[0]
        err = float(np.max(np.abs(got - expected)))
        if err > 1e-3 * max(1.0, float(np.max(np.abs(expected)))):
            raise RuntimeError(f"ONNX export of {type(module).__name__} differs from torch by {err}")
