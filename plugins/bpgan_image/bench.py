"""Image bench suite: Pillow's JPEG, WebP and AVIF against our codec, in bpp / PSNR / MS-SSIM."""

from __future__ import annotations

import io
from pathlib import Path
from typing import ClassVar

import numpy as np
import PIL
from PIL import Image, features

from bpgan_core.bench.codec import Codec, Setting
from bpgan_core.bench.suite import BenchSuite, data_files
from bpgan_image.metrics import psnr, ssim_metric

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")


class PillowCodec(Codec):
    """A Pillow image format swept over ``qualities``, with fixed extra ``save`` options.

    ``feature`` is the Pillow feature name that tells whether the format is available.
    """

    format: ClassVar[str]
    feature: ClassVar[str]
    qualities: ClassVar[tuple[int, ...]]
    options: ClassVar[dict[str, object]]

    @property
    def version(self) -> str:
        """Pillow version and the version of the library behind the format."""
        return f"Pillow {PIL.__version__}, {self.feature} {features.version(self.feature)}"

    @property
    def settings(self) -> list[Setting]:
        """One setting per quality value, low to high."""
        return [Setting(f"q={q}", q) for q in self.qualities]

    def encode(self, signal: np.ndarray, setting: Setting) -> bytes:
        """Write the image file into memory at quality ``setting.value``."""
        buffer = io.BytesIO()
        Image.fromarray(signal).save(buffer, self.format, quality=setting.value, **self.options)
        return buffer.getvalue()

    def decode(self, data: bytes, like: np.ndarray) -> np.ndarray:
        """Read the file back as a uint8 RGB array."""
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


class JpegCodec(PillowCodec):
    """Baseline JPEG (libjpeg via Pillow), 4:2:0, optimized Huffman tables."""

    name = "jpeg"
    feature = "jpg"
    format = "JPEG"
    qualities = (2, 5, 10, 20, 35, 50, 70, 90)
    options = {"optimize": True}


class WebpCodec(PillowCodec):
    """Lossy WebP (libwebp via Pillow), slowest and best method 6."""

    name = "webp"
    feature = "webp"
    format = "WEBP"
    qualities = (0, 1, 2, 3, 5, 8, 10, 15, 20, 30, 40, 50, 70, 85, 95)
    options = {"method": 6}


class AvifCodec(PillowCodec):
    """AVIF (libavif via Pillow), 4:2:0, libavif's default speed 6."""

    name = "avif"
    feature = "avif"
    format = "AVIF"
    qualities = (2, 10, 20, 35, 50, 65, 80, 90)
    options = {"subsampling": "4:2:0", "speed": 6}


class ImageBenchSuite(BenchSuite):
    """RGB images; rate in bits per pixel of the whole file; PSNR first, then (MS-)SSIM."""

    modality = "image"
    rate_unit = "bpp"
    fixed_rates = (0.125, 0.25, 0.5, 1.0)
    anchor = "jpeg"
    references = ("webp", "avif")

    def load_items(self, data_dir: Path, limit: int | None) -> list[tuple[str, np.ndarray]]:
        """Image files of ``data_dir`` in name order, converted to RGB uint8 arrays."""
        return [(p.name, np.asarray(Image.open(p).convert("RGB"))) for p in data_files(data_dir, IMAGE_SUFFIXES, limit)]

    def rate(self, n_bytes: int, signal: np.ndarray) -> float:
        """Bits per pixel."""
        return n_bytes * 8 / (signal.shape[0] * signal.shape[1])

    def metrics(self, original: np.ndarray, decoded: np.ndarray) -> dict[str, float]:
        """``psnr`` (dB) and ``ms_ssim`` (``ssim`` for images under 161 px on the shorter side)."""
        name, value = ssim_metric(original, decoded)
        return {"psnr": psnr(original, decoded), name: value}

    def classical_codecs(self) -> list[Codec]:
        """JPEG, WebP and AVIF, those this Pillow build supports."""
        return [codec() for codec in (JpegCodec, WebpCodec, AvifCodec) if features.check(codec.feature)]
