"""Copy a trained export into a model folder under a new id, with a shipped model's refinement presets.

    python docs/tools/stage_candidate.py runs/i25-a/export /tmp/cand/image-i25a --like image-0.5
    BPGAN_MODEL_PATH=/tmp/cand bpgan bench image --data ../shared/data/images_val --models image-i25a ...

The trainer's export names itself after ``--model-id`` and carries no refinement presets; this writes
the folder a candidate is measured from (and, with the shipped id as DEST's name, the folder that is
shipped): the export's files, model.json with ``id`` set to DEST's name, the ``refinement`` block of
``--like`` and, with ``--description``, a new description. Refuses to overwrite DEST.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from bpgan_core.models import find_model

FILES = ("generator.onnx", "sender.pt", "context_prior.npy")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export", type=Path, help="a trainer's export folder (model.json, generator.onnx, ...)")
    ap.add_argument("dest", type=Path, help="new model folder; its name is the model id")
    ap.add_argument("--like", required=True, help="installed model of the same modality whose refinement presets the new one takes")
    ap.add_argument("--description", help="model.json description (default: the export's)")
    args = ap.parse_args()
    if args.dest.exists():
        raise SystemExit(f"{args.dest} exists; remove it first")
    spec = json.loads((args.export / "model.json").read_text())
    spec["id"] = args.dest.name
    spec["refinement"] = find_model(spec["modality"], args.like).spec.get("refinement", {})
    if args.description:
        spec["description"] = args.description
    staging = args.dest.with_name(args.dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in FILES:
        if (args.export / name).exists():
            shutil.copy2(args.export / name, staging / name)
    (staging / "model.json").write_text(json.dumps(spec, indent=1))
    staging.rename(args.dest)
    print(f"{args.dest}: id {spec['id']}, refinement of {args.like}: {json.dumps(spec['refinement'])}")


if __name__ == "__main__":
    main()
