"""A learned factorized rate model: one categorical distribution per latent channel."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch


class ChannelRateModel(torch.nn.Module):
    """Per-channel categorical over quantizer centers; estimates bits of soft-assigned latents."""

    def __init__(self, channels: int, symbols: int) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(torch.zeros(channels, symbols))

    def bits(self, z: Any, centers: Any, temperature: float) -> Any:
        """Expected code length in bits per latent element under soft assignment (differentiable)."""
        dist = (z.unsqueeze(-1) - centers) ** 2  # (B, C, ..., K)
        weights = torch.softmax(-temperature * dist, dim=-1)
        logp = torch.log_softmax(self.logits, dim=-1)  # (C, K)
        shape = [1, logp.shape[0]] + [1] * (z.dim() - 2) + [logp.shape[1]]
        return -(weights * logp.view(shape)).sum(-1).mean() / float(np.log(2))

    def frequency_counts(self) -> np.ndarray:
        """Probabilities as a (C, K) array."""
        return torch.softmax(self.logits.detach().float(), dim=-1).numpy()
