"""Models shipped with bpgan-sensor (entry point ``bpgan.model_dirs``)."""
from __future__ import annotations

from pathlib import Path


def model_dirs() -> list[Path]:
    """Folders of the shipped sensor models."""
    here = Path(__file__).parent
    return sorted(p for p in here.iterdir() if (p / "model.json").is_file())
