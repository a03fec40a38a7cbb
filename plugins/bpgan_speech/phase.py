"""STFT helpers and phase reconstruction: PGHI and fast Griffin-Lim.

Pure numpy/scipy. Every spectrogram in this module is laid out *time-major*,
shape ``(frames, bins)`` with ``bins = n_fft // 2 + 1``, because that keeps each
frame contiguous for the FFTs. The public mel API in :mod:`bpgan_speech.dsp`
uses the librosa layout ``(n_mels, frames)`` and transposes at its boundary.

Conventions
-----------
* The STFT is *centered*: frame ``t`` is centered on sample ``t * hop`` of the
  signal, which is zero-padded by ``n_fft // 2`` on both sides, so a signal of
  ``n`` samples has ``1 + n // hop`` frames (as ``librosa.stft(center=True,
  pad_mode="constant")``).
* The analysis and synthesis window is the periodic Hann window of length
  ``n_fft``; ``n_fft`` must be an even multiple of ``hop``.
* Phases are in the plain FFT convention (phase referenced to the first sample
  of each frame), i.e. exactly the angle of :func:`stft`'s output.

PGHI
----
Phase-gradient heuristic integration (Prusa, Balazs & Sondergaard, "A
noniterative method for reconstruction of phase from STFT magnitude", IEEE/ACM
TASLP 2017; real-time variant: Prusa & Holighaus, EUSIPCO 2017). For a Gaussian
window ``exp(-pi t^2 / lam)`` the phase gradient of the STFT follows from the
gradient of the log-magnitude ``s``; with the phase referenced to the window
centre, per hop ``a``, FFT size ``N`` and bin ``m``:

* phase advance from a frame to the next: ``a N / lam * ds/dm + 2 pi a m / N``
* phase increment from a bin to the next: ``-lam / (a N) * ds/dn``

The Hann window is treated as a Gaussian with ``lam = 0.25645 * N**2``. The
gradients are integrated with the trapezoidal rule along the order in which a
max-heap on magnitude visits the coefficients, so phase always flows from
strong coefficients to weaker ones. Two integrators:

* ``method="frames"`` (default): the per-frame heap of the real-time variant
  (frame ``n`` integrated from frame ``n - 1``), computed with vectorized
  sweeps; a few ms per second of audio.
* ``method="heap"``: the literal offline heap algorithm of the paper in pure
  Python (``heapq``); about 10x slower, kept as a reference.

Fast Griffin-Lim
----------------
Perraudin, Balazs & Sondergaard, "A fast Griffin-Lim algorithm" (WASPAA 2013)::

    t_n = P_mag(P_consistent(c_{n-1}))
    c_n = t_n + alpha * (t_n - t_{n-1})

started from the PGHI phase; the result is the last ``t_n``.
"""
from __future__ import annotations

import functools
import heapq

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "HANN_GAUSSIAN_LAMBDA",
    "hann_window",
    "n_frames",
    "stft",
    "istft",
    "pghi",
    "griffin_lim_spec",
    "fast_griffin_lim",
    "phase_to_center",
    "phase_from_center",
]

#: ``lam / n_fft**2`` of the Gaussian that best matches a Hann window (Prusa 2017).
HANN_GAUSSIAN_LAMBDA = 0.25645

_TINY = 1e-30


@functools.lru_cache(maxsize=16)
def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window of length ``n_fft`` (float32, read-only)."""
    w = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    w.flags.writeable = False
    return w


def _check_geometry(n_fft: int, hop: int) -> int:
    if n_fft <= 0 or hop <= 0 or n_fft % 2:
        raise ValueError(f"n_fft must be a positive even number and hop positive, got {n_fft}, {hop}")
    if n_fft % hop or n_fft < 2 * hop:
        raise ValueError(f"n_fft ({n_fft}) must be a multiple of hop ({hop}) and at least 2 * hop")
    return n_fft // hop


def n_frames(n_samples: int, hop: int) -> int:
    """Number of centered STFT frames of a signal of ``n_samples`` samples."""
    return 1 + int(n_samples) // int(hop)


def stft(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Centered STFT with a periodic Hann window.

    Args:
        x: 1-D signal.
        n_fft: FFT size (= window length), a multiple of ``hop``.
        hop: hop length in samples.

    Returns:
        complex64 array of shape ``(1 + len(x) // hop, n_fft // 2 + 1)``.
    """
    _check_geometry(n_fft, hop)
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    n = x.shape[0]
    t = n_frames(n, hop)
    pad = n_fft // 2
    total = (t - 1) * hop + n_fft
    xp = np.zeros(total, dtype=np.float32)
    m = min(n, total - pad)
    xp[pad : pad + m] = x[:m]
    frames = sliding_window_view(xp, n_fft)[::hop] * hann_window(n_fft)
    return scipy.fft.rfft(frames, axis=-1).astype(np.complex64, copy=False)


def _overlap_add(frames: np.ndarray, hop: int) -> np.ndarray:
    """Overlap-add ``(t, n_fft)`` frames spaced by ``hop``; returns ``(t - 1) * hop + n_fft`` samples."""
    t, n_fft = frames.shape
    r = n_fft // hop
    out = np.zeros((t + r - 1, hop), dtype=frames.dtype)
    parts = frames.reshape(t, r, hop)
    for j in range(r):
        out[j : j + t] += parts[:, j]
    return out.reshape(-1)


@functools.lru_cache(maxsize=32)
def _window_sum(n_fft: int, hop: int, t: int) -> np.ndarray:
    """Sum of squared windows of ``t`` overlap-added frames (float64, read-only)."""
    w2 = hann_window(n_fft).astype(np.float64) ** 2
    wsum = _overlap_add(np.broadcast_to(w2, (t, n_fft)).copy(), hop)
    wsum.flags.writeable = False
    return wsum


def _inverse_norm(n_fft: int, hop: int, t: int) -> np.ndarray:
    wsum = _window_sum(n_fft, hop, t)
    return np.where(wsum > 1e-8, 1.0 / np.maximum(wsum, 1e-8), 0.0).astype(np.float32)


def istft(spec: np.ndarray, n_fft: int, hop: int, length: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft` (least-squares overlap-add with the Hann window).

    Args:
        spec: complex ``(frames, n_fft // 2 + 1)`` spectrogram.
        n_fft: FFT size.
        hop: hop length.
        length: output length in samples; default ``(frames - 1) * hop``.
            Requests beyond the frames' support are zero-padded.

    Returns:
        float32 signal.
    """
    _check_geometry(n_fft, hop)
    t = spec.shape[0]
    if length is None:
        length = max(t - 1, 0) * hop
    if t == 0:
        return np.zeros(length, dtype=np.float32)
    frames = scipy.fft.irfft(spec, n=n_fft, axis=-1).astype(np.float32, copy=False)
    frames *= hann_window(n_fft)
    y = _overlap_add(frames, hop)
    y *= _inverse_norm(n_fft, hop, t)
    pad = n_fft // 2
    y = y[pad : pad + length]
    if y.shape[0] < length:
        y = np.concatenate([y, np.zeros(length - y.shape[0], dtype=np.float32)])
    return y


def phase_to_center(phase: np.ndarray) -> np.ndarray:
    """FFT-convention phase -> phase referenced to the window centre (``- pi m``)."""
    m = np.arange(phase.shape[-1])
    return phase - np.pi * m


def phase_from_center(phase: np.ndarray) -> np.ndarray:
    """Window-centre phase -> FFT-convention phase (``+ pi m``)."""
    m = np.arange(phase.shape[-1])
    return phase + np.pi * m


def _phase_gradients(mag: np.ndarray, n_fft: int, hop: int, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-hop time advance and per-bin frequency increment of the centre-referenced phase."""
    t, f = mag.shape
    s = np.log(np.maximum(mag.astype(np.float64), _TINY))
    dsdm = np.gradient(s, axis=1) if f > 1 else np.zeros_like(s)
    dsdn = np.gradient(s, axis=0) if t > 1 else np.zeros_like(s)
    m = np.arange(f)
    dphi_t = (hop * n_fft / lam) * dsdm + (2.0 * np.pi * hop / n_fft) * m
    dphi_f = (-lam / (hop * n_fft)) * dsdn
    return dphi_t, dphi_f


def pghi(
    mag: np.ndarray,
    n_fft: int,
    hop: int,
    *,
    tol: float = 1e-5,
    method: str = "frames",
    known_phase: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Phase from magnitude by phase-gradient heuristic integration.

    Args:
        mag: non-negative STFT magnitude, shape ``(frames, n_fft // 2 + 1)``.
        n_fft: FFT size of the (Hann) analysis window.
        hop: hop length.
        tol: coefficients below ``tol * max(mag)`` get a random phase and are
            not used to propagate phase (their log-gradient is unreliable).
        method: ``"frames"`` (vectorized real-time-style integration) or
            ``"heap"`` (literal offline heap algorithm, slow reference).
        known_phase: optional FFT-convention phase of the first ``k`` frames,
            shape ``(k, bins)``; those frames keep it and the rest is
            integrated from them (used by the streaming inverter).
        seed: seed of the random phase given to negligible coefficients.

    Returns:
        float64 phase ``(frames, bins)`` in the FFT convention of :func:`stft`.
    """
    _check_geometry(n_fft, hop)
    mag = np.asarray(mag)
    if mag.ndim != 2 or mag.shape[1] != n_fft // 2 + 1:
        raise ValueError(f"mag must be (frames, {n_fft // 2 + 1}), got {mag.shape}")
    t, f = mag.shape
    k = 0 if known_phase is None else int(known_phase.shape[0])
    if k > t:
        raise ValueError("known_phase has more frames than mag")
    rng = np.random.default_rng(seed)
    phase = rng.uniform(-np.pi, np.pi, size=(t, f))
    if k:
        phase[:k] = phase_to_center(np.asarray(known_phase, dtype=np.float64))
    peak = float(mag[k:].max()) if k < t else 0.0
    if peak > 0.0:
        lam = HANN_GAUSSIAN_LAMBDA * n_fft * n_fft
        dphi_t, dphi_f = _phase_gradients(mag, n_fft, hop, lam)
        mask = mag > tol * peak
        if method == "frames":
            _integrate_frames(phase, mag, mask, dphi_t, dphi_f, k)
        elif method == "heap":
            _integrate_heap(phase, mag, mask, dphi_t, dphi_f, k)
        else:
            raise ValueError(f"unknown PGHI method {method!r}; use 'frames' or 'heap'")
    return phase_from_center(phase)


def _bottleneck_sweep(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Widest paths entering at a bin ``j <= m`` and walking up to ``m``, for every column.

    ``pop[m] = min(b[m], max(a[m], pop[m - 1]))`` (``pop[-1] = -inf``): the
    best bottleneck of a path that enters the frame at some bin ``j`` (with
    strength ``a[j]``) and walks up through bins ``j..m`` (strengths ``b``);
    ``entry[m]`` is that ``j``. Each step is the clamp ``x -> clip(x, lo, hi)``
    with ``lo = min(a, b)``, ``hi = b``, and clamps compose into clamps, so the
    recursion is an associative scan: ``log2(bins)`` vectorized doubling steps.
    """
    f = a.shape[0]
    lo = np.minimum(a, b)
    hi = b.copy()
    new_lo = np.empty_like(lo)
    new_hi = np.empty_like(hi)
    shift = 1
    while shift < f:
        # compose with the prefix ending ``shift`` bins lower (applied first):
        # clamp(clamp(x, lo1, hi1), lo2, hi2) = clamp(x, clamp(lo1, lo2, hi2), clamp(hi1, lo2, hi2))
        lo2, hi2 = lo[shift:], hi[shift:]
        nl, nh = new_lo[: f - shift], new_hi[: f - shift]
        np.maximum(lo[:-shift], lo2, out=nl)
        np.minimum(nl, hi2, out=nl)
        np.maximum(hi[:-shift], lo2, out=nh)
        np.minimum(nh, hi2, out=nh)
        lo[shift:] = nl
        hi[shift:] = nh
        shift *= 2
    pop = lo  # the composed clamp applied to -inf
    take = np.empty(a.shape, dtype=bool)
    take[0] = True
    np.greater_equal(a[1:], pop[:-1], out=take[1:])
    idx = np.where(take, np.arange(f)[:, None], 0)
    entry = np.maximum.accumulate(idx, axis=0)
    return pop, entry


def _integrate_frames(
    phase: np.ndarray,
    mag: np.ndarray,
    mask: np.ndarray,
    dphi_t: np.ndarray,
    dphi_f: np.ndarray,
    k: int,
) -> None:
    """Frame-recursive heap-order integration (in place).

    Frame ``n`` is integrated from frame ``n - 1`` as the real-time variant of
    PGHI does with its per-frame heap: a coefficient takes its phase from the
    same bin of the previous frame (time step) or from a neighbouring bin of
    its own frame (frequency step), whichever the heap would pop first. The
    heap's pop order is the "widest path" order, so the choice is computed
    for all frames at once with two vectorized sweeps over the bins: for every
    coefficient, the best bottleneck (smallest log-magnitude on the path) of a
    path that enters the frame at some bin ``j`` from the previous frame and
    walks along frequency to it. Each coefficient then gets
    ``phase(n-1, j) + time step at j + frequency steps from j``; only this last
    recursion over frames is sequential (three numpy calls per frame).
    Regions of a frame that the previous frame cannot feed (its bins there are
    negligible) start from their largest coefficient with phase 0, like the
    heap algorithm's restarts.
    """
    t, f = mag.shape
    s = np.log(np.maximum(mag.astype(np.float32), np.float32(1e-30)))
    neg = np.float32(-np.inf)
    # b: strength of each coefficient (-inf when negligible), bins-major for the sweeps
    b = np.where(mask, s, neg).T.copy()
    # a: strength of the time source of each coefficient; where the previous
    # frame is negligible the coefficient may seed a region (far below any real source)
    seed = np.ones((t, f), dtype=bool)
    seed[1:] = ~mask[:-1]
    a = np.empty_like(b)
    a[:, 1:] = s[:-1].T
    a[seed.T] = np.float32(-1e4) + b[seed.T]  # below any log-magnitude
    lpop, jl = _bottleneck_sweep(a, b)
    rpop, jr = _bottleneck_sweep(a[::-1], b[::-1])
    rpop = rpop[::-1]
    jr = (f - 1) - jr[::-1]
    # best frequency neighbour: left (m - 1) or right (m + 1)
    from_left = np.full((f, t), neg)
    from_left[1:] = lpop[:-1]
    from_right = np.full((f, t), neg)
    from_right[:-1] = rpop[1:]
    src = np.empty((f, t), dtype=np.intp)
    src[0] = jr[1]
    src[-1] = jl[-2]
    src[1:-1] = np.where(from_left[1:-1] >= from_right[1:-1], jl[:-2], jr[2:])
    use_time = a >= np.maximum(from_left, from_right)
    src = np.where(use_time, np.arange(f)[:, None], src).T  # (t, f): entry bin of every coefficient
    flat_src = (src + (np.arange(t) * f)[:, None]).ravel()
    # cumulative frequency increments (trapezoid) along each frame
    cum = np.zeros((t, f))
    np.cumsum(0.5 * (dphi_f[:, 1:] + dphi_f[:, :-1]), axis=1, out=cum[:, 1:])
    tstep = np.zeros((t, f))
    tstep[1:] = 0.5 * (dphi_t[1:] + dphi_t[:-1])
    src_seed = seed.ravel().take(flat_src).reshape(t, f)
    tstep[seed] = 0.0
    # phase(n, m) = keep * phase(n - 1, src) + add
    add = cum - (cum.ravel() - tstep.ravel()).take(flat_src).reshape(t, f)
    add = np.where(mask, add, phase)  # negligible: keep the random phase
    keep = (mask & ~src_seed).astype(np.float64)
    src = np.ascontiguousarray(src)
    for n in range(max(k, 0), t):
        if n == 0:
            phase[0] = add[0]
            continue
        row = phase[n - 1].take(src[n])
        row *= keep[n]
        row += add[n]
        phase[n] = row


def _integrate_heap(
    phase: np.ndarray,
    mag: np.ndarray,
    mask: np.ndarray,
    dphi_t: np.ndarray,
    dphi_f: np.ndarray,
    k: int,
) -> None:
    """Literal heap-ordered PGHI integration of Prusa et al. (in place, slow)."""
    t, f = mag.shape
    flat = phase.ravel()
    magf = mag.ravel().astype(np.float64)
    dt = dphi_t.ravel()
    df = dphi_f.ravel()
    todo = mask.ravel().copy()
    todo[: k * f] = False
    heap: list[tuple[float, int]] = []
    if k:
        last = (k - 1) * f
        heap = [(-magf[i], i) for i in range(last, last + f) if mask.ravel()[i]]
        heapq.heapify(heap)
    order = np.argsort(-magf, kind="stable")
    pos = 0
    remaining = int(todo.sum())
    while remaining:
        if not heap:
            while not todo[order[pos]]:
                pos += 1
            i = int(order[pos])
            flat[i] = 0.0
            todo[i] = False
            remaining -= 1
            heap.append((-magf[i], i))
        _, i = heapq.heappop(heap)
        ti, mi = divmod(i, f)
        if ti + 1 < t and todo[i + f]:
            j = i + f
            flat[j] = flat[i] + 0.5 * (dt[i] + dt[j])
            todo[j] = False
            remaining -= 1
            heapq.heappush(heap, (-magf[j], j))
        if ti > 0 and todo[i - f]:
            j = i - f
            flat[j] = flat[i] - 0.5 * (dt[i] + dt[j])
            todo[j] = False
            remaining -= 1
            heapq.heappush(heap, (-magf[j], j))
        if mi + 1 < f and todo[i + 1]:
            j = i + 1
            flat[j] = flat[i] + 0.5 * (df[i] + df[j])
            todo[j] = False
            remaining -= 1
            heapq.heappush(heap, (-magf[j], j))
        if mi > 0 and todo[i - 1]:
            j = i - 1
            flat[j] = flat[i] - 0.5 * (df[i] + df[j])
            todo[j] = False
            remaining -= 1
            heapq.heappush(heap, (-magf[j], j))


class _Consistency:
    """``stft(istft(spec))`` for a fixed geometry, with preallocated buffers.

    ``start``/``end``: padded-coordinate sample range outside which the signal
    is known to be zero (``None``: the window of frames is open on that side,
    as for a block inside a stream).
    """

    def __init__(self, n_fft: int, hop: int, t: int, start: int | None, end: int | None) -> None:
        self.r = _check_geometry(n_fft, hop)
        self.n_fft, self.hop, self.t = n_fft, hop, t
        self.win = hann_window(n_fft)
        norm = _inverse_norm(n_fft, hop, t)
        if start is not None:
            norm[: max(start, 0)] = 0.0
        if end is not None:
            norm[max(end, 0) :] = 0.0
        self.norm = norm.reshape(t + self.r - 1, hop)
        self.buf = np.zeros((t + self.r - 1, hop), dtype=np.float32)
        self.frames = np.empty((t, n_fft), dtype=np.float32)
        self.view = sliding_window_view(self.buf.reshape(-1), n_fft)[::hop]

    def __call__(self, spec: np.ndarray) -> np.ndarray:
        frames = scipy.fft.irfft(spec, n=self.n_fft, axis=-1)
        frames *= self.win
        parts = frames.reshape(self.t, self.r, self.hop)
        buf = self.buf
        buf[: self.t] = parts[:, 0]
        buf[self.t :] = 0.0
        for j in range(1, self.r):
            buf[j : j + self.t] += parts[:, j]
        buf *= self.norm
        np.multiply(self.view, self.win, out=self.frames)
        return scipy.fft.rfft(self.frames, axis=-1)


def griffin_lim_spec(
    mag: np.ndarray,
    phase: np.ndarray,
    n_fft: int,
    hop: int,
    n_iter: int,
    *,
    alpha: float = 0.99,
    length: int | None = None,
    known: np.ndarray | None = None,
    open_start: bool = False,
    open_end: bool = False,
) -> np.ndarray:
    """Fast Griffin-Lim (Perraudin et al. 2013) from an initial phase; returns the spectrogram.

    Args:
        mag: target magnitude ``(frames, bins)``.
        phase: initial FFT-convention phase, same shape.
        n_fft: FFT size.
        hop: hop length.
        n_iter: number of iterations (0 returns ``mag * e^{i phase}``).
        alpha: momentum (0 gives classic Griffin-Lim).
        length: signal length in samples: the signal is taken to be zero from
            there on (default ``(frames - 1) * hop``).
        known: optional complex values of the first ``k`` frames, held fixed
            at every iteration (streaming context).
        open_start: the frames do not start at the signal start (no zero
            padding assumed before them).
        open_end: the frames do not reach the signal end.

    Returns:
        complex64 ``(frames, bins)`` spectrogram with magnitude ``mag``.
    """
    mag = np.ascontiguousarray(mag, dtype=np.float32)
    t = mag.shape[0]
    spec = (mag * np.exp(1j * phase)).astype(np.complex64)
    k = 0 if known is None else int(known.shape[0])
    if k:
        spec[:k] = known
    n_iter = max(0, int(n_iter))
    if not n_iter or not t:
        return spec
    sig_len = (t - 1) * hop if length is None else int(length)
    pad = n_fft // 2
    project = _Consistency(
        n_fft, hop, t, None if open_start else pad, None if open_end else pad + sig_len
    )
    t_prev = spec
    c = spec.copy()
    scale = np.empty(mag.shape, dtype=np.float32)
    a1 = np.float32(1.0 + alpha)
    a0 = np.float32(alpha)
    for _ in range(n_iter):
        rebuilt = project(c)
        np.abs(rebuilt, out=scale)
        np.maximum(scale, 1e-12, out=scale)
        np.divide(mag, scale, out=scale)
        rebuilt *= scale  # magnitude projection: mag * rebuilt / |rebuilt|
        if k:
            rebuilt[:k] = known
        # c = t + alpha * (t - t_prev)
        np.multiply(rebuilt, a1, out=c)
        t_prev *= a0
        c -= t_prev
        t_prev = rebuilt
    return t_prev


def fast_griffin_lim(
    mag: np.ndarray,
    phase: np.ndarray,
    n_fft: int,
    hop: int,
    n_iter: int,
    *,
    alpha: float = 0.99,
    length: int | None = None,
) -> np.ndarray:
    """Signal from magnitude and initial phase by fast Griffin-Lim.

    See :func:`griffin_lim_spec` for the arguments; returns the float32 signal
    of ``length`` samples (default ``(frames - 1) * hop``).
    """
    spec = griffin_lim_spec(mag, phase, n_fft, hop, n_iter, alpha=alpha, length=length)
    return istft(spec, n_fft, hop, length)
