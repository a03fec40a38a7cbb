"""What a modality hands the generic trainer, and the trainer's settings."""
from __future__ import annotations

import argparse
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterator


@dataclass
class TrainConfig:
    """Settings of one training run; every field is also a ``bpgan train`` option."""

    out: str = "runs/model"
    steps: int = 20000
    float_steps: int = 4000
    soft_steps: int = 10000
    batch_size: int = 8
    lr: float = 2e-4
    lr_decay_from: float = 0.7
    adam_beta1: float = 0.5
    centers: int = 16
    temperature_start: float = 1.0
    """Temperature at which the soft phase starts; it rises linearly to ``temperature_max``. Set both
    equal to fine-tune encoder and generator jointly at one temperature (straight-through, as the end
    of a soft phase does)."""
    temperature_max: float = 100.0
    adv_weight: float = 0.0
    fm_weight: float = 0.0
    gan_warmup_steps: int = 0
    """Steps over which the generator's adversarial and feature-matching weights ramp linearly from 0
    to ``adv_weight`` / ``fm_weight``; the discriminator trains from the first step, so a run warm-started
    from a non-adversarial model does not follow the gradients of an untrained discriminator."""
    rate_weight: float = 0.0
    rate_model: str = "channel"
    """What the rate term counts: "channel" (indices per channel, the ``range`` coder's prior) or
    "context" (per channel and (left, top) neighbours, the ``range-context`` coder's table)."""
    seed: int = 0
    checkpoint_every: int = 250
    log_every: int = 25
    bf16: bool | None = None
    """bf16 autocast; None: on only where the CPU computes bf16 natively (AVX512-BF16 or AMX, as
    oneDNN reports). Measured: 2-2.5x faster than float32 on such a CPU, 100x slower on an AVX2 one."""
    threads: int = 0
    model_id: str = ""
    init: str = ""
    """A checkpoint.pt, or an exported model's sender.pt, whose tensors of matching name and shape start
    a new run (warm start, e.g. from a model of another rate); ignored when the run resumes from its own
    checkpoint. Whether an exported model's centers are kept: ``keep_centers``."""
    keep_centers: bool | None = None
    """Whether an ``--init`` from an exported model keeps that model's centers (model.json) instead of
    fitting new ones by k-means when quantization starts; None: only when the run has no float or soft
    steps (it then fine-tunes that model's generator for the centers its streams use)."""
    description: str = ""

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, **defaults: Any) -> None:
        """Add one ``--option`` per field (``defaults`` override the dataclass defaults)."""
        for f in fields(cls):
            default = defaults.get(f.name, f.default)
            flag = "--" + f.name.replace("_", "-")
            if f.type in ("bool", bool, "bool | None"):
                parser.add_argument(flag, default=default, action=argparse.BooleanOptionalAction)
            else:
                kind = {"int": int, "float": float, "str": str}[str(f.type)]
                parser.add_argument(flag, type=kind, default=default)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "TrainConfig":
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TrainingRecipe(ABC):
    """The modality-specific half of training."""

    modality: str = ""

    @abstractmethod
    def networks(self) -> tuple[Any, Any, Any]:
        """(encoder, generator, discriminator or None) as fresh torch modules.

        The discriminator returns, for a batch, a list over scales of lists of feature maps whose
        last entry is the patch prediction.
        """

    @abstractmethod
    def batches(self, seed: int, rank: int = 0, world: int = 1) -> Iterator[Any]:
        """An endless iterator of training batches (float tensors in model space)."""

    @abstractmethod
    def reconstruction_loss(self, x: Any, y: Any) -> tuple[Any, dict[str, float]]:
        """(scalar loss, named terms to log) of a reconstruction ``y`` of ``x``."""

    @abstractmethod
    def model_config(self) -> dict[str, Any]:
        """The ``config`` block of model.json (what the preprocessor and loader need)."""

    @abstractmethod
    def example_latent(self) -> Any:
        """A latent batch (1, C, ...) used to trace the generator for ONNX export."""

    def warm_start_state(self, name: str, module: Any, state: dict[str, Any]) -> dict[str, Any]:
        """The tensors of network ``name`` ("encoder", "generator", "discriminator") of an ``--init``
        checkpoint, mapped onto ``module``; unchanged by default (a modality may grow its networks here)."""
        return state

    def validation_batches(self) -> list[Any]:
        """Fixed batches scored at checkpoints; empty by default."""
        return []
