"""``bpgan bench MODALITY --data DIR``: run a benchmark and write JSON, markdown and plots."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bpgan_core.bench.bjontegaard import METHODS
from bpgan_core.bench.codec import Codec
from bpgan_core.bench.report import build_document, read_result, render_markdown, write_json
from bpgan_core.bench.results import BenchResult, CodecResult
from bpgan_core.bench.runner import run_suite
from bpgan_core.bench.suite import BenchSuite, load_suite
from bpgan_core.api import PRECISIONS
from bpgan_core.errors import BpganError

DESCRIPTION = (
    "Run every installed model at each operating point and effort preset, and the classical codecs "
    "of the modality, on the files of --data; write results.json, results.md and rd_<metric>.png "
    "into --out. See docs/benchmarks.md."
)


def add_bench_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``bench`` subcommand to an ``argparse`` subparsers object; it sets ``func=run_bench``."""
    parser = subparsers.add_parser(
        "bench",
        help="rate-distortion and speed benchmark against classical codecs",
        description=DESCRIPTION,
    )
    configure_parser(parser)
    parser.set_defaults(func=run_bench)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Declare the bench options on ``parser``."""
    parser.add_argument(
        "modality", help="bench suite: image, speech, another installed one (see `bpgan plugins`) or module:Class"
    )
    parser.add_argument("--data", type=Path, required=True, help="folder of signals to code")
    parser.add_argument("--limit", type=_positive_int, default=None, help="use only the first N items")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default bench_out/SUITE)")
    parser.add_argument("--repeats", type=_positive_int, default=3, help="timed runs per call, median kept (default 3)")
    parser.add_argument(
        "--codecs", nargs="+", default=None, metavar="NAME",
        help="run only these codecs (names or families, comma or space separated, e.g. jpeg,webp bpgan)",
    )
    parser.add_argument("--efforts", nargs="+", default=None, metavar="EFFORT", help="effort presets (default all)")
    parser.add_argument(
        "--models", nargs="+", default=None, metavar="ID",
        help="run only these of our models (default: every installed model the suite accepts)",
    )
    parser.add_argument(
        "--precisions", nargs="+", default=["float32"], metavar="PRECISION",
        help="decoding precisions of our models: float32 (default) and/or int8 (models with an int8 generator)",
    )
    parser.add_argument("--no-bpgan", action="store_true", help="run the classical codecs only")
    parser.add_argument("--anchor", default=None, help="codec the BD deltas are taken against (suite default)")
    parser.add_argument("--bd-method", choices=METHODS, default="pchip", help="BD interpolation (default pchip)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument(
        "--reuse", type=Path, default=None, metavar="RESULTS_JSON",
        help="take the points already measured in this results.json (same data and items) from it instead of "
        "running them again; codecs and models this run leaves out keep their still-valid points",
    )


def select_codecs(codecs: Sequence[Codec], names: Sequence[str] | None) -> list[Codec]:
    """Codecs whose name or family is among ``names`` (comma-separated entries allowed); all if None."""
    if not names:
        return list(codecs)
    wanted = {token for name in names for token in name.split(",") if token}
    chosen = [c for c in codecs if any(c.name == w or c.name.startswith(w + ":") for w in wanted)]
    matched = {w for w in wanted for c in chosen if c.name == w or c.name.startswith(w + ":")}
    if wanted - matched:
        available = ", ".join(c.name for c in codecs)
        raise ValueError(f"no codec named {sorted(wanted - matched)}; available: {available}")
    return chosen


def reused_points(
    previous: BenchResult, path: Path, suite: BenchSuite, data_dir: Path, items: Sequence[str], codecs: Sequence[Codec]
) -> list[CodecResult]:
    """The points of ``previous`` (read from the results.json ``path``) that ``codecs`` would produce, per codec.

    A point is reused when a codec of ``codecs`` has the same name and version and a setting with
    the same label and value (for our models the value holds the model's fingerprint, so a
    retrained model is measured again). Raises ValueError unless that file measured the same suite
    on the same data folder and items.
    """
    if previous.suite != suite.name:
        raise ValueError(f"{path} is a {previous.suite!r} benchmark, not {suite.name!r}")
    if Path(previous.data_dir).resolve() != data_dir.resolve():
        raise ValueError(f"{path} was measured on data dir {previous.data_dir}, not {data_dir}")
    if list(previous.items) != list(items):
        pairs = zip(previous.items, items)
        differ = [f"; item {i + 1} is {a} there, {b} here" for i, (a, b) in enumerate(pairs) if a != b]
        detail = differ[0] if differ else ""
        raise ValueError(f"{path} was measured on other items ({len(previous.items)} there, {len(items)} here{detail})")
    wanted = {(c.name, c.version): c.settings for c in codecs}
    reused = []
    for old in previous.codecs:
        settings = wanted.get((old.name, old.version), [])
        points = [p for p in old.points if p.setting in settings]
        if points:
            reused.append(CodecResult(old.name, old.family, old.version, points))
    return reused


def describe_reuse(path: Path, previous: BenchResult, reused: Sequence[CodecResult], selected: Sequence[Codec]) -> str:
    """One line on what ``--reuse path`` (read as ``previous``) takes: points not run again, points
    carried over from codecs this run does not select, and stale points dropped (another version,
    setting or fingerprint)."""
    runs = {(c.name, s.label) for c in selected for s in c.settings}
    kept = [(c.name, p.setting.label) for c in reused for p in c.points]
    skipped = sum(key in runs for key in kept)
    stale = sum(len(c.points) for c in previous.codecs) - len(kept)
    return (
        f"reusing {len(kept)} operating points of {path}: {skipped} not run again, {len(kept) - skipped} "
        f"carried over from codecs not run here; {stale} stale points dropped"
    )


def run_bench(args: argparse.Namespace) -> int:
    """Run the benchmark described by parsed ``args``; return 0, or 2 on a usage error."""
    try:
        suite = load_suite(args.modality)
        from bpgan_core.bench.bpgan_codec import bpgan_codecs

        codecs: list[Codec] = list(suite.classical_codecs())
        if not args.no_bpgan:
            ours = bpgan_codecs(suite.modality, args.efforts, suite.accepts_model, args.models, args.precisions)
            if not ours:
                print(f"bpgan bench: no {suite.modality} model installed; classical codecs only", file=sys.stderr)
            codecs += ours
        codecs = select_codecs(codecs, args.codecs)
        items = suite.load_items(args.data, args.limit)
        if args.reuse:
            # Every codec installed here, so that what this run does not select keeps its valid points.
            installed = [*suite.classical_codecs(), *bpgan_codecs(suite.modality, None, suite.accepts_model, None, PRECISIONS)]
            previous = read_result(args.reuse)
            reused = reused_points(previous, args.reuse, suite, args.data, [n for n, _ in items], installed)
    except (BpganError, ValueError, FileNotFoundError, ImportError) as exc:
        print(f"bpgan bench: error: {exc}", file=sys.stderr)
        return 2
    from bpgan_core.bench.plots import plot_rd  # matplotlib: imported only when a run needs it

    done: set[tuple[str, str]] = set()
    if args.reuse:
        done = {(codec.name, point.setting.label) for codec in reused for point in codec.points}
        print(f"bpgan bench: {describe_reuse(args.reuse, previous, reused, codecs)}", file=sys.stderr)
    result = run_suite(suite, codecs, items, str(args.data), args.repeats, progress=not args.no_progress, skip=done)
    if args.reuse:
        result = result.merged_with(reused, str(args.reuse), installed)
    document = build_document(result, args.anchor or suite.anchor, suite.fixed_rates, args.bd_method, suite.references)
    out = args.out or Path("bench_out") / suite.name
    out.mkdir(parents=True, exist_ok=True)
    write_json(document, out / "results.json")
    (out / "results.md").write_text(render_markdown(document))
    plots = plot_rd(document, out)
    print(f"wrote {out / 'results.json'}, {out / 'results.md'}, {', '.join(p.name for p in plots)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``python -m bpgan_core.bench MODALITY --data DIR ...``."""
    parser = argparse.ArgumentParser(prog="python -m bpgan_core.bench", description=DESCRIPTION)
    configure_parser(parser)
    return run_bench(parser.parse_args(argv))

