"""Entropy coders for quantizer indices: a range coder with integer frequency priors, and Elias gamma."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import CorruptStreamError, TruncatedStreamError
from .interfaces import EntropyCoder
from .varint import decode_varint, encode_varint


def frequency_table(counts: Any, total: int = 1 << 16) -> np.ndarray:
    """Turn (channels, symbols) counts or probabilities into an integer table summing to ``total`` per row.

    Every symbol keeps a frequency of at least 1, so any index stays codable.
    """
    c = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    if c.ndim != 2 or c.shape[1] < 1 or not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("frequency counts must be a finite, non-negative (channels, symbols) array")
    k = c.shape[1]
    if total < 2 * k:
        raise ValueError("total too small for the number of symbols")
    rows = c.sum(axis=1, keepdims=True)
    p = np.where(rows > 0, c / np.where(rows > 0, rows, 1), 1.0 / k)
    table = 1 + np.floor(p * (total - k)).astype(np.int64)
    table[np.arange(len(table)), table.argmax(axis=1)] += total - table.sum(axis=1)
    return table


def fit_channel_prior(indices: Iterable[np.ndarray], num_symbols: int) -> np.ndarray:
    """Per-channel integer table (channels, K) from index arrays shaped (batch, channels, *spatial).

    Half a count is added to every symbol before ``frequency_table``.
    """
    counts = None
    for idx in indices:
        idx = np.asarray(idx, dtype=np.int64)
        if counts is None:
            counts = np.zeros((idx.shape[1], num_symbols))
        for c in range(idx.shape[1]):
            counts[c] += np.bincount(idx[:, c].ravel(), minlength=num_symbols)
    if counts is None:
        raise ValueError("no indices to fit a prior on")
    return frequency_table(counts + 0.5)


def _check_prior(prior: np.ndarray | None, channels: int, num_symbols: int) -> np.ndarray | None:
    if prior is None:
        return None
    prior = np.asarray(prior, dtype=np.int64)
    if prior.ndim == 1:
        prior = prior[None]
    if prior.shape[1] != num_symbols or prior.shape[0] not in (1, channels) or np.any(prior < 0) or np.any(prior.sum(1) <= 0):
        raise ValueError(
            f"prior of shape {prior.shape} does not fit {channels} channels x {num_symbols} symbols "
            "with positive totals"
        )
    return np.broadcast_to(prior, (channels, num_symbols))


def _symbol_probabilities(prior: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Per-symbol probability rows in C order for indices of ``shape`` = (batch, channels, ...)."""
    probs = prior / prior.sum(axis=1, keepdims=True).astype(np.float64)
    spatial = int(np.prod(shape[2:], dtype=np.int64))
    per_channel = np.repeat(probs, spatial, axis=0)
    return np.tile(per_channel, (shape[0], 1))


class RangeCoder(EntropyCoder):
    """Range coding (constriction) with per-channel integer frequency tables.

    ``table="model"`` codes with the prior shipped with the model (falls back to ``empirical`` when the
    model has none); ``table="empirical"`` sends a frequency table of the indices ahead of the payload.
    """

    name = "range"

    def __init__(self, table: str = "model") -> None:
        if table not in ("model", "empirical"):
            raise ValueError("RangeCoder table must be 'model' or 'empirical'")
        self.table = table

    def params(self) -> dict[str, Any]:
        return {"table": self.table}

    def encode(self, indices: np.ndarray, num_symbols: int, prior: np.ndarray | None) -> bytes:
        import constriction

        idx = np.asarray(indices)
        if idx.ndim < 2:
            raise ValueError("indices must be shaped (batch, channels, ...)")
        if idx.size and (idx.min() < 0 or idx.max() >= num_symbols):
            raise ValueError(f"indices outside 0..{num_symbols - 1}")
        head = b""
        table = None if self.table == "empirical" else _check_prior(prior, idx.shape[1], num_symbols)
        if table is None:
            counts = np.bincount(idx.reshape(-1), minlength=num_symbols)
            head = b"".join(encode_varint(int(v)) for v in counts)
            table = frequency_table(counts[None], total=1 << 16)
            table = np.broadcast_to(table, (idx.shape[1], num_symbols))
        if idx.size == 0 or num_symbols == 1:
            return head
        encoder = constriction.stream.queue.RangeEncoder()
        model = constriction.stream.model.Categorical(perfect=False)
        encoder.encode(idx.reshape(-1).astype(np.int32), model, _symbol_probabilities(table, idx.shape))
        return head + encoder.get_compressed().astype("<u4").tobytes()

    def decode(self, data: bytes, shape: tuple[int, ...], num_symbols: int, prior: np.ndarray | None) -> np.ndarray:
        import constriction

        n = int(np.prod(shape, dtype=np.int64))
        table = None if self.table == "empirical" else _check_prior(prior, shape[1], num_symbols)
        pos = 0
        if table is None:
            counts = []
            for _ in range(num_symbols):
                v, pos = decode_varint(data, pos)
                counts.append(v)
            if sum(counts) != n:
                raise CorruptStreamError("empirical frequency table does not match the latent size")
            table = np.broadcast_to(frequency_table(np.array(counts)[None]), (shape[1], num_symbols))
        if n == 0 or num_symbols == 1:
            if pos != len(data):
                raise CorruptStreamError("unexpected bytes after an empty payload")
            return np.zeros(shape, dtype=np.int64)
        body = bytes(data[pos:])
        if len(body) % 4:
            raise CorruptStreamError("range-coded payload is not a whole number of 32-bit words")
        words = np.frombuffer(body, dtype="<u4").astype(np.uint32)
        try:
            decoder = constriction.stream.queue.RangeDecoder(words)
            model = constriction.stream.model.Categorical(perfect=False)
            out = decoder.decode(model, _symbol_probabilities(table, shape))
        except Exception as exc:  # constriction reports malformed data as generic errors
            raise CorruptStreamError(f"range decoder rejected the payload: {exc}") from exc
        return np.asarray(out, dtype=np.int64).reshape(shape)


class EliasGammaCoder(EntropyCoder):
    """Elias-gamma codes of the indices (as in GAN-inversion compression), ranked by the prior if given."""

    name = "elias-gamma"

    def _ranking(self, num_symbols: int, prior: np.ndarray | None) -> np.ndarray:
        if prior is None:
            return np.arange(num_symbols)
        weights = np.asarray(prior, dtype=np.int64).reshape(-1, num_symbols).sum(axis=0)
        return np.argsort(-weights, kind="stable")  # rank r -> symbol

    def encode(self, indices: np.ndarray, num_symbols: int, prior: np.ndarray | None) -> bytes:
        idx = np.asarray(indices).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= num_symbols):
            raise ValueError(f"indices outside 0..{num_symbols - 1}")
        rank_of = np.argsort(self._ranking(num_symbols, prior))
        values = rank_of[idx] + 1
        nbits = np.floor(np.log2(np.maximum(values, 1))).astype(np.int64) + 1
        total = int((2 * nbits - 1).sum())
        bits = np.zeros(total, dtype=np.uint8)
        ends = np.cumsum(2 * nbits - 1)
        starts = ends - nbits  # binary part starts after nbits-1 zeros
        for b in range(int(nbits.max(initial=0))):
            has = nbits > b
            bits[(starts + b)[has]] = (values[has] >> (nbits[has] - 1 - b)) & 1
        return np.packbits(bits).tobytes()

    def decode(self, data: bytes, shape: tuple[int, ...], num_symbols: int, prior: np.ndarray | None) -> np.ndarray:
        n = int(np.prod(shape, dtype=np.int64))
        bits = np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8))
        ones = np.flatnonzero(bits)
        ranking = self._ranking(num_symbols, prior)
        out = np.empty(n, dtype=np.int64)
        pos = 0
        for i in range(n):
            k = int(np.searchsorted(ones, pos, side="left"))
            if k >= len(ones):
                raise TruncatedStreamError("Elias-gamma payload ends early")
            zeros = int(ones[k]) - pos
            end = pos + 2 * zeros + 1
            if end > len(bits) or zeros > 62:
                raise TruncatedStreamError("Elias-gamma payload ends early")
            value = int(bits[pos + zeros:end].astype(np.int64) @ (1 << np.arange(zeros, -1, -1, dtype=np.int64)))
            if value > num_symbols:
                raise CorruptStreamError("Elias-gamma value outside the quantizer's range")
            out[i] = ranking[value - 1]
            pos = end
        if len(bits) - pos >= 8 or np.any(bits[pos:]):
            raise CorruptStreamError("unexpected bits after the Elias-gamma payload")
        return out.reshape(shape)
