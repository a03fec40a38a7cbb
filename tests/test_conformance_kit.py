"""The conformance kit on the toy modality, and proof that it fails loudly on a broken plugin."""
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bpgan_core.testing.conformance import ModalityConformance
from bpgan_core.testing.toy import ToyModality, ToyPreprocessor, make_toy_model

SETUP = ("from bpgan_core import registry; from bpgan_core.testing.toy import ToyModality; "
         "registry.modalities.register('toy1d', ToyModality, replace=True)")


class TestToyConformance(ModalityConformance):
    modality = "toy1d"
    modality_class = ToyModality
    subprocess_setup = SETUP

    @pytest.fixture(scope="class")
    @classmethod
    def model_dir(cls, tmp_path_factory: pytest.TempPathFactory) -> Path:
        return make_toy_model(tmp_path_factory.mktemp("kit") / "toy1d-kit", model_id="toy1d-kit")

    def signals(self) -> list[tuple[Any, dict]]:
        rng = np.random.default_rng(0)
        return [(np.sin(np.arange(300) / 9).astype(np.float32), {}), (rng.uniform(-1, 1, 1).astype(np.float32), {})]

    def bad_signals(self) -> list[tuple[Any, dict]]:
        return [(np.array([], np.float32), {}), (np.full(5, np.inf), {}), (np.zeros((2, 2)), {})]

    def assert_decoded(self, original: Any, decoded: Any, options: dict) -> None:
        assert decoded.shape == original.shape and decoded.dtype == np.float32


class LossyMetaPreprocessor(ToyPreprocessor):
    """Broken: drops the last sample on decode."""

    def inverse(self, chunks, meta):
        return super().inverse(chunks, meta)[:-1]


class BrokenToyModality(ToyModality):
    """Broken: its preprocessor loses a sample."""

    name = "toy1d-broken"

    def preprocessor(self, card):
        return LossyMetaPreprocessor()


class BrokenKit(TestToyConformance):
    """Not collected (no Test prefix): runs the kit's checks against the broken plugin."""

    modality = "toy1d-broken"
    modality_class = BrokenToyModality


@pytest.fixture
def broken_card(tmp_path):
    kit = BrokenKit()
    d = make_toy_model(tmp_path / "broken", model_id="toy1d-broken-model")
    import json

    spec = json.loads((d / "model.json").read_text())
    spec["modality"] = "toy1d-broken"
    (d / "model.json").write_text(json.dumps(spec))
    from bpgan_core import models, registry

    registry.modalities.register("toy1d-broken", BrokenToyModality, replace=True)
    models.register_model_dir(d)
    yield kit, models.ModelCard.load(d)
    models.unregister_model_dir(d)
    registry.modalities.unregister("toy1d-broken")


def test_kit_catches_a_plugin_that_loses_samples(broken_card):
    kit, card = broken_card
    with pytest.raises(AssertionError):
        kit.check_round_trip(card)


def test_kit_catches_a_plugin_that_accepts_bad_input(broken_card):
    kit, card = broken_card
    kit.bad_signals = lambda: [(np.zeros(10, np.float32), {})]  # valid input: InvalidSignalError never comes
    with pytest.raises(pytest.fail.Exception):
        kit.check_bad_input(card)


def test_kit_catches_a_generator_that_differs_from_its_onnx_export(broken_card, tmp_path):
    kit, card = broken_card
    import torch

    torch.save({"weight": torch.ones(2, 1, 8)}, card.sender_path)  # torch weights no longer match the ONNX file
    with pytest.raises(AssertionError, match="ONNX generator differs"):
        kit.check_generator_parity(card)
