"""Our codec behind the bench's ``Codec`` interface, through the public API only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bpgan_core.bench.codec import Codec, Setting

DEFAULT_POINT = Setting("default", {})


class BpganCodec(Codec):
    """One installed model at one effort preset; its settings are option sets for ``compress``.

    Each setting's value is a dict of keyword options passed to ``compress_with_report``; by
    default there is one setting, the model's own operating point. Stage timings come from the
    API's reports.
    """

    def __init__(
        self, modality: str, model_id: str, effort: str, operating_points: Sequence[Setting] | None = None
    ) -> None:
        self.modality = modality
        self.model_id = model_id
        self.effort = effort
        self.name = f"bpgan:{model_id}:{effort}"
        self._settings = list(operating_points or [DEFAULT_POINT])
        self._timings: dict[str, float] = {}

    @property
    def version(self) -> str:
        """Installed bpgan package version."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("bpgan")
        except PackageNotFoundError:
            return ""

    @property
    def settings(self) -> list[Setting]:
        """Operating points of this model."""
        return self._settings

    def encode(self, signal: Any, setting: Setting) -> bytes:
        """Compress with ``bpgan_core.api.compress_with_report``."""
        from bpgan_core.api import compress_with_report

        blob, report = compress_with_report(
            signal, modality=self.modality, model=self.model_id, effort=self.effort, **setting.value
        )
        self._timings = dict(report.timings)
        return blob

    def decode(self, data: bytes, like: Any) -> Any:
        """Decompress with ``bpgan_core.api.decompress_with_report``."""
        from bpgan_core.api import decompress_with_report

        signal, report = decompress_with_report(data)
        self._timings = dict(report.timings)
        return signal

    def stage_timings(self) -> dict[str, float]:
        """Per-stage seconds reported by the API for the latest call."""
        return dict(self._timings)


def bpgan_codecs(modality: str, efforts: Sequence[str] | None = None) -> list[BpganCodec]:
    """A codec for every installed model of ``modality`` at every effort preset (default: all)."""
    from bpgan_core import EFFORTS, list_models

    chosen = list(efforts) if efforts else list(EFFORTS)
    unknown = sorted(set(chosen) - set(EFFORTS))
    if unknown:
        raise ValueError(f"unknown effort preset(s) {unknown}; available: {list(EFFORTS)}")
    return [BpganCodec(modality, card.id, effort) for card in list_models(modality) for effort in chosen]
