"""The bpgan command line."""
import json
import subprocess
import sys

import numpy as np
import pytest

from bpgan_core.cli import main


def test_direction_is_inferred_from_the_suffix(toy, toy_signal, tmp_path, capsys):
    src = tmp_path / "a.npy"
    np.save(src, toy_signal)
    assert main([str(src), "--effort", "fast"]) == 0
    assert (tmp_path / "a.npy.bpgan").exists()
    assert main([str(tmp_path / "a.npy.bpgan"), str(tmp_path / "b.npy")]) == 0
    assert np.load(tmp_path / "b.npy").shape == toy_signal.shape
    assert "->" in capsys.readouterr().out


def test_refuses_to_overwrite_without_force(toy, toy_signal, tmp_path, capsys):
    src = tmp_path / "a.npy"
    np.save(src, toy_signal)
    assert main(["compress", str(src), str(tmp_path / "o.bpgan"), "-e", "fast"]) == 0
    before = (tmp_path / "o.bpgan").read_bytes()
    assert main(["compress", str(src), str(tmp_path / "o.bpgan")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err
    assert (tmp_path / "o.bpgan").read_bytes() == before
    assert main(["compress", str(src), str(tmp_path / "o.bpgan"), "--force", "-e", "fast"]) == 0


def test_info_prints_the_header(toy, toy_signal, tmp_path, capsys):
    src = tmp_path / "a.npy"
    np.save(src, toy_signal)
    main(["-q", "compress", str(src), "-e", "fast"])
    capsys.readouterr()
    assert main(["info", str(tmp_path / "a.npy.bpgan")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["modality"] == "toy1d" and info["meta"] == {"n": 1000}


def test_bad_input_gives_one_line_and_nonzero_status(toy, tmp_path, capsys):
    (tmp_path / "junk.bpgan").write_bytes(b"not a stream at all")
    assert main(["decompress", str(tmp_path / "junk.bpgan")]) == 1
    assert main(["compress", str(tmp_path / "missing.npy")]) == 1
    (tmp_path / "x.unknownsuffix").write_bytes(b"1")
    assert main(["compress", str(tmp_path / "x.unknownsuffix")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("bpgan: error:") for line in err)


def test_models_plugins_and_demo(toy, capsys):
    assert main(["models"]) == 0
    assert "toy1d-test" in capsys.readouterr().out
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "[bpgan.modalities]" in out and "toy1d" in out
    assert main(["demo", "toy1d", "-e", "fast"]) == 0
    assert "bits_per_sample" in capsys.readouterr().out


def test_console_script_runs():
    run = subprocess.run([sys.executable, "-m", "bpgan_core", "--help"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "compress" in run.stdout
