"""Code length of latents under an entropy coder's table, differentiable for training and refinement.

A table holds log2 probabilities shaped (channels, contexts, K). One context is the ``range``
coder's per-channel prior; (K + 1) ** 2 or (K + 1) ** 3 contexts are the ``range-context`` coder's
(left, top) or (left, top, top-left) neighbour table (see ``context_coder``). Contexts are
taken from the hard indices of the neighbours, as the coder sees them; the element's own symbol is
soft-assigned, ``softmax(-temperature (z - c)^2)``, so the bits have a gradient in ``z``. Sender side
only (torch).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .context_coder import context_ids_at, plane_shape, table_neighbours


def context_ids(indices: torch.Tensor, num_symbols: int, neighbours: int) -> torch.Tensor:
    """Context id per element, shaped (batch, channels, rows, cols), from ``neighbours`` (0, 2 or 3)
    causal neighbours; all zero without neighbours."""
    planes = indices.reshape(plane_shape(tuple(indices.shape)))
    if not neighbours:
        return torch.zeros_like(planes)
    padded = F.pad(planes, (1, 0, 1, 0), value=num_symbols)
    r, c = (torch.from_numpy(a) for a in np.indices(planes.shape[2:]))
    return context_ids_at(padded, r, c, num_symbols, neighbours)


def log2_table(prior: np.ndarray) -> torch.Tensor:
    """log2 probabilities (channels, contexts, K) of an integer prior: (channels, K) per channel or
    (channels, (K + 1) ** n, K) with n = 2 or 3 neighbours."""
    p = np.asarray(prior, dtype=np.float64)
    if p.ndim == 2:
        p = p[:, None, :]
    if p.ndim != 3 or np.any(p <= 0):
        raise ValueError(f"a rate table is (channels, K) or (channels, contexts, K) of positive counts, got {p.shape}")
    table_neighbours(p.shape[1], p.shape[2])
    return torch.from_numpy(np.log2(p / p.sum(axis=2, keepdims=True))).float()


def element_bits(z: torch.Tensor, centers: torch.Tensor, table: torch.Tensor, temperature: float | None) -> torch.Tensor:
    """Bits per latent element (batch, channels, rows, cols) of ``z`` (batch, channels, *spatial) under
    ``table`` (see ``log2_table``): expected under soft assignment at ``temperature``, or the hard
    indices' exact cost when ``temperature`` is None."""
    k = table.shape[2]
    dist2 = (z.unsqueeze(-1) - centers) ** 2
    hard = dist2.detach().argmin(-1)
    ctx = context_ids(hard, k, table_neighbours(table.shape[1], k))
    channel = torch.arange(table.shape[0]).view(1, -1, 1, 1)
    cost = -table[channel, ctx]  # (batch, channels, rows, cols, K)
    if temperature is None:
        return cost.gather(-1, hard.reshape(ctx.shape).unsqueeze(-1)).squeeze(-1)
    weights = torch.softmax(-temperature * dist2, dim=-1)
    return (weights.reshape(cost.shape) * cost).sum(-1)
