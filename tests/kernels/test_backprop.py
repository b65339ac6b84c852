"""The elementwise backward kernels (engine/kernels/{cpu,webgl}/backprop.py) against tf.raw_ops: values
across each activation's regions, NaN/Inf and empty tensors. The window gradients are tested in
test_window_grads.py, the resize and LRN gradients with their forward ops' families."""
import numpy as np
import pytest

from tests.kernels.harness import ACTIVATION_EDGES, assert_rejects, check, rand

pytestmark = pytest.mark.tf

# (op, takes (gradients, features/outputs) or (y, dy), extra attrs)
ELEMENTWISE = [("ReluGrad", {}), ("Relu6Grad", {}), ("LeakyReluGrad", {"alpha": 0.3}), ("EluGrad", {}),
               ("SeluGrad", {}), ("SigmoidGrad", {}), ("TanhGrad", {}), ("SoftplusGrad", {}), ("SoftsignGrad", {}),
               ("SqrtGrad", {}), ("RsqrtGrad", {}), ("ReciprocalGrad", {}), ("InvGrad", {})]


@pytest.mark.parametrize("op, attrs", ELEMENTWISE, ids=[op for op, _ in ELEMENTWISE])
def test_elementwise_grads(backend, rng, op, attrs):
    values = np.concatenate([ACTIVATION_EDGES[np.abs(ACTIVATION_EDGES) < 1e29], rand(rng, (40,), low=-8, high=8)])
    upstream = rand(rng, values.shape, specials=True)
    check(backend, op, [upstream, values], attrs, rtol=1e-5, atol=1e-6)
    check(backend, op, [np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32)], attrs)


@pytest.mark.parametrize("data_format, shape", [("NHWC", (2, 3, 4, 5)), ("NCHW", (2, 5, 3, 4)), ("NHWC", (3, 5)),
                                                ("NHWC", (0, 5))])
def test_bias_add_grad(backend, rng, data_format, shape):
    check(backend, "BiasAddGrad", [rand(rng, shape)], {"data_format": data_format})


def test_bias_add_grad_rejects_a_vector(backend, rng):
    assert_rejects(backend, "BiasAddGrad", [rand(rng, (5,))], {}, match="rank >= 2")
