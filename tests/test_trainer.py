"""The generic trainer on a tiny 1-D recipe: warm start, resume, export contents."""
from __future__ import annotations

import json
from typing import Any, Iterator

import torch

from bpgan_core.training import Trainer
from bpgan_core.training.recipe import TrainConfig, TrainingRecipe


class TinyRecipe(TrainingRecipe):
    """Sine chunks (batch, 1, 32) through a 1-D conv autoencoder with ``channels`` latent channels."""

    modality = "toy1d"

    def __init__(self, channels: int = 2) -> None:
        self.channels = channels

    def networks(self) -> tuple[Any, Any, Any]:
        enc = torch.nn.Sequential(torch.nn.Conv1d(1, 8, 3, padding=1), torch.nn.ReLU(),
                                  torch.nn.Conv1d(8, self.channels, 4, stride=4))
        gen = torch.nn.Sequential(torch.nn.ConvTranspose1d(self.channels, 8, 4, stride=4), torch.nn.ReLU(),
                                  torch.nn.Conv1d(8, 1, 3, padding=1))
        return enc, gen, None

    def batches(self, seed: int, rank: int = 0, world: int = 1) -> Iterator[Any]:
        g = torch.Generator().manual_seed(seed)
        t = torch.arange(32.0)
        while True:
            f = torch.rand(4, 1, 1, generator=g) * 0.5
            yield torch.sin(f * t)

    def reconstruction_loss(self, x: Any, y: Any) -> tuple[Any, dict[str, float]]:
        loss = ((x - y) ** 2).mean()
        return loss, {"mse": float(loss.detach())}

    def model_config(self) -> dict[str, Any]:
        return {}

    def example_latent(self) -> Any:
        return torch.zeros(1, self.channels, 8)


def _config(out, **kw) -> TrainConfig:
    return TrainConfig(out=str(out), steps=kw.pop("steps", 4), float_steps=2, soft_steps=1, bf16=False,
                       checkpoint_every=2, log_every=1, threads=1, **kw)


def test_warm_start_copies_matching_tensors_only(tmp_path):
    Trainer(TinyRecipe(2), _config(tmp_path / "a")).run()
    source = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)
    warm = Trainer(TinyRecipe(3), _config(tmp_path / "b", init=str(tmp_path / "a" / "checkpoint.pt")))
    fresh = Trainer(TinyRecipe(3), _config(tmp_path / "c"))
    assert warm.step == 0
    # the first encoder conv has the same shape at both latent sizes: copied
    assert torch.equal(warm.encoder.state_dict()["0.weight"], source["encoder"]["0.weight"])
    # the latent-facing layers changed shape: left as freshly initialized
    assert torch.equal(warm.encoder.state_dict()["2.weight"], fresh.encoder.state_dict()["2.weight"])
    assert torch.equal(warm.generator.state_dict()["0.weight"], fresh.generator.state_dict()["0.weight"])


class ShiftingRecipe(TinyRecipe):
    """Adds 1 to every warm-started generator tensor, to show the trainer applies the hook."""

    def warm_start_state(self, name: str, module: Any, state: dict[str, Any]) -> dict[str, Any]:
        return {k: v + 1 for k, v in state.items()} if name == "generator" else state


def test_warm_start_passes_through_the_recipe_hook(tmp_path):
    Trainer(TinyRecipe(2), _config(tmp_path / "a")).run()
    source = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=False)
    warm = Trainer(ShiftingRecipe(2), _config(tmp_path / "b", init=str(tmp_path / "a" / "checkpoint.pt")))
    assert torch.equal(warm.generator.state_dict()["0.weight"], source["generator"]["0.weight"] + 1)
    assert torch.equal(warm.encoder.state_dict()["0.weight"], source["encoder"]["0.weight"])


def test_resume_takes_precedence_over_init(tmp_path):
    Trainer(TinyRecipe(2), _config(tmp_path / "a")).run()
    Trainer(TinyRecipe(2), _config(tmp_path / "b")).run()
    resumed = Trainer(TinyRecipe(2), _config(tmp_path / "b", steps=6, init=str(tmp_path / "a" / "checkpoint.pt")))
    own = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)
    assert resumed.step == 4
    assert torch.equal(resumed.encoder.state_dict()["0.weight"], own["encoder"]["0.weight"])


def test_export_writes_a_float16_encoder_and_a_float16_onnx_generator_the_sender_reads(tmp_path):
    import numpy as np
    import onnx

    from bpgan_core.export import with_float32_weights
    from bpgan_core.onnx_runtime import create_session
    from bpgan_core.torch_adapters import load_sender_weights

    trainer = Trainer(TinyRecipe(2), _config(tmp_path / "a"))
    out = trainer.run()
    assert json.loads((out / "model.json").read_text())["training"]["steps_done"] == 4
    sender = torch.load(out / "sender.pt", weights_only=True)
    assert list(sender) == ["encoder"]  # one copy of the generator per model folder: the ONNX file's
    assert all(v.dtype == torch.float16 for v in sender["encoder"].values())
    graph = onnx.load(str(out / "generator.onnx")).graph
    assert {i.data_type for i in graph.initializer} == {onnx.TensorProto.FLOAT16}
    # the sender's generator holds the trained weights rounded to float16, read from the ONNX file ...
    encoder, generator = TinyRecipe(2).networks()[:2]
    load_sender_weights(encoder, generator, out / "sender.pt", out / "generator.onnx")
    for k, v in trainer.generator.state_dict().items():
        assert torch.equal(generator.state_dict()[k], v.half().float())
    # ... and the receiver's generator computes in float32 on exactly those weights
    z = torch.randn(3, 2, 5)
    with torch.no_grad():
        expected = generator(z).numpy()
    got = create_session(out / "generator.onnx", "cpu").run(None, {"z": z.numpy()})[0]
    assert got.dtype == np.float32 and np.allclose(got, expected, rtol=1e-5, atol=1e-6)
    # with_float32_weights undoes the float16 storage for tools that look for weights among initializers
    unpacked = with_float32_weights(out / "generator.onnx")
    assert {i.data_type for i in unpacked.graph.initializer} == {onnx.TensorProto.FLOAT}
    assert not [n for n in unpacked.graph.node if n.op_type == "Cast"]
    onnx.save(unpacked, str(tmp_path / "float32.onnx"))
    again = create_session(tmp_path / "float32.onnx", "cpu").run(None, {"z": z.numpy()})[0]
    np.testing.assert_array_equal(again, got)
    # an exported sender.pt warm-starts both networks, the generator from the ONNX file beside it
    warm = Trainer(TinyRecipe(2), _config(tmp_path / "b", init=str(out / "sender.pt")))
    for k, v in generator.state_dict().items():
        assert torch.equal(warm.generator.state_dict()[k], v)


def test_a_hard_phase_run_from_an_exported_model_keeps_its_centers(tmp_path):
    out = Trainer(TinyRecipe(2), _config(tmp_path / "a")).run()
    shipped = json.loads((out / "model.json").read_text())["quantizer"]["params"]["centers"]
    hard_only = TrainConfig(out=str(tmp_path / "b"), steps=3, float_steps=0, soft_steps=0, bf16=False,
                            checkpoint_every=3, log_every=1, threads=1, init=str(out / "sender.pt"))
    tuned = Trainer(TinyRecipe(2), hard_only)
    assert tuned.centers_ready and tuned.centers.tolist() == torch.tensor(shipped).tolist()
    again = json.loads((tuned.run() / "model.json").read_text())["quantizer"]["params"]["centers"]
    assert again == torch.tensor(shipped).tolist()  # the streams' centers: only the generator moved
    # a run with a soft phase fits its own centers by k-means, as a new model should
    assert not Trainer(TinyRecipe(2), _config(tmp_path / "c", init=str(out / "sender.pt"))).centers_ready


def test_a_joint_run_at_one_temperature_can_keep_an_exported_models_centers(tmp_path):
    """``--keep-centers`` with a soft phase at ``temperature_start == temperature_max`` fine-tunes encoder
    and generator together from a model's own centers: the encoder moves, the phase is soft throughout."""
    out = Trainer(TinyRecipe(2), _config(tmp_path / "a")).run()
    shipped = torch.tensor(json.loads((out / "model.json").read_text())["quantizer"]["params"]["centers"])
    joint = TrainConfig(out=str(tmp_path / "b"), steps=3, float_steps=0, soft_steps=3, bf16=False,
                        checkpoint_every=3, log_every=1, threads=1, init=str(out / "sender.pt"),
                        keep_centers=True, temperature_start=50.0, temperature_max=50.0, lr=1e-2)
    tuned = Trainer(TinyRecipe(2), joint)
    assert tuned.centers_ready and torch.equal(tuned.centers.data, shipped)
    assert [tuned.phase(s) for s in range(3)] == ["soft"] * 3
    assert [tuned.temperature(s) for s in range(3)] == [50.0] * 3
    before = tuned.encoder.state_dict()["2.weight"].clone()
    tuned.run()
    assert not torch.equal(tuned.encoder.state_dict()["2.weight"], before)  # the encoder trained too
    # explicitly refusing the centers applies to a hard-only run as well
    hard_fresh = TrainConfig(out=str(tmp_path / "d"), steps=3, float_steps=0, soft_steps=0, bf16=False,
                             threads=1, init=str(out / "sender.pt"), keep_centers=False)
    assert not Trainer(TinyRecipe(2), hard_fresh).centers_ready


def test_the_soft_phase_anneals_from_temperature_start(tmp_path):
    cfg = TrainConfig(out=str(tmp_path / "a"), steps=5, float_steps=1, soft_steps=4, temperature_start=5.0,
                      temperature_max=25.0, bf16=False, threads=1)
    assert [Trainer(TinyRecipe(2), cfg).temperature(s) for s in (1, 3, 5)] == [5.0, 15.0, 25.0]


def test_log_widens_when_a_phase_adds_terms(tmp_path):
    """The soft phase's ``bits`` term appears in the CSV log although the float phase had no such column."""
    import csv

    Trainer(TinyRecipe(2), _config(tmp_path / "a")).run()
    with open(tmp_path / "a" / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[0]["bits"] == "" and float(rows[-1]["bits"]) > 0


def test_resume_drops_the_log_rows_a_dead_run_wrote_after_its_last_checkpoint(tmp_path):
    import csv

    Trainer(TinyRecipe(2), _config(tmp_path / "a")).run()  # checkpoint at step 4
    with open(tmp_path / "a" / "log.csv", "a", newline="") as f:  # a run that died at step 5
        f.write("5,hard,0.1,0.5,,,,0.5,0\n")
    Trainer(TinyRecipe(2), _config(tmp_path / "a", steps=6)).run()
    with open(tmp_path / "a" / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["1", "2", "3", "4", "5", "6"]
    assert rows[4]["mse"] != "0.5"


def test_bf16_defaults_to_what_the_cpu_computes_natively(tmp_path):
    import argparse

    from bpgan_core.bf16 import native_bf16

    parser = argparse.ArgumentParser()
    TrainConfig.add_arguments(parser)
    assert TrainConfig.from_args(parser.parse_args([])).bf16 is None
    assert TrainConfig.from_args(parser.parse_args(["--no-bf16"])).bf16 is False
    assert TrainConfig.from_args(parser.parse_args(["--bf16"])).bf16 is True
    auto = TrainConfig(out=str(tmp_path / "a"), threads=1)
    assert Trainer(TinyRecipe(2), auto).bf16 is native_bf16()
    assert Trainer(TinyRecipe(2), TrainConfig(out=str(tmp_path / "b"), threads=1, bf16=True)).bf16 is True


class TinyDiscriminator(torch.nn.Module):
    """One scale: a feature map, then the patch prediction."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Conv1d(1, 4, 3, padding=1)
        self.head = torch.nn.Conv1d(4, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        f = torch.relu(self.features(x))
        return [[f, self.head(f)]]


class GanRecipe(TinyRecipe):
    def networks(self) -> tuple[Any, Any, Any]:
        enc, gen, _ = super().networks()
        return enc, gen, TinyDiscriminator()


def _after_one_step(tmp_path, name: str, **kw) -> Trainer:
    trainer = Trainer(GanRecipe(2), _config(tmp_path / name, **kw))
    trainer.train_step(next(trainer.recipe.batches(0)))
    return trainer


def test_gan_warmup_ramps_the_generator_terms_while_the_discriminator_trains(tmp_path):
    plain = _after_one_step(tmp_path, "plain", adv_weight=0.0, fm_weight=0.0)
    ramped = _after_one_step(tmp_path, "ramped", adv_weight=1.0, fm_weight=1.0, gan_warmup_steps=4)
    direct = _after_one_step(tmp_path, "direct", adv_weight=1.0, fm_weight=1.0)
    gen = [t.generator.state_dict()["0.weight"] for t in (plain, ramped, direct)]
    disc = [t.discriminator.state_dict()["head.weight"] for t in (plain, ramped, direct)]
    # step 0 of the ramp: the generator moves exactly as without adversarial terms ...
    assert torch.equal(gen[1], gen[0]) and not torch.equal(gen[2], gen[0])
    # ... while the discriminator already learns (it does not train at all when adv_weight is 0)
    assert not torch.equal(disc[1], disc[0]) and torch.equal(disc[1], disc[2])
    assert [ramped.gan_scale(s) for s in (0, 2, 4, 9)] == [0.0, 0.5, 1.0, 1.0]
