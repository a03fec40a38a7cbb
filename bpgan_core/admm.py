"""Latent refinement through the frozen generator (sender side, torch).

Methods:
  none      transmit Proj_S(E(x)) (the "fast" effort).
  admm      BPGAN: Adam steps on F(x, G(z)) + rho/2 ||z - R + U||^2, R <- Proj_S(z + U), U <- U + z - R.
  backprop  Adam steps on F(x, G(z)) alone, then Proj_S.
  ste       Adam steps on F(x, G(Proj_S(z))) with a straight-through gradient.
With ``keep_best`` every iterate is scored by the loss of what would actually be sent,
F(x, G(Proj_S(z))), per item, and the best is transmitted: the stream always decodes to the
iterate that was scored (the encoder output included, so refinement never does worse than it).
With ``rate_weight`` lambda > 0 and a model prior, the objective becomes rate-distortion:
F + lambda * R, R = mean code length in bits per latent element under the prior (soft assignment
while optimising, exact for the scored hard indices).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from .interfaces import Generator, LossFn, Quantizer

METHODS = ("none", "admm", "backprop", "ste")

EFFORTS: dict[str, dict[str, Any]] = {
    "fast": {"method": "none"},
    "default": {"method": "ste", "iterations": 30},
    "best": {"method": "ste", "iterations": 120, "patience": 30},
}


@dataclass(frozen=True)
class RefineSettings:
    """Knobs of the refinement; ``from_effort`` builds them from a preset plus overrides."""

    method: str = "ste"
    iterations: int = 30
    lr: float = 0.02
    rho: float = 1e-3
    keep_best: bool = True
    patience: int | None = None
    bf16: bool = False
    """bf16 autocast where the CPU computes it natively; ignored elsewhere (emulated bf16 is ~100x slower)."""
    rate_weight: float = 0.0
    rate_temperature: float = 50.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown refinement method {self.method!r}; choose from {', '.join(METHODS)}")
        if self.iterations < 0 or self.lr <= 0 or self.rho < 0 or self.rate_weight < 0:
            raise ValueError("refinement needs iterations >= 0, lr > 0, rho >= 0 and rate_weight >= 0")

    @classmethod
    def from_effort(cls, effort: str, **overrides: Any) -> "RefineSettings":
        """Preset ``effort`` (see EFFORTS) with ``overrides`` applied; unknown keys raise."""
        if effort not in EFFORTS:
            raise ValueError(f"unknown effort {effort!r}; choose from {', '.join(EFFORTS)}")
        fields = set(cls.__dataclass_fields__)
        bad = set(overrides) - fields
        if bad:
            raise ValueError(f"unknown refinement options {sorted(bad)}; known: {sorted(fields)}")
        return replace(cls(), **{**EFFORTS[effort], **overrides})

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RefineResult:
    """What refinement sends: indices of the chosen iterate and how the loss evolved."""

    indices: np.ndarray
    initial_loss: float | None
    """Loss of the encoder's own choice; None when nothing was refined (it is then never computed)."""
    final_loss: float | None
    """Loss of what is sent; None when nothing was refined."""
    history: list[float] = field(default_factory=list)
    best_iteration: list[int] = field(default_factory=list)


def _rate_table(prior: np.ndarray | None, channels: int, symbols: int) -> Any:
    """log2 probabilities (channels, contexts, K) of a per-channel prior (broadcast to every channel)
    or of a neighbour context table; None without a prior."""
    from .soft_rate import log2_table

    if prior is None:
        return None
    p = np.asarray(prior)
    return log2_table(p if p.ndim == 3 else np.broadcast_to(p, (channels, symbols)))


class LatentAdam:
    """Adam (Kingma and Ba; torch.optim.Adam's update with its default betas and eps) on one tensor.

    Written out because creating any ``torch.optim`` optimizer imports ``torch._dynamo`` first, about
    1.4 s of every encoding process on our 2-core machine, a seventh of the encode budget.
    """

    def __init__(self, param: Any, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        import torch

        self.param, self.lr, self.betas, self.eps, self.steps = param, lr, betas, eps, 0
        self.m, self.v = torch.zeros_like(param), torch.zeros_like(param)

    def zero_grad(self) -> None:
        """Drop the parameter's gradient."""
        self.param.grad = None

    def step(self) -> None:
        """One update from the parameter's current gradient."""
        import torch

        (b1, b2), grad = self.betas, self.param.grad
        self.steps += 1
        with torch.no_grad():
            self.m.mul_(b1).add_(grad, alpha=1 - b1)
            self.v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            denom = (self.v.sqrt() / math.sqrt(1 - b2 ** self.steps)).add_(self.eps)
            self.param.addcdiv_(self.m, denom, value=-self.lr / (1 - b1 ** self.steps))


def refine(
    x: Any, z0: Any, generator: Generator, loss_fn: LossFn, quantizer: Quantizer, settings: RefineSettings,
    prior: np.ndarray | None = None,
) -> RefineResult:
    """Refine latents ``z0`` (batch, C, ...) for targets ``x`` and return the quantized choice.

    ``prior`` (integer frequencies per channel and symbol, or the ``range-context`` coder's table per
    channel and neighbour context) enables the rate term of ``rate_weight``: bits as that coder
    counts them.
    """
    import torch

    from .bf16 import bf16_autocast, native_bf16
    from .soft_rate import element_bits

    costs = _rate_table(prior, z0.shape[1], quantizer.num_symbols) if settings.rate_weight > 0 else None
    centers = torch.as_tensor(quantizer.centers)

    def autocast() -> Any:
        return bf16_autocast(settings.bf16 and native_bf16())

    def hard_bits(z: Any) -> Any:
        return element_bits(z, centers, costs, None).flatten(1).mean(1)

    def soft_bits(z: Any) -> Any:
        return element_bits(z, centers, costs, settings.rate_temperature).flatten(1).mean(1)

    def sent_loss(z: Any) -> Any:
        with torch.no_grad(), autocast():
            value = loss_fn(x, generator.generate(quantizer.project(z))).float()
        return value if costs is None else value + settings.rate_weight * hard_bits(z)

    z0 = z0.detach().float()
    if settings.method == "none" or settings.iterations == 0:  # nothing to compare: skip the scoring pass
        indices = quantizer.indices(z0).cpu().numpy().astype(np.int64)
        return RefineResult(indices, None, None, [], [0] * len(z0))
    best_z = quantizer.project(z0)
    best_loss = sent_loss(z0)
    initial = float(best_loss.mean())
    best_iter = torch.zeros(len(z0), dtype=torch.long)
    history = [initial]
    z = z0.clone().requires_grad_(True)
    opt = LatentAdam(z, lr=settings.lr)
    r = quantizer.project(z0)
    u = torch.zeros_like(z0)
    stale = 0
    for it in range(1, settings.iterations + 1):
        opt.zero_grad()
        with autocast():
            if settings.method == "ste":
                zq = z + (quantizer.project(z.detach()) - z.detach())
                per_item = loss_fn(x, generator.generate(zq)).float()
            else:
                per_item = loss_fn(x, generator.generate(z)).float()
        objective = per_item.sum()
        if costs is not None:
            objective = objective + settings.rate_weight * soft_bits(z).sum()
        if settings.method == "admm":
            objective = objective + settings.rho / 2 * ((z - r + u) ** 2).sum()
        objective.backward()
        opt.step()
        with torch.no_grad():
            if settings.method == "admm":
                r = quantizer.project(z + u)
                u = u + z - r
            scored = settings.keep_best or it == settings.iterations or costs is not None
            current = sent_loss(z) if scored else per_item.detach()
            history.append(float(current.mean()))
            improved = current < best_loss if settings.keep_best else torch.ones_like(current, dtype=torch.bool)
            if improved.any():
                mask = improved.view(-1, *([1] * (z.dim() - 1)))
                best_z = torch.where(mask, quantizer.project(z.detach()), best_z)
                best_loss = torch.where(improved, current, best_loss)
                best_iter = torch.where(improved, torch.full_like(best_iter, it), best_iter)
                stale = 0
            else:
                stale += 1
        if settings.patience is not None and stale >= settings.patience:
            break
    indices = quantizer.indices(best_z).cpu().numpy().astype(np.int64)
    return RefineResult(indices, initial, float(best_loss.mean()), history, best_iter.tolist())
