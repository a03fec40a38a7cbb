"""The three-phase BPGAN training loop with checkpoints, resume, CSV log and export.

Phase 1 (float):  z = E(x) passes to G unquantized.
Phase 2 (soft):   centers from k-means over encoder outputs, then straight-through soft quantization
                  softmax(-T (z - c)^2) with T annealed linearly from ``temperature_start`` (1) to
                  ``temperature_max``;
                  centers are trained too; a rate model counts the indices (per channel, or per
                  (left, top) context with ``rate_model="context"``) and, with ``rate_weight`` > 0,
                  adds the expected bits of the soft assignment to the loss.
Phase 3 (hard):   argmin quantization; the encoder gets no gradient, the generator adapts.
Data parallel: under ``torchrun`` (WORLD_SIZE > 1) gradients are averaged with torch.distributed
(gloo on CPU); rank 0 logs, checkpoints and exports.
"""
from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from ..bf16 import bf16_autocast, native_bf16
from ..context_coder import CONTEXT_FILE, ContextRangeCoder, fit_context_prior, save_context_prior
from ..entropy import fit_channel_prior
from ..export import export_onnx
from ..models import MODEL_FILE, ModelCard
from ..torch_adapters import with_onnx_generator
from .kmeans import kmeans_1d
from .losses import feature_matching_loss, lsgan_discriminator_loss, lsgan_generator_loss
from .rate import CountingRateModel
from .recipe import TrainConfig, TrainingRecipe

KMEANS_BATCHES = 20
PRIOR_BATCHES = 40


class Trainer:
    """Runs (or resumes) one training run of a recipe into ``cfg.out``."""

    def __init__(self, recipe: TrainingRecipe, cfg: TrainConfig) -> None:
        self.recipe, self.cfg = recipe, cfg
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("gloo")
        self.rank = dist.get_rank() if self.world > 1 else 0
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.bf16 = native_bf16() if cfg.bf16 is None else cfg.bf16
        torch.manual_seed(cfg.seed)
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.encoder, self.generator, self.discriminator = recipe.networks()
        channels = int(recipe.example_latent().shape[1])
        self.centers = torch.nn.Parameter(torch.linspace(0, 1, cfg.centers))
        self.rate = CountingRateModel(channels, cfg.centers, contexts=_rate_contexts(cfg.rate_model))
        g_params = [*self.encoder.parameters(), *self.generator.parameters(), self.centers]
        betas = (cfg.adam_beta1, 0.999)
        self.opt_g = torch.optim.Adam(g_params, lr=cfg.lr, betas=betas)
        self.opt_d = (torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr, betas=betas)
                      if self.discriminator is not None else None)
        self.step, self.wall, self.centers_ready = 0, 0.0, False
        if not self._resume() and cfg.init:
            self._warm_start(cfg.init)
        self._sync_parameters()

    # ----- phases -----------------------------------------------------------------------------
    def phase(self, step: int) -> str:
        if step < self.cfg.float_steps:
            return "float"
        return "soft" if step < self.cfg.float_steps + self.cfg.soft_steps else "hard"

    def temperature(self, step: int) -> float:
        frac = (step - self.cfg.float_steps) / max(self.cfg.soft_steps, 1)
        start = self.cfg.temperature_start
        return start + (self.cfg.temperature_max - start) * min(max(frac, 0.0), 1.0)

    def quantize(self, z: torch.Tensor, phase: str, temperature: float) -> torch.Tensor:
        """What the generator sees in ``phase``."""
        if phase == "float":
            return z
        dist2 = (z.unsqueeze(-1) - self.centers) ** 2
        hard = self.centers[dist2.argmin(-1)]
        if phase == "hard":
            return hard.detach()
        soft = (torch.softmax(-temperature * dist2, dim=-1) * self.centers).sum(-1)
        return soft + (hard - soft).detach()

    # ----- loop -------------------------------------------------------------------------------
    def _autocast(self) -> Any:
        return bf16_autocast(self.bf16)

    def _init_centers(self, batches: Any) -> None:
        if self.rank == 0:
            with torch.no_grad(), self._autocast():
                zs = [self.encoder(next(batches)).float().reshape(-1).numpy() for _ in range(KMEANS_BATCHES)]
            self.centers.data = torch.from_numpy(kmeans_1d(np.concatenate(zs), self.cfg.centers))
        if self.world > 1:
            dist.broadcast(self.centers.data, 0)
        self.rate.reset()
        self.centers_ready = True

    def gan_scale(self, step: int) -> float:
        """Share of ``adv_weight`` and ``fm_weight`` the generator feels at ``step`` (warm-up ramp)."""
        return min(1.0, step / self.cfg.gan_warmup_steps) if self.cfg.gan_warmup_steps > 0 else 1.0

    def _lr(self, step: int) -> float:
        start = int(self.cfg.lr_decay_from * self.cfg.steps)
        if step < start:
            return self.cfg.lr
        return self.cfg.lr * max(0.0, 1 - (step - start) / max(self.cfg.steps - start, 1))

    def train_step(self, x: torch.Tensor) -> dict[str, float]:
        """One generator (and discriminator) update; returns the logged terms."""
        cfg, phase = self.cfg, self.phase(self.step)
        temp = self.temperature(self.step)
        for opt in (self.opt_g, self.opt_d):
            if opt is not None:
                for group in opt.param_groups:
                    group["lr"] = self._lr(self.step)
        use_gan = self.discriminator is not None and cfg.adv_weight > 0
        with self._autocast():
            z = self.encoder(x)
            y = self.generator(self.quantize(z, phase, temp))
            rec, terms = self.recipe.reconstruction_loss(x, y)
            loss = rec
            if use_gan:
                fake = self.discriminator(y)
                with torch.no_grad():
                    real = self.discriminator(x)
                adv = lsgan_generator_loss(fake)
                fm = feature_matching_loss(real, fake)
                scale = self.gan_scale(self.step)
                loss = loss + scale * (cfg.adv_weight * adv + cfg.fm_weight * fm)
                terms.update(adv=float(adv.detach()), fm=float(fm.detach()), gan_scale=scale)
        if phase != "float":
            zf = z.float()
            with torch.no_grad():
                self.rate.observe(((zf.unsqueeze(-1) - self.centers) ** 2).argmin(-1))
                terms["bits"] = float(self.rate.bits(zf, self.centers, cfg.temperature_max))
            if phase == "soft" and cfg.rate_weight > 0:
                rate = self.rate.bits(zf, self.centers, temp)
                loss = loss + cfg.rate_weight * rate
                terms["rate_bits"] = float(rate.detach())
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self._average_gradients(self.opt_g)
        self.opt_g.step()
        if use_gan:
            with self._autocast():
                d_loss = lsgan_discriminator_loss(self.discriminator(x), self.discriminator(y.detach()))
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self._average_gradients(self.opt_d)
            self.opt_d.step()
            terms["d"] = float(d_loss.detach())
        terms.update(loss=float(loss.detach()), temperature=temp if phase == "soft" else 0.0)
        return terms

    def run(self) -> Path | None:
        """Train to ``cfg.steps`` (resuming if a checkpoint exists), then export on rank 0."""
        cfg = self.cfg
        batches = self.recipe.batches(cfg.seed + 1000 * self.step, self.rank, self.world)
        log = _CsvLog(self.out / "log.csv", self.step) if self.rank == 0 else None
        progress = _progress(self.rank == 0, cfg.steps, self.step)
        started = time.perf_counter()
        for module in (self.encoder, self.generator, self.discriminator):
            if module is not None:
                module.train()
        while self.step < cfg.steps:
            if self.phase(self.step) != "float" and not self.centers_ready:
                self._init_centers(batches)
            t0 = time.perf_counter()
            terms = self.train_step(next(batches))
            self.step += 1
            if log is not None and (self.step % cfg.log_every == 0 or self.step == cfg.steps):
                log.write({"step": self.step, "phase": self.phase(self.step - 1),
                           "sec_per_step": time.perf_counter() - t0, **terms})
            if progress is not None:
                progress.update(1)
                progress.set_postfix(phase=self.phase(self.step - 1), loss=f"{terms['loss']:.4f}", refresh=False)
            if self.step % cfg.checkpoint_every == 0 or self.step == cfg.steps:
                self.wall += time.perf_counter() - started
                started = time.perf_counter()
                self._checkpoint()
        if progress is not None:
            progress.close()
        if self.rank != 0:
            return None
        if not self.centers_ready:
            self._init_centers(batches)
        _plot(self.out / "log.csv", self.out / "loss.png")
        return self.export(self.out / "export")

    # ----- data parallel ----------------------------------------------------------------------
    def _sync_parameters(self) -> None:
        if self.world > 1:
            for module in (self.encoder, self.generator, self.discriminator):
                if module is not None:
                    for p in module.parameters():
                        dist.broadcast(p.data, 0)
            dist.broadcast(self.centers.data, 0)

    def _average_gradients(self, opt: torch.optim.Optimizer) -> None:
        if self.world == 1:
            return
        for group in opt.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                dist.all_reduce(p.grad)
                p.grad /= self.world

    # ----- checkpoints ------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        state = {
            "step": self.step, "wall": self.wall, "centers_ready": self.centers_ready,
            "encoder": self.encoder.state_dict(), "generator": self.generator.state_dict(),
            "centers": self.centers.data, "rate": self.rate.state_dict(), "opt_g": self.opt_g.state_dict(),
            "config": self.cfg.as_dict(),
        }
        if self.discriminator is not None:
            state.update(discriminator=self.discriminator.state_dict(), opt_d=self.opt_d.state_dict())
        return state

    def _checkpoint(self) -> None:
        if self.rank != 0:
            return
        tmp = self.out / "checkpoint.pt.tmp"
        torch.save(self._state(), tmp)
        os.replace(tmp, self.out / "checkpoint.pt")

    def _warm_start(self, path: str) -> None:
        """Copy the tensors of a checkpoint whose name and shape match (after the recipe's
        ``warm_start_state``) into the fresh networks. An exported ``sender.pt`` without a generator
        takes the generator's weights from the ``generator.onnx`` beside it."""
        state = with_onnx_generator(torch.load(path, weights_only=False), Path(path).parent / "generator.onnx")
        for module, key in ((self.encoder, "encoder"), (self.generator, "generator"), (self.discriminator, "discriminator")):
            if module is not None and key in state:
                own = module.state_dict()
                source = self.recipe.warm_start_state(key, module, state[key])
                own.update({k: v for k, v in source.items() if k in own and own[k].shape == v.shape})
                module.load_state_dict(own)
        keep = self.cfg.keep_centers
        if keep or (keep is None and self.phase(0) == "hard"):
            self._keep_exported_centers(Path(path).parent)

    def _keep_exported_centers(self, folder: Path) -> None:
        """Take the quantizer centers of the exported model in ``folder``, if it is one with as many
        centers as this run uses (a hard-phase run then trains the generator for that model's centers)."""
        if not (folder / MODEL_FILE).exists():
            return
        centers = getattr(ModelCard.load(folder).quantizer(), "centers", None)
        if centers is not None and len(centers) == self.cfg.centers:
            self.centers.data = torch.tensor(centers, dtype=torch.float32)
            self.centers_ready = True

    def _resume(self) -> bool:
        """Continue from ``out/checkpoint.pt`` if there is one; True if it did."""
        path = self.out / "checkpoint.pt"
        if not path.exists():
            return False
        state = torch.load(path, weights_only=False)
        self.encoder.load_state_dict(state["encoder"])
        self.generator.load_state_dict(state["generator"])
        self.centers.data = state["centers"]
        if "counts" in state["rate"]:  # runs from before session 11 kept learned logits: recount
            self.rate.load_state_dict(state["rate"])
        try:
            self.opt_g.load_state_dict(state["opt_g"])
        except ValueError:
            pass  # parameter groups changed (e.g. new options): restart the optimizer state
        if self.discriminator is not None and "discriminator" in state:
            self.discriminator.load_state_dict(state["discriminator"])
            self.opt_d.load_state_dict(state["opt_d"])
        self.step, self.wall, self.centers_ready = state["step"], state["wall"], state["centers_ready"]
        return True

    # ----- export -----------------------------------------------------------------------------
    def _prior_indices(self) -> list[np.ndarray]:
        """Hard indices (batch, channels, *spatial) of ``PRIOR_BATCHES`` fresh training batches."""
        batches = self.recipe.batches(self.cfg.seed + 99991)
        bounds = ((self.centers[1:] + self.centers[:-1]) / 2).detach()
        with torch.no_grad():
            return [torch.bucketize(self.encoder(next(batches)).float().contiguous(), bounds).numpy()
                    for _ in range(PRIOR_BATCHES)]

    def _priors(self) -> tuple[np.ndarray, np.ndarray]:
        """The per-channel table and the (left, top) context table of the range-context coder."""
        indices = self._prior_indices()
        return fit_channel_prior(indices, self.cfg.centers), fit_context_prior(indices, self.cfg.centers)

    def export(self, directory: Path) -> Path:
        """Write a complete model folder (model.json, context_prior.npy, generator.onnx computing in
        float32 on weights stored in float16, sender.pt with the encoder in float16: the sender reads the
        generator's weights from the ONNX file); the model codes with the range-context coder."""
        cfg = self.cfg
        directory.mkdir(parents=True, exist_ok=True)
        self.encoder.eval()
        self.generator.eval()
        model_id = cfg.model_id or f"{self.recipe.modality}-{self.out.name}"
        centers = np.sort(self.centers.detach().float().numpy())
        self.centers.data = torch.from_numpy(centers)
        torch.save({"encoder": _float16(self.encoder.state_dict())}, directory / "sender.pt")
        export_onnx(self.generator, self.recipe.example_latent(), directory / "generator.onnx",
                    {"bpgan.model": model_id, "bpgan.modality": self.recipe.modality}, float16_weights=True)
        prior, context_prior = self._priors()
        save_context_prior(directory / CONTEXT_FILE, context_prior)
        spec = {
            "format": 1, "id": model_id, "modality": self.recipe.modality,
            "latent_channels": self.rate.channels,
            "quantizer": {"name": "scalar", "params": {"centers": [float(c) for c in centers]}},
            "entropy_coder": {"name": ContextRangeCoder.name, "params": {"table": "model"}},
            "prior": prior.tolist(), "context_prior": CONTEXT_FILE,
            "generator": "generator.onnx", "sender": "sender.pt",
            "config": self.recipe.model_config(), "description": cfg.description,
            "training": {**cfg.as_dict(), "steps_done": self.step, "wall_seconds": round(self.wall, 1)},
        }
        (directory / "model.json").write_text(json.dumps(spec, indent=1))
        return directory


def _rate_contexts(rate_model: str) -> bool:
    """Whether ``rate_model`` counts per (left, top) context; rejects unknown names."""
    if rate_model not in ("channel", "context"):
        raise ValueError(f"rate_model must be 'channel' or 'context', got {rate_model!r}")
    return rate_model == "context"


def _float16(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Sender weights stored in float16 (half the file; loading casts them back to float32)."""
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


class _CsvLog:
    """Appends rows to a CSV file; a column that first appears later (a phase's terms) widens the file.

    Opened at ``resume_step``, it first drops the rows past that step: a run that died after its last
    checkpoint logged steps the resumed run trains again.
    """

    def __init__(self, path: Path, resume_step: int = 0) -> None:
        self.path = path
        self.fields: list[str] = []
        if path.exists():
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                rows = list(reader)
                self.fields = list(reader.fieldnames or [])
            kept = [r for r in rows if int(r["step"]) <= resume_step]
            if len(kept) < len(rows):
                self._rewrite(kept)

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        with open(self.path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.fields)
            w.writeheader()
            w.writerows(rows)

    def write(self, row: dict[str, Any]) -> None:
        values = {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
        new = [k for k in values if k not in self.fields]
        if new:
            rows = []
            if self.path.exists():
                with open(self.path, newline="") as f:
                    rows = list(csv.DictReader(f))
            self.fields += new
            self._rewrite([*rows, values])
            return
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.fields).writerow(values)


def _progress(enabled: bool, total: int, initial: int) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="step", mininterval=10)


def _plot(csv_path: Path, png_path: Path) -> None:
    """Loss curves from the CSV log (skipped when matplotlib is missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    if not csv_path.exists():
        return
    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    keys = [k for k in rows[0] if k not in ("step", "phase", "sec_per_step", "temperature") and rows[0][k] != ""]
    fig, ax = plt.subplots(figsize=(8, 4))
    steps = [int(r["step"]) for r in rows]
    for k in keys:
        vals = [float(r[k]) if r.get(k) not in (None, "") else np.nan for r in rows]
        ax.plot(steps, vals, label=k)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png_path, dpi=90)
    plt.close(fig)
