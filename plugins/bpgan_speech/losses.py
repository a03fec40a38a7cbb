"""The spectral reconstruction loss of the speech codec (torch), used in training and refinement."""
from __future__ import annotations

import torch


def spectral_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-item loss (batch,) of a reconstruction ``y`` of normalized log-mel chunks ``x`` (batch, mels, frames).

    L1 + MSE on the normalized log-mel plus half the L1 of its slopes along frequency, which keeps
    the harmonic detail that plain L1/MSE smooths away.
    """
    d = (y - x).float()
    df = d[:, 1:] - d[:, :-1]
    return d.abs().flatten(1).mean(1) + (d**2).flatten(1).mean(1) + 0.5 * df.abs().flatten(1).mean(1)
