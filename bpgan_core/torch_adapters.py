"""Wrap torch modules as sender-side Encoder and Generator stages (imports torch)."""
from __future__ import annotations

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
