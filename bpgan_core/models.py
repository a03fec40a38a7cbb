"""Installed models: a directory holding model.json, the ONNX generator and the sender's weights.

model.json (format 1) fields: id, modality, latent_channels, quantizer {name, params},
entropy_coder {name, params}, prior (integer table, channels x symbols, or null), generator (ONNX
file), sender (torch weights file, optional for decode-only installs), config (modality-specific),
refinement (optional per-effort overrides), description, metrics; int8_generator (optional:
{file, calibration_files, agreement_db}, see ``bpgan_core.int8``); context_prior (optional: the
table of the ``range-context`` coder, inline or a .npy file name). The fingerprint hashes everything
the receiver depends on, so a stream never decodes silently with a different model.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from . import registry
from .errors import PluginConflictError, UnknownPluginError
from .interfaces import EntropyCoder, Quantizer

MODEL_FILE = "model.json"
FORMAT = 1
ENV_MODEL_PATH = "BPGAN_MODEL_PATH"
TABLE_FIELDS = ("context_prior",)
"""Coder tables besides ``prior`` that the fingerprint covers (file contents when stored as .npy)."""


@dataclass
class ModelCard:
    """One installed model and what its model.json says."""

    path: Path
    spec: dict[str, Any] = field(repr=False)
    _tables: dict[str, np.ndarray | None] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "ModelCard":
        """Read ``path/model.json``; raises ValueError on a malformed file."""
        p = Path(path)
        try:
            spec = json.loads((p / MODEL_FILE).read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{p}: unreadable {MODEL_FILE}: {exc}") from exc
        missing = {"id", "modality", "latent_channels", "quantizer", "entropy_coder", "generator"} - set(spec)
        if missing or spec.get("format", FORMAT) != FORMAT:
            raise ValueError(f"{p}: {MODEL_FILE} lacks {sorted(missing)} or has an unknown format")
        return cls(p, spec)

    @property
    def id(self) -> str:
        return str(self.spec["id"])

    @property
    def modality(self) -> str:
        return str(self.spec["modality"])

    @property
    def latent_channels(self) -> int:
        return int(self.spec["latent_channels"])

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.spec.get("config", {}))

    @property
    def description(self) -> str:
        return str(self.spec.get("description", ""))

    @property
    def generator_path(self) -> Path:
        return self.path / self.spec["generator"]

    @property
    def int8_generator_path(self) -> Path | None:
        """The int8 generator that ``bpgan quantize`` wrote (model.json ``int8_generator``), or None."""
        entry = self.spec.get("int8_generator")
        return self.path / entry["file"] if isinstance(entry, dict) and "file" in entry else None

    @property
    def sender_path(self) -> Path | None:
        name = self.spec.get("sender")
        return self.path / name if name else None

    @cached_property
    def prior(self) -> np.ndarray | None:
        """The per-channel integer frequency table (channels, symbols), or None."""
        return self.table("prior")

    def table(self, key: str) -> np.ndarray | None:
        """An integer table of model.json: inline lists, or the name of a .npy file in the model folder."""
        value = self.spec.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return np.load(self.path / value, allow_pickle=False).astype(np.int64)
        return np.asarray(value, dtype=np.int64)

    def prior_for(self, coder: EntropyCoder) -> np.ndarray | None:
        """The table ``coder`` codes with (its ``prior_key`` field; cached per key)."""
        if coder.prior_key == "prior":
            return self.prior
        if coder.prior_key not in self._tables:
            self._tables[coder.prior_key] = self.table(coder.prior_key)
        return self._tables[coder.prior_key]

    def quantizer(self) -> Quantizer:
        q = self.spec["quantizer"]
        return registry.quantizers.get(q["name"]).from_params(q.get("params", {}))

    def entropy_coder(self, **overrides: Any) -> EntropyCoder:
        c = self.spec["entropy_coder"]
        return registry.entropy_coders.get(c["name"]).from_params({**c.get("params", {}), **overrides})

    def refinement(self, effort: str) -> dict[str, Any]:
        """Per-effort refinement overrides stored with the model."""
        return dict(self.spec.get("refinement", {}).get(effort, {}))

    @cached_property
    def fingerprint(self) -> str:
        """16 hex digits of SHA-256 over the generator and every decode-relevant field."""
        h = hashlib.sha256()
        with open(self.generator_path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        decode_fields = {k: self.spec.get(k) for k in
                         ("id", "modality", "latent_channels", "quantizer", "entropy_coder", "prior", "config")}
        for key in TABLE_FIELDS:  # present only in models that use them, so older fingerprints stay
            if key in self.spec:
                value = self.spec[key]
                decode_fields[key] = (hashlib.sha256((self.path / value).read_bytes()).hexdigest()
                                      if isinstance(value, str) else value)
        h.update(json.dumps(decode_fields, sort_keys=True, separators=(",", ":")).encode())
        return h.hexdigest()[:16]

    @cached_property
    def sender_fingerprint(self) -> str:
        """16 hex digits of SHA-256 over the sender's weights and the refinement presets.

        With ``fingerprint`` it names everything that decides which stream a model writes (the
        receiver never needs it); benchmark reuse compares both.
        """
        h = hashlib.sha256()
        if self.sender_path is not None and self.sender_path.exists():
            h.update(self.sender_path.read_bytes())
        h.update(json.dumps(self.spec.get("refinement", {}), sort_keys=True, separators=(",", ":")).encode())
        return h.hexdigest()[:16]


_local_dirs: list[Path] = []


def register_model_dir(path: str | os.PathLike[str]) -> None:
    """Make the model(s) under ``path`` visible in this process."""
    _local_dirs.append(Path(path))


def unregister_model_dir(path: str | os.PathLike[str]) -> None:
    """Undo ``register_model_dir``."""
    p = Path(path)
    if p in _local_dirs:
        _local_dirs.remove(p)


def _candidate_dirs() -> Iterable[Path]:
    for name in registry.model_dirs.names():
        yield from (Path(p) for p in registry.model_dirs.get(name)())
    for entry in os.environ.get(ENV_MODEL_PATH, "").split(os.pathsep):
        if entry:
            yield Path(entry)
    yield from _local_dirs


def _expand(root: Path) -> Iterable[Path]:
    if (root / MODEL_FILE).is_file():
        yield root
    elif root.is_dir():
        yield from sorted(p for p in root.iterdir() if (p / MODEL_FILE).is_file())


def list_models(modality: str | None = None) -> list[ModelCard]:
    """Every installed model (optionally of one modality), sorted by id."""
    cards: dict[str, ModelCard] = {}
    for root in _candidate_dirs():
        for d in _expand(root):
            card = ModelCard.load(d)
            other = cards.get(card.id)
            if other is not None and other.path.resolve() != card.path.resolve():
                raise PluginConflictError(f"model id {card.id!r} is installed twice: {other.path} and {card.path}")
            cards[card.id] = card
    return sorted((c for c in cards.values() if modality in (None, c.modality)), key=lambda c: c.id)


def find_model(modality: str, model: str | None = None, default: str | None = None) -> ModelCard:
    """The model named ``model`` (or the modality's default, else its first) for ``modality``."""
    cards = list_models(modality)
    if not cards:
        raise UnknownPluginError(
            f"no model installed for modality {modality!r}; add one with {ENV_MODEL_PATH} or a plugin"
        )
    wanted = model or default
    if wanted is None:
        return cards[0]
    for card in cards:
        if card.id == wanted:
            return card
    raise UnknownPluginError(
        f"unknown {modality} model {wanted!r}; installed: {', '.join(c.id for c in cards)}"
    )
