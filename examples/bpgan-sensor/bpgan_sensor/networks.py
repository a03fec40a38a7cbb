"""The sensor model: a small 1-D convolutional encoder/generator pair (torch)."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from bpgan_core.interfaces import SenderModels
from bpgan_core.torch_adapters import TorchEncoder, TorchGenerator, load_sender_weights


def _block(cin: int, cout: int, stride: int = 1) -> nn.Module:
    return nn.Sequential(nn.Conv1d(cin, cout, 5, stride=stride, padding=2), nn.LeakyReLU(0.2))


class SensorEncoder(nn.Module):
    """(batch, 1, chunk) -> (batch, latent, chunk / 16)."""

    def __init__(self, latent: int = 4, width: int = 48) -> None:
        super().__init__()
        self.body = nn.Sequential(_block(1, width), *[_block(width, width, 2) for _ in range(4)],
                                  nn.Conv1d(width, latent, 3, padding=1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class SensorGenerator(nn.Module):
    """(batch, latent, n) -> (batch, 1, 16 n)."""

    def __init__(self, latent: int = 4, width: int = 48) -> None:
        super().__init__()
        ups = [nn.Sequential(nn.Upsample(scale_factor=2, mode="linear", align_corners=False), _block(width, width))
               for _ in range(4)]
        self.body = nn.Sequential(_block(latent, width), *ups, nn.Conv1d(width, 1, 5, padding=2))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)


def networks(config: dict[str, Any]) -> tuple[SensorEncoder, SensorGenerator]:
    """Fresh networks for a model config."""
    return SensorEncoder(config["latent"], config["width"]), SensorGenerator(config["latent"], config["width"])


def per_item_mse(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Refinement loss: mean squared error per chunk."""
    return ((x - y) ** 2).flatten(1).mean(1)


def load_sender(card: Any) -> SenderModels:
    """Encoder, generator and loss of an installed sensor model."""
    enc, gen = networks(card.config)
    load_sender_weights(enc, gen, card.sender_path, card.generator_path)
    return SenderModels(TorchEncoder(enc), TorchGenerator(gen), per_item_mse)
