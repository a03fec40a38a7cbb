"""Receiver-side generator on ONNX Runtime. Never imports torch.

Provider choice: ``auto`` tries CUDA and falls back to the CPU. onnxruntime-gpu logs library-load
errors when CUDA is not installed; ``auto`` mutes ONNX Runtime's logger while it probes, so a CPU-only
host decodes quietly. Name a provider (``cuda``, ``cpu`` or a full ONNX Runtime provider name) or set
BPGAN_ONNX_PROVIDER to force one; forcing an unavailable provider raises.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BpganError
from .interfaces import Generator

ENV_PROVIDER = "BPGAN_ONNX_PROVIDER"
ENV_THREADS = "BPGAN_THREADS"
_ALIASES = {"cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}
_DEFAULT_SEVERITY = 2


def resolve_providers(provider: str | None) -> tuple[list[str], bool]:
    """The provider list to try and whether it is an automatic (quiet) probe."""
    import onnxruntime as ort

    choice = (provider or os.environ.get(ENV_PROVIDER) or "auto").strip()
    available = ort.get_available_providers()
    if choice.lower() == "auto":
        wanted = [p for p in ("CUDAExecutionProvider",) if p in available]
        return wanted + ["CPUExecutionProvider"], True
    name = _ALIASES.get(choice.lower(), choice)
    if name not in available:
        raise BpganError(f"ONNX Runtime provider {name!r} is not available here; available: {', '.join(available)}")
    return [name], False


def create_session(path: str | os.PathLike[str], provider: str | None = None, threads: int | None = None) -> Any:
    """An InferenceSession for ``path`` on the chosen provider (see module docstring)."""
    import onnxruntime as ort

    providers, quiet = resolve_providers(provider)
    options = ort.SessionOptions()
    n = threads or int(os.environ.get(ENV_THREADS, "0") or 0)
    if n:
        options.intra_op_num_threads = n
        options.inter_op_num_threads = 1
    if quiet:
        options.log_severity_level = 4
        ort.set_default_logger_severity(4)
    try:
        session = ort.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:
        raise BpganError(f"cannot load ONNX model {path}: {exc}") from exc
    finally:
        if quiet:
            ort.set_default_logger_severity(_DEFAULT_SEVERITY)
    if not quiet and session.get_providers()[0] != providers[0]:
        raise BpganError(f"ONNX Runtime could not start provider {providers[0]}")
    return session


class OnnxGenerator(Generator):
    """Runs an exported generator: float32 latents (batch, C, ...) in, model-space chunks out."""

    differentiable = False

    def __init__(self, path: str | os.PathLike[str], provider: str | None = None, threads: int | None = None) -> None:
        self.path = Path(path)
        self.session = create_session(self.path, provider, threads)
        self._input = self.session.get_inputs()[0].name
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)

    @property
    def provider(self) -> str:
        """The execution provider that actually runs the model."""
        return self.session.get_providers()[0]

    def generate(self, z: Any) -> np.ndarray:
        return self.session.run(None, {self._input: np.ascontiguousarray(z, dtype=np.float32)})[0]
