"""Our codec behind the bench's ``Codec`` interface, through the public API only."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from bpgan_core.bench.codec import Codec, Setting
from bpgan_core.models import ModelCard


class BpganCodec(Codec):
    """BPGAN at one effort preset and decoding precision; each installed model is one operating point.

    A model is trained for one rate, so the rate-distortion curve of ``bpgan:<effort>`` (float32
    decoding) or ``bpgan:<effort>:int8`` runs through the given models. A setting's label is the model
    id, its value ``{"model": id, "fingerprint": fp, "sender": sender fp}`` plus the int8 file's hash
    for int8, so results name the exact weights. Per-stage timings come from the API's reports.
    """

    def __init__(self, modality: str, models: Sequence[ModelCard], effort: str, precision: str = "float32") -> None:
        self.modality = modality
        self.effort = effort
        self.precision = precision
        self.name = f"bpgan:{effort}" + ("" if precision == "float32" else f":{precision}")
        self._settings = [Setting(card.id, _setting_value(card, precision)) for card in models]
        self._timings: dict[str, float] = {}

    @property
    def version(self) -> str:
        """bpgan package version."""
        from bpgan_core import __version__

        return __version__

    @property
    def settings(self) -> list[Setting]:
        """One setting per model."""
        return self._settings

    def encode(self, signal: Any, setting: Setting) -> bytes:
        """Compress with ``bpgan_core.api.compress_with_report`` using the model of ``setting``."""
        from bpgan_core.api import compress_with_report

        blob, report = compress_with_report(signal, modality=self.modality, model=setting.value["model"], effort=self.effort)
        self._timings = dict(report.timings)
        return blob

    def decode(self, data: bytes, like: Any) -> Any:
        """Decompress with ``bpgan_core.api.decompress_with_report`` at the codec's precision."""
        from bpgan_core.api import decompress_with_report

        signal, report = decompress_with_report(data, precision=self.precision)
        self._timings = dict(report.timings)
        return signal

    def stage_timings(self) -> dict[str, float]:
        """Per-stage seconds reported by the API for the latest call."""
        return dict(self._timings)


def _setting_value(card: ModelCard, precision: str) -> dict[str, str]:
    value = {"model": card.id, "fingerprint": card.fingerprint, "sender": card.sender_fingerprint}
    if precision == "int8" and card.int8_generator_path is not None:
        value["int8"] = hashlib.sha256(card.int8_generator_path.read_bytes()).hexdigest()[:16]
    return value


def bpgan_codecs(
    modality: str, efforts: Sequence[str] | None = None, accepts: Callable[[ModelCard], bool] | None = None,
    models: Sequence[str] | None = None, precisions: Sequence[str] = ("float32",),
) -> list[BpganCodec]:
    """One codec per effort preset (default: all) and precision over the installed models of
    ``modality`` that ``accepts`` (default: all) and, if given, whose id is in ``models``; [] if none.
    An int8 codec covers the models that have an int8 generator (``bpgan quantize``).

    Raises ValueError for an unknown effort or precision, or a model id in ``models`` that the suite
    cannot run.
    """
    from bpgan_core import EFFORTS, PRECISIONS, list_models

    if set(precisions) - set(PRECISIONS):
        raise ValueError(f"unknown precision(s) {sorted(set(precisions) - set(PRECISIONS))}; available: {list(PRECISIONS)}")

    chosen = list(efforts) if efforts else list(EFFORTS)
    unknown = sorted(set(chosen) - set(EFFORTS))
    if unknown:
        raise ValueError(f"unknown effort preset(s) {unknown}; available: {list(EFFORTS)}")
    cards = [card for card in list_models(modality) if accepts is None or accepts(card)]
    if models:
        missing = sorted(set(models) - {card.id for card in cards})
        if missing:
            available = ", ".join(card.id for card in cards) or "none"
            raise ValueError(f"no {modality} model {missing} in this suite; available: {available}")
        cards = [card for card in cards if card.id in models]
    codecs = []
    for precision in precisions:
        usable = [card for card in cards if precision == "float32" or card.int8_generator_path is not None]
        codecs += [BpganCodec(modality, usable, effort, precision) for effort in chosen] if usable else []
    return codecs
