"""``bpgan train sensor``: the core three-phase trainer on synthetic IMU recordings."""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from bpgan_core.training import TrainConfig, Trainer, TrainingRecipe

from .networks import networks
from .synthetic import imu_recording


class SensorRecipe(TrainingRecipe):
    """Chunks of normalised synthetic recordings; MSE reconstruction loss."""

    modality = "sensor"

    def __init__(self, chunk: int, latent: int, width: int, batch_size: int) -> None:
        self.config = {"chunk": chunk, "latent": latent, "width": width}
        self.batch_size = batch_size

    def networks(self) -> tuple[Any, Any, Any]:
        enc, gen = networks(self.config)
        return enc, gen, None

    def batches(self, seed: int, rank: int = 0, world: int = 1) -> Iterator[torch.Tensor]:
        rng = np.random.default_rng([seed, rank])
        chunk = self.config["chunk"]
        while True:
            rec = imu_recording(rng, chunk * self.batch_size, 1)[:, 0]
            rec = (rec - rec.mean()) / max(float(np.abs(rec - rec.mean()).max()), 1e-9)
            yield torch.from_numpy(rec.reshape(self.batch_size, 1, chunk).astype(np.float32))

    def reconstruction_loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        mse = ((x - y.float()) ** 2).mean()
        return mse, {"mse": float(mse.detach())}

    def model_config(self) -> dict[str, Any]:
        return dict(self.config)

    def example_latent(self) -> torch.Tensor:
        return torch.zeros(1, self.config["latent"], self.config["chunk"] // 16)


def main(argv: list[str]) -> int:
    """Train a sensor model and optionally install it into this package's models folder."""
    p = argparse.ArgumentParser(prog="bpgan train sensor")
    p.add_argument("--chunk", type=int, default=256)
    p.add_argument("--latent", type=int, default=4)
    p.add_argument("--width", type=int, default=48)
    p.add_argument("--install", action="store_true", help="copy the export into bpgan_sensor/models/<model-id>")
    TrainConfig.add_arguments(p, out="runs/sensor", steps=3000, float_steps=1000, soft_steps=1500,
                              batch_size=32, lr=1e-3, centers=16, bf16=False, model_id="sensor-imu-v1")
    args = p.parse_args(argv)
    cfg = TrainConfig.from_args(args)
    export = Trainer(SensorRecipe(args.chunk, args.latent, args.width, cfg.batch_size), cfg).run()
    if args.install and export is not None:
        target = Path(__file__).parent / "models" / cfg.model_id
        shutil.copytree(export, target, dirs_exist_ok=True)
        print(f"installed {target}")
    return 0
