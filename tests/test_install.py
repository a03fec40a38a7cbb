"""A non-editable ``pip install .`` into a fresh virtual environment resolves plugins and models."""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

CHECK = textwrap.dedent("""
    import json, sys
    import bpgan_core, bpgan_image, bpgan_speech, bpgan_models
    from bpgan_core import list_models, list_modalities
    from bpgan_core.models import TABLE_FIELDS
    from bpgan_core.registry import modalities
    paths = [bpgan_core.__file__, bpgan_image.__file__, bpgan_speech.__file__, bpgan_models.__file__]
    shipped = [str(d) for d in bpgan_models.model_dirs()]
    cards = [c for c in list_models() if str(c.path) in shipped]
    print(json.dumps({"paths": paths, "modalities": list_modalities(), "failures": modalities.failures(),
                      "models": {c.id: str(c.generator_path) for c in cards}, "shipped": len(shipped),
                      "model_files_exist": all(c.generator_path.is_file() and c.sender_path.is_file()
                                               and all((c.path / c.spec[k]).is_file() for k in TABLE_FIELDS
                                                       if isinstance(c.spec.get(k), str)) for c in cards),
                      "fingerprints": [c.fingerprint for c in cards]}))
""")


@pytest.mark.slow
def test_non_editable_install_resolves_entry_points_and_models(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    install = subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", str(REPO)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    run = subprocess.run([str(py), "-c", CHECK], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    import json

    info = json.loads(run.stdout)
    site = str(venv)
    assert all(p.startswith(site) for p in info["paths"]), info["paths"]
    assert {"image", "speech"} <= set(info["modalities"]) and not info["failures"]
    assert len(info["models"]) == info["shipped"], "every shipped model folder must load"
    assert all(p.startswith(site) for p in info["models"].values())
    assert info["model_files_exist"]
    bpgan = venv / "bin" / "bpgan"
    assert subprocess.run([str(bpgan), "models"], capture_output=True, timeout=120, cwd=tmp_path).returncode == 0
