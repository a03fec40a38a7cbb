"""GAN losses of BPGAN: least-squares adversarial terms and discriminator feature matching."""
from __future__ import annotations

from typing import Any


def lsgan_discriminator_loss(real: list[list[Any]], fake: list[list[Any]]) -> Any:
    """Mean over scales of (D(x) - 1)^2 + D(G(z))^2."""
    terms = [((r[-1] - 1) ** 2).mean() + (f[-1] ** 2).mean() for r, f in zip(real, fake)]
    return sum(terms) / len(terms)


def lsgan_generator_loss(fake: list[list[Any]]) -> Any:
    """Mean over scales of (D(G(z)) - 1)^2."""
    return sum(((f[-1] - 1) ** 2).mean() for f in fake) / len(fake)


def feature_matching_loss(real: list[list[Any]], fake: list[list[Any]]) -> Any:
    """L1 between discriminator features of real and generated signals, averaged over layers and scales."""
    total, n = 0.0, 0
    for r_scale, f_scale in zip(real, fake):
        for r, f in zip(r_scale[:-1], f_scale[:-1]):
            total = total + (r.detach() - f).abs().mean()
            n += 1
    return total / max(n, 1)
