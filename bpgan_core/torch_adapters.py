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
    """Load ``sender_path`` (a ``sender.pt``) into ``encoder`` and ``generator``.

    Since session 16 the trainer writes the encoder alone: the generator's weights are read from
    ``generator_path`` (the model's ONNX file, which holds them in float16 as sender.pt did), so a
    model folder keeps one copy of them. Older sender.pt files with both are read as they are.
    """
    import torch

    state = torch.load(sender_path, weights_only=True)
    encoder.load_state_dict(state["encoder"])
    if "generator" in state:
        generator.load_state_dict(state["generator"])
        return
    weights = onnx_state(generator_path)
    missing = [k for k in generator.state_dict() if k not in weights]
    if missing:
        raise ValueError(f"{generator_path} lacks the generator weights {missing[:3]}; re-export the model")
    generator.load_state_dict({k: weights[k] for k in generator.state_dict()})


def onnx_state(path: Path) -> dict[str, Any]:
    """The weights of an exported ONNX generator as torch tensors, by parameter name."""
    import torch

    from .export import onnx_weights

    return {k: torch.from_numpy(v.copy()) for k, v in onnx_weights(path).items()}
