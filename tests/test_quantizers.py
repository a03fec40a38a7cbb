import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bpgan_core.quantizers import ScalarQuantizer, UniformQuantizer

centers_st = st.lists(st.floats(-10, 10, allow_nan=False, width=32), min_size=1, max_size=32, unique=True).filter(
    lambda c: len(c) == 1 or np.min(np.diff(np.sort(np.float32(c)))) > 1e-4)
values_st = arrays(np.float32, st.integers(0, 50), elements=st.floats(-20, 20, allow_nan=False, width=32))


@given(centers_st, values_st)
def test_indices_pick_the_nearest_center(centers, z):
    q = ScalarQuantizer(centers)
    idx = q.indices(z)
    assert idx.shape == z.shape
    d = np.abs(z[:, None] - q.centers[None, :])
    assert np.allclose(d[np.arange(len(z)), idx], d.min(axis=1)) if len(z) else True


@given(centers_st, values_st)
def test_projection_is_idempotent_and_lands_on_centers(centers, z):
    q = ScalarQuantizer(centers)
    p = q.project(z)
    assert np.all(np.isin(p, q.centers))
    assert np.array_equal(q.project(p), p)


@given(centers_st, values_st)
def test_torch_and_numpy_agree(centers, z):
    q = ScalarQuantizer(centers)
    assert np.array_equal(q.indices(torch.from_numpy(z)).numpy(), q.indices(z))


def test_soft_quantization_is_hard_forward_and_soft_backward():
    q = ScalarQuantizer([0.0, 0.5, 1.0])
    z = torch.tensor([0.1, 0.3, 0.9], requires_grad=True)
    out = q.soft(z, temperature=5.0)
    assert torch.allclose(out, torch.tensor([0.0, 0.5, 1.0]))
    out.sum().backward()
    assert torch.all(z.grad != 0)


def test_uniform_params_round_trip():
    q = UniformQuantizer(-1, 1, 5)
    assert np.allclose(q.centers, [-1, -0.5, 0, 0.5, 1])
    r = UniformQuantizer.from_params(q.params())
    assert np.array_equal(r.centers, q.centers)


def test_bad_centers_and_indices_raise():
    with pytest.raises(ValueError):
        ScalarQuantizer([])
    with pytest.raises(ValueError):
        ScalarQuantizer([1.0, 1.0])
    with pytest.raises(ValueError):
        ScalarQuantizer([0.0, 1.0]).dequantize(np.array([2]))
    with pytest.raises(ValueError):
        UniformQuantizer(1, 0, 4)
