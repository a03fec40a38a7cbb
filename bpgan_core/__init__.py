"""bpgan: generative signal compression (BPGAN) as a plugin-based, modality-agnostic codec framework.

    blob = bpgan_core.compress(signal, modality="speech", sample_rate=16000)
    audio = bpgan_core.decompress(blob)

Importing this package does not import torch; only compression (the sender) needs it.
"""
from __future__ import annotations

from .admm import EFFORTS, RefineSettings
from .api import (
    PRECISIONS,
    Report,
    compress,
    compress_file,
    compress_with_report,
    decompress,
    decompress_file,
    decompress_stream,
    decompress_with_report,
    read_header,
)
from .errors import (
    BitstreamError,
    BpganError,
    CorruptStreamError,
    InvalidSignalError,
    ModelMismatchError,
    OutputExistsError,
    PluginConflictError,
    PluginLoadError,
    PrecisionUnavailableError,
    TruncatedStreamError,
    UnknownPluginError,
    UnsupportedVersionError,
)
from .models import ModelCard, list_models, register_model_dir
from .registry import get_modality

__version__ = "0.1.0"


def list_modalities() -> list[str]:
    """Names of the installed modality plugins."""
    from .registry import modalities

    return modalities.names()


__all__ = [
    "EFFORTS", "PRECISIONS", "RefineSettings", "Report", "compress", "compress_file", "compress_with_report", "decompress",
    "decompress_file", "decompress_stream", "decompress_with_report", "read_header", "BitstreamError",
    "BpganError", "CorruptStreamError", "InvalidSignalError", "ModelMismatchError", "OutputExistsError",
    "PluginConflictError", "PluginLoadError", "PrecisionUnavailableError", "TruncatedStreamError", "UnknownPluginError",
    "UnsupportedVersionError", "ModelCard", "list_models", "register_model_dir", "get_modality",
    "list_modalities", "__version__",
]
