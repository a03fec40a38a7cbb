"""One-dimensional k-means for scalar quantizer centers."""
from __future__ import annotations

import numpy as np


def kmeans_1d(values: np.ndarray, k: int, iterations: int = 50) -> np.ndarray:
    """Sorted, distinct centers of ``values`` by Lloyd's algorithm from quantile initialisation."""
    v = np.sort(np.asarray(values, dtype=np.float64).reshape(-1))
    if v.size == 0:
        raise ValueError("k-means needs values")
    centers = np.quantile(v, (np.arange(k) + 0.5) / k)
    for _ in range(iterations):
        bounds = (centers[1:] + centers[:-1]) / 2
        label = np.searchsorted(bounds, v)
        sums = np.bincount(label, weights=v, minlength=k)
        counts = np.bincount(label, minlength=k)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), centers)
        if np.allclose(new, centers):
            break
        centers = new
    centers = np.sort(centers)
    spread = max(float(v[-1] - v[0]), 1e-3)
    for i in range(1, k):  # keep centers distinct
        centers[i] = max(centers[i], centers[i - 1] + 1e-4 * spread)
    return centers.astype(np.float32)
