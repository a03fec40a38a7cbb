"""Context-adaptive range coding: each index is coded with a table chosen by its left and upper neighbours.

A latent plane of a smooth region repeats its neighbours' indices; a per-channel table cannot see
that, a table per (left, top) context can. The context prior is an integer frequency table shaped
(channels, (K + 1) ** 2, K) for K quantizer symbols: context ``left * (K + 1) + top``, with K standing
for "outside the plane". Indices are coded along anti-diagonals (all positions with ``row + col = d``
at once), so decoding needs rows + cols - 1 vectorized steps, not one per symbol, and it is
bit-exact on every machine (integer tables, float64 probabilities, constriction's range coder).
Latents with one spatial dimension are one row (left context only); none, a single position.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from .entropy import RangeCoder, frequency_table
from .errors import CorruptStreamError

CONTEXT_FILE = "context_prior.npy"
"""Where model folders keep the context table (model.json ``context_prior`` names it)."""

PRIOR_STRENGTH = 4.0
"""Pseudo-counts of the channel's marginal added to every context's counts when fitting."""


def num_contexts(num_symbols: int) -> int:
    """Contexts per channel for ``num_symbols`` symbols."""
    return (num_symbols + 1) ** 2


def plane_shape(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """(batch, channels, rows, cols) for indices shaped (batch, channels, *spatial), at most 2-D:
    one spatial dimension is one row, none a single position."""
    if len(shape) < 2 or len(shape) > 4:
        raise ValueError(f"range-context codes (batch, channels) plus at most 2 spatial dimensions, got {shape}")
    spatial = tuple(shape[2:])
    rows, cols = (1, 1) if not spatial else (1, spatial[0]) if len(spatial) == 1 else spatial
    return shape[0], shape[1], rows, cols


def _diagonals(rows: int, cols: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(row, col) positions of each anti-diagonal, in coding order."""
    for d in range(rows + cols - 1):
        r = np.arange(max(0, d - cols + 1), min(rows - 1, d) + 1)
        yield r, d - r


def _contexts(padded: np.ndarray, r: np.ndarray, c: np.ndarray, num_symbols: int) -> np.ndarray:
    """Context ids (batch, channels, n) of positions (r, c) from a plane padded with K on top and left."""
    return padded[:, :, r + 1, c] * (num_symbols + 1) + padded[:, :, r, c + 1]


def _padded(planes: np.ndarray, num_symbols: int) -> np.ndarray:
    b, ch, rows, cols = planes.shape
    out = np.full((b, ch, rows + 1, cols + 1), num_symbols, dtype=np.int64)
    out[:, :, 1:, 1:] = planes
    return out


def _rows(probs: np.ndarray, ctx: np.ndarray) -> np.ndarray:
    """Probability rows for context ids ``ctx`` (batch, channels, n), flattened in C order."""
    channel = np.arange(ctx.shape[1])[None, :, None]
    return probs[channel, ctx].reshape(-1, probs.shape[-1])


def smoothed_counts(counts: Any) -> Any:
    """Counts (channels, contexts, K) pulled towards each channel's marginal by ``PRIOR_STRENGTH``
    pseudo-counts, so rare or unseen contexts fall back to the channel's statistics (numpy or torch)."""
    marginal = counts.sum(axis=1, keepdims=True) + 0.5
    return counts + PRIOR_STRENGTH * marginal / marginal.sum(axis=2, keepdims=True)


def fit_context_prior(indices: Iterable[np.ndarray], num_symbols: int, total: int = 1 << 16) -> np.ndarray:
    """Integer context table (channels, (K + 1) ** 2, K) from index arrays shaped (batch, channels, *spatial).

    Counts per context are smoothed towards the channel's marginal (``PRIOR_STRENGTH`` pseudo-counts),
    so contexts seen rarely or never fall back to the per-channel statistics.
    """
    k, counts = num_symbols, None
    for idx in indices:
        idx = np.asarray(idx, dtype=np.int64)
        b, ch, rows, cols = plane_shape(idx.shape)
        if counts is None:
            counts = np.zeros((ch, num_contexts(k), k))
        padded = _padded(idx.reshape(b, ch, rows, cols), k)
        ctx = _contexts(padded, *np.indices((rows, cols)).reshape(2, -1), k)
        sym = idx.reshape(b, ch, -1)
        for c in range(ch):
            np.add.at(counts[c], (ctx[:, c].ravel(), sym[:, c].ravel()), 1)
    if counts is None:
        raise ValueError("no indices to fit a context prior on")
    return frequency_table(smoothed_counts(counts).reshape(-1, k), total).reshape(counts.shape)


class ContextRangeCoder(RangeCoder):
    """Range coding with a (left, top) context table per channel; see the module docstring.

    The model's prior must be a context table. ``table="empirical"`` codes like ``RangeCoder`` (a
    per-stream marginal table, no contexts).
    """

    name = "range-context"
    prior_key = "context_prior"

    def _context_probs(self, prior: np.ndarray | None, channels: int, num_symbols: int) -> np.ndarray:
        p = None if prior is None else np.asarray(prior, dtype=np.int64)
        if p is None or p.shape != (channels, num_contexts(num_symbols), num_symbols) or np.any(p <= 0):
            shape = None if p is None else p.shape
            raise ValueError(
                f"range-context needs a positive context prior shaped ({channels}, {num_contexts(num_symbols)}, "
                f"{num_symbols}), got {shape}; fit one with `bpgan fit-prior`"
            )
        return p / p.sum(axis=-1, keepdims=True).astype(np.float64)

    def encode(self, indices: np.ndarray, num_symbols: int, prior: np.ndarray | None) -> bytes:
        import constriction

        if self.table == "empirical":
            return super().encode(indices, num_symbols, None)
        idx = np.asarray(indices, dtype=np.int64)
        b, ch, rows, cols = plane_shape(idx.shape)
        probs = self._context_probs(prior, ch, num_symbols)
        if idx.size and (idx.min() < 0 or idx.max() >= num_symbols):
            raise ValueError(f"indices outside 0..{num_symbols - 1}")
        if idx.size == 0 or num_symbols == 1:
            return b""
        padded = _padded(idx.reshape(b, ch, rows, cols), num_symbols)
        symbols, rows_p = [], []
        for r, c in _diagonals(rows, cols):
            symbols.append(padded[:, :, r + 1, c + 1].reshape(-1))
            rows_p.append(_rows(probs, _contexts(padded, r, c, num_symbols)))
        encoder = constriction.stream.queue.RangeEncoder()
        model = constriction.stream.model.Categorical(perfect=False)
        encoder.encode(np.concatenate(symbols).astype(np.int32), model, np.concatenate(rows_p))
        return encoder.get_compressed().astype("<u4").tobytes()

    def decode(self, data: bytes, shape: tuple[int, ...], num_symbols: int, prior: np.ndarray | None) -> np.ndarray:
        import constriction

        if self.table == "empirical":
            return super().decode(data, shape, num_symbols, None)
        b, ch, rows, cols = plane_shape(tuple(shape))
        probs = self._context_probs(prior, ch, num_symbols)
        if int(np.prod(shape, dtype=np.int64)) == 0 or num_symbols == 1:
            if data:
                raise CorruptStreamError("unexpected bytes after an empty payload")
            return np.zeros(shape, dtype=np.int64)
        if len(data) % 4:
            raise CorruptStreamError("range-coded payload is not a whole number of 32-bit words")
        padded = _padded(np.zeros((b, ch, rows, cols), dtype=np.int64), num_symbols)
        try:
            decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(bytes(data), dtype="<u4").astype(np.uint32))
            model = constriction.stream.model.Categorical(perfect=False)
            for r, c in _diagonals(rows, cols):
                out = decoder.decode(model, _rows(probs, _contexts(padded, r, c, num_symbols)))
                padded[:, :, r + 1, c + 1] = np.asarray(out, dtype=np.int64).reshape(b, ch, -1)
        except Exception as exc:  # constriction reports malformed data as generic errors
            raise CorruptStreamError(f"range decoder rejected the payload: {exc}") from exc
        return padded[:, :, 1:, 1:].reshape(shape)
