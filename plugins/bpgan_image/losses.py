"""Image distortion losses (torch): MSE and MS-SSIM in model space ([-0.5, 0.5] RGB)."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_msssim.ssim import _fspecial_gauss_1d, _ssim

MS_SSIM_MIN_SIDE = 161
"""The standard 5-scale MS-SSIM with an 11-px window needs a shorter side above 160 px."""
WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
FLOOR = 1e-4
"""Similarity terms are floored here (pytorch_msssim uses relu, whose 0 ** w has an infinite gradient)."""


def _ms_ssim(a: torch.Tensor, b: torch.Tensor, win_size: int, levels: int) -> torch.Tensor:
    """MS-SSIM per item of images in [0, 1], following pytorch_msssim with floored terms."""
    win = _fspecial_gauss_1d(win_size, 1.5).to(a).repeat([a.shape[1], 1, 1, 1])
    weights = torch.tensor(WEIGHTS[-levels:] if levels < len(WEIGHTS) else WEIGHTS, dtype=a.dtype)
    weights = weights / weights.sum()
    terms = []
    for i in range(levels):
        ssim_c, cs = _ssim(a, b, win=win, data_range=1.0, size_average=False, K=(0.01, 0.03))
        if i < levels - 1:
            terms.append(cs.clamp_min(FLOOR))
            pad = [s % 2 for s in a.shape[2:]]
            a, b = F.avg_pool2d(a, 2, padding=pad), F.avg_pool2d(b, 2, padding=pad)
    terms.append(ssim_c.clamp_min(FLOOR))
    return torch.prod(torch.stack(terms) ** weights.view(-1, 1, 1), dim=0).mean(1)


def ms_ssim_per_item(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """MS-SSIM of each item (batch,), in float32.

    Sides of 161 px and more: the standard 5 scales, 11-px window. 97 to 160 px (training crops):
    5 scales with a 7-px window. Smaller: fewer scales (renormalised weights) and a window that fits.
    """
    a, b = ((t.float() + 0.5).contiguous(memory_format=torch.channels_last) for t in (x, y))
    side = min(x.shape[-2:])
    if side >= MS_SSIM_MIN_SIDE:
        win, levels = 11, 5
    elif side > 96:
        win, levels = 7, 5
    else:
        win, levels = (11 if side >= 11 else 3), max(1, min(5, int(np.log2(side / 11.0)) + 1))
    with torch.autocast("cpu", enabled=False):  # variances in bf16 cancel catastrophically
        return _ms_ssim(a, b, win, levels)


def mse_per_item(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each item (batch,), in float32."""
    return ((x.float() - y.float()) ** 2).flatten(1).mean(1)


class RefinementLoss:
    """The paper's image refinement loss, per item: (1 - MS-SSIM) + alpha * MSE (pixels in [0, 1])."""

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (1 - ms_ssim_per_item(x, y)) + self.alpha * mse_per_item(x, y)
