"""The ratio chain: identities, scale equivariance, invalid pixels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import NATIVE_BF16

from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio, geometric_mean, identity_denoiser
from mtsar2sar.network import load_network
from mtsar2sar.simulate import SimulationConfig, simulate_stack
from mtsar2sar.superimage import filter_super_image, temporal_mean


@pytest.fixture(scope="module")
def stack():
    _, _truths, noisy, _ = simulate_stack(SimulationConfig(seed=5, height=96, width=128, dates=5, looks=1))
    return [n.astype(np.float32) for n in noisy]


def test_identity_network_returns_the_input_exactly(stack):
    s, _ = temporal_mean(stack)
    for w in stack:
        r = despeckle_by_ratio(w, s, identity_denoiser)
        assert np.array_equal(r.despeckled, w)


def test_normalization_identities(stack):
    s, _ = temporal_mean(stack)
    w = stack[0]
    r = despeckle_by_ratio(w, s, identity_denoiser)
    lam = geometric_mean(s)
    assert r.lam == pytest.approx(float(np.exp(np.mean(np.log(s.astype(np.float64))))), rel=1e-12)
    np.testing.assert_allclose(r.ratio, w / (s / lam), rtol=1e-6)
    # s' = s / lambda has geometric mean 1
    assert geometric_mean(s.astype(np.float64) / lam) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("precision", ["float32", pytest.param("bfloat16", marks=NATIVE_BF16)])
def test_scale_equivariance_of_the_chain(stack, precision):
    torch.set_num_threads(2)
    den = NetworkDenoiser(load_network("sar2sar-grd"), level=1e4, tile=128, overlap=64, batch=2, precision=precision)

    def chain(dates):
        mean, _ = temporal_mean(dates)
        s = filter_super_image(mean, "none", 5.0)
        return [despeckle_by_ratio(w, s, den).despeckled for w in dates]

    ref = chain(stack)
    for c in (1e-4, 37.0, 1e5):
        out = chain([w * np.float32(c) for w in stack])
        for a, b in zip(out, ref):
            if precision == "float32":
                np.testing.assert_allclose(a, b * c, rtol=1e-4)
            else:  # the input moves by float rounding, and bfloat16 roundings inside with it: hundredths of a dB
                db = np.abs(10 * np.log10(a / (b * c)))
                assert np.median(db) < 0.02 and db.max() < 0.3, (np.median(db), db.max())  # at most 0.0066, 0.20


def test_invalid_pixels_stay_invalid_and_do_not_propagate(stack):
    s, _ = temporal_mean(stack)
    w = stack[1].copy()
    w[10:20, 30:40] = np.nan
    s2 = s.copy()
    s2[50, 60] = np.nan
    torch.set_num_threads(2)
    den = NetworkDenoiser(load_network("sar2sar-grd"), tile=128, overlap=64)
    r = despeckle_by_ratio(w, s2, den)
    invalid = ~np.isfinite(r.despeckled)
    expected = ~np.isfinite(w) | ~np.isfinite(s2)
    assert np.array_equal(invalid, expected)
    assert np.all(r.despeckled[~invalid] > 0)
