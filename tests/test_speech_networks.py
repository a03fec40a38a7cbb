"""Shapes and configuration errors of the two speech network architectures."""
from __future__ import annotations

import pytest
import torch

from bpgan_speech.networks import build


@pytest.mark.parametrize("config", [
    {"arch": "conv1d", "width": 8},
    {"arch": "conv2d", "widths": [4, 4, 8]},
    {"width": 8},  # models from before ``arch`` existed are conv1d
])
@pytest.mark.parametrize("n_mels, channels", [(128, 16), (64, 8)])
def test_latent_and_output_shapes(config, n_mels, channels):
    encoder, generator = build({**config, "n_mels": n_mels, "latent_channels": channels, "time_factor": 16})
    x = torch.rand(2, n_mels, 48)
    with torch.no_grad():
        z = encoder(x)
        y = generator(z)
    assert z.shape == (2, channels, 3)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1


@pytest.mark.parametrize("n_mels, channels, time_factor, message", [
    (120, 16, 16, "divisible by 16"),
    (128, 12, 16, "multiple of n_mels / 16"),
    (128, 16, 8, "time_factor 16"),
])
def test_conv2d_rejects_bad_geometry(n_mels, channels, time_factor, message):
    config = {"arch": "conv2d", "widths": [4, 4, 8], "n_mels": n_mels, "latent_channels": channels,
              "time_factor": time_factor}
    with pytest.raises(ValueError, match=message):
        build(config)
