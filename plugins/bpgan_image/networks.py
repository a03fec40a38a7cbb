"""The image networks (torch): encoder, generator and multi-scale PatchGAN discriminator.

BPGAN's layout (encoder to ``latent_channels`` at 1/16 resolution, residual blocks, upsampling
generator) redesigned for the CPU: the image enters at 1/4 resolution by pixel-unshuffle, every
3 x 3 convolution runs at 1/4, 1/8 or 1/16 resolution, resolution changes are 2 x 2 stride-2
(transposed) convolutions, and the generator leaves through pixel-shuffle. No normalization layers,
so a model behaves the same on a 16 x 16 image and on a 1024 x 1024 tile.
With ``factor`` 8 the third stage stays at 1/8 (a 3 x 3 convolution replaces the last resolution
change on each side): four times the latent positions, for the higher rates.
Model space: RGB in [-0.5, 0.5], (batch, 3, H, W) with H and W multiples of 16.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

FACTOR = 16
"""Largest downsampling from image to latent (sides of model-space inputs are multiples of it)."""


@dataclass(frozen=True)
class NetworkConfig:
    """Widths and depths of the encoder and generator stages; ``factor``: image-to-latent downsampling."""

    latent_channels: int = 16
    widths: tuple[int, int, int] = (48, 96, 128)
    encoder_blocks: tuple[int, int, int] = (1, 1, 2)
    generator_blocks: tuple[int, int, int] = (1, 1, 3)
    factor: int = 16

    def __post_init__(self) -> None:
        if self.factor not in (8, 16):
            raise ValueError(f"factor must be 8 or 16, got {self.factor}")

    def as_dict(self) -> dict[str, object]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> "NetworkConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in cls.__dataclass_fields__})


class ResBlock(nn.Module):
    """x + conv(relu(conv(relu(x)))), 3 x 3, same width."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LeakyReLU(0.2), nn.Conv2d(width, width, 3, padding=1),
            nn.LeakyReLU(0.2), nn.Conv2d(width, width, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _stage(width: int, blocks: int) -> list[nn.Module]:
    return [ResBlock(width) for _ in range(blocks)]


def _down(c_in: int, c_out: int, halve: bool) -> nn.Module:
    return nn.Conv2d(c_in, c_out, 2, stride=2) if halve else nn.Conv2d(c_in, c_out, 3, padding=1)


def _up(c_in: int, c_out: int, double: bool) -> nn.Module:
    return nn.ConvTranspose2d(c_in, c_out, 2, stride=2) if double else nn.Conv2d(c_in, c_out, 3, padding=1)


class ImageEncoder(nn.Module):
    """(B, 3, H, W) in model space -> (B, C, H/f, W/f) float latents (f = ``cfg.factor``)."""

    def __init__(self, cfg: NetworkConfig) -> None:
        super().__init__()
        w1, w2, w3 = cfg.widths
        b1, b2, b3 = cfg.encoder_blocks
        self.net = nn.Sequential(
            nn.PixelUnshuffle(4), nn.Conv2d(48, w1, 3, padding=1), *_stage(w1, b1),
            nn.Conv2d(w1, w2, 2, stride=2), *_stage(w2, b2),
            _down(w2, w3, cfg.factor == 16), *_stage(w3, b3),
            nn.LeakyReLU(0.2), nn.Conv2d(w3, cfg.latent_channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ImageGenerator(nn.Module):
    """(B, C, h, w) latents -> (B, 3, f h, f w) in model space (unclipped; f = ``cfg.factor``)."""

    def __init__(self, cfg: NetworkConfig) -> None:
        super().__init__()
        w1, w2, w3 = cfg.widths
        b1, b2, b3 = cfg.generator_blocks
        self.net = nn.Sequential(
            nn.Conv2d(cfg.latent_channels, w3, 3, padding=1), *_stage(w3, b3),
            nn.LeakyReLU(0.2), _up(w3, w2, cfg.factor == 16), *_stage(w2, b2),
            nn.LeakyReLU(0.2), nn.ConvTranspose2d(w2, w1, 2, stride=2), *_stage(w1, b1),
            nn.LeakyReLU(0.2), nn.Conv2d(w1, 48, 3, padding=1), nn.PixelShuffle(4),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class PatchDiscriminator(nn.Module):
    """A 70-px-style PatchGAN at one scale; returns its feature maps, the patch prediction last."""

    def __init__(self, width: int = 32, layers: int = 3) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_in = 3
        for i in range(layers):
            c_out = width * 2**i
            blocks.append(nn.Sequential(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)))
            c_in = c_out
        blocks.append(nn.Conv2d(c_in, 1, 3, padding=1))
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats


class MultiScaleDiscriminator(nn.Module):
    """PatchGANs on the image and on 2x, 4x ... average-pooled copies (pix2pixHD style)."""

    def __init__(self, scales: int = 2, width: int = 32) -> None:
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(width) for _ in range(scales))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        out = []
        for i, d in enumerate(self.scales):
            if i:
                x = nn.functional.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            out.append(d(x))
        return out


def _layer_slots(state: dict[str, torch.Tensor]) -> dict[tuple[int, int], int]:
    """Sequential index of each layer with parameters in an encoder or generator ``state``, by slot.

    A convolution's slot is (its rank, -1); the j-th residual block after the k-th convolution's is (k, j).
    """
    kinds = sorted({int(k.split(".")[1]): ".body." in k for k in state if k.startswith("net.")}.items())
    slots, convs, block = {}, 0, 0
    for index, is_block in kinds:
        if is_block:
            slots[(convs, block)] = index
            block += 1
        else:
            convs, block = convs + 1, 0
            slots[(convs, -1)] = index
    return slots


def _widened(old: torch.Tensor, fresh: torch.Tensor) -> torch.Tensor:
    """A Conv2d ``old`` weight or bias placed into the larger ``fresh`` one: extra output rows keep
    their fresh initialisation, extra input columns start at zero (new inputs have no effect yet)."""
    out = fresh.clone()
    if out.dim() == 4:
        out[:, old.shape[1]:] = 0
    out[tuple(slice(0, n) for n in old.shape)] = old
    return out


def grown_state(state: dict[str, torch.Tensor], network: nn.Module) -> dict[str, torch.Tensor]:
    """``state`` of an encoder or generator with fewer residual blocks per stage, or fewer latent
    channels, mapped onto ``network``.

    Layers are matched in order: the k-th convolution to the k-th, the j-th residual block of a stage
    to the j-th. Blocks that ``state`` lacks start as identities (last convolution zero); a latent-facing
    convolution with more channels keeps the old ones and gives the new latent channels fresh encoder
    rows and zero generator columns. So the grown network computes exactly what the smaller one did;
    blocks that ``network`` lacks are dropped.
    """
    out = dict(network.state_dict())
    old_slots = _layer_slots(state)
    for slot, index in _layer_slots(out).items():
        prefix = f"net.{index}."
        if slot in old_slots:
            source = f"net.{old_slots[slot]}."
            for k, v in state.items():
                if k.startswith(source):
                    name = prefix + k[len(source):]
                    grows = v.shape != out[name].shape and isinstance(network.net[index], nn.Conv2d) \
                        and all(a <= b for a, b in zip(v.shape, out[name].shape))
                    out[name] = _widened(v, out[name]) if grows else v
        elif slot[1] >= 0:
            for name in ("body.3.weight", "body.3.bias"):
                out[prefix + name] = torch.zeros_like(out[prefix + name])
    return out


def build(cfg: NetworkConfig, discriminator: bool = False) -> tuple[nn.Module, nn.Module, nn.Module | None]:
    """(encoder, generator, discriminator or None), channels-last for fast CPU convolutions."""
    nets = (ImageEncoder(cfg), ImageGenerator(cfg), MultiScaleDiscriminator() if discriminator else None)
    return tuple(n.to(memory_format=torch.channels_last) if n is not None else None for n in nets)  # type: ignore[return-value]


def parameter_count(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters())
