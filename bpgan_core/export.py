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
    float16_weights: bool = False,
) -> None:
    """Export ``module`` (eval mode, fp32) so every axis but the channel axis is dynamic.

    ``metadata`` is stored as ONNX metadata_props (e.g. model id, modality). With ``float16_weights``
    the weights are stored in float16 (:func:`store_weights_float16`) and the graph still computes in
    float32. With ``check`` the exported graph is run through ONNX Runtime and compared with torch on
    ``example`` (with float16-rounded weights where the file stores them so).
    """
    import copy
    import warnings

    import onnx
    import torch

    module = copy.deepcopy(module).eval().float()
    if float16_weights:
        module = module.half().float()
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
    if float16_weights:
        store_weights_float16(path)
    if check:
        from .onnx_runtime import create_session

        with torch.no_grad():
            expected = module(example).numpy()
        got = create_session(path, "cpu").run(None, {input_name: example.numpy()})[0]
        err = float(np.max(np.abs(got - expected)))
        if err > 1e-3 * max(1.0, float(np.max(np.abs(expected)))):
            raise RuntimeError(f"ONNX export of {type(module).__name__} differs from torch by {err}")


def store_weights_float16(path: str | os.PathLike[str]) -> None:
    """Rewrite the ONNX file at ``path`` so that its float32 weights are stored in float16.

    Each float32 initializer ``w`` becomes a float16 initializer ``w.float16`` feeding a Cast back to
    float32 named ``w``, so the graph computes in float32 as before (ONNX Runtime folds the casts when
    it loads the file) on weights rounded to float16: about half the file. The sender reads the same
    float16 weights back with ``onnx_weights``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        name = init.name
        init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{name}.float16"))
        casts.append(helper.make_node("Cast", [f"{name}.float16"], [name], to=TensorProto.FLOAT, name=f"{name}.cast"))
    nodes = [*casts, *graph.node]
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def with_float32_weights(path: str | os.PathLike[str]) -> Any:
    """The ONNX model at ``path`` with float16-stored weights (``store_weights_float16``) turned back into
    float32 initializers under their own names and the casts removed, as tools that look for weights
    among the initializers (ONNX Runtime's quantizer) need it; a float32 file comes back unchanged."""
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    stored = {init.name: init for init in graph.initializer if init.data_type == TensorProto.FLOAT16}
    casts = [n for n in graph.node if n.op_type == "Cast" and len(n.input) == 1 and n.input[0] in stored]
    for cast in casts:
        graph.initializer.append(numpy_helper.from_array(
            numpy_helper.to_array(stored[cast.input[0]]).astype(np.float32), cast.output[0]))
        graph.node.remove(cast)
    used = {name for node in graph.node for name in node.input}
    for init in [init for init in graph.initializer if init.name in stored and init.name not in used]:
        graph.initializer.remove(init)
    return model


def onnx_weights(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The floating-point initializers of the ONNX file at ``path`` by the name of the weight they hold
    (a float16 ``w.float16`` written by ``store_weights_float16`` is returned as ``w``)."""
    import onnx
    from onnx import TensorProto, numpy_helper

    floats = (TensorProto.FLOAT, TensorProto.FLOAT16)
    return {init.name.removesuffix(".float16"): numpy_helper.to_array(init)
            for init in onnx.load(str(path)).graph.initializer if init.data_type in floats}
