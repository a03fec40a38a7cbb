"""Images to model-space tiles and back (numpy only, so the receiver needs no torch).

Accepted signals: PIL images and numpy arrays H x W (grayscale), H x W x 1, H x W x 2 (gray +
alpha), H x W x 3 (RGB) or H x W x 4 (RGBA), of dtype uint8 or uint16, any size from 1 x 1.
- 16-bit images are coded at 8-bit precision (value / 257, rounded) and decoded back to uint16
  (value * 257).
- Alpha is not coded: the decoded image has the colour channels only (H x W or H x W x 3).
- Grayscale is coded as R = G = B and decoded as the channel mean, in the input's shape (H x W or
  H x W x 1).
Model space: RGB in [-0.5, 0.5]. The image is mirror-padded to multiples of 16 and cut into a
grid of tiles of at most ``tile`` x ``tile`` pixels (equal sizes where possible, so the sender can
batch them); the receiver crops the padding away after stitching.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

import numpy as np

from bpgan_core.errors import InvalidSignalError
from bpgan_core.interfaces import Prepared, Preprocessor

MULTIPLE = 16
"""Sides of every tile are multiples of this (the latent is at 1/16 resolution)."""
DEFAULT_TILE = 1024
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
_CHANNELS_TO_MODE = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_PIL_CONVERSIONS = {"1": "L", "P": "RGBA", "PA": "RGBA", "CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB",
                    "I;16B": "I;16", "I;16L": "I;16", "La": "LA", "RGBa": "RGBA", "RGBX": "RGB"}


def to_array(signal: Any) -> np.ndarray:
    """A PIL image or array-like as a uint8 / uint16 array H x W or H x W x {1, 2, 3, 4}."""
    if hasattr(signal, "mode") and hasattr(signal, "getbands"):  # a PIL image
        mode = signal.mode
        if mode in ("I", "F"):
            raise InvalidSignalError(f"PIL mode {mode!r} (32-bit) is not supported; convert to 'I;16', 'L' or 'RGB'")
        if mode in _PIL_CONVERSIONS:
            signal = signal.convert(_PIL_CONVERSIONS[mode])
        if signal.mode not in ("L", "LA", "RGB", "RGBA", "I;16"):
            raise InvalidSignalError(f"unsupported PIL image mode {signal.mode!r}")
        arr = np.asarray(signal)
    else:
        try:
            arr = np.asarray(signal)
        except (TypeError, ValueError) as exc:
            raise InvalidSignalError(f"cannot read an image from {type(signal).__name__}: {exc}") from exc
    if arr.dtype == np.dtype(">u2"):
        arr = arr.astype(np.uint16)
    if arr.dtype not in (np.uint8, np.uint16):
        raise InvalidSignalError(
            f"images must be uint8 or uint16 arrays, got dtype {arr.dtype}; e.g. np.clip(x * 255, 0, 255).astype(np.uint8)"
        )
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in _CHANNELS_TO_MODE):
        raise InvalidSignalError(f"images are H x W or H x W x 1..4 arrays, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InvalidSignalError(f"empty image of shape {arr.shape}")
    return arr


def tile_grid(height: int, width: int, tile: int) -> tuple[list[int], list[int]]:
    """Row and column offsets of the tiles covering a padded ``height`` x ``width`` image."""
    def cuts(n: int) -> list[int]:
        count = -(-n // tile)
        step = -(-n // count // MULTIPLE) * MULTIPLE
        return list(range(0, n, step))

    return cuts(height), cuts(width)


class ImagePreprocessor(Preprocessor):
    """Validates, pads and tiles images; stitches, crops and restores dtype and shape on decode."""

    def __init__(self, tile: int = DEFAULT_TILE) -> None:
        if tile % MULTIPLE or tile <= 0:
            raise ValueError(f"tile must be a positive multiple of {MULTIPLE}")
        self.tile = tile

    def forward(self, signal: Any, **options: Any) -> Prepared:
        if options:
            raise TypeError(f"image compression takes no options, got {sorted(options)}")
        arr = to_array(signal)
        shape, dtype = list(arr.shape), str(arr.dtype)
        if arr.dtype == np.uint16:
            arr = np.round(arr.astype(np.float32) / 257.0).astype(np.uint8)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        colour = arr[:, :, :3] if arr.shape[2] >= 3 else arr[:, :, :1]
        h, w = colour.shape[:2]
        ph, pw = -(-h // MULTIPLE) * MULTIPLE, -(-w // MULTIPLE) * MULTIPLE
        padded = np.pad(colour, ((0, ph - h), (0, pw - w), (0, 0)), mode="symmetric")
        rows, cols = tile_grid(ph, pw, self.tile)
        meta = {"shape": shape, "dtype": dtype, "rows": rows, "cols": cols,
                "padded": [ph, pw]}

        def chunks() -> Iterator[np.ndarray]:
            for top, bottom in zip(rows, rows[1:] + [ph]):
                for left, right in zip(cols, cols[1:] + [pw]):
                    piece = padded[top:bottom, left:right].astype(np.float32) / 255.0 - 0.5
                    yield np.ascontiguousarray(np.broadcast_to(piece.transpose(2, 0, 1), (3, bottom - top, right - left)))

        return Prepared(meta, chunks(), len(rows) * len(cols))

    def inverse(self, chunks: Iterable[np.ndarray], meta: dict[str, Any]) -> np.ndarray:
        ph, pw = (int(v) for v in meta["padded"])
        rows, cols = [int(v) for v in meta["rows"]], [int(v) for v in meta["cols"]]
        shape, dtype = [int(v) for v in meta["shape"]], str(meta["dtype"])
        if dtype not in ("uint8", "uint16"):
            raise ValueError(f"unknown image dtype {dtype!r}")
        gray = len(shape) == 2 or shape[2] < 3
        canvas = np.empty((ph, pw, 1 if gray else 3), dtype=dtype)
        it = iter(chunks)
        for top, bottom in zip(rows, rows[1:] + [ph]):
            for left, right in zip(cols, cols[1:] + [pw]):
                piece = next(it, None)
                if piece is None:
                    raise ValueError("fewer tiles decoded than the stream declares")
                rgb = np.asarray(piece, dtype=np.float32).reshape(3, bottom - top, right - left).transpose(1, 2, 0)
                canvas[top:bottom, left:right] = _to_pixels(rgb.mean(axis=2, keepdims=True) if gray else rgb, dtype)
        img = canvas[: shape[0], : shape[1]]
        return img[:, :, 0] if len(shape) == 2 else img


def _to_pixels(x: np.ndarray, dtype: str) -> np.ndarray:
    """Model-space values to uint8 (or uint16 = uint8 * 257) pixels."""
    img = np.clip(np.round((x + 0.5) * 255.0), 0, 255)
    return (img * 257.0 if dtype == "uint16" else img).astype(dtype)
