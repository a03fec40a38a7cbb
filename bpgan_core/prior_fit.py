"""Refit a model's entropy-coding tables to a folder of signals (``bpgan fit-prior``).

The sender's encoder maps every file of the folder to latent indices (no refinement); their counts
give the per-channel ``prior`` and the neighbour-context ``context_prior`` of the ``range-context`` coder,
which the model then uses. The model folder is updated in place, atomically, and its fingerprint
changes: streams written before the refit no longer decode with it.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from . import registry
from .api import atomic_write
from .context_coder import CONTEXT_FILE, ContextRangeCoder, fit_context_prior, save_context_prior
from .entropy import RangeCoder, fit_channel_prior
from .interfaces import EntropyCoder
from .models import MODEL_FILE, ModelCard


def signal_files(data: Path, suffixes: tuple[str, ...], limit: int | None) -> list[Path]:
    """The first ``limit`` (all if None) files of ``data`` with one of ``suffixes``, sorted by name."""
    files = sorted(p for p in data.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise FileNotFoundError(f"no {'/'.join(suffixes)} files in {data}")
    return files[:limit]


def model_indices(card: ModelCard, files: list[Path]) -> Iterator[np.ndarray]:
    """Quantizer indices (1, channels, *spatial) of every chunk of every file, unrefined."""
    import torch

    modality = registry.get_modality(card.modality)
    sender = modality.load_sender(card)
    quantizer, pre = card.quantizer(), modality.preprocessor(card)
    for path in files:
        signal, options = modality.read_file(str(path))
        for chunk in pre.forward(signal, **options).chunks:
            with torch.no_grad():
                z = sender.encoder.encode(torch.from_numpy(np.asarray(chunk, dtype=np.float32)[None]))
            yield np.asarray(quantizer.indices(z.numpy()), dtype=np.int64)


def fit_priors(model_dir: str | os.PathLike[str], data: str | os.PathLike[str], limit: int | None = None,
               neighbours: int = 2) -> dict[str, Any]:
    """Refit ``prior`` and ``context_prior`` (``neighbours`` 2 or 3, see ``fit_context_prior``) of the
    model in ``model_dir`` on the files in ``data``.

    Returns the estimated bits per latent element under both tables on that data and the new fingerprint.
    """
    folder = Path(model_dir)
    card = ModelCard.load(folder)
    k = card.quantizer().num_symbols
    indices = list(model_indices(card, signal_files(Path(data), registry.get_modality(card.modality).file_suffixes, limit)))
    prior = fit_channel_prior(indices, k)
    context = fit_context_prior(indices, k, neighbours=neighbours)
    spec = dict(card.spec)
    spec.update(prior=prior.tolist(), context_prior=CONTEXT_FILE,
                entropy_coder={"name": ContextRangeCoder.name, "params": {"table": "model"}})
    atomic_write(folder / CONTEXT_FILE, force=True, writer=lambda tmp: save_context_prior(tmp, context))
    atomic_write(folder / MODEL_FILE, json.dumps(spec, indent=1).encode(), force=True)
    return {
        "elements": sum(idx.size for idx in indices),
        "bits_per_element": {"prior": _bits(indices, RangeCoder(), prior),
                             "context_prior": _bits(indices, ContextRangeCoder(), context)},
        "fingerprint": ModelCard.load(folder).fingerprint,
    }


def _bits(indices: list[np.ndarray], coder: EntropyCoder, table: np.ndarray) -> float:
    """Mean bits per element ``coder`` spends on ``indices`` with ``table`` (real coded sizes)."""
    total = sum(len(coder.encode(idx, table.shape[-1], table)) for idx in indices)
    return 8.0 * total / max(sum(idx.size for idx in indices), 1)
