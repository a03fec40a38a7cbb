"""The conformance kit: one base class a modality plugin's test module subclasses.

    from bpgan_core.testing.conformance import ModalityConformance

    class TestMyModality(ModalityConformance):
        modality = "mymodality"

        @pytest.fixture(scope="class")
        @classmethod
        def model_dir(cls, tmp_path_factory):
            return build_tiny_model(tmp_path_factory.mktemp("m"))   # a model folder (may be untrained)

        def signals(self):
            return [(signal, {"option": 1}), ...]          # valid inputs with compress options

        def bad_signals(self):
            return [(bad_input, {}), ...]                  # each must raise InvalidSignalError

The kit checks: round trip through the container, bit-exact determinism of the bitstream, decoding in a
fresh process with torch imports blocked (ONNX only), parity of the ONNX and torch generators, clear
errors for bad input and for damaged streams, and that the signal metadata survives. Each check is a
``check_*`` method, so a plugin can also call one directly; the ``test_*`` methods run them under pytest.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .. import api, models, registry
from ..errors import BitstreamError, BpganError, InvalidSignalError

_BLOCKED_DECODE = textwrap.dedent("""
    import importlib.abc, sys
    class _BlockTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is blocked by the bpgan conformance kit")
    sys.meta_path.insert(0, _BlockTorch())
    exec(sys.argv[3])
    import numpy as np, bpgan_core
    signal = bpgan_core.decompress(open(sys.argv[1], "rb").read())
    np.save(sys.argv[2], np.asarray(signal[0] if isinstance(signal, tuple) else signal), allow_pickle=False)
    assert "torch" not in sys.modules, "decoding imported torch"
""")


def _array(signal: Any) -> np.ndarray:
    """The sample array of a decoded signal (tuples such as AudioSignal carry it first)."""
    return np.asarray(signal[0] if isinstance(signal, tuple) else signal)


class ModalityConformance:
    """Base class of a plugin's conformance tests; see the module docstring."""

    #: entry-point name of the modality under test
    modality: str = ""
    #: set when the modality is not installed through an entry point (registers it in-process)
    modality_class: Any = None
    #: Python run in the torch-blocked decoding process before decoding (e.g. in-process registration)
    subprocess_setup: str = ""
    #: tolerance of the ONNX / torch generator parity check (max abs difference / max abs value)
    parity_tolerance: float = 1e-3

    # ----- what a plugin provides --------------------------------------------------------------
    @pytest.fixture(scope="class")
    @classmethod
    def model_dir(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        """A model folder for the modality; override in the subclass."""
        raise NotImplementedError("override the model_dir fixture")

    def signals(self) -> list[tuple[Any, dict[str, Any]]]:
        """Valid signals with their compress options; override."""
        raise NotImplementedError

    def bad_signals(self) -> list[tuple[Any, dict[str, Any]]]:
        """Invalid inputs that must raise InvalidSignalError; override."""
        raise NotImplementedError

    def assert_decoded(self, original: Any, decoded: Any, options: dict[str, Any]) -> None:
        """Plugin-specific checks of a decoded signal; by default its array is finite."""
        assert np.all(np.isfinite(_array(decoded).astype(np.float64))), "decoded signal has non-finite values"

    # ----- set-up --------------------------------------------------------------------------------
    @pytest.fixture(scope="class")
    @classmethod
    def card(cls, model_dir: Path) -> Any:
        """The model under test, made visible (with the modality, if it is registered in-process)."""
        if cls.modality_class is not None:
            registry.modalities.register(cls.modality, cls.modality_class, replace=True)
        models.register_model_dir(model_dir)
        card = models.ModelCard.load(model_dir) if (Path(model_dir) / models.MODEL_FILE).is_file() else \
            models.list_models(cls.modality)[0]
        yield card
        models.unregister_model_dir(model_dir)

    def _compress(self, card: Any, signal: Any, options: dict[str, Any]) -> bytes:
        return api.compress(signal, self.modality, model=card.id, effort="fast", **options)

    # ----- checks ----------------------------------------------------------------------------------
    def check_round_trip(self, card: Any) -> None:
        """Every signal survives compress -> container -> decompress with its metadata."""
        for signal, options in self.signals():
            blob = self._compress(card, signal, options)
            header = api.read_header(blob)
            assert header.modality == self.modality and header.model == card.id
            assert header.fingerprint == card.fingerprint
            json.dumps(header.meta)
            decoded = api.decompress(blob)
            self.assert_decoded(signal, decoded, options)

    def check_deterministic(self, card: Any) -> None:
        """The same input gives the same bytes, at fast and default effort."""
        signal, options = self.signals()[0]
        assert self._compress(card, signal, options) == self._compress(card, signal, options), \
            "fast-effort bitstreams differ between runs"
        a = api.compress(signal, self.modality, model=card.id, refine={"iterations": 3}, **options)
        b = api.compress(signal, self.modality, model=card.id, refine={"iterations": 3}, **options)
        assert a == b, "refined bitstreams differ between runs"

    def check_decode_without_torch(self, card: Any, workdir: Path) -> None:
        """A fresh process with torch blocked decodes the stream to the same samples, logging nothing."""
        signal, options = self.signals()[0]
        blob = self._compress(card, signal, options)
        stream, out = workdir / "stream.bpgan", workdir / "decoded.npy"
        stream.write_bytes(blob)
        env = {k: v for k, v in os.environ.items() if k != "BPGAN_ONNX_PROVIDER"}
        env[models.ENV_MODEL_PATH] = os.pathsep.join(filter(None, [str(card.path), env.get(models.ENV_MODEL_PATH)]))
        run = subprocess.run([sys.executable, "-c", _BLOCKED_DECODE, str(stream), str(out), self.subprocess_setup],
                             capture_output=True, text=True, env=env, timeout=300)
        assert run.returncode == 0, f"torch-free decoding failed:\n{run.stderr[-3000:]}"
        assert run.stderr.strip() == "", f"decoding logged to stderr (e.g. provider errors):\n{run.stderr[-3000:]}"
        assert np.array_equal(np.load(out), _array(api.decompress(blob))), "torch-free decode differs"

    def check_generator_parity(self, card: Any) -> None:
        """The exported ONNX generator matches the sender's torch generator."""
        import torch

        from ..onnx_runtime import OnnxGenerator

        sender = registry.get_modality(self.modality).load_sender(card)
        signal, options = self.signals()[0]
        prepared = registry.get_modality(self.modality).preprocessor(card).forward(signal, **options)
        x = torch.from_numpy(np.stack([next(iter(prepared.chunks))]).astype(np.float32))
        with torch.no_grad():
            z = torch.from_numpy(card.quantizer().project(sender.encoder.encode(x).float().numpy()))
            expected = sender.generator.generate(z).float().numpy()
        got = OnnxGenerator(card.generator_path, "cpu").generate(z.numpy())
        scale = max(1.0, float(np.abs(expected).max()))
        err = float(np.abs(got - expected).max()) / scale
        assert err <= self.parity_tolerance, f"ONNX generator differs from torch by {err:.3g}"

    def check_bad_input(self, card: Any) -> None:
        """Bad signals raise InvalidSignalError with a message."""
        for signal, options in self.bad_signals():
            with pytest.raises(InvalidSignalError) as info:
                self._compress(card, signal, options)
            assert str(info.value), "InvalidSignalError without a message"

    def check_damaged_streams(self, card: Any) -> None:
        """Truncated or corrupted streams raise bpgan errors, never something else."""
        signal, options = self.signals()[0]
        blob = self._compress(card, signal, options)
        rng = np.random.default_rng(0)
        for cut in sorted(set(rng.integers(0, len(blob), 20).tolist())):
            with pytest.raises(BitstreamError):
                api.decompress(blob[:cut])
        for _ in range(20):
            bad = bytearray(blob)
            bad[int(rng.integers(len(bad)))] ^= int(rng.integers(1, 256))
            with pytest.raises(BpganError):
                api.decompress(bytes(bad))

    # ----- pytest entry points ----------------------------------------------------------------------
    def test_round_trip(self, card: Any) -> None:
        self.check_round_trip(card)

    def test_deterministic(self, card: Any) -> None:
        self.check_deterministic(card)

    def test_decode_without_torch(self, card: Any, tmp_path: Path) -> None:
        self.check_decode_without_torch(card, tmp_path)

    def test_generator_parity(self, card: Any) -> None:
        self.check_generator_parity(card)

    def test_bad_input(self, card: Any) -> None:
        self.check_bad_input(card)

    def test_damaged_streams(self, card: Any) -> None:
        self.check_damaged_streams(card)
