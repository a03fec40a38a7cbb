"""One container record: the shape of a batch of latent indices followed by their entropy-coded bytes."""
from __future__ import annotations

import numpy as np

from .errors import CorruptStreamError
from .interfaces import EntropyCoder
from .varint import decode_varint, encode_varint

MAX_SPATIAL_DIMS = 3


def encode_record(indices: np.ndarray, coder: EntropyCoder, num_symbols: int, prior: np.ndarray | None) -> bytes:
    """Record bytes for indices shaped (batch, channels, *spatial)."""
    batch, _channels, *spatial = indices.shape
    head = encode_varint(batch) + encode_varint(len(spatial)) + b"".join(encode_varint(d) for d in spatial)
    return head + coder.encode(indices, num_symbols, prior)


def decode_record(
    data: bytes, channels: int, coder: EntropyCoder, num_symbols: int, prior: np.ndarray | None
) -> np.ndarray:
    """Indices shaped (batch, channels, *spatial) from record bytes."""
    batch, pos = decode_varint(data, 0)
    ndim, pos = decode_varint(data, pos)
    if ndim > MAX_SPATIAL_DIMS or batch == 0:
        raise CorruptStreamError("record has an implausible latent shape")
    spatial = []
    for _ in range(ndim):
        d, pos = decode_varint(data, pos)
        spatial.append(d)
    shape = (batch, channels, *spatial)
    if int(np.prod(shape, dtype=np.float64)) > 1 << 31:
        raise CorruptStreamError("record latent is implausibly large")
    return coder.decode(data[pos:], shape, num_symbols, prior)
