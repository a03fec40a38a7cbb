"""A synthetic test picture made in code: smooth gradients, shapes, stripes and texture."""
from __future__ import annotations

import numpy as np


def synthetic_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A deterministic uint8 RGB picture of ``height`` x ``width`` pixels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    img = np.stack([0.2 + 0.6 * u, 0.3 + 0.5 * v * (1 - u), 0.8 - 0.5 * v], axis=-1)  # sky-like gradients
    disc = (x - 0.3 * width) ** 2 + (y - 0.4 * height) ** 2 < (0.18 * min(height, width)) ** 2
    img[disc] = (0.9, 0.75, 0.2)
    box = (np.abs(x - 0.7 * width) < 0.15 * width) & (np.abs(y - 0.6 * height) < 0.2 * height)
    img[box] = np.stack([0.25 + 0.2 * np.sin(x[box] / 3.0)] * 3, axis=-1) * (0.6, 0.9, 0.5)  # striped box
    ground = y > 0.8 * height
    img[ground] = img[ground] * 0.5 + rng.uniform(0.0, 0.3, (int(ground.sum()), 3))  # noisy texture
    img += 0.02 * np.sin(u[..., None] * 40.0 + v[..., None] * 25.0)  # faint ripples
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
