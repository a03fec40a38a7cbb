"""Training of image models: data loading, the recipe for the generic trainer, and the CLI.

``bpgan train image --data DIR --out runs/image-X [options]``: every image of DIR is decoded once
into memory as uint8 (plus a half-size copy of images large enough for it); batches are random
crops with random flips. The loss is mse_weight * MSE + msssim_weight * (1 - MS-SSIM).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from PIL import Image

from bpgan_core.training import Trainer
from bpgan_core.training.recipe import TrainConfig, TrainingRecipe

from .losses import mse_per_item, ms_ssim_per_item
from .networks import FACTOR, NetworkConfig, build, grown_state
from .preprocess import DEFAULT_TILE, IMAGE_SUFFIXES

DEFAULT_REFINE_ALPHA = 20.0


def load_images(directory: str | Path, min_side: int, half_size: bool = True) -> list[np.ndarray]:
    """Every image file of ``directory`` as uint8 RGB arrays (with half-size copies if ``half_size``)."""
    files = sorted(p for p in Path(directory).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"{directory}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    images = []
    for path in files:
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        if min(rgb.size) >= min_side:
            images.append(np.asarray(rgb))
        if half_size and min(rgb.size) >= 2 * min_side:
            half = rgb.resize((rgb.width // 2, rgb.height // 2), Image.Resampling.LANCZOS)
            images.append(np.asarray(half))
    if not images:
        raise FileNotFoundError(f"{directory}: no image with a side of at least {min_side} px")
    return images


def random_crops(images: list[np.ndarray], crop: int, batch: int, rng: np.random.Generator) -> torch.Tensor:
    """A batch of random ``crop`` x ``crop`` crops with random flips, in model space, channels-last."""
    areas = np.array([im.shape[0] * im.shape[1] for im in images], dtype=np.float64)
    out = np.empty((batch, crop, crop, 3), dtype=np.uint8)
    for i, k in enumerate(rng.choice(len(images), size=batch, p=areas / areas.sum())):
        im = images[k]
        top, left = rng.integers(0, im.shape[0] - crop + 1), rng.integers(0, im.shape[1] - crop + 1)
        patch = im[top:top + crop, left:left + crop]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if rng.random() < 0.5:
            patch = patch[::-1]
        out[i] = patch
    x = torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0).sub_(0.5)
    return x.contiguous(memory_format=torch.channels_last)


class ImageRecipe(TrainingRecipe):
    """Image training: networks from ``NetworkConfig``, MSE + MS-SSIM loss, crops from ``data``."""

    modality = "image"

    def __init__(self, data: str, crop: int, net: NetworkConfig, mse_weight: float, msssim_weight: float,
                 discriminator: bool, refine_alpha: float = DEFAULT_REFINE_ALPHA,
                 batch_size: int = 8) -> None:
        if crop % FACTOR:
            raise ValueError(f"--crop must be a multiple of {FACTOR}")
        self.data, self.crop, self.net = data, crop, net
        self.mse_weight, self.msssim_weight = mse_weight, msssim_weight
        self.discriminator, self.refine_alpha = discriminator, refine_alpha
        self.batch_size = batch_size
        self._images: list[np.ndarray] | None = None

    def images(self) -> list[np.ndarray]:
        if self._images is None:
            self._images = load_images(self.data, self.crop)
        return self._images

    def networks(self) -> tuple[Any, Any, Any]:
        return build(self.net, self.discriminator)

    def batches(self, seed: int, rank: int = 0, world: int = 1) -> Iterator[Any]:
        rng = np.random.default_rng([seed, rank])
        images = self.images()
        while True:
            yield random_crops(images, self.crop, self.batch_size, rng)

    def reconstruction_loss(self, x: Any, y: Any) -> tuple[Any, dict[str, float]]:
        mse = mse_per_item(x, y).mean()
        loss = self.mse_weight * mse
        m = float(mse.detach())
        terms = {"mse": m, "psnr": float(10 * np.log10(1 / max(m, 1e-10)))}
        if self.msssim_weight > 0:
            msssim = ms_ssim_per_item(x, y).mean()
            loss = loss + self.msssim_weight * (1 - msssim)
            terms["ms_ssim"] = float(msssim.detach())
        return loss, terms

    def warm_start_state(self, name: str, module: Any, state: dict[str, Any]) -> dict[str, Any]:
        """Encoder and generator tensors mapped onto these networks, which may have more residual
        blocks per stage than the checkpoint's (``--generator-blocks 2 1 5 --init small.pt``)."""
        return grown_state(state, module) if name in ("encoder", "generator") else state

    def model_config(self) -> dict[str, Any]:
        return {"network": self.net.as_dict(), "tile": DEFAULT_TILE, "refine_alpha": self.refine_alpha}

    def example_latent(self) -> Any:
        return torch.randn(1, self.net.latent_channels, 4, 6, generator=torch.Generator().manual_seed(0))


def parser() -> argparse.ArgumentParser:
    """The options of ``bpgan train image``."""
    p = argparse.ArgumentParser(prog="bpgan train image", description="Train an image model (three BPGAN phases).")
    p.add_argument("--data", required=True, help="folder of training images")
    p.add_argument("--crop", type=int, default=128, help="training crop side (multiple of 16)")
    p.add_argument("--latent-channels", type=int, default=16, help="latent channels")
    p.add_argument("--factor", type=int, choices=(8, 16), default=16,
                   help="latent resolution 1/8 or 1/16 (at 8 the third stage runs at 1/8)")
    p.add_argument("--widths", type=int, nargs=3, default=list(NetworkConfig.widths), help="widths of the three stages")
    p.add_argument("--encoder-blocks", type=int, nargs=3, default=list(NetworkConfig.encoder_blocks))
    p.add_argument("--generator-blocks", type=int, nargs=3, default=list(NetworkConfig.generator_blocks))
    p.add_argument("--mse-weight", type=float, default=1.0)
    p.add_argument("--msssim-weight", type=float, default=0.02)
    p.add_argument("--refine-alpha", type=float, default=DEFAULT_REFINE_ALPHA,
                   help="alpha of the refinement loss (1 - MS-SSIM) + alpha * MSE stored in model.json")
    p.add_argument("--export-to", default=None, help="also copy the exported model folder here")
    TrainConfig.add_arguments(p, out="runs/image", steps=8000, float_steps=2000, soft_steps=4000,
                              rate_weight=1e-4, fm_weight=1.0, checkpoint_every=200)
    return p


def main(argv: list[str]) -> int:
    """Run ``bpgan train image``."""
    args = parser().parse_args(argv)
    net = NetworkConfig(args.latent_channels, tuple(args.widths), tuple(args.encoder_blocks),
                        tuple(args.generator_blocks), args.factor)
    cfg = TrainConfig.from_args(args)
    recipe = ImageRecipe(args.data, args.crop, net, args.mse_weight, args.msssim_weight,
                         discriminator=cfg.adv_weight > 0, refine_alpha=args.refine_alpha,
                         batch_size=cfg.batch_size)
    out = Trainer(recipe, cfg).run()
    if out is not None:
        spec = json.loads((out / "model.json").read_text())
        spec["training"].update(data=str(args.data), crop=args.crop, mse_weight=args.mse_weight,
                                msssim_weight=args.msssim_weight)
        (out / "model.json").write_text(json.dumps(spec, indent=1))
        print(f"exported {out}")
        if args.export_to:
            import shutil

            shutil.copytree(out, args.export_to, dirs_exist_ok=True)
    return 0
