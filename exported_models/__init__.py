"""Models shipped with bpgan; each sub-folder holds a model.json (see bpgan_core.models)."""
from __future__ import annotations

from pathlib import Path


def model_dirs() -> list[Path]:
    """Folders of the models shipped in this package."""
    here = Path(__file__).parent
    return sorted(p for p in here.iterdir() if (p / "model.json").is_file())
