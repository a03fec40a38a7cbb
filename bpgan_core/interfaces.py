"""The abstract stages every modality plugs into.

Sender:   signal -> Preprocessor.forward -> Encoder -> latent refinement (ADMM) -> Quantizer -> EntropyCoder
Receiver: EntropyCoder.decode -> Quantizer.dequantize -> Generator -> Preprocessor.inverse -> signal

Receiver-side stages never need torch: arrays cross the interfaces as numpy arrays there, and only
the sender's Encoder/Generator (used for back-propagation) are torch modules.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .models import ModelCard


@dataclass
class Prepared:
    """A signal mapped to model space.

    ``chunks`` yields float32 arrays shaped (channels, *spatial), one network input each, in order;
    ``meta`` is the JSON-serialisable signal metadata the receiver needs to invert the mapping.
    """

    meta: dict[str, Any]
    chunks: Iterable[np.ndarray]
    num_chunks: int | None = None


class Preprocessor(ABC):
    """Maps a signal to model-space chunks and back."""

    @abstractmethod
    def forward(self, signal: Any, **options: Any) -> Prepared:
        """Validate ``signal`` and cut it into model-space chunks."""

    @abstractmethod
    def inverse(self, chunks: Iterable[np.ndarray], meta: dict[str, Any]) -> Any:
        """Rebuild the signal from decoded model-space chunks."""

    def inverse_stream(self, chunks: Iterable[np.ndarray], meta: dict[str, Any]) -> Iterator[Any]:
        """Yield the signal piece by piece; by default in one piece."""
        yield self.inverse(chunks, meta)


class Encoder(ABC):
    """Maps a batch of model-space chunks to float latents."""

    @abstractmethod
    def encode(self, x: Any) -> Any:
        """Return latents shaped (batch, latent_channels, *latent_spatial)."""


class Generator(ABC):
    """Maps a batch of latents back to model space."""

    #: whether ``generate`` accepts torch tensors and back-propagates (sender side)
    differentiable: ClassVar[bool] = False

    @abstractmethod
    def generate(self, z: Any) -> Any:
        """Return model-space chunks for latents shaped (batch, latent_channels, *latent_spatial)."""


class Quantizer(ABC):
    """A finite set of centers; indices address them."""

    name: ClassVar[str] = ""

    @property
    @abstractmethod
    def centers(self) -> np.ndarray:
        """The sorted float32 centers."""

    @property
    def num_symbols(self) -> int:
        """How many distinct indices the quantizer emits."""
        return int(self.centers.size)

    @abstractmethod
    def indices(self, z: Any) -> Any:
        """Index of the nearest center for every element (numpy or torch)."""

    @abstractmethod
    def dequantize(self, idx: Any) -> Any:
        """Center values for indices (numpy or torch)."""

    def project(self, z: Any) -> Any:
        """Hard projection onto the centers, Proj_S(z)."""
        return self.dequantize(self.indices(z))

    @abstractmethod
    def soft(self, z: Any, temperature: float, centers: Any = None) -> Any:
        """Differentiable straight-through quantization used in training and refinement (torch)."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-serialisable parameters that rebuild this quantizer."""

    @classmethod
    @abstractmethod
    def from_params(cls, params: dict[str, Any]) -> "Quantizer":
        """Rebuild from ``params()``."""


class EntropyCoder(ABC):
    """Lossless coding of quantizer indices shaped (batch, channels, *spatial)."""

    name: ClassVar[str] = ""
    prior_key: ClassVar[str] = "prior"
    """The model.json field holding the table this coder codes with (``ModelCard.prior_for``)."""

    @abstractmethod
    def encode(self, indices: np.ndarray, num_symbols: int, prior: np.ndarray | None) -> bytes:
        """Code ``indices``; ``prior`` is the model's integer table (channels, num_symbols) or None.

        Coders with another ``prior_key`` receive that table instead (e.g. one per context).
        """

    @abstractmethod
    def decode(self, data: bytes, shape: tuple[int, ...], num_symbols: int, prior: np.ndarray | None) -> np.ndarray:
        """Inverse of ``encode`` for indices of ``shape``; raises BitstreamError on bad data."""

    def params(self) -> dict[str, Any]:
        """JSON-serialisable parameters that rebuild this coder."""
        return {}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "EntropyCoder":
        """Rebuild from ``params()``."""
        return cls(**params)


LossFn = Callable[[Any, Any], Any]
"""Refinement loss: (target batch, reconstruction batch) -> per-item loss tensor shaped (batch,)."""


@dataclass
class SenderModels:
    """What the sender needs beyond the receiver: a differentiable encoder, generator and loss."""

    encoder: Encoder
    generator: Generator
    loss: LossFn
    extras: dict[str, Any] = field(default_factory=dict)


class Modality(ABC):
    """A kind of signal: bundles its preprocessor, model loading, refinement loss and defaults.

    Plugins subclass this and register the class in the ``bpgan.modalities`` entry-point group.
    Importing the plugin module must not import torch: do that inside ``load_sender``.
    """

    name: ClassVar[str] = ""
    #: model id used when the caller names none (None: the first installed model of the modality)
    default_model: ClassVar[str | None] = None
    #: how many chunks the sender refines together
    batch_size: ClassVar[int] = 8

    @abstractmethod
    def preprocessor(self, card: "ModelCard") -> Preprocessor:
        """The preprocessor matching a model's configuration."""

    @abstractmethod
    def load_sender(self, card: "ModelCard") -> SenderModels:
        """Load the torch encoder, generator and refinement loss of a model (sender only)."""

    #: file suffixes (lower case, with dot) ``read_file`` understands; the first is the decode default
    file_suffixes: ClassVar[tuple[str, ...]] = ()

    def read_file(self, path: str) -> tuple[Any, dict[str, Any]]:
        """Load a signal file as (signal, compress options); modalities with files override this."""
        raise NotImplementedError(f"modality {self.name!r} cannot read files")

    def write_file(self, signal: Any, path: str) -> None:
        """Write a decoded signal to ``path`` (format from its suffix)."""
        raise NotImplementedError(f"modality {self.name!r} cannot write files")

    def example(self) -> tuple[Any, dict[str, Any]]:
        """A signal the plugin synthesises itself, with its compress options (used by ``bpgan demo``)."""
        raise NotImplementedError(f"modality {self.name!r} has no example signal")

    def measure(self, original: Any, decoded: Any, num_bytes: int) -> dict[str, float]:
        """Rate and quality figures of one coded signal, e.g. {"bpp": .., "psnr_db": ..}."""
        return {"bytes": float(num_bytes)}

    def train(self, argv: list[str]) -> int:
        """Entry point of ``bpgan train <modality> ...``; returns an exit status."""
        raise NotImplementedError(f"modality {self.name!r} has no trainer")
