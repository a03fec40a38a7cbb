"""The range-context coder: exact round trips, real savings on smooth planes, a stable format, clear errors."""
import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpgan_core.context_coder import ContextRangeCoder, fit_context_prior, num_contexts
from bpgan_core.entropy import RangeCoder, frequency_table
from bpgan_core.errors import CorruptStreamError
from bpgan_core.testing.strategies import indices_with_prior


def _smooth_planes(shape: tuple[int, ...], k: int, seed: int) -> np.ndarray:
    """Indices that mostly repeat their left or upper neighbour, like latents of smooth pictures."""
    rng = np.random.default_rng(seed)
    planes = rng.integers(0, k, size=shape).reshape(-1, *(shape[2:] if len(shape) == 4 else (1, shape[-1])))
    choice = rng.random(planes.shape)
    for n, i, j in np.ndindex(planes.shape):
        if j and choice[n, i, j] < 0.6:
            planes[n, i, j] = planes[n, i, j - 1]
        elif i and choice[n, i, j] < 0.9:
            planes[n, i, j] = planes[n, i - 1, j]
    return planes.reshape(shape)


@settings(max_examples=120, deadline=None)
@given(indices_with_prior(), st.integers(0, 2**32 - 1), st.sampled_from([2, 3]))
def test_round_trip_with_any_context_prior(case, seed, neighbours):
    idx, k, _ = case
    channels, contexts = idx.shape[1], num_contexts(k, neighbours)
    prior = frequency_table(np.random.default_rng(seed).integers(0, 50, (channels * contexts, k)))
    prior = prior.reshape(channels, contexts, k)
    coder = ContextRangeCoder()
    data = coder.encode(idx, k, prior)
    assert np.array_equal(coder.decode(data, idx.shape, k, prior), idx)


@pytest.mark.parametrize("shape", [(2, 3, 12, 17), (1, 2, 40), (1, 1, 1, 9), (3, 2, 7, 1)])
def test_contexts_beat_the_per_channel_table_on_smooth_planes(shape):
    k = 16
    train, test = [_smooth_planes(shape, k, seed) for seed in range(40)], _smooth_planes(shape, k, 99)
    context_prior = fit_context_prior(train, k)
    counts = sum(np.stack([np.bincount(t[:, c].ravel(), minlength=k) for c in range(shape[1])]) for t in train)
    coder = ContextRangeCoder()
    data = coder.encode(test, k, context_prior)
    assert np.array_equal(coder.decode(data, test.shape, k, context_prior), test)
    plain = RangeCoder().encode(test, k, frequency_table(counts + 0.5))
    assert len(data) < 0.8 * len(plain)


def test_unseen_contexts_fall_back_to_the_channel_marginal():
    k = 4
    idx = np.zeros((1, 2, 5, 5), dtype=np.int64)
    idx[:, 1] = 3
    table = fit_context_prior([idx], k)
    assert table.shape == (2, num_contexts(k), k) and np.all(table.sum(-1) == 1 << 16)
    unseen = 2 * (k + 1) + 1  # left 2, top 1: never occurs
    assert table[0, unseen].argmax() == 0 and table[1, unseen].argmax() == 3


def _diagonal_planes(shape: tuple[int, ...], k: int, seed: int) -> np.ndarray:
    """Planes of diagonal stripes (each index repeats its top-left neighbour) with 5 % noise."""
    rng = np.random.default_rng(seed)
    b, ch, rows, cols = shape
    stripes = rng.integers(0, k, size=(b, ch, rows + cols))
    planes = stripes[:, :, (np.arange(rows)[:, None] - np.arange(cols)[None, :]) + cols]
    noise = rng.random(planes.shape) < 0.05
    return np.where(noise, rng.integers(0, k, size=planes.shape), planes)


def test_top_left_neighbour_codes_diagonal_structure():
    """Left and top cannot predict diagonal stripes; a three-neighbour table can, and it round-trips."""
    k, shape = 4, (1, 2, 16, 16)
    train, test = [_diagonal_planes(shape, k, seed) for seed in range(60)], _diagonal_planes(shape, k, 99)
    two, three = fit_context_prior(train, k), fit_context_prior(train, k, neighbours=3)
    assert three.shape == (2, num_contexts(k, 3), k) and np.all(three.sum(-1) == 1 << 16)
    coder = ContextRangeCoder()
    data = coder.encode(test, k, three)
    assert np.array_equal(coder.decode(data, test.shape, k, three), test)
    assert len(data) < 0.5 * len(coder.encode(test, k, two))


def test_three_neighbour_contexts_back_off_to_their_left_top_row():
    """A (left, top, top-left) context never seen takes its (left, top) row's statistics, not the
    channel's marginal (which favours 0 here)."""
    k = 4
    idx = np.zeros((1, 1, 6, 8), dtype=np.int64)
    idx[0, 0, :, 6:] = 2
    two, three = fit_context_prior([idx], k), fit_context_prior([idx], k, neighbours=3)
    left_top = 2 * (k + 1) + 2
    unseen = left_top * (k + 1) + 1  # top-left 1 never occurs
    assert np.bincount(idx.ravel()).argmax() == 0
    assert three[0, unseen].argmax() == two[0, left_top].argmax() == 2


def test_golden_bitstream_is_stable():
    """The coded bytes of a fixed input must never change: decoders on every machine depend on it."""
    idx = _smooth_planes((2, 3, 4, 5), 16, 7)
    prior = fit_context_prior([_smooth_planes((4, 3, 8, 8), 16, 8)], 16)
    data = ContextRangeCoder().encode(idx, 16, prior)
    assert hashlib.sha256(data).hexdigest()[:16] == GOLDEN_CONTEXT


GOLDEN_CONTEXT = "b8ec5403caeb7e2c"
GOLDEN_THREE = "4d55751b8c9f9faf"


def test_golden_three_neighbour_bitstream_is_stable():
    idx = _smooth_planes((2, 3, 4, 5), 16, 7)
    prior = fit_context_prior([_smooth_planes((4, 3, 8, 8), 16, 8)], 16, neighbours=3)
    data = ContextRangeCoder().encode(idx, 16, prior)
    assert hashlib.sha256(data).hexdigest()[:16] == GOLDEN_THREE


def test_empirical_table_codes_like_the_range_coder():
    idx = np.random.default_rng(2).integers(0, 5, size=(1, 2, 6, 6))
    coder = ContextRangeCoder("empirical")
    data = coder.encode(idx, 5, None)
    assert data == RangeCoder("empirical").encode(idx, 5, None)
    assert np.array_equal(coder.decode(data, idx.shape, 5, None), idx)


def test_bad_priors_shapes_and_payloads_raise():
    coder = ContextRangeCoder()
    idx = np.zeros((1, 2, 3, 3), dtype=np.int64)
    with pytest.raises(ValueError, match="context prior shaped"):
        coder.encode(idx, 4, np.ones((2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="2 or 3 neighbours"):
        fit_context_prior([idx], 4, neighbours=1)
    with pytest.raises(ValueError, match="at most 2 spatial"):
        coder.encode(np.zeros((1, 1, 2, 2, 2), dtype=np.int64), 4, np.ones((1, 25, 4), dtype=np.int64))
    prior = np.ones((2, num_contexts(4), 4), dtype=np.int64)
    with pytest.raises(ValueError, match="outside"):
        coder.encode(idx + 4, 4, prior)
    with pytest.raises(CorruptStreamError):
        coder.decode(b"abc", idx.shape, 4, prior)
