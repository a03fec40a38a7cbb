"""Modality-agnostic BPGAN training: three phases (float, soft-to-hard quantization, hard), GAN losses,
a learned factorized rate model, checkpoints with resume, CSV logs and model export.

A modality supplies a TrainingRecipe (networks, data, reconstruction loss, model config); see
``bpgan_core.training.recipe``.
"""
from .recipe import TrainConfig, TrainingRecipe
from .trainer import Trainer

__all__ = ["TrainConfig", "TrainingRecipe", "Trainer"]
