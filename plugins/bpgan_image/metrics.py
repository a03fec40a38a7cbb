"""Image quality metrics on uint8 RGB arrays (H x W x 3)."""

from __future__ import annotations

import numpy as np

MS_SSIM_MIN_SIDE = 161
"""MS-SSIM (5 scales, 11-px window) needs a shorter side above 160 px; smaller images get SSIM."""


def _check_pair(original: np.ndarray, decoded: np.ndarray) -> None:
    if original.shape != decoded.shape:
        raise ValueError(f"shape mismatch: original {original.shape}, decoded {decoded.shape}")


def psnr(original: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB over all pixels and the three channels, peak 255; inf for identical images."""
    _check_pair(original, decoded)
    mse = np.mean((original.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def ssim_metric(original: np.ndarray, decoded: np.ndarray) -> tuple[str, float]:
    """``("ms_ssim", value)``, or ``("ssim", value)`` (single scale) when the shorter side is under 161 px.

    Computed with pytorch_msssim on RGB, data range 255, Gaussian window 11 / sigma 1.5.
    """
    import torch
    from pytorch_msssim import ms_ssim, ssim

    _check_pair(original, decoded)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))).float().unsqueeze(0)

    x, y = tensor(original), tensor(decoded)
    with torch.no_grad():
        if min(original.shape[:2]) >= MS_SSIM_MIN_SIDE:
            return "ms_ssim", float(ms_ssim(x, y, data_range=255.0))
        return "ssim", float(ssim(x, y, data_range=255.0))
