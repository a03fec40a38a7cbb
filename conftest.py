"""Settings for every test folder (tests/ and the example plugin's tests)."""
from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Tiny tensors run fastest on one thread, and CI machines are small."""
    import torch

    torch.set_num_threads(1)
