"""Code length of latents under an entropy coder's table, differentiable for training and refinement.

A table holds log2 probabilities shaped (channels, contexts, K). One context is the ``range``
coder's per-channel prior; (K + 1) ** 2 contexts are the ``range-context`` coder's (left, top)
neighbour table (context ``left * (K + 1) + top``, K standing for "outside the plane"). Contexts are
taken from the hard indices of the neighbours, as the coder sees them; the element's own symbol is
soft-assigned, ``softmax(-temperature (z - c)^2)``, so the bits have a gradient in ``z``. Sender side
only (torch).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .context_coder import num_contexts, plane_shape


def context_ids(indices: torch.Tensor, num_symbols: int, contexts: bool) -> torch.Tensor:
    """Context id per element, shaped (batch, channels, rows, cols); all zero without contexts."""
    planes = indices.reshape(plane_shape(tuple(indices.shape)))
    if not contexts:
        return torch.zeros_like(planes)
    padded = F.pad(planes, (1, 0, 1, 0), value=num_symbols)
    return padded[:, :, 1:, :-1] * (num_symbols + 1) + padded[:, :, :-1, 1:]


def log2_table(prior: np.ndarray) -> torch.Tensor:
    """log2 probabilities (channels, contexts, K) of an integer prior: (channels, K) per channel or
    (channels, (K + 1) ** 2, K) with contexts."""
    p = np.asarray(prior, dtype=np.float64)
    if p.ndim == 2:
        p = p[:, None, :]
    if p.ndim != 3 or p.shape[1] not in (1, num_contexts(p.shape[2])) or np.any(p <= 0):
        raise ValueError(f"a rate table is (channels, K) or (channels, (K + 1) ** 2, K) of positive counts, got {p.shape}")
    return torch.from_numpy(np.log2(p / p.sum(axis=2, keepdims=True))).float()


def element_bits(z: torch.Tensor, centers: torch.Tensor, table: torch.Tensor, temperature: float | None) -> torch.Tensor:
    """Bits per latent element (batch, channels, rows, cols) of ``z`` (batch, channels, *spatial) under
    ``table`` (see ``log2_table``): expected under soft assignment at ``temperature``, or the hard
    indices' exact cost when ``temperature`` is None."""
    k = table.shape[2]
    dist2 = (z.unsqueeze(-1) - centers) ** 2
    hard = dist2.detach().argmin(-1)
    ctx = context_ids(hard, k, contexts=table.shape[1] > 1)
    channel = torch.arange(table.shape[0]).view(1, -1, 1, 1)
    cost = -table[channel, ctx]  # (batch, channels, rows, cols, K)
    if temperature is None:
        return cost.gather(-1, hard.reshape(ctx.shape).unsqueeze(-1)).squeeze(-1)
    weights = torch.softmax(-temperature * dist2, dim=-1)
    return (weights.reshape(cost.shape) * cost).sum(-1)
