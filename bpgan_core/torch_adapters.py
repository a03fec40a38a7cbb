"""Wrap torch modules as sender-side Encoder and Generator stages (imports torch)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .interfaces import Encoder, Generator


class TorchEncoder(Encoder):
    """An nn.Module used as the encoder, in eval mode with frozen weights."""

    def __init__(self, module: Any) -> None:
        self.module = module.eval().requires_grad_(False)

    def encode(self, x: Any) -> Any:
        return self.module(x)


class TorchGenerator(Generator):
    """An nn.Module used as the differentiable generator for latent refinement."""

    differentiable = True

    def __init__(self, module: Any) -> None:
        self.module = module.eval().requires_grad_(False)

    def generate(self, z: Any) -> Any:
        return self.module(z)


def load_sender_weights(encoder: Any, generator: Any, sender_path: Path, generator_path: Path) -> None:
    """Load ``sender_path`` (a ``sender.pt``) into ``encoder`` and ``generator``, the generator's
    weights from ``generator_path`` where the sender.pt holds the encoder alone (:func:`with_onnx_generator`)."""
    import torch

    state = with_onnx_generator(torch.load(sender_path, weights_only=True), generator_path)
    encoder.load_state_dict(state["encoder"])
    weights = state.get("generator", {})
    missing = [k for k in generator.state_dict() if k not in weights]
    if missing:
        raise ValueError(f"{generator_path} lacks the generator weights {missing[:3]}; re-export the model")
    generator.load_state_dict({k: weights[k] for k in generator.state_dict()})


def with_onnx_generator(state: dict[str, Any], generator_path: Path) -> dict[str, Any]:
    """``state`` (a loaded sender.pt or training checkpoint) with the generator's weights taken from
    the ONNX file ``generator_path`` when it holds the encoder alone.

    Since session 16 the trainer's sender.pt holds the encoder only: the model's generator.onnx has
    the generator's weights in float16, as sender.pt had them, so a model folder keeps one copy.
    Older sender.pt files and checkpoints hold both and are returned as they are.
    """
    if "generator" in state or "encoder" not in state or not generator_path.exists():
        return state
    import torch

    from .export import onnx_weights

    weights = onnx_weights(generator_path)
    return {**state, "generator": {k: torch.from_numpy(v.copy()) for k, v in weights.items()}}
