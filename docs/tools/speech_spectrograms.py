"""Log-mel spectrograms of speech files and of their decodings by given models (docs/img figures).

    python docs/tools/speech_spectrograms.py ../shared/data/speech_val/vcc2016_SF1_100003.flac \
        --models speech-16k-2kbps speech-16k-1kbps --out docs/img

Writes one PNG per file: the original's normalized 16 kHz log-mel on top, then each model's decoded
audio analysed the same way, titled with the stream's real rate.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import bpgan_core  # noqa: E402
from bpgan_speech.audio import read_audio, resample, to_mono  # noqa: E402
from bpgan_speech.dsp import MelConfig, log_mel  # noqa: E402

RATE = 16000


def figure(path: Path, models: list[str], out_dir: Path) -> Path:
    """Write ``out_dir/speech_<stem>.png`` for one audio file."""
    samples, rate = read_audio(str(path))
    audio = resample(to_mono(samples), rate, RATE)
    cfg = MelConfig.for_rate(RATE)
    panels = [("original", log_mel(audio, cfg))]
    for model in models:
        blob = bpgan_core.compress(audio, modality="speech", model=model, sample_rate=RATE)
        decoded = bpgan_core.decompress(blob)
        kbps = len(blob) * 8 / (len(audio) / RATE) / 1000
        panels.append((f"{model}: {kbps:.2f} kbps", log_mel(resample(decoded.samples, decoded.sample_rate, RATE), cfg)))
    fig, axes = plt.subplots(len(panels), 1, figsize=(6.4, 1.75 * len(panels) + 0.4), sharex=True)
    seconds = cfg.hop_length / RATE
    for ax, (title, mel) in zip(axes, panels):
        ax.imshow(mel, origin="lower", aspect="auto", cmap="magma", vmin=0, vmax=1,
                  extent=(0, mel.shape[1] * seconds, 0, mel.shape[0]))
        ax.set_title(title, fontsize=8)
        ax.set_ylabel("mel band")
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    out = out_dir / f"speech_{path.stem}.png"
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--out", type=Path, default=Path("docs/img"))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.files:
        print(figure(path, args.models, args.out))


if __name__ == "__main__":
    main()
