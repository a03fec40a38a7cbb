"""Latent refinement on a small problem with a known answer."""
import itertools

import numpy as np
import pytest
import torch

from bpgan_core.admm import EFFORTS, LatentAdam, RefineSettings, refine
from bpgan_core.quantizers import ScalarQuantizer
from bpgan_core.torch_adapters import TorchGenerator


def problem(seed: int = 0):
    """x = G(z*) with G linear and mixing; the encoder is biased, so rounding its output is poor."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(12, 3, generator=g)
    gen = torch.nn.Linear(3, 12, bias=False)
    with torch.no_grad():
        gen.weight.copy_(a)
    centers = np.linspace(-1.5, 1.5, 7).astype(np.float32)
    z_true = torch.tensor(np.random.default_rng(seed).choice(centers, size=(4, 3)) + 0.08)
    x = gen(z_true).detach()
    z0 = z_true + torch.tensor([0.4, -0.45, 0.35])  # a biased encoder
    return x, z0, TorchGenerator(gen), ScalarQuantizer(centers)


def loss(x, y):
    return ((x - y) ** 2).mean(1)


def optimum(x, gen, q):
    """Brute force over all quantized latents (7^3 per item)."""
    grid = torch.tensor(list(itertools.product(q.centers, repeat=3)))
    out = gen.generate(grid)
    return torch.stack([loss(xi.expand_as(out), out).min() for xi in x]).mean().item()


@pytest.mark.parametrize("method", ["admm", "backprop", "ste"])
def test_refinement_beats_rounding_the_encoder_output(method):
    x, z0, gen, q = problem()
    rounded = loss(x, gen.generate(q.project(z0))).mean().item()
    result = refine(x, z0, gen, loss, q, RefineSettings(method=method, iterations=200, lr=0.05, rho=0.05))
    sent = loss(x, gen.generate(torch.from_numpy(q.dequantize(result.indices)))).mean().item()
    assert sent == pytest.approx(result.final_loss, rel=1e-5)
    assert sent < 0.5 * rounded
    assert sent <= optimum(x, gen, q) * 1.5 + 1e-4


def test_paper_admm_without_keep_best_reaches_the_optimum():
    x, z0, gen, q = problem(1)
    result = refine(x, z0, gen, loss, q, RefineSettings(method="admm", iterations=300, lr=0.05, rho=0.05, keep_best=False))
    assert result.final_loss <= optimum(x, gen, q) * 1.5 + 1e-4


def test_keep_best_never_does_worse_than_the_encoder():
    x, z0, gen, q = problem(2)
    for method in ("admm", "backprop", "ste"):
        result = refine(x, z0, gen, loss, q, RefineSettings(method=method, iterations=5, lr=5.0))
        assert result.final_loss <= result.initial_loss


def test_none_transmits_the_rounded_encoder_output():
    x, z0, gen, q = problem()
    result = refine(x, z0, gen, loss, q, RefineSettings.from_effort("fast"))
    assert np.array_equal(result.indices, q.indices(z0).numpy())
    assert result.initial_loss is None and result.final_loss is None  # nothing was scored


def test_effort_presets_and_validation():
    assert set(EFFORTS) == {"fast", "default", "best"}
    assert RefineSettings.from_effort("best", iterations=7).iterations == 7
    with pytest.raises(ValueError, match="unknown effort"):
        RefineSettings.from_effort("turbo")
    with pytest.raises(ValueError, match="unknown refinement options"):
        RefineSettings.from_effort("default", iters=3)
    with pytest.raises(ValueError):
        RefineSettings(method="magic")


def test_rate_weight_trades_distortion_for_rate():
    """With a prior that makes the outer centers expensive, lambda > 0 lowers the bits of what is sent."""
    x, z0, gen, q = problem(3)
    prior = np.array([[1, 4, 60, 200, 60, 4, 1]] * 3)
    costs = -np.log2(prior / prior.sum(1, keepdims=True))

    def bits(indices):
        return float(np.mean(costs[np.arange(3)[None, :], indices]))

    plain = refine(x, z0, gen, loss, q, RefineSettings(method="ste", iterations=100, lr=0.05), prior)
    rd = refine(x, z0, gen, loss, q, RefineSettings(method="ste", iterations=100, lr=0.05, rate_weight=0.5), prior)
    assert bits(rd.indices) < bits(plain.indices)
    d_plain = loss(x, gen.generate(torch.from_numpy(q.dequantize(plain.indices)))).mean().item()
    d_rd = loss(x, gen.generate(torch.from_numpy(q.dequantize(rd.indices)))).mean().item()
    assert d_rd >= d_plain


def test_bf16_request_is_ignored_where_the_cpu_emulates_bf16(monkeypatch):
    import bpgan_core.bf16 as bf16

    x, z0, gen, q = problem()

    def run(bf16_wanted: bool) -> float:
        return refine(x, z0, gen, loss, q, RefineSettings(method="ste", iterations=5, bf16=bf16_wanted)).final_loss

    reference = run(False)
    monkeypatch.setattr(bf16, "native_bf16", lambda: False)
    assert run(True) == reference
    monkeypatch.setattr(bf16, "native_bf16", lambda: True)
    assert run(True) != reference


def test_rate_weight_counts_bits_as_the_context_coder_does():
    """With a (left, top) context table that makes repeating the left neighbour cheap, the rate term
    makes the refined indices cheaper for the context coder itself."""
    from bpgan_core.context_coder import ContextRangeCoder, num_contexts

    q = ScalarQuantizer(np.linspace(-1.5, 1.5, 7).astype(np.float32))
    k = q.num_symbols
    table = np.ones((1, num_contexts(k), k), dtype=np.int64)
    for left in range(k):
        table[0, left * (k + 1):(left + 1) * (k + 1), left] = 500
    x = torch.from_numpy(np.random.default_rng(0).normal(0.0, 0.3, (2, 1, 32)).astype(np.float32))
    gen = TorchGenerator(torch.nn.Identity())

    def mse(a, b):
        return ((a - b) ** 2).flatten(1).mean(1)

    settings = dict(method="ste", iterations=60, lr=0.05)
    plain = refine(x, x.clone(), gen, mse, q, RefineSettings(**settings), table)
    rd = refine(x, x.clone(), gen, mse, q, RefineSettings(**settings, rate_weight=0.05), table)
    coder = ContextRangeCoder()
    assert len(coder.encode(rd.indices, k, table)) < len(coder.encode(plain.indices, k, table))
    distortion = [mse(x, torch.from_numpy(q.dequantize(r.indices))).mean().item() for r in (plain, rd)]
    assert distortion[1] >= distortion[0]  # the rate was bought with distortion


def test_latent_adam_follows_torch_adam():
    target = torch.linspace(-2, 3, 24).reshape(2, 3, 4)
    ours, ref = torch.zeros(2, 3, 4, requires_grad=True), torch.zeros(2, 3, 4, requires_grad=True)
    opt, ref_opt = LatentAdam(ours, lr=0.05), torch.optim.Adam([ref], lr=0.05)
    for _ in range(25):
        for z, o in ((ours, opt), (ref, ref_opt)):
            o.zero_grad()
            ((z - target) ** 4).sum().backward()
            o.step()
    assert not torch.equal(ours, torch.zeros_like(ours))
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)
