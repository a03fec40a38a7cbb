"""Scalar quantizers: hard projection onto centers (numpy, receiver-safe) and soft quantization (torch)."""
from __future__ import annotations

from typing import Any

import numpy as np

from .interfaces import Quantizer


class ScalarQuantizer(Quantizer):
    """Non-uniform scalar quantizer over a sorted set of centers (e.g. from k-means)."""

    name = "scalar"

    def __init__(self, centers: Any) -> None:
        c = np.asarray(centers, dtype=np.float32).reshape(-1)
        if c.size < 1 or not np.all(np.isfinite(c)):
            raise ValueError("a quantizer needs at least one finite center")
        c = np.sort(c)
        if np.any(np.diff(c) <= 0):
            raise ValueError("quantizer centers must be distinct")
        self._centers = c
        self._bounds = (c[1:] + c[:-1]) / 2

    @property
    def centers(self) -> np.ndarray:
        return self._centers

    def indices(self, z: Any) -> Any:
        if _is_tensor(z):
            import torch

            bounds = torch.as_tensor(self._bounds, device=z.device, dtype=z.dtype)
            return torch.bucketize(z.contiguous(), bounds)
        return np.searchsorted(self._bounds, np.asarray(z, dtype=np.float32), side="left").astype(np.int64)

    def dequantize(self, idx: Any) -> Any:
        if _is_tensor(idx):
            import torch

            return torch.as_tensor(self._centers, device=idx.device)[idx]
        idx = np.asarray(idx)
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_symbols):
            raise ValueError(f"quantizer index out of range 0..{self.num_symbols - 1}")
        return self._centers[idx]

    def soft(self, z: Any, temperature: float, centers: Any = None) -> Any:
        """Straight-through soft quantization: hard values forward, softmax(-T (z - c)^2) gradients back.

        ``centers`` may be a trainable torch tensor; by default the quantizer's own centers are used.
        """
        import torch

        c = torch.as_tensor(self._centers, device=z.device, dtype=z.dtype) if centers is None else centers
        dist = (z.unsqueeze(-1) - c) ** 2
        weights = torch.softmax(-temperature * dist, dim=-1)
        soft = (weights * c).sum(-1)
        hard = c[dist.argmin(-1)]
        return soft + (hard - soft).detach()

    def params(self) -> dict[str, Any]:
        return {"centers": [float(v) for v in self._centers]}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "ScalarQuantizer":
        return cls(params["centers"])


class UniformQuantizer(ScalarQuantizer):
    """Uniform scalar quantizer with ``levels`` centers evenly spread over [low, high]."""

    name = "uniform"

    def __init__(self, low: float = 0.0, high: float = 1.0, levels: int = 16) -> None:
        if levels < 1 or not high > low:
            raise ValueError("a uniform quantizer needs levels >= 1 and high > low")
        self.low, self.high, self.levels = float(low), float(high), int(levels)
        super().__init__(np.linspace(low, high, levels) if levels > 1 else [low])

    def params(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "levels": self.levels}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "UniformQuantizer":
        return cls(params["low"], params["high"], params["levels"])


def _is_tensor(x: Any) -> bool:
    return type(x).__module__.startswith("torch")
