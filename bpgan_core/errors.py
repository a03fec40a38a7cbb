"""Exceptions raised by bpgan. Every user-facing failure is one of these."""
from __future__ import annotations


class BpganError(Exception):
    """Base class of every error bpgan raises on purpose."""


class BitstreamError(BpganError):
    """A compressed stream cannot be decoded."""


class TruncatedStreamError(BitstreamError):
    """The stream ends before the container says it should."""


class CorruptStreamError(BitstreamError):
    """A checksum, marker or field of the stream is wrong."""


class UnsupportedVersionError(BitstreamError):
    """The stream was written by a container version this bpgan cannot read."""


class UnknownPluginError(BpganError, LookupError):
    """A modality, quantizer, entropy coder or model name is not installed."""


class PluginConflictError(BpganError):
    """Two installed plugins register the same name in one group."""


class PluginLoadError(BpganError):
    """An installed plugin failed to import or to build."""


class ModelMismatchError(BpganError):
    """The installed model differs from the one that wrote the stream."""


class PrecisionUnavailableError(BpganError):
    """The installed model has no generator file for the requested decoding precision."""


class InvalidSignalError(BpganError, ValueError):
    """The input signal is empty, malformed or of an unsupported kind."""


class OutputExistsError(BpganError, FileExistsError):
    """Refusing to overwrite an existing output file."""
