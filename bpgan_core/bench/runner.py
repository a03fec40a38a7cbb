"""Run codecs x settings x items, measuring rate, quality, time and memory."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any

from tqdm import tqdm

from bpgan_core.bench.codec import Codec, Setting
from bpgan_core.bench.memory import MEMORY_METHOD, PeakMemory
from bpgan_core.bench.results import BenchResult, CodecResult, ItemResult, PointResult
from bpgan_core.bench.suite import BenchSuite


def environment(repeats: int) -> dict[str, Any]:
    """Machine facts recorded with the results: CPU count, torch threads, memory method, repeats."""
    try:
        import torch

        torch_threads: int | None = torch.get_num_threads()
    except ImportError:
        torch_threads = None
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch_threads,
        "memory_method": MEMORY_METHOD,
        "repeats": repeats,
    }


def _measure(call: Callable[[], Any], codec: Codec, repeats: int) -> tuple[Any, float, float, dict[str, float]]:
    """Run ``call`` once untimed (warm-up, output, peak memory), then ``repeats`` timed runs.

    Returns (output, median seconds, peak MB, median seconds per reported stage).
    """
    with PeakMemory() as memory:
        output = call()
    times: list[float] = []
    stages: dict[str, list[float]] = {}
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
        for stage, seconds in codec.stage_timings().items():
            stages.setdefault(stage, []).append(seconds)
    medians = {stage: statistics.median(values) for stage, values in stages.items()}
    return output, statistics.median(times), memory.peak_mb, medians


def _run_item(suite: BenchSuite, codec: Codec, setting: Setting, name: str, signal: Any, repeats: int) -> ItemResult:
    data, enc_s, enc_mb, enc_stages = _measure(lambda: codec.encode(signal, setting), codec, repeats)
    decoded, dec_s, dec_mb, dec_stages = _measure(lambda: codec.decode(data, like=signal), codec, repeats)
    return ItemResult(
        item=name,
        n_bytes=len(data),
        rate=suite.rate(len(data), signal),
        metrics=suite.metrics(signal, decoded),
        enc_s=enc_s,
        dec_s=dec_s,
        enc_peak_mb=enc_mb,
        dec_peak_mb=dec_mb,
        duration_s=suite.duration(signal),
        stages={**enc_stages, **dec_stages},
    )


def run_suite(
    suite: BenchSuite,
    codecs: Sequence[Codec],
    items: Sequence[tuple[str, Any]],
    data_dir: str,
    repeats: int = 3,
    progress: bool = True,
    skip: Collection[tuple[str, str]] = (),
) -> BenchResult:
    """Code every item at every setting of every codec; ``repeats`` >= 1 timed runs per call.

    ``skip`` holds (codec name, setting label) pairs not to run (measured before); a codec left
    with no setting to run has no entry in the result.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    if not items:
        raise ValueError("no items to benchmark")
    plan = [(codec, [s for s in codec.settings if (codec.name, s.label) not in skip]) for codec in codecs]
    plan = [(codec, settings) for codec, settings in plan if settings]
    total = sum(len(settings) for _, settings in plan) * len(items)
    results: list[CodecResult] = []
    with tqdm(total=total, unit="item", disable=not progress) as bar:
        for codec, settings in plan:
            points = []
            for setting in settings:
                bar.set_description(f"{codec.name} {setting.label}")
                item_results = []
                for name, signal in items:
                    item_results.append(_run_item(suite, codec, setting, name, signal, repeats))
                    bar.update()
                points.append(PointResult(setting, item_results))
            results.append(CodecResult(codec.name, codec.family, codec.version, points))
    return BenchResult(
        modality=suite.modality,
        rate_unit=suite.rate_unit,
        data_dir=data_dir,
        items=[name for name, _ in items],
        codecs=results,
        environment=environment(repeats),
        suite=suite.name,
    )
