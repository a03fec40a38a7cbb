"""bpgan-sensor passes the bpgan conformance kit, and the bpgan command accepts its modality."""
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import bpgan_sensor
from bpgan_core.testing.conformance import ModalityConformance
from bpgan_sensor.synthetic import imu_recording

MODEL = Path(bpgan_sensor.__file__).parent / "models" / "sensor-imu-v1"


def snr_db(x: np.ndarray, y: np.ndarray) -> float:
    x = np.asarray(x, np.float64)
    return float(10 * np.log10(np.sum((x - x.mean(0)) ** 2) / max(np.sum((x - np.asarray(y)) ** 2), 1e-12)))


class TestSensorConformance(ModalityConformance):
    modality = "sensor"

    @pytest.fixture(scope="class")
    @classmethod
    def model_dir(cls) -> Path:
        return MODEL

    def signals(self) -> list[tuple[Any, dict]]:
        rng = np.random.default_rng(3)
        return [(imu_recording(rng, 1500, 6), {}), (imu_recording(rng, 300, 1)[:, 0], {}),
                (imu_recording(rng, 1, 3), {}), (np.zeros((40, 2)), {})]

    def bad_signals(self) -> list[tuple[Any, dict]]:
        return [(np.zeros((0, 3)), {}), (np.array([[1.0, np.nan]]), {}), (np.zeros((2, 2, 2)), {}),
                (["a", "b"], {})]

    def assert_decoded(self, original: Any, decoded: Any, options: dict) -> None:
        assert decoded.shape == np.shape(original)
        assert np.all(np.isfinite(decoded))


def test_trained_model_quality_on_unseen_recordings():
    """The shipped model is trained: unseen synthetic recordings come back with a useful SNR."""
    import bpgan_core

    x = imu_recording(np.random.default_rng(12345), 3000, 6)
    blob = bpgan_core.compress(x, "sensor")
    bits_per_sample = 8 * len(blob) / x.size
    assert bits_per_sample < 2.0
    assert snr_db(x, bpgan_core.decompress(blob)) > 15.0


def test_bpgan_command_accepts_the_plugin(tmp_path):
    """No change to bpgan_core: the installed entry point is enough for the CLI."""
    src = tmp_path / "walk.csv"
    np.savetxt(src, imu_recording(np.random.default_rng(1), 500, 6), delimiter=",")
    bpgan = [sys.executable, "-m", "bpgan_core"]
    assert subprocess.run([*bpgan, str(src)], capture_output=True, timeout=300).returncode == 0
    run = subprocess.run([*bpgan, str(src) + ".bpgan", str(tmp_path / "back.csv")], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    back = np.loadtxt(tmp_path / "back.csv", delimiter=",")
    assert back.shape == (500, 6)
    listing = subprocess.run([*bpgan, "plugins"], capture_output=True, text=True, timeout=300).stdout
    assert "sensor" in listing and "bpgan-sensor 0.1.0" in listing
