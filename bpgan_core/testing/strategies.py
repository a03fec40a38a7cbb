"""Hypothesis strategies for bpgan's data: container headers, latent indices with priors."""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from ..bitstream import Header
from ..entropy import frequency_table

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), st.text(max_size=20),
                         st.floats(allow_nan=False, allow_infinity=False))
json_values = st.recursive(
    json_scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12)
named_params = st.builds(
    lambda name, params: {**params, **({"name": name} if name else {})}, st.text(max_size=8),
    st.dictionaries(st.text(max_size=6).filter(lambda k: k != "name"), json_values, max_size=3))

headers = st.builds(
    Header, modality=st.text(min_size=1, max_size=12), model=st.text(max_size=20),
    fingerprint=st.binary(min_size=8, max_size=8).map(bytes.hex), latent_channels=st.integers(0, 512),
    quantizer=named_params, coder=named_params, meta=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
)
"""Arbitrary valid container headers."""

record_payloads = st.lists(st.binary(min_size=1, max_size=300), max_size=6)
"""Arbitrary record payload lists."""


@st.composite
def indices_with_prior(draw: st.DrawFn, max_symbols: int = 20) -> tuple[np.ndarray, int, np.ndarray]:
    """(indices shaped (batch, channels, *spatial), number of symbols, integer prior per channel),
    degenerate cases included: one symbol, empty spatial sizes, constant streams, zero counts."""
    k = draw(st.integers(1, max_symbols))
    c = draw(st.integers(1, 4))
    shape = (draw(st.integers(1, 3)), c, *draw(st.lists(st.integers(0, 6), max_size=2)))
    n = int(np.prod(shape))
    if draw(st.booleans()):
        flat = np.full(n, draw(st.integers(0, k - 1)))
    else:
        flat = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), dtype=np.int64)
    counts = np.array(draw(st.lists(st.lists(st.integers(0, 1000), min_size=k, max_size=k), min_size=c, max_size=c)))
    counts[:, 0] += 1
    return flat.reshape(shape).astype(np.int64), k, frequency_table(counts)
