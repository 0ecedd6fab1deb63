"""A layer method registered from outside the package: the reference loops of nn_reference.

Nothing in fftconv.nn is edited for it: the layer planner considers it, `LayerPlan.explain()`
lists it, ``method=`` forces it in every framework facade, 'auto' takes it when it is the
cheapest, and ``[memory] limit`` bounds it.
"""

import numpy as np
import pytest
from nn_reference import conv

import fftconv
from fftconv import nn
from fftconv.nn import LayerEstimate, LayerMethod


class ReferenceLayer(LayerMethod):
    """PyTorch's convolution by its definition (a sum over taps), for small layers only."""

    name = "reference"
    requirement = "at most 10,000 outputs"

    def __init__(self, seconds=1.0, workspace=1 << 20):
        self.seconds, self.workspace, self.runs = seconds, workspace, 0

    def applies(self, layer):
        return int(np.prod(layer.output_shape)) <= 10_000

    def estimate(self, layer, priced):
        if self.workspace > priced.budget:
            return None
        return LayerEstimate(self.seconds, self.workspace, "loops", {"reference loops": self.seconds})

    def describe(self, layer, layout):
        return f"chosen: reference — the sum over taps ({layout})"

    def run(self, x, w, layer, layout):
        self.runs += 1
        return conv(x, w, None, layer.stride, 0, layer.dilation, layer.groups).astype(layer.dtype)


@pytest.fixture
def reference():
    method = nn.register_layer_method(ReferenceLayer())
    yield method
    nn.unregister_layer_method("reference")


def test_the_planner_considers_explains_and_forces_it(rng, reference):
    x = rng.standard_normal((1, 3, 12, 12))
    w = rng.standard_normal((4, 3, 3, 3))
    assert "reference" in nn.layer_method_names()
    plan = nn.plan_conv(x.shape, w.shape, padding=1, dtype="float64", threads=1)
    assert plan.method != "reference" and "reference loops" in plan.explain()  # priced, too slow
    forced = nn.plan_conv(x.shape, w.shape, padding=1, dtype="float64", threads=1, method="reference")
    assert forced.method == "reference" and "chosen: reference" in forced.explain()
    want = conv(x, w, None, 1, 1)
    got = nn.conv2d(x, w, padding=1, method="reference")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    keras = nn.keras_conv(np.moveaxis(x, 1, -1), np.moveaxis(w, (0, 1), (-1, -2)), padding="same",
                          method="reference")
    np.testing.assert_allclose(np.moveaxis(keras, -1, 1), want, rtol=1e-12, atol=1e-12)
    assert reference.runs == 2


def test_auto_takes_it_when_it_is_the_cheapest(rng, reference):
    reference.seconds = 1e-12
    x, w = rng.standard_normal((1, 2, 8, 8)), rng.standard_normal((2, 2, 3, 3))
    assert nn.plan_conv(x.shape, w.shape, dtype="float64", threads=1).method == "reference"
    np.testing.assert_allclose(nn.conv2d(x, w), conv(x, w), rtol=1e-12, atol=1e-12)
    assert reference.runs == 1


def test_the_memory_limit_bounds_it(rng, reference):
    reference.seconds = 1e-12  # cheapest, but needs 1 MiB
    shapes = dict(input_shape=(1, 2, 8, 8), weight_shape=(2, 2, 3, 3), dtype="float64", threads=1)
    with fftconv.config.override(memory_limit="512KiB"):
        assert nn.plan_conv(**shapes).method != "reference"
        with pytest.raises(fftconv.MemoryLimitError, match="raise \\[memory\\] limit"):
            nn.plan_conv(**shapes, method="reference")


def test_a_layer_it_does_not_apply_to_is_refused_by_name(rng, reference):
    with pytest.raises(ValueError, match="method='reference' does not apply.*at most 10,000 outputs"):
        nn.plan_conv((1, 2, 200, 200), (2, 2, 3, 3), threads=1, method="reference")
