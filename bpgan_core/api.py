"""The public entry points: compress, decompress and their file and reporting variants."""
from __future__ import annotations

import io
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from . import registry
from .bitstream import ContainerReader, ContainerWriter, Header
from .errors import (
    BpganError, CorruptStreamError, InvalidSignalError, ModelMismatchError, OutputExistsError, PrecisionUnavailableError,
)
from .interfaces import Modality
from .latent_record import decode_record, encode_record
from .models import ModelCard, find_model


def _file_mode() -> int:
    """0666 less the process umask (read once: setting the umask to read it is process-wide)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


SUFFIX = ".bpgan"
PRECISIONS = ("float32", "int8")
"""Generator precisions a receiver can decode with (int8 where the model folder has one)."""
ENV_PRECISION = "BPGAN_PRECISION"
_FILE_MODE = _file_mode()


@dataclass
class Report:
    """Per-stage seconds and facts about one compress or decompress call."""

    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start


def _timed_iter(chunks: Iterable[np.ndarray], report: Report, stage: str) -> Iterator[np.ndarray]:
    it = iter(chunks)
    while True:
        with report.timed(stage):
            item = next(it, None)
        if item is None:
            return
        yield item


def _batches(chunks: Iterable[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    """Consecutive chunks of equal shape, at most ``size`` at a time."""
    batch: list[np.ndarray] = []
    for chunk in chunks:
        if batch and (len(batch) == size or chunk.shape != batch[0].shape):
            yield batch
            batch = []
        batch.append(chunk)
    if batch:
        yield batch


@lru_cache(maxsize=8)
def _sender(modality: str, path: Path, fingerprint: str) -> Any:
    card = ModelCard.load(path)
    return registry.get_modality(modality).load_sender(card)


@lru_cache(maxsize=8)
def _onnx_generator(path: Path, fingerprint: str, provider: str | None) -> Any:
    from .onnx_runtime import OnnxGenerator

    return OnnxGenerator(path, provider)


def compress_with_report(
    signal: Any,
    modality: str,
    model: str | None = None,
    effort: str = "default",
    *,
    refine: dict[str, Any] | None = None,
    coder_table: str | None = None,
    progress: bool = False,
    **options: Any,
) -> tuple[bytes, Report]:
    """Compress ``signal`` and report per-stage timings.

    ``refine`` overrides refinement settings (see RefineSettings), ``coder_table`` the entropy
    coder's table ("model" or "empirical"); other ``options`` go to the modality's preprocessor
    (e.g. ``sample_rate`` for speech).
    """
    import torch

    from .admm import RefineSettings, refine as refine_latents

    report = Report()
    mod: Modality = registry.get_modality(modality)
    card = find_model(modality, model, mod.default_model)
    settings = RefineSettings.from_effort(effort, **{**card.refinement(effort), **(refine or {})})
    quantizer = card.quantizer()
    coder = card.entropy_coder(**({"table": coder_table} if coder_table else {}))
    with report.timed("preprocess"):
        prepared = mod.preprocessor(card).forward(signal, **options)
    with report.timed("load_models"):
        sender = _sender(modality, card.path, card.fingerprint)
    header = Header(
        modality=modality, model=card.id, fingerprint=card.fingerprint, latent_channels=card.latent_channels,
        quantizer={}, coder=_coder_header(card, coder), meta=prepared.meta,
    )
    buf = io.BytesIO()
    writer = ContainerWriter(buf, header)
    losses = []
    chunks = _timed_iter(prepared.chunks, report, "preprocess")
    bar = _progress(progress, prepared.num_chunks, "compress")
    table = card.prior_for(coder)  # refinement's rate term counts bits with the coder's own table
    for batch in _batches(chunks, mod.batch_size):
        x = torch.from_numpy(np.stack(batch).astype(np.float32))
        with report.timed("encoder"), torch.no_grad():
            z0 = sender.encoder.encode(x)
        with report.timed("refinement"):
            result = refine_latents(x, z0, sender.generator, sender.loss, quantizer, settings, table)
        losses.append((result.initial_loss, result.final_loss, len(batch)))
        with report.timed("entropy_coding"):
            writer.write_record(encode_record(result.indices, coder, quantizer.num_symbols, table))
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    writer.close()
    blob = buf.getvalue()
    n = sum(k for *_, k in losses) or 1
    scored = bool(losses) and losses[0][0] is not None  # effort fast computes no loss
    report.info.update(
        model=card.id, fingerprint=card.fingerprint, bytes=len(blob), chunks=n, refinement=settings.as_dict(),
        initial_loss=sum(a * k for a, _, k in losses) / n if scored else None,
        final_loss=sum(b * k for _, b, k in losses) / n if scored else None,
    )
    return blob, report


def _coder_header(card: ModelCard, coder: Any) -> dict[str, Any]:
    """The parameters that differ from the model's own coder, plus the coder's name if it is another."""
    spec = card.spec["entropy_coder"]
    own = spec["name"] == coder.name
    defaults = spec.get("params", {}) if own else {}
    changed = {k: v for k, v in coder.params().items() if defaults.get(k) != v}
    return changed if own else {"name": coder.name, **changed}


def compress(signal: Any, modality: str, model: str | None = None, effort: str = "default", **options: Any) -> bytes:
    """Compress ``signal`` with a ``modality``'s model into a self-describing bpgan stream."""
    return compress_with_report(signal, modality, model, effort, **options)[0]


def read_header(blob: bytes) -> Header:
    """The header of a stream (validated), without decoding it."""
    return ContainerReader(blob).header


def _precision(precision: str | None) -> str:
    """``precision``, else BPGAN_PRECISION, else float32."""
    return (precision or os.environ.get(ENV_PRECISION) or "float32").strip().lower()


def _generator_file(card: ModelCard, precision: str) -> Path:
    """The ONNX generator of ``card`` that decodes at ``precision`` (one of PRECISIONS)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "float32":
        return card.generator_path
    path = card.int8_generator_path
    if path is None or not path.is_file():
        raise PrecisionUnavailableError(
            f"model {card.id} has no int8 generator; decode with precision='float32', or write one with "
            f"`bpgan quantize {card.path} --data FOLDER_OF_SIGNALS`")
    return path


def _open(blob: bytes, provider: str | None, precision: str) -> tuple[ContainerReader, Modality, ModelCard, Any, Any]:
    reader = ContainerReader(blob)
    h = reader.header
    mod = registry.get_modality(h.modality)
    card = find_model(h.modality, h.model)
    if card.fingerprint != h.fingerprint:
        raise ModelMismatchError(
            f"stream was written with {h.model} fingerprint {h.fingerprint}, installed {card.id} has "
            f"{card.fingerprint}: install the matching model version"
        )
    quantizer = card.quantizer()
    if h.quantizer.get("name", quantizer.name) != quantizer.name or h.latent_channels != card.latent_channels:
        raise CorruptStreamError("stream header disagrees with the model's quantizer or latent size")
    model_coder = card.spec["entropy_coder"]
    coder_name = str(h.coder.get("name", model_coder["name"]))
    defaults = model_coder.get("params", {}) if coder_name == model_coder["name"] else {}
    coder_params = {**defaults, **{k: v for k, v in h.coder.items() if k != "name"}}
    try:
        coder = registry.entropy_coders.get(coder_name).from_params(coder_params)
    except (TypeError, ValueError) as exc:
        raise CorruptStreamError(f"stream names bad entropy-coder parameters: {exc}") from exc
    generator = _onnx_generator(_generator_file(card, precision), card.fingerprint, provider)
    return reader, mod, card, (quantizer, coder), generator


def _decoded_chunks(reader: ContainerReader, card: ModelCard, codec: Any, generator: Any, report: Report) -> Iterator[np.ndarray]:
    quantizer, coder = codec
    records = reader.records()
    while True:
        with report.timed("entropy_decoding"):
            data = next(records, None)
            if data is None:
                return
            idx = decode_record(data, card.latent_channels, coder, quantizer.num_symbols, card.prior_for(coder))
            z = quantizer.dequantize(idx).astype(np.float32)
        with report.timed("generator"):
            out = generator.generate(z)
        yield from out


def decompress_stream(blob: bytes, provider: str | None = None, precision: str | None = None) -> Iterator[Any]:
    """Decode a stream piece by piece (e.g. audio blocks), with bounded memory."""
    reader, mod, card, codec, generator = _open(blob, provider, _precision(precision))
    pre = mod.preprocessor(card)
    yield from pre.inverse_stream(_decoded_chunks(reader, card, codec, generator, Report()), reader.header.meta)


def decompress_with_report(blob: bytes, provider: str | None = None, precision: str | None = None) -> tuple[Any, Report]:
    """Decode a whole stream and report per-stage timings, the ONNX provider and the precision used."""
    precision = _precision(precision)
    report = Report()
    with report.timed("open"):
        reader, mod, card, codec, generator = _open(blob, provider, precision)
    pre = mod.preprocessor(card)
    chunks = list(_decoded_chunks(reader, card, codec, generator, report))
    with report.timed("postprocess"):
        try:
            signal = pre.inverse(chunks, reader.header.meta)
        except BpganError:
            raise
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            raise CorruptStreamError(f"decoded latents do not fit the stream's signal metadata: {exc}") from exc
    report.info.update(model=card.id, provider=generator.provider, precision=precision, chunks=len(chunks))
    return signal, report


def decompress(blob: bytes, provider: str | None = None, precision: str | None = None) -> Any:
    """Decode a bpgan stream back to its signal; needs only the stream and the installed model.

    ``precision`` "int8" decodes with the model's int8 generator (``bpgan quantize``): about twice as
    fast on CPUs with 8-bit dot-product instructions, a little less faithful. None means the
    BPGAN_PRECISION environment variable, else "float32".
    """
    return decompress_with_report(blob, provider, precision)[0]


def _progress(enabled: bool, total: int | None, desc: str) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="chunk", leave=False)


def atomic_write(path: str | os.PathLike[str], data: bytes | None = None, *, force: bool = False, writer: Any = None) -> None:
    """Write ``data`` (or call ``writer(tmp_path)``) to a temp file and move it into place.

    Refuses to replace an existing file unless ``force``; leaves nothing behind on failure.
    """
    target = Path(path)
    if target.exists() and not force:
        raise OutputExistsError(f"{target} exists; pass --force (force=True) to overwrite")
    fd, tmp = tempfile.mkstemp(prefix=".bpgan-", suffix=target.suffix, dir=target.parent or ".")
    os.close(fd)
    try:
        if writer is not None:
            writer(tmp)
        else:
            Path(tmp).write_bytes(data or b"")
        os.chmod(tmp, _FILE_MODE)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def modality_for_file(path: str | os.PathLike[str]) -> str:
    """The modality whose file suffixes include ``path``'s suffix."""
    suffix = Path(path).suffix.lower()
    for name in registry.modalities.names():
        try:
            if suffix in registry.get_modality(name).file_suffixes:
                return name
        except BpganError:
            continue
    raise InvalidSignalError(f"no installed modality reads {suffix or 'files without a suffix'!r}; pass --modality")


def compress_file(
    src: str | os.PathLike[str], dst: str | os.PathLike[str] | None = None, modality: str | None = None,
    *, force: bool = False, **kwargs: Any,
) -> Path:
    """Compress a signal file to ``dst`` (default: ``src`` + .bpgan); returns the output path."""
    name = modality or modality_for_file(src)
    if not Path(src).is_file():
        raise InvalidSignalError(f"{src}: no such file")
    signal, options = registry.get_modality(name).read_file(str(src))
    out = Path(dst) if dst else Path(str(src) + SUFFIX)
    if out.exists() and not force:
        raise OutputExistsError(f"{out} exists; pass --force (force=True) to overwrite")
    blob = compress(signal, name, **{**options, **kwargs})
    atomic_write(out, blob, force=force)
    return out


def decompress_file(
    src: str | os.PathLike[str], dst: str | os.PathLike[str] | None = None, *, force: bool = False,
    provider: str | None = None, precision: str | None = None,
) -> Path:
    """Decode a .bpgan file to ``dst`` (default: the modality's suffix next to it); returns the path."""
    blob = Path(src).read_bytes()
    header = read_header(blob)
    mod = registry.get_modality(header.modality)
    if dst is None:
        stem = str(src)[: -len(SUFFIX)] if str(src).endswith(SUFFIX) else str(src)
        default_suffix = mod.file_suffixes[0] if mod.file_suffixes else ".out"
        dst = stem if Path(stem).suffix.lower() in mod.file_suffixes else stem + default_suffix
        if Path(dst).exists() and not force:
            dst = Path(stem).with_suffix("").as_posix() + ".decoded" + (Path(stem).suffix or default_suffix)
    out = Path(dst)
    if out.exists() and not force:
        raise OutputExistsError(f"{out} exists; pass --force (force=True) to overwrite")
    signal = decompress(blob, provider, precision)
    atomic_write(out, force=force, writer=lambda tmp: mod.write_file(signal, tmp))
    return out
