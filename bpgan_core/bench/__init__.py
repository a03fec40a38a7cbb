"""Modality-agnostic benchmark machinery: codecs, suites, runner, Bjontegaard deltas, reports.

Modalities contribute a :class:`BenchSuite` through the ``bpgan.bench_suites`` entry-point group;
``bpgan bench MODALITY --data DIR`` (or ``python -m bpgan_core.bench``) runs it. See docs/benchmarks.md.
"""

from bpgan_core.bench.bjontegaard import BjontegaardError, bd_quality, bd_rate, quality_at_rate
from bpgan_core.bench.codec import Codec, Setting
from bpgan_core.bench.results import BenchResult
from bpgan_core.bench.runner import run_suite
from bpgan_core.bench.suite import BenchSuite, data_files, load_suite

__all__ = [
    "BenchResult",
    "BenchSuite",
    "BjontegaardError",
    "Codec",
    "Setting",
    "bd_quality",
    "bd_rate",
    "data_files",
    "load_suite",
    "quality_at_rate",
    "run_suite",
]
