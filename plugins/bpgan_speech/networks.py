"""The speech networks (torch): two architectures over normalized log-mel chunks.

A chunk is a normalized log-mel patch shaped (n_mels, frames); a latent is always
(latent_channels, frames / time_factor), so the rest of the plugin does not care which is used.

- ``conv1d`` (the first models): 1-D convolutions over time with the mel bands as channels; the
  encoder halves the time axis ``log2(time_factor)`` times.
- ``conv2d``: the log-mel treated as a one-channel image, as in BPGAN: pixel-unshuffle by 4, 3 x 3
  residual blocks at 1/4, 1/8 and 1/16 of both axes. Its (C, n_mels/16, frames/16) latent is
  flattened to (C * n_mels/16, frames/16), so each (channel, band) pair is one latent channel with
  its own prior. ``time_factor`` is 16.

Both generators end in a sigmoid (model space is [0, 1]). The discriminator scores the patch at
several time resolutions (BPGAN's multi-scale discriminator) and returns every scale's feature maps
for feature matching.
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


class _Block2d(nn.Module):
    """x + conv(act(conv(act(x)))), 3 x 3, same width."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(_act(), nn.Conv2d(width, width, 3, padding=1), _act(), nn.Conv2d(width, width, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


START_LOGIT = -1.5
"""Initial pre-sigmoid output of the conv2d generator (sigmoid(-1.5) = 0.18, about the mean log-mel level)."""

FACTOR_2D = 16
"""Downsampling of both axes by the ``conv2d`` encoder."""


def bands_2d(n_mels: int) -> int:
    """Frequency rows of a ``conv2d`` latent."""
    if n_mels % FACTOR_2D:
        raise ValueError(f"the conv2d speech networks need n_mels divisible by {FACTOR_2D}, got {n_mels}")
    return n_mels // FACTOR_2D


class SpeechEncoder2d(nn.Module):
    """(batch, n_mels, frames) -> (batch, latent_channels, frames / 16), latent_channels = C * n_mels / 16."""

    def __init__(self, n_mels: int, latent_channels: int, widths: tuple[int, int, int]) -> None:
        super().__init__()
        bands = bands_2d(n_mels)
        if latent_channels % bands:
            raise ValueError(f"latent_channels must be a multiple of n_mels / 16 = {bands}")
        w1, w2, w3 = widths
        self.net = nn.Sequential(
            nn.PixelUnshuffle(4), nn.Conv2d(16, w1, 3, padding=1), _Block2d(w1),
            _act(), nn.Conv2d(w1, w2, 2, stride=2), _Block2d(w2),
            _act(), nn.Conv2d(w2, w3, 2, stride=2), _Block2d(w3), _Block2d(w3),
            _act(), nn.Conv2d(w3, latent_channels // bands, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.unsqueeze(1)).flatten(1, 2)


class SpeechGenerator2d(nn.Module):
    """(batch, latent_channels, steps) -> (batch, n_mels, 16 steps), values in [0, 1]."""

    def __init__(self, n_mels: int, latent_channels: int, widths: tuple[int, int, int]) -> None:
        super().__init__()
        self.shape = (latent_channels // bands_2d(n_mels), bands_2d(n_mels))
        w1, w2, w3 = widths
        self.net = nn.Sequential(
            nn.Conv2d(self.shape[0], w3, 3, padding=1), _Block2d(w3), _Block2d(w3),
            _act(), nn.ConvTranspose2d(w3, w2, 2, stride=2), _Block2d(w2), _Block2d(w2),
            _act(), nn.ConvTranspose2d(w2, w1, 2, stride=2), _Block2d(w1),
            _act(), nn.Conv2d(w1, 16, 3, padding=1), nn.PixelShuffle(4), nn.Sigmoid(),
        )
        # start near the typical level of normalized speech log-mels, far from the sigmoid's flat
        # tails: without this, the first updates can push every output to 0 where it stays
        last = self.net[-3]
        nn.init.zeros_(last.weight)
        nn.init.constant_(last.bias, START_LOGIT)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.unflatten(1, self.shape)).squeeze(1)


def build(config: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    """Encoder and generator for a model.json ``config`` block (``arch`` conv1d when absent)."""
    n_mels, channels = int(config["n_mels"]), int(config["latent_channels"])
    if config.get("arch", "conv1d") == "conv2d":
        if int(config["time_factor"]) != FACTOR_2D:
            raise ValueError(f"the conv2d speech networks need time_factor {FACTOR_2D}")
        widths = tuple(int(w) for w in config["widths"])
        return SpeechEncoder2d(n_mels, channels, widths), SpeechGenerator2d(n_mels, channels, widths)  # type: ignore[arg-type]
    args = (n_mels, channels, int(config["width"]), int(config["time_factor"]))
    return SpeechEncoder(*args), SpeechGenerator(*args)


def parameter_count(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters())
