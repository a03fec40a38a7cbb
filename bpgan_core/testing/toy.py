"""A tiny 1-D modality with an untrained model, for tests and as the smallest complete plugin example.

Signal: a 1-D float array in [-1, 1] of any length >= 1. Model space: chunks of (1, 64) samples.
Latent: (2, 8) per chunk; the encoder averages blocks of 8 samples, the generator is the
matching fixed linear synthesis. No training needed: the weights are fixed and deterministic.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..errors import InvalidSignalError
from ..interfaces import Modality, Prepared, Preprocessor, SenderModels

CHUNK = 64
FACTOR = 8
LATENT_CHANNELS = 2
NAME = "toy1d"


class ToyPreprocessor(Preprocessor):
    """Pads a 1-D signal to whole chunks; records the length to crop on decode."""

    def forward(self, signal: Any, **options: Any) -> Prepared:
        if options:
            raise TypeError(f"toy1d takes no options, got {sorted(options)}")
        x = np.asarray(signal, dtype=np.float32)
        if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
            raise InvalidSignalError("toy1d needs a non-empty, finite 1-D array")
        n = -(-x.size // CHUNK)
        padded = np.zeros(n * CHUNK, dtype=np.float32)
        padded[: x.size] = x
        return Prepared({"n": int(x.size)}, [padded[i * CHUNK:(i + 1) * CHUNK][None] for i in range(n)], n)

    def inverse(self, chunks: Iterable[np.ndarray], meta: dict[str, Any]) -> np.ndarray:
        out = np.concatenate([np.asarray(c).reshape(-1) for c in chunks])
        if out.size < meta["n"]:
            raise ValueError("fewer samples decoded than the stream declares")
        return out[: meta["n"]].astype(np.float32)


def _networks() -> tuple[Any, Any]:
    import torch

    enc = torch.nn.Conv1d(1, LATENT_CHANNELS, FACTOR, stride=FACTOR, bias=False)
    gen = torch.nn.ConvTranspose1d(LATENT_CHANNELS, 1, FACTOR, stride=FACTOR, bias=False)
    with torch.no_grad():
        enc.weight.zero_()
        enc.weight[0, 0, :] = 1.0 / FACTOR  # block mean
        enc.weight[1, 0, :] = torch.linspace(-1, 1, FACTOR) / FACTOR  # block slope
        gen.weight.zero_()
        gen.weight[0, 0, :] = 1.0
        ramp = torch.linspace(-1, 1, FACTOR)
        gen.weight[1, 0, :] = ramp * FACTOR / float((ramp**2).sum())  # least-squares inverse of the slope
    return enc, gen


class ToyModality(Modality):
    """The toy modality: 1-D arrays, block-mean/slope latents."""

    name = NAME
    batch_size = 4
    file_suffixes = (".npy",)

    def preprocessor(self, card: Any) -> Preprocessor:
        return ToyPreprocessor()

    def load_sender(self, card: Any) -> SenderModels:
        import torch

        from ..torch_adapters import TorchEncoder, TorchGenerator

        enc, gen = _networks()
        gen.load_state_dict(torch.load(card.sender_path, weights_only=True))

        def loss(x: Any, y: Any) -> Any:
            return ((x - y) ** 2).flatten(1).mean(1)

        return SenderModels(TorchEncoder(enc), TorchGenerator(gen), loss)

    def read_file(self, path: str) -> tuple[Any, dict[str, Any]]:
        try:
            return np.load(path, allow_pickle=False), {}
        except (OSError, ValueError) as exc:
            raise InvalidSignalError(f"{path}: not a readable .npy array: {exc}") from exc

    def write_file(self, signal: Any, path: str) -> None:
        with open(path, "wb") as f:
            np.save(f, np.asarray(signal))

    def example(self) -> tuple[Any, dict[str, Any]]:
        t = np.arange(2000, dtype=np.float32)
        return 0.6 * np.sin(t / 40) * np.cos(t / 300), {}

    def measure(self, original: Any, decoded: Any, num_bytes: int) -> dict[str, float]:
        err = float(np.mean((np.asarray(original) - np.asarray(decoded)) ** 2))
        return {"bits_per_sample": 8.0 * num_bytes / np.asarray(original).size, "mse": err}


def make_toy_model(directory: str | Path, model_id: str = "toy1d-test", levels: int = 16) -> Path:
    """Write a complete toy model (ONNX generator, sender weights, model.json) into ``directory``."""
    import torch

    from ..export import export_onnx

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    _, gen = _networks()
    torch.save(gen.state_dict(), d / "sender.pt")
    export_onnx(gen, torch.zeros(1, LATENT_CHANNELS, 3), d / "generator.onnx", {"bpgan.model": model_id})
    centers = np.linspace(-1, 1, levels) ** 3  # non-uniform, denser near zero
    prior = np.stack([np.exp(-0.5 * (np.arange(levels) - (levels - 1) / 2) ** 2 / (levels / 4) ** 2)] * LATENT_CHANNELS)
    spec = {
        "format": 1, "id": model_id, "modality": NAME, "latent_channels": LATENT_CHANNELS,
        "quantizer": {"name": "scalar", "params": {"centers": [float(c) for c in centers]}},
        "entropy_coder": {"name": "range", "params": {"table": "model"}},
        "prior": (1 + np.round(prior * 1000)).astype(int).tolist(),
        "generator": "generator.onnx", "sender": "sender.pt",
        "config": {"chunk": CHUNK, "factor": FACTOR},
        "description": "untrained toy model for tests",
    }
    (d / "model.json").write_text(json.dumps(spec, indent=1))
    return d
