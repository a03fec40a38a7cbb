"""The training rate models: their bits match what the coders spend, and their gradient lowers the rate."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from bpgan_core.context_coder import ContextRangeCoder, fit_context_prior
from bpgan_core.entropy import RangeCoder, fit_channel_prior
from bpgan_core.soft_rate import element_bits, log2_table
from bpgan_core.training.rate import CountingRateModel
from bpgan_core.training.recipe import TrainConfig
from bpgan_core.training.trainer import Trainer

K = 8
CENTERS = torch.linspace(-1, 1, K)


def _smooth_indices(seed: int, shape=(4, 3, 24, 24)) -> np.ndarray:
    """Blocky index planes: neighbours mostly repeat, so contexts predict well."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, K, size=(*shape[:2], shape[2] // 4, shape[3] // 4))
    planes = np.kron(coarse, np.ones((1, 1, 4, 4), dtype=np.int64))
    noise = rng.random(planes.shape) < 0.1
    return np.where(noise, rng.integers(0, K, size=planes.shape), planes)


def _observed(contexts: bool, indices: np.ndarray, times: int = 1) -> CountingRateModel:
    model = CountingRateModel(indices.shape[1], K, contexts=contexts)
    for _ in range(times):
        model.observe(torch.from_numpy(indices))
    return model


@pytest.mark.parametrize("contexts,coder,fit", [(False, RangeCoder(), fit_channel_prior),
                                                (True, ContextRangeCoder(), fit_context_prior)])
def test_bits_match_the_coded_size(contexts, coder, fit):
    """At a high temperature the soft bits are the hard indices' cost; counted once, the smoothing equals
    the fitted table's, so the estimate is within 1 % of the real stream."""
    idx = _smooth_indices(0)
    model = _observed(contexts, idx)
    z = CENTERS[torch.from_numpy(idx)]
    estimate = float(model.bits(z, CENTERS, temperature=1e4))
    coded = 8 * len(coder.encode(idx, K, fit([idx], K))) / idx.size
    assert estimate == pytest.approx(coded, rel=0.01)


@pytest.mark.parametrize("neighbours", [2, 3])
def test_refinement_bits_match_the_context_coder(neighbours):
    """The refinement's rate term (``soft_rate``) reads a two- or three-neighbour table as the coder does:
    the hard indices' bits are the coded size to within the coder's overhead."""
    idx = _smooth_indices(2)
    table = fit_context_prior([_smooth_indices(3)], K, neighbours=neighbours)
    z = CENTERS[torch.from_numpy(idx)]
    estimate = float(element_bits(z, CENTERS, log2_table(table), temperature=None).sum())
    coded = 8 * len(ContextRangeCoder().encode(idx, K, table))
    assert estimate == pytest.approx(coded, rel=0.01)


def test_contexts_see_what_channel_counts_cannot():
    idx = _smooth_indices(1)
    z = CENTERS[torch.from_numpy(idx)]
    channel = float(_observed(False, idx).bits(z, CENTERS, 1e4))
    context = float(_observed(True, idx).bits(z, CENTERS, 1e4))
    assert context < 0.6 * channel


def test_gradient_pulls_an_odd_element_towards_its_neighbours():
    """An element unlike its smooth surroundings is costly; the rate gradient moves it towards the
    center its context predicts."""
    planes = np.full((1, 1, 8, 8), 2)
    planes[0, 0, 4, 4] = 3
    z = CENTERS[torch.from_numpy(planes)].clone()
    z[0, 0, 4, 4] = (CENTERS[2] + CENTERS[3]) / 2 + 0.01  # just on the odd center's side
    model = CountingRateModel(1, K, contexts=True)
    for _ in range(50):
        model.observe(torch.from_numpy(np.full((1, 1, 8, 8), 2)))
    z.requires_grad_(True)
    model.bits(z, CENTERS, temperature=20.0).backward()
    assert z.grad[0, 0, 4, 4] > 0  # descending the gradient lowers z towards center 2


def test_reset_forgets_and_one_dimensional_latents_work():
    model = CountingRateModel(2, K, contexts=True)
    model.observe(torch.randint(0, K, (3, 2, 16)))
    assert model.counts.sum() == 3 * 2 * 16
    model.reset()
    assert model.counts.sum() == 0
    assert float(model.bits(torch.zeros(1, 2, 5), CENTERS, 10.0)) == pytest.approx(np.log2(K), rel=1e-3)


def test_unknown_rate_model_is_refused(tmp_path):
    from tests.test_trainer import TinyRecipe

    with pytest.raises(ValueError, match="rate_model"):
        Trainer(TinyRecipe(2), TrainConfig(out=str(tmp_path), rate_model="hyper", threads=1, bf16=False))


def test_context_rate_term_trains_and_logs(tmp_path):
    from tests.test_trainer import TinyRecipe

    cfg = TrainConfig(out=str(tmp_path), steps=6, float_steps=2, soft_steps=3, bf16=False, checkpoint_every=3,
                      log_every=1, threads=1, rate_weight=0.01, rate_model="context")
    trainer = Trainer(TinyRecipe(2), cfg)
    trainer.run()
    assert trainer.rate.counts.shape == (2, 17 ** 2, 16)  # 16 centers: 17 x 17 (left, top) contexts
    assert trainer.rate.counts.sum() > 0
    log = (tmp_path / "log.csv").read_text()
    assert "rate_bits" in log
