"""The speech networks (torch): 1-D convolutions over time with the mel bands as channels.

A chunk is a normalized log-mel patch shaped (n_mels, frames). The encoder halves the time axis
``log2(time_factor)`` times and maps to ``latent_channels`` channels, so a latent is
(latent_channels, frames / time_factor); the generator mirrors it and ends in a sigmoid (model
space is [0, 1]). The discriminator scores the patch at several time resolutions (BPGAN's
multi-scale discriminator) and returns every scale's feature maps for feature matching.
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

SLOPE = 0.2


def _act() -> nn.Module:
    return nn.LeakyReLU(SLOPE)


class ResBlock(nn.Module):
    """Two 3-tap dilated convolutions with a skip connection."""

    def __init__(self, channels: int, dilation: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _act(), nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation),
            _act(), nn.Conv1d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _levels(time_factor: int) -> int:
    levels = int(round(math.log2(time_factor)))
    if 2**levels != time_factor or levels < 1:
        raise ValueError(f"time_factor must be a power of two >= 2, got {time_factor}")
    return levels


class SpeechEncoder(nn.Module):
    """(batch, n_mels, frames) -> (batch, latent_channels, frames / time_factor)."""

    def __init__(self, n_mels: int, latent_channels: int, width: int = 256, time_factor: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(n_mels, width, 5, padding=2), ResBlock(width, 1), ResBlock(width, 3)]
        for _ in range(_levels(time_factor)):
            layers += [_act(), nn.Conv1d(width, width, 4, stride=2, padding=1), ResBlock(width, 1)]
        layers += [_act(), nn.Conv1d(width, latent_channels, 3, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class SpeechGenerator(nn.Module):
    """(batch, latent_channels, steps) -> (batch, n_mels, steps * time_factor), values in [0, 1]."""

    def __init__(self, n_mels: int, latent_channels: int, width: int = 256, time_factor: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv1d(latent_channels, width, 3, padding=1), ResBlock(width, 1)]
        for _ in range(_levels(time_factor)):
            layers += [_act(), nn.ConvTranspose1d(width, width, 4, stride=2, padding=1), ResBlock(width, 1)]
        layers += [ResBlock(width, 3), ResBlock(width, 9), _act(), nn.Conv1d(width, n_mels, 5, padding=2), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class _ScaleDiscriminator(nn.Module):
    def __init__(self, n_mels: int, width: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([
            nn.Sequential(nn.Conv1d(n_mels, width, 5, padding=2), _act()),
            nn.Sequential(nn.Conv1d(width, width, 4, stride=2, padding=1), _act()),
            nn.Sequential(nn.Conv1d(width, width, 4, stride=2, padding=1), _act()),
            nn.Sequential(nn.Conv1d(width, width, 3, padding=1), _act()),
            nn.Conv1d(width, 1, 3, padding=1),
        ])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return feats


class MultiScaleDiscriminator(nn.Module):
    """Patch discriminators on the chunk and on 2x / 4x time-pooled copies of it."""

    def __init__(self, n_mels: int, width: int = 128, scales: int = 3) -> None:
        super().__init__()
        self.scales = nn.ModuleList([_ScaleDiscriminator(n_mels, width) for _ in range(scales)])
        self.pool = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        out = []
        for i, scale in enumerate(self.scales):
            if i:
                x = self.pool(x)
            out.append(scale(x))
        return out


def build(config: dict[str, Any]) -> tuple[SpeechEncoder, SpeechGenerator]:
    """Encoder and generator for a model.json ``config`` block."""
    args = (int(config["n_mels"]), int(config["latent_channels"]), int(config["width"]), int(config["time_factor"]))
    return SpeechEncoder(*args), SpeechGenerator(*args)


def parameter_count(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters())
