"""The results document (JSON, schema in docs/benchmarks.md) and its markdown tables."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bpgan_core.bench.analysis import at_rate_table, bd_table, fixed_rate_table
from bpgan_core.bench.results import BenchResult

SCHEMA_VERSION = 1


def build_document(
    result: BenchResult, anchor: str, fixed_rates: Sequence[float], bd_method: str = "pchip",
    references: Sequence[str] = (),
) -> dict[str, Any]:
    """Everything a run measured plus its rate-distortion summaries, as JSON-ready data; our points
    are compared at their own rate with ``references`` (default: the anchor)."""
    references = list(references) or [anchor]
    return {
        "schema_version": SCHEMA_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "modality": result.modality,
        "suite": result.suite or result.modality,
        "rate_unit": result.rate_unit,
        "data": {"dir": result.data_dir, "items": list(result.items)},
        "environment": dict(result.environment),
        "metrics": result.metric_names,
        "codecs": [codec.to_dict() for codec in result.codecs],
        "bd": {"anchor": anchor, "method": bd_method, "rows": bd_table(result, anchor, bd_method)},
        "fixed_rates": {"rates": list(fixed_rates), "rows": fixed_rate_table(result, fixed_rates)},
        "at_rate": {"references": references, "rows": at_rate_table(result, references)},
    }


def _json_safe(value: Any) -> Any:
    """Replace non-finite floats (e.g. the PSNR of a lossless point) by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def write_json(document: dict[str, Any], path: Path) -> None:
    """Write ``document`` as strict JSON (no NaN/Infinity)."""
    path.write_text(json.dumps(_json_safe(document), indent=1, allow_nan=False) + "\n")


def read_result(path: Path) -> BenchResult:
    """The measurements of a results document written by :func:`write_json`.

    Raises ValueError if the file is not valid JSON, has another schema version or lacks a field.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        document = json.loads(text)
        if document.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"schema version {document.get('schema_version')!r}, expected {SCHEMA_VERSION}")
        return BenchResult.from_dict(document)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path} is not a bench results file: {exc}") from exc


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _signed(value: float | None) -> str:
    """A difference with its sign, or n/a when there is none."""
    return "n/a" if value is None else f"{value:+.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _points_table(doc: dict[str, Any]) -> str:
    has_rtf = any(p["mean"]["enc_rtf"] is not None for c in doc["codecs"] for p in c["points"])
    header = ["codec", "setting", f"rate ({doc['rate_unit']})", *doc["metrics"], "enc ms", "dec ms"]
    header += ["enc RTF", "dec RTF"] if has_rtf else []
    header += ["enc peak MB", "dec peak MB"]
    rows = []
    for codec in doc["codecs"]:
        for point in codec["points"]:
            m = point["mean"]
            row = [codec["name"], point["setting"], _fmt(m["rate"])]
            row += [_fmt(m["metrics"].get(name)) for name in doc["metrics"]]
            row += [_fmt(m["enc_s"] * 1e3, 1), _fmt(m["dec_s"] * 1e3, 1)]
            row += [_fmt(m["enc_rtf"]), _fmt(m["dec_rtf"])] if has_rtf else []
            row += [_fmt(m["enc_peak_mb"], 1), _fmt(m["dec_peak_mb"], 1)]
            rows.append(row)
    return _table(header, rows)


def _bd_section(doc: dict[str, Any]) -> str:
    bd = doc["bd"]
    if not bd["rows"]:
        return f"No Bjontegaard deltas: anchor `{bd['anchor']}` was not run."
    header = ["codec", "metric", "BD-rate (%)", "BD-quality", "note"]
    rows = [
        [r["codec"], r["metric"], _fmt(r["bd_rate_pct"], 1), _fmt(r["bd_quality"]), r["error"] or ""]
        for r in bd["rows"]
    ]
    intro = (
        f"Against anchor `{bd['anchor']}` ({bd['method']} interpolation in log rate). "
        "Negative BD-rate: fewer bits for the same quality; positive BD-quality: better quality "
        "at the same rate (in the metric's unit, dB for PSNR)."
    )
    return intro + "\n\n" + _table(header, rows)


def _fixed_rate_section(doc: dict[str, Any]) -> str:
    fixed = doc["fixed_rates"]
    unit = doc["rate_unit"]
    header = ["codec", "metric", *(f"{_fmt(rate, 3).rstrip('0').rstrip('.')} {unit}" for rate in fixed["rates"])]
    rows = [[r["codec"], r["metric"], *(_fmt(v) for v in r["values"])] for r in fixed["rows"]]
    return "Interpolated (pchip in log rate); n/a outside a codec's measured rate range.\n\n" + _table(header, rows)


def _reference_cell(row: dict[str, Any], unit: str) -> tuple[str, str]:
    """The reference's value at the row's rate and the difference, or what stands in for them."""
    if row["reference_value"] is not None:
        return _fmt(row["reference_value"]), _signed(row["difference"])
    if row["floor"] is None:
        return "above its range", "n/a"
    floor = row["floor"]
    cell = f"below its range (lowest: {_fmt(floor['rate'])} {unit}, {_fmt(floor['value'])})"
    verdict = "cheaper and better" if row["dominates"] else "cheaper, worse"
    return cell, f"{_signed(row['value'] - floor['value'])} ({verdict})"


def _at_rate_section(doc: dict[str, Any]) -> str:
    at_rate = doc.get("at_rate") or {"rows": []}
    if not at_rate["rows"]:
        return ""
    unit = doc["rate_unit"]
    header = ["codec", "setting", f"rate ({unit})", "metric", "value", "reference", "reference at this rate",
              "difference", "items ahead / behind / outside", "mean item difference"]
    rows = []
    for r in at_rate["rows"]:
        reference, difference = _reference_cell(r, unit)
        items = r["items"]
        rows.append([r["codec"], r["setting"], _fmt(r["rate"]), r["metric"], _fmt(r["value"]), r["reference"],
                     reference, difference, f"{items['ahead']} / {items['behind']} / {items['outside']}",
                     _signed(items.get("mean_difference"))])
    intro = (
        "## Against reference codecs at each point's own rate\n\n"
        "Each reference's mean curve interpolated (pchip in log rate) at the point's mean rate. Per item, "
        "each item against the reference's curve for that item at that item's rate; items outside that "
        "curve's rate range are counted apart, and the mean item difference averages the items inside. "
        "The two can disagree: the mean curves compare averages over items whose rates differ between "
        "codecs, the items compare each picture or clip at its own rate."
    )
    return intro + "\n\n" + _table(header, rows)


def _stages_section(doc: dict[str, Any]) -> str:
    staged = [(c, p) for c in doc["codecs"] for p in c["points"] if p["mean"]["stages"]]
    if not staged:
        return ""
    names: dict[str, None] = {}
    for _, point in staged:
        names.update(dict.fromkeys(point["mean"]["stages"]))
    header = ["codec", "setting", *(f"{name} ms" for name in names)]
    rows = [
        [c["name"], p["setting"], *(_fmt(p["mean"]["stages"].get(n, 0.0) * 1e3, 1) for n in names)]
        for c, p in staged
    ]
    intro = "## Per-stage timings\n\nMean over items of the median per stage, in milliseconds."
    return intro + "\n\n" + _table(header, rows)


def _reused_summary(doc: dict[str, Any], reused: dict[str, Any]) -> str:
    """Which codecs' measurements came from the reuse file, e.g. ``jpeg (all 8), webp (8 of 15)``."""
    totals = {codec["name"]: len(codec["points"]) for codec in doc["codecs"]}
    points = reused.get("points")  # absent in files of the whole-codec reuse of earlier versions
    parts = []
    for name in reused["codecs"]:
        total = totals.get(name, 0)
        count = total if points is None else sum(entry.split(" ", 1)[0] == name for entry in points)
        parts.append(f"{name} (all {total})" if count == total else f"{name} ({count} of {total})")
    return ", ".join(parts)


def render_markdown(doc: dict[str, Any]) -> str:
    """Markdown report of a results document: operating points, BD deltas, fixed rates, our points at
    their own rate against the references, stages."""
    env = doc["environment"]
    intro = (
        f"# {doc.get('suite', doc['modality']).capitalize()} benchmark\n\n"
        f"{len(doc['data']['items'])} items from `{doc['data']['dir']}`; {doc['created']}; "
        f"{env['cpu_count']} CPUs, torch threads {env['torch_threads']}, "
        f"median of {env['repeats']} timed runs after one warm-up; peak memory by {env['memory_method']}."
    )
    reused = env.get("reused") or {}
    if reused.get("codecs"):
        intro += f" Measurements reused from `{reused['from']}`: {_reused_summary(doc, reused)}."
    sections = [
        intro,
        "## Operating points\n\nMeans over items; peak memory is the maximum over items.\n\n" + _points_table(doc),
        "## Bjontegaard deltas\n\n" + _bd_section(doc),
        "## Quality at fixed rates\n\n" + _fixed_rate_section(doc),
        _at_rate_section(doc),
        _stages_section(doc),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"
