"""The image modality of bpgan: RGB and grayscale pictures of any size.

Importing this package needs numpy and Pillow only; torch is imported by ``load_sender`` and
``train`` (sender side). See docs/image.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bpgan_core.errors import InvalidSignalError
from bpgan_core.interfaces import Modality, Preprocessor, SenderModels

from .preprocess import DEFAULT_TILE, IMAGE_SUFFIXES, ImagePreprocessor, to_array

__all__ = ["ImageModality"]

_LOSSY_SAVE = {".jpg": {"quality": 95}, ".jpeg": {"quality": 95}, ".webp": {"quality": 95}}


class ImageModality(Modality):
    """Images (PIL or uint8 / uint16 arrays) coded by a BPGAN encoder/generator at 1/16 (or 1/8) resolution."""

    name = "image"
    default_model = "image-0.25"
    batch_size = 2
    file_suffixes = IMAGE_SUFFIXES

    def preprocessor(self, card: Any) -> Preprocessor:
        return ImagePreprocessor(int(card.config.get("tile", DEFAULT_TILE)))

    def load_sender(self, card: Any) -> SenderModels:
        from .sender import load_sender

        return load_sender(card)

    def read_file(self, path: str) -> tuple[Any, dict[str, Any]]:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as im:
                im.load()
                if im.mode in ("I", "I;16", "I;16B", "I;16L"):
                    arr = np.asarray(im)
                    if arr.min() < 0 or arr.max() > 65535:
                        raise InvalidSignalError(f"{path}: 32-bit image values outside 0..65535")
                    return arr.astype(np.uint16), {}
                return to_array(im), {}
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            if isinstance(exc, InvalidSignalError):
                raise
            raise InvalidSignalError(f"{path}: not a readable image file: {exc}") from exc

    def write_file(self, signal: Any, path: str) -> None:
        """Save with Pillow; the format comes from ``path``'s suffix (PNG for a temp file without one).

        16-bit RGB cannot be stored by Pillow and is written at 8 bits; 16-bit grayscale stays 16-bit.
        """
        from PIL import Image

        arr = np.asarray(signal)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        if arr.dtype == np.uint16 and arr.ndim == 3:
            arr = np.round(arr / 257.0).astype(np.uint8)
        image = Image.fromarray(arr.astype(np.uint16) if arr.dtype == np.uint16 else arr.astype(np.uint8))
        suffix = Path(path).suffix.lower()
        fmt = None if suffix in IMAGE_SUFFIXES else "PNG"
        image.save(path, format=fmt, **_LOSSY_SAVE.get(suffix, {}))

    def example(self) -> tuple[Any, dict[str, Any]]:
        from .synthetic import synthetic_image

        return synthetic_image(256, 384), {}

    def measure(self, original: Any, decoded: Any, num_bytes: int) -> dict[str, float]:
        """bpp of the whole stream, PSNR (dB) and, when pytorch_msssim is available and both sides
        exceed 160 px, MS-SSIM; 16-bit images are scored at 8 bits."""
        a, b = _rgb8(original), _rgb8(decoded)
        if a.shape != b.shape:
            raise InvalidSignalError(f"decoded shape {b.shape} differs from the original's {a.shape}")
        mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
        out = {"bpp": 8.0 * num_bytes / (a.shape[0] * a.shape[1]),
               "psnr_db": float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))}
        if min(a.shape[:2]) > 160:
            try:
                from .metrics import ssim_metric
            except ImportError:
                return out
            name, value = ssim_metric(a, b)
            out[name] = value
        return out

    def train(self, argv: list[str]) -> int:
        from .training import main

        return main(argv)


def _rgb8(signal: Any) -> np.ndarray:
    arr = to_array(signal)
    if arr.dtype == np.uint16:
        arr = np.round(arr / 257.0).astype(np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr[:, :, :3] if arr.shape[2] >= 3 else np.repeat(arr[:, :, :1], 3, axis=2)
