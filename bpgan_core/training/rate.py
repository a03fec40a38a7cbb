"""Rate models for training: running counts of the quantizer indices, as the entropy coder sees them.

Session 11 found that the earlier rate model, categorical logits learned by the generator's Adam at
the training learning rate, never left uniform (largest logit 0.24 after 1,800 steps, entropy
3.97-3.99 bits against the indices' 3.77): its rate term had no gradient. These models count instead:
an exponential moving average of index counts per channel (``contexts=False``, what the ``range``
coder's per-channel prior codes with) or per channel and (left, top) neighbour context (the
``range-context`` coder's table), smoothed towards the channel's marginal like ``fit_context_prior``.
"""
from __future__ import annotations

import torch

from ..context_coder import num_contexts, smoothed_counts
from ..soft_rate import context_ids, element_bits

DECAY = 0.99
"""Weight of the running counts at each ``observe`` (about the last 100 batches count)."""


class CountingRateModel(torch.nn.Module):
    """Bits of latent indices under running counts, per channel or per (channel, left, top) context."""

    def __init__(self, channels: int, symbols: int, contexts: bool = False) -> None:
        super().__init__()
        self.symbols, self.contexts = symbols, contexts
        rows = num_contexts(symbols) if contexts else 1
        self.register_buffer("counts", torch.zeros(channels, rows, symbols, dtype=torch.float64))

    @property
    def channels(self) -> int:
        return int(self.counts.shape[0])

    def reset(self) -> None:
        """Forget the counts (the centers, and so the indices' meaning, changed)."""
        self.counts.zero_()

    @torch.no_grad()
    def observe(self, indices: torch.Tensor) -> None:
        """Fold the hard indices (batch, channels, *spatial) of one batch into the running counts."""
        ctx = context_ids(indices, self.symbols, 2 if self.contexts else 0)
        planes = indices.reshape(ctx.shape)
        channel = torch.arange(self.channels).view(1, -1, 1, 1).expand_as(planes)
        flat = (channel * self.counts.shape[1] + ctx) * self.symbols + planes
        batch = torch.bincount(flat.reshape(-1), minlength=self.counts.numel()).view_as(self.counts)
        self.counts.mul_(DECAY).add_(batch.to(self.counts.dtype))

    def log2_probs(self) -> torch.Tensor:
        """log2 probabilities (channels, contexts, K) of the smoothed counts."""
        smoothed = smoothed_counts(self.counts)
        return torch.log2(smoothed / smoothed.sum(dim=2, keepdim=True)).float()

    def bits(self, z: torch.Tensor, centers: torch.Tensor, temperature: float) -> torch.Tensor:
        """Mean expected bits per latent element of ``z`` (batch, channels, *spatial) under soft
        assignment at ``temperature`` (see ``soft_rate.element_bits``); differentiable in ``z`` and
        ``centers``."""
        return element_bits(z, centers, self.log2_probs(), temperature).mean()
