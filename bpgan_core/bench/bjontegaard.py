"""Bjontegaard deltas between rate-distortion curves, and interpolation at fixed rates.

Curves are given as rates and quality values (higher is better), one pair per operating point.
Integration follows the usual Bjontegaard method in the log-rate domain, with either a
piecewise-cubic Hermite interpolant ("pchip", as in current JVET/AOM practice) or a cubic
polynomial fit ("cubic", the original VCEG-M33 method).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MIN_POINTS = 3
METHODS = ("pchip", "cubic")


class BjontegaardError(ValueError):
    """The curves do not allow a Bjontegaard delta (too few points, not monotonic, no overlap)."""


def _curve(rates: Sequence[float], quality: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Validated (log rate, quality) sorted by rate; both must increase strictly."""
    r = np.asarray(rates, dtype=float)
    q = np.asarray(quality, dtype=float)
    if r.shape != q.shape or r.ndim != 1:
        raise BjontegaardError("rates and quality must be 1-D sequences of equal length")
    if len(r) < MIN_POINTS:
        raise BjontegaardError(f"need at least {MIN_POINTS} points, got {len(r)}")
    if not (np.all(np.isfinite(r)) and np.all(np.isfinite(q)) and np.all(r > 0)):
        raise BjontegaardError("rates must be positive and all values finite")
    order = np.argsort(r)
    r, q = r[order], q[order]
    if np.any(np.diff(r) <= 0):
        raise BjontegaardError("rates must be distinct")
    if np.any(np.diff(q) <= 0):
        raise BjontegaardError("quality does not increase strictly with rate (non-monotonic curve)")
    return np.log(r), q


def _mean_over(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: str) -> float:
    """Mean of the interpolant of y(x) over [lo, hi]."""
    if method == "pchip":
        from scipy.interpolate import PchipInterpolator

        integral = PchipInterpolator(x, y).integrate(lo, hi)
    elif method == "cubic":
        antiderivative = np.polyint(np.polyfit(x, y, 3))
        integral = np.polyval(antiderivative, hi) - np.polyval(antiderivative, lo)
    else:
        raise ValueError(f"unknown method {method!r}; use one of {METHODS}")
    return float(integral) / (hi - lo)


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    if lo >= hi:
        raise BjontegaardError("the curves do not overlap")
    return lo, hi


def bd_rate(
    anchor_rates: Sequence[float],
    anchor_quality: Sequence[float],
    test_rates: Sequence[float],
    test_quality: Sequence[float],
    method: str = "pchip",
) -> float:
    """Average rate difference of test vs anchor at equal quality, in percent (negative: test saves rate)."""
    log_ra, qa = _curve(anchor_rates, anchor_quality)
    log_rt, qt = _curve(test_rates, test_quality)
    lo, hi = _overlap(qa, qt)
    diff = _mean_over(qt, log_rt, lo, hi, method) - _mean_over(qa, log_ra, lo, hi, method)
    return (float(np.exp(diff)) - 1.0) * 100.0


def bd_quality(
    anchor_rates: Sequence[float],
    anchor_quality: Sequence[float],
    test_rates: Sequence[float],
    test_quality: Sequence[float],
    method: str = "pchip",
) -> float:
    """Average quality difference of test vs anchor at equal rate (e.g. BD-PSNR in dB)."""
    log_ra, qa = _curve(anchor_rates, anchor_quality)
    log_rt, qt = _curve(test_rates, test_quality)
    lo, hi = _overlap(log_ra, log_rt)
    return _mean_over(log_rt, qt, lo, hi, method) - _mean_over(log_ra, qa, lo, hi, method)


def quality_at_rate(rates: Sequence[float], quality: Sequence[float], rate: float) -> float | None:
    """Quality interpolated (pchip in log rate) at ``rate``; None outside the measured rate range.

    Only the rates must increase strictly; quality may be non-monotonic.
    """
    r = np.asarray(rates, dtype=float)
    q = np.asarray(quality, dtype=float)
    order = np.argsort(r)
    r, q = r[order], q[order]
    if len(r) == 0 or np.any(np.diff(r) <= 0) or np.any(r <= 0):
        raise BjontegaardError("rates must be positive and distinct")
    if not r[0] <= rate <= r[-1]:
        return None
    if len(r) == 1:
        return float(q[0])
    from scipy.interpolate import PchipInterpolator

    return float(PchipInterpolator(np.log(r), q)(np.log(rate)))
