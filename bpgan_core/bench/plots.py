"""Rate-distortion plots (PNG): one chart per metric with every codec on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter  # noqa: E402


def plot_rd(doc: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write ``rd_<metric>.png`` for each metric of a results document; return the paths."""
    paths = []
    anchor = doc["bd"]["anchor"]
    for metric in doc["metrics"]:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for codec in doc["codecs"]:
            points = sorted(
                (p["mean"]["rate"], p["mean"]["metrics"][metric])
                for p in codec["points"]
                if p["mean"]["metrics"].get(metric) is not None
            )
            if points:
                rates, values = zip(*points)
                style = "--" if codec["name"] == anchor else "-"
                ax.plot(rates, values, style, marker="o", markersize=4, label=codec["name"])
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"rate ({doc['rate_unit']}, log scale)")
        ax.set_ylabel(metric)
        ax.set_title(f"{doc['modality']}: {metric} vs rate, mean of {len(doc['data']['items'])} items")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out_dir / f"rd_{metric}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths
