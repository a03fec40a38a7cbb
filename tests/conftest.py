"""Shared fixtures: the toy modality with an untrained model, registered in-process."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bpgan_core import models, registry
from bpgan_core.testing.toy import ToyModality, make_toy_model


@pytest.fixture(scope="session")
def toy_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("toy_models")
    make_toy_model(root / "toy1d-test")
    return root


@pytest.fixture(scope="session")
def toy(toy_model_dir: Path) -> str:
    """Registers the toy modality and its model; returns the modality name."""
    registry.modalities.register("toy1d", ToyModality, replace=True)
    models.register_model_dir(toy_model_dir)
    return "toy1d"


@pytest.fixture
def toy_signal() -> np.ndarray:
    t = np.arange(1000, dtype=np.float32)
    return (0.7 * np.sin(t / 23) * np.cos(t / 170)).astype(np.float32)
