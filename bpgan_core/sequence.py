"""Decoding of consecutive latent chunks as one sequence, so the generator sees across chunk borders.

For modalities whose chunks follow each other along the latent's last axis (speech frames, sensor
samples), decoding each chunk alone leaves the generator blind at every border. With a context of
``k`` latent steps, each record's chunks are joined along that axis, extended by the last ``k``
steps of the previous record and the first ``k`` of the next, decoded in one generator call and cut
back into chunks. A model opts in with ``"decode_context": k`` in its model.json.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

import numpy as np


def decode_in_context(
    records: Iterable[np.ndarray], generate: Callable[[np.ndarray], np.ndarray], context: int
) -> Iterator[np.ndarray]:
    """Generator outputs, one per chunk, of latent records (B, C, T) that are consecutive in time.

    The output's last axis must be a whole multiple of the latent's (the generator's upsampling).
    The result equals decoding the whole sequence at once wherever the generator's reach is at most
    ``context`` steps and every record but the last spans at least ``context`` steps.
    """
    if context < 1:
        raise ValueError(f"context must be >= 1 latent step, got {context}")
    it = iter(records)
    current = next(it, None)
    before = None
    while current is not None:
        following = next(it, None)
        parts = [] if before is None else [before]
        parts += list(current)
        if following is not None:
            parts.append(np.concatenate(list(following), axis=-1)[..., :context])
        sequence = np.concatenate(parts, axis=-1)[None]
        out = generate(sequence)[0]
        factor, rest = divmod(out.shape[-1], sequence.shape[-1])
        if rest:
            raise ValueError(f"generator output length {out.shape[-1]} is not a multiple of its input's {sequence.shape[-1]}")
        start = 0 if before is None else before.shape[-1] * factor
        for chunk in current:
            stop = start + chunk.shape[-1] * factor
            yield out[..., start:stop]
            start = stop
        before = np.concatenate(list(current), axis=-1)[..., -context:]
        current = following
