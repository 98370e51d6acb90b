"""Activation space Z_N^a and weight space Z_N^w: forward values, derivatives, validation."""
from __future__ import absolute_import, division, print_function

import numpy as np
import pytest
import theano
import theano.tensor as T

from gxnor import discretization as D
from gxnor.settings import ACT_GRAD_MODES, PULSE_SHAPES
import reference as ref

GRID = np.arange(-4, 4 + 1e-9, 1.0 / 1024).astype(np.float32)  # exact float32 values
_compiled = {}


def _activation(r, a, N, shape):
    """Compiled x -> (phi(x), d sum(c * phi(x)) / dx) for a fixed configuration."""
    key = (r, a, N, shape)
    if key not in _compiled:
        x = T.vector('x')
        c = T.vector('c')
        y = D.discretize_activation(x, r=r, a=a, N=N, shape=shape)
        _compiled[key] = theano.function([x, c], [y, T.grad(T.sum(c * y), x)])
    return _compiled[key]


def _with_neighbours(points):
    points = np.asarray(points, dtype=np.float32)
    up = np.nextafter(points, np.float32(np.inf))
    down = np.nextafter(points, np.float32(-np.inf))
    return np.concatenate([points, up, down, -points, -up, -down]).astype(np.float32)


class TestActivationForward(object):
    @pytest.mark.parametrize('N', [1, 2, 3])
    @pytest.mark.parametrize('r', [0.0, 0.25, 0.5, 1.0, 1.5])
    def test_matches_threshold_count_on_dense_grid(self, N, r):
        thresholds = D.activation_thresholds(r, N)
        x = np.concatenate([GRID, _with_neighbours(thresholds)])
        y, _ = _activation(r, 0.5, N, 'rectangular')(x, np.ones_like(x))
        np.testing.assert_array_equal(y, ref.activation_levels(x, r, N))

    @pytest.mark.parametrize('N', [1, 2, 3])
    def test_levels_are_the_space(self, N):
        y, _ = _activation(0.5, 0.5, N, 'rectangular')(GRID, np.ones_like(GRID))
        d = D.activation_step(N)
        expected = np.arange(-1, 1 + d / 2, d)
        assert sorted(set(y.tolist())) == pytest.approx(expected.tolist())
        assert len(expected) == 2 ** N + 1

    def test_break_points_take_the_outer_level(self):
        y, _ = _activation(1.0, 0.5, 2, 'rectangular')(
            np.array([1.0, 1.5, -1.0, -1.5, 0.99999994], np.float32), np.ones(5, np.float32))
        assert y.tolist() == [0.5, 1.0, -0.5, -1.0, 0.0]

    def test_discrete_inputs_are_fixed_points_of_a_zero_window(self):
        levels = np.array([-1, -0.5, 0, 0.5, 1], np.float32)
        y, _ = _activation(0.0, 0.5, 2, 'rectangular')(levels, np.ones(5, np.float32))
        # with r = 0 every non-zero level sits on or above its threshold
        assert np.all(np.abs(y) >= np.abs(levels))

    def test_output_is_bounded(self):
        x = np.array([-1e6, -50, 50, 1e6], np.float32)
        y, _ = _activation(0.1 * 5, 0.5, 3, 'rectangular')(x, np.ones(4, np.float32))
        assert y.tolist() == [-1, -1, 1, 1]


class TestActivationGradient(object):
    @pytest.mark.parametrize('shape', PULSE_SHAPES)
    @pytest.mark.parametrize('N,r,a', [(1, 1.0, 0.5), (1, 0.5, 0.25), (2, 1.0, 0.125),
                                       (3, 0.25, 0.0625), (2, 0.0, 1.0)])
    def test_equals_pulse_formula(self, shape, N, r, a):
        rng = np.random.RandomState(0)
        c = rng.uniform(-2, 2, GRID.shape).astype(np.float32)
        _, grad = _activation(r, a, N, shape)(GRID, c)
        expected = c * ref.activation_derivative(GRID, r, a, N, shape)
        np.testing.assert_allclose(grad, expected, rtol=2e-5, atol=1e-6)

    def test_rectangular_window_is_closed(self):
        x = np.array([0.5, 1.5, -0.5, -1.5], np.float32)
        # (one float32 step below 0.5 still rounds to |x| - 1 = -0.5, released code alike)
        outside = np.array([0.4999, 1.5001], np.float32)
        _, grad = _activation(1.0, 0.5, 1, 'rectangular')(x, np.ones(4, np.float32))
        _, grad_out = _activation(1.0, 0.5, 1, 'rectangular')(outside, np.ones(2, np.float32))
        assert grad.tolist() == [1, 1, 1, 1]
        assert grad_out.tolist() == [0, 0]

    @pytest.mark.parametrize('shape', PULSE_SHAPES)
    def test_each_pulse_has_unit_area(self, shape):
        u = T.vector()
        f = theano.function([u], D.pulse(u, 0.3, shape))
        points = np.linspace(-12, 12, 240001).astype(np.float32)
        assert np.trapz(f(points), points) == pytest.approx(1.0, abs=2e-4)

    @pytest.mark.parametrize('shape', PULSE_SHAPES)
    @pytest.mark.parametrize('N', [1, 2, 3])
    def test_derivative_integrates_to_the_total_jump(self, shape, N):
        """Each pulse carries the area d of its jump: the whole derivative integrates to 1."""
        points = np.linspace(0, 12, 240001).astype(np.float32)
        _, grad = _activation(4.0, 0.25, N, shape)(points, np.ones_like(points))
        assert np.trapz(grad, points) == pytest.approx(1.0, abs=2e-4)


def _every_float_near(points, steps):
    """Every float32 within ``steps`` float32 steps of each point (> 0) and its negative."""
    around = []
    for point in points:
        for value in (point, -point):
            bits = np.array([value], np.float32).view(np.int32)[0]
            # int32 bit patterns are ordered like the floats for either sign
            around.append(np.arange(bits - steps, bits + steps + 1, dtype=np.int32))
    return np.concatenate(around).view(np.float32)


class TestReleasedEquivalence(object):
    """N = 1, r = 1, a = 0.5, rectangular is the authors' expression, break points included."""

    def _compiled(self):
        x = T.vector('x')
        c = T.vector('c')
        outputs = []
        for y in (D.released_ternary_activation(x), D.ternary_activation(x),
                  D.ternary_activation(x, act_grad='exact')):
            outputs += [y, T.grad(T.sum(c * y), x)]
        return theano.function([x, c], outputs)

    def test_forward_and_gradient_identical(self):
        f = self._compiled()
        points = np.concatenate([np.arange(-3, 3, 1.0 / 4096).astype(np.float32),
                                 _every_float_near([0.5, 1.0, 1.5], 1 << 16),
                                 _with_neighbours([0.0])])
        c = np.random.RandomState(1).uniform(-2, 2, points.shape).astype(np.float32)
        y_released, g_released, y_ours, g_ours, y_exact, g_exact = f(points, c)
        np.testing.assert_array_equal(y_ours, y_released)
        # the same bits, the gradient's sign of zero included
        assert g_ours.view(np.int32).tolist() == g_released.view(np.int32).tolist()
        # 'exact' parts from the released rounding at -0.5 + 2^-24 only
        parted = points[g_exact.view(np.int32) != g_released.view(np.int32)]
        assert parted.tolist() == [np.float32(-0.5) + np.float32(2 ** -24)]
        np.testing.assert_array_equal(y_exact, y_released)
        # the documented break-point values
        ones = np.ones_like(points)
        _, g_unit, _, _, _, _ = f(points, ones)
        at = {float(p): (float(y), float(g)) for p, y, g in zip(points, y_ours, g_unit)}
        assert at[1.0] == (1.0, 1.0) and at[-1.0] == (-1.0, 1.0)
        assert at[0.5] == (0.0, 1.0) and at[1.5] == (1.0, 1.0)
        assert at[-0.4999999403953552] == (0.0, 1.0) and at[0.4999999403953552] == (0.0, 0.0)
        assert g_unit.max() == 1.0 and set(np.unique(y_ours)) == {-1.0, 0.0, 1.0}

    @pytest.mark.parametrize('kernels', ['fast', 'theano'])
    def test_activation_layer_gradient_is_the_released_one(self, kernels):
        """The layers, either kernel set, follow the setting."""
        from lasagne.layers import InputLayer, get_output
        from gxnor.layers import DiscreteActivationLayer
        x = T.vector('x')
        c = T.vector('c')
        points = _every_float_near([0.5, 1.5], 64)
        c_value = np.ones_like(points)
        grads = {}
        for act_grad in ACT_GRAD_MODES:
            layer = DiscreteActivationLayer(InputLayer((None,), x), kernels=kernels,
                                            act_grad=act_grad)
            grads[act_grad] = theano.function([x, c], T.grad(
                T.sum(c * get_output(layer)), x))(points, c_value)
        inside = np.abs(points) - 1
        window = (np.abs(inside) <= 0.5).astype(np.float32)
        np.testing.assert_array_equal(grads['exact'], window)
        edge = points == np.float32(-0.5) + np.float32(2 ** -24)
        np.testing.assert_array_equal(grads['released'], np.where(edge, 1, window))

    @pytest.mark.parametrize('N,shape', [(1, 'triangular'), (1, 'gaussian'),
                                         (2, 'rectangular'), (3, 'rectangular')])
    def test_multi_level_and_other_shapes_ignore_the_setting(self, N, shape):
        x = T.vector('x')
        points = _every_float_near([0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75], 64)
        values = [theano.function([x], D.pulse_derivative(x, 1.0, 0.5, N, shape,
                                                          act_grad))(points)
                  for act_grad in ACT_GRAD_MODES]
        assert values[0].tobytes() == values[1].tobytes()
        assert values[0].max() > 0

    def test_unknown_setting_is_refused(self):
        with pytest.raises(ValueError, match='act_grad must be one of released, exact'):
            D.PulseGradient(1.0, 0.5, 1, 'rectangular', 'approximate')


class TestValidation(object):
    @pytest.mark.parametrize('kwargs,word', [
        (dict(r=-0.1), 'window r'), (dict(a=0.0), 'width a'), (dict(a=-1.0), 'width a'),
        (dict(N=0), 'activation N'), (dict(N=1.5), 'activation N'),
        (dict(shape='box'), "'box'"), (dict(r=float('nan')), 'window r')])
    def test_impossible_activation_options(self, kwargs, word):
        options = dict(r=1.0, a=0.5, N=1, shape='rectangular')
        options.update(kwargs)
        with pytest.raises(ValueError) as info:
            D.discretize_activation(T.vector(), **options)
        assert word in str(info.value)

    def test_unknown_shape_lists_the_choices(self):
        with pytest.raises(ValueError) as info:
            D.check_activation_space(1.0, 0.5, 1, 'gauss')
        assert all(shape in str(info.value) for shape in PULSE_SHAPES)

    @pytest.mark.parametrize('H,N,word', [(0.0, 1, 'range H'), (-1.0, 1, 'range H'),
                                          (1.0, -1, 'weight N'), (1.0, 1.0, 'weight N')])
    def test_impossible_weight_space(self, H, N, word):
        with pytest.raises(ValueError) as info:
            D.check_weight_space(H, N)
        assert word in str(info.value)


class TestWeightSpace(object):
    @pytest.mark.parametrize('H,N,states', [(1.0, 0, [-1, 1]), (1.0, 1, [-1, 0, 1]),
                                            (0.5, 2, [-0.5, -0.25, 0, 0.25, 0.5])])
    def test_states(self, H, N, states):
        assert D.weight_states(H, N).tolist() == states
        assert D.weight_step(H, N) == pytest.approx(states[1] - states[0])

    @pytest.mark.parametrize('N', [0, 1, 2, 3, 4])
    @pytest.mark.parametrize('H', [1.0, 0.5])
    def test_snap_is_nearest_state(self, H, N):
        W = T.vector()
        f = theano.function([W], D.snap_to_grid(W, H, N))
        values = np.random.RandomState(N).uniform(-H, H, 20000).astype(np.float32)
        np.testing.assert_array_equal(f(values), ref.nearest_state(values, H, N))
        states = D.weight_states(H, N)
        np.testing.assert_array_equal(f(states), states)
