"""Decoding consecutive chunks in context equals decoding the whole sequence at once."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bpgan_core.sequence import decode_in_context

FACTOR = 4


def smoothing_generator(z: np.ndarray) -> np.ndarray:
    """A toy generator with a receptive field of 2 latent steps: 5-tap average, then upsampling."""
    padded = np.pad(z, [(0, 0)] * (z.ndim - 1) + [(2, 2)])
    smooth = sum(padded[..., i:i + z.shape[-1]] for i in range(5)) / 5
    return np.repeat(smooth, FACTOR, axis=-1)


@settings(max_examples=60, deadline=None)
@given(chunk=st.integers(1, 7), count=st.integers(0, 10), last=st.integers(1, 7), batch=st.integers(1, 4),
       context=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_context_decode_equals_whole_sequence(chunk, count, last, batch, context, seed):
    """Chunks of one length and a last, shorter or equal one, as the preprocessors cut them."""
    chunk = max(chunk, context)  # every record but the last spans at least ``context`` steps
    lengths = [chunk] * count + [min(last, chunk)]
    rng = np.random.default_rng(seed)
    chunks = [rng.normal(size=(3, n)).astype(np.float32) for n in lengths]
    # records hold up to ``batch`` chunks of one length each, as the preprocessors write them
    records, i = [], 0
    while i < len(chunks):
        j = i + 1
        while j < len(chunks) and j - i < batch and chunks[j].shape == chunks[i].shape:
            j += 1
        records.append(np.stack(chunks[i:j]))
        i = j
    decoded = list(decode_in_context(records, smoothing_generator, context))
    assert [d.shape[-1] for d in decoded] == [FACTOR * n for n in lengths]
    whole = smoothing_generator(np.concatenate(chunks, axis=-1)[None])[0]
    np.testing.assert_allclose(np.concatenate(decoded, axis=-1), whole, rtol=1e-6, atol=1e-6)


def test_without_context_borders_differ():
    """The reason for the feature: chunk-by-chunk decoding differs from the whole sequence at borders."""
    z = np.random.default_rng(0).normal(size=(1, 3, 8)).astype(np.float32)
    alone = np.concatenate([smoothing_generator(z[..., :4])[0], smoothing_generator(z[..., 4:])[0]], axis=-1)
    assert not np.allclose(alone, smoothing_generator(z)[0])


def test_rejects_bad_context_and_generators():
    z = np.zeros((1, 2, 4), np.float32)
    with pytest.raises(ValueError, match="context"):
        list(decode_in_context([z], smoothing_generator, 0))
    with pytest.raises(ValueError, match="multiple"):
        list(decode_in_context([z], lambda s: s[..., :-1], 1))
