"""The ``bpgan`` command: compress, decompress, info, models, plugins, demo, train, fit-prior, quantize,
bench.

``bpgan FILE [OUT]`` infers the direction from the suffix: ``.bpgan`` files are decoded, anything
else is compressed. Outputs are written atomically and never overwritten without ``--force``.
Bad input ends with a one-line message and a non-zero exit status.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from . import api, registry
from .admm import EFFORTS
from .errors import BpganError
from .models import list_models

COMMANDS = ("compress", "decompress", "info", "models", "plugins", "demo", "train", "fit-prior", "quantize", "bench")


def _cmd_compress(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    refine = {"iterations": args.iterations} if args.iterations is not None else None
    out = api.compress_file(
        args.input, args.output, args.modality, force=args.force, model=args.model, effort=args.effort,
        refine=refine, progress=not args.quiet,
    )
    size_in, size_out = Path(args.input).stat().st_size, out.stat().st_size
    _say(args, f"{args.input} ({size_in} B) -> {out} ({size_out} B) in {time.perf_counter() - start:.2f} s")
    return 0


def _cmd_decompress(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    out = api.decompress_file(args.input, args.output, force=args.force, provider=args.provider, precision=args.precision)
    _say(args, f"{args.input} -> {out} in {time.perf_counter() - start:.2f} s")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    blob = Path(args.input).read_bytes()
    info = {"file": args.input, "bytes": len(blob), **api.read_header(blob).as_dict()}
    print(json.dumps(info, indent=2))
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    cards = list_models(args.modality)
    if not cards:
        print("no models installed")
    for card in cards:
        line = f"{card.id:28s} {card.modality:10s} {card.fingerprint}  {card.description}"
        print(line + (f"\n    path: {card.path}" if args.verbose else ""))
    return 0


def _cmd_plugins(args: argparse.Namespace) -> int:
    for reg in (registry.modalities, registry.quantizers, registry.entropy_coders, registry.model_dirs,
                registry.bench_suites):
        print(f"[{reg.group}]")
        conflicts = reg.conflicts()
        for name in reg.names():
            if name in conflicts:
                print(f"  {name:14s} CONFLICT: provided by {', '.join(conflicts[name])}")
                continue
            extra = ""
            if reg is registry.modalities:
                extra = "  models: " + (", ".join(c.id for c in list_models(name)) or "none")
            print(f"  {name:14s} from {reg.source(name)}{extra}")
        for name, err in reg.failures().items():
            print(f"  {name:14s} FAILED TO LOAD: {err}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    names = [args.modality] if args.modality else registry.modalities.names()
    ran = 0
    for name in names:
        mod = registry.get_modality(name)
        if not list_models(name):
            print(f"{name}: no model installed, skipped")
            continue
        signal, options = mod.example()
        start = time.perf_counter()
        blob, rep = api.compress_with_report(signal, name, effort=args.effort, **options)
        mid = time.perf_counter()
        decoded, drep = api.decompress_with_report(blob)
        end = time.perf_counter()
        figures = ", ".join(f"{k} {v:.4g}" for k, v in mod.measure(signal, decoded, len(blob)).items())
        print(f"{name} [{rep.info['model']}, effort {args.effort}]: {len(blob)} bytes; {figures}; "
              f"encode {mid - start:.2f} s, decode {end - mid:.2f} s on {drep.info['provider']}")
        ran += 1
    if not ran:
        raise BpganError("no modality with an installed model to demonstrate")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    return registry.get_modality(args.modality).train(list(args.rest))


def _cmd_fit_prior(args: argparse.Namespace) -> int:
    from .prior_fit import fit_priors

    result = fit_priors(args.model_dir, args.data, args.limit, args.neighbours)
    bits = result["bits_per_element"]
    _say(args, f"{args.model_dir}: {result['elements']} latent elements, {bits['prior']:.3f} bits each with the "
               f"per-channel table, {bits['context_prior']:.3f} with {args.neighbours}-neighbour contexts; coder range-context, "
               f"fingerprint {result['fingerprint']}")
    return 0


def _cmd_quantize(args: argparse.Namespace) -> int:
    from .int8 import quantize_model

    result = quantize_model(args.model_dir, args.data, args.limit)
    _say(args, f"{result['file']}: {result['bytes']} B, calibrated on {result['calibration_files']} files, "
               f"output {result['agreement_db']:.2f} dB above its difference from the float generator's")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench.cli import run_bench

    return int(run_bench(args) or 0)


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bpgan`` command."""
    p = argparse.ArgumentParser(prog="bpgan", description="Generative signal compression (BPGAN).")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compress", help="compress a signal file to .bpgan")
    c.add_argument("input")
    c.add_argument("output", nargs="?")
    c.add_argument("-m", "--modality", help="modality (default: from the file suffix)")
    c.add_argument("--model", help="model id (default: the modality's default)")
    c.add_argument("-e", "--effort", default="default", choices=list(EFFORTS))
    c.add_argument("--iterations", type=int, help="refinement iterations (overrides the effort preset)")
    c.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    c.set_defaults(func=_cmd_compress)

    d = sub.add_parser("decompress", help="decode a .bpgan file")
    d.add_argument("input")
    d.add_argument("output", nargs="?")
    d.add_argument("--provider", help="ONNX Runtime provider: auto (default), cuda or cpu")
    d.add_argument("--precision", choices=list(api.PRECISIONS),
                   help="generator to decode with: float32 or the model's int8 one (`bpgan quantize`); "
                        "default: $BPGAN_PRECISION, else float32")
    d.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    d.set_defaults(func=_cmd_decompress)

    i = sub.add_parser("info", help="print the header of a .bpgan file")
    i.add_argument("input")
    i.set_defaults(func=_cmd_info)

    m = sub.add_parser("models", help="list installed models")
    m.add_argument("modality", nargs="?")
    m.add_argument("-v", "--verbose", action="store_true")
    m.set_defaults(func=_cmd_models)

    sub.add_parser("plugins", help="list plugins, where they come from, and any that failed to load").set_defaults(
        func=_cmd_plugins)

    dm = sub.add_parser("demo", help="compress and decode a synthetic example for each modality")
    dm.add_argument("modality", nargs="?")
    dm.add_argument("-e", "--effort", default="default", choices=list(EFFORTS))
    dm.set_defaults(func=_cmd_demo)

    t = sub.add_parser("train", help="train a modality's model (see `bpgan train MODALITY --help`)")
    t.add_argument("modality")
    t.add_argument("rest", nargs=argparse.REMAINDER)
    t.set_defaults(func=_cmd_train)

    fp = sub.add_parser("fit-prior", help="refit a model folder's entropy tables (context coder) to signal files")
    fp.add_argument("model_dir", help="model folder (with model.json and sender weights); updated in place")
    fp.add_argument("--data", required=True, help="folder of signal files of the model's modality")
    fp.add_argument("--limit", type=int, help="use only the first N files (sorted by name)")
    fp.add_argument("--neighbours", type=int, choices=(2, 3), default=2,
                    help="context neighbours: 2 = left and top, 3 = also top-left (about 2 %% less rate on "
                         "2-D latents, a table K + 1 times larger)")
    fp.set_defaults(func=_cmd_fit_prior)

    qz = sub.add_parser("quantize", help="write a model folder's int8 generator for faster CPU decoding")
    qz.add_argument("model_dir", help="model folder (with model.json and sender weights); gains generator.int8.onnx")
    qz.add_argument("--data", required=True, help="folder of signal files of the model's modality, for calibration")
    qz.add_argument("--limit", type=int, default=16, help="calibrate on the first N files (default 16)")
    qz.set_defaults(func=_cmd_quantize)

    try:
        from .bench.cli import add_bench_parser
    except ImportError:
        add_bench_parser = None
    if add_bench_parser is not None:
        add_bench_parser(sub)
    return p


def _infer(argv: list[str]) -> list[str]:
    """Turn ``bpgan FILE [OUT] [opts]`` into an explicit compress or decompress command."""
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        return ["decompress" if argv[0].endswith(api.SUFFIX) else "compress", *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = _infer(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(args_list)
    try:
        return int(args.func(args) or 0)
    except (BpganError, OSError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"bpgan: error: {msg}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bpgan: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
