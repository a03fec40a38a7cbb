"""Sender-side loading of an image model (torch): encoder, generator and refinement loss."""
from __future__ import annotations

from typing import Any

from bpgan_core.interfaces import SenderModels
from bpgan_core.torch_adapters import TorchEncoder, TorchGenerator, load_sender_weights

from .losses import RefinementLoss
from .networks import NetworkConfig, build
from .training import DEFAULT_REFINE_ALPHA


def load_sender(card: Any) -> SenderModels:
    """The torch encoder and generator of ``card`` and the loss (1 - MS-SSIM) + alpha * MSE."""
    if card.sender_path is None or not card.sender_path.is_file():
        raise FileNotFoundError(f"model {card.id} has no sender weights; it can decode but not encode")
    net = NetworkConfig.from_dict(card.config["network"])
    encoder, generator, _ = build(net)
    load_sender_weights(encoder, generator, card.sender_path, card.generator_path)
    loss = RefinementLoss(float(card.config.get("refine_alpha", DEFAULT_REFINE_ALPHA)))
    return SenderModels(TorchEncoder(encoder), TorchGenerator(generator), loss)
