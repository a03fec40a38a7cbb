"""Encode and decode times of image models at 768 x 512, the size of the speed bar (docs/image.md).

    python docs/tools/time_768x512.py image-0.5 image-0.25 --data ../shared/data/images_val

Takes the centre 768 x 512 crop of the first ``--pictures`` images of DATA that are at least that
large, compresses each once at ``--effort`` (timed after one untimed warm-up call per model), then
decodes it ``--repeats`` times after a warm-up and keeps the median. ONNX Runtime and torch run on
``--threads`` threads (2, as the bar states). Prints one line per model and crop.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 768, 512


def crops(data: Path, count: int) -> list[tuple[str, np.ndarray]]:
    """Centre WIDTH x HEIGHT crops of the first ``count`` pictures of ``data`` large enough for one."""
    found = []
    for path in sorted(p for p in data.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp")):
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        h, w = rgb.shape[:2]
        if w >= WIDTH and h >= HEIGHT:
            top, left = (h - HEIGHT) // 2, (w - WIDTH) // 2
            found.append((path.name, np.ascontiguousarray(rgb[top:top + HEIGHT, left:left + WIDTH])))
        if len(found) == count:
            break
    return found


def seconds(call: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """(median, min, max) wall time of ``repeats`` calls after one warm-up call."""
    call()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", help="image model ids")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/images_val"))
    ap.add_argument("--pictures", type=int, default=3)
    ap.add_argument("--effort", default="default")
    ap.add_argument("--precision", default="float32", choices=("float32", "int8"))
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    os.environ["BPGAN_THREADS"] = str(args.threads)
    import torch

    import bpgan_core

    torch.set_num_threads(args.threads)
    pictures = crops(args.data, args.pictures)
    if not pictures:
        raise SystemExit(f"no picture of at least {WIDTH} x {HEIGHT} in {args.data}")
    for model in args.models:
        bpgan_core.compress(pictures[0][1], modality="image", model=model, effort=args.effort)  # loads the model
        for name, rgb in pictures:
            t0 = time.perf_counter()
            blob = bpgan_core.compress(rgb, modality="image", model=model, effort=args.effort)
            encode = time.perf_counter() - t0
            med, lo, hi = seconds(lambda: bpgan_core.decompress(blob, precision=args.precision), args.repeats)
            bpp = len(blob) * 8 / (WIDTH * HEIGHT)
            print(f"{model} {name}: {bpp:.3f} bpp, encode ({args.effort}) {encode:.2f} s, decode ({args.precision}) "
                  f"median {med * 1000:.0f} ms (min {lo * 1000:.0f}, max {hi * 1000:.0f}) over {args.repeats}")


if __name__ == "__main__":
    main()
