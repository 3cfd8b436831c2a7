"""Regression test of the shipped weights: on a small simulated stack of the kind each is made for, the
ratio chain must beat, by a margin, a network that does nothing (the noisy date) and one that returns a
flat ratio (the scaled, filtered temporal mean). Measured margins (128 x 128 x 10, seed 11): see
MARGINS; a replaced or broken file fails here."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import flat_ratio

from mtsar2sar.despeckle import NetworkDenoiser, despeckle_by_ratio, identity_denoiser
from mtsar2sar.enl import estimate_enl
from mtsar2sar.metrics import psnr_log
from mtsar2sar.network import load_network
from mtsar2sar.simulate import SimulationConfig, simulate_stack
from mtsar2sar.superimage import filter_super_image, temporal_mean

# weights, looks, speckle, then the least margin over the flat ratio (dB, all pixels / changed pixels)
CASES = [
    ("sar2sar-s1", 1, "correlated", 2.5, 3.5),
    ("sar2sar-grd", 4, "gamma", 3.5, 4.5),
    ("sar2sar-ml", 4, "correlated", 5.0, 7.0),  # measured +6.5 / +8.5 dB
]


@pytest.mark.parametrize(("weights", "looks", "speckle", "margin", "margin_changed"), CASES)
def test_shipped_weights_beat_the_temporal_mean_and_the_identity(weights, looks, speckle, margin, margin_changed):
    cfg = SimulationConfig(seed=11, height=128, width=128, dates=6, looks=looks, speckle=speckle)
    _, truths, noisy, changed = simulate_stack(cfg)
    mean = temporal_mean(noisy)[0]
    s = filter_super_image(mean, "mulog", estimate_enl(mean).enl, {"denoiser": "dct"})
    net = NetworkDenoiser(load_network(weights), level=1e4)

    def score(denoiser, mask=None) -> float:
        return float(np.mean([psnr_log(despeckle_by_ratio(w, s, denoiser).despeckled, v, mask)
                              for w, v in zip(noisy, truths)]))

    ours, flat, ident = score(net), score(flat_ratio), score(identity_denoiser)
    assert ours >= flat + margin, (ours, flat)
    assert ours >= ident + margin, (ours, ident)
    assert score(net, changed) >= score(flat_ratio, changed) + margin_changed
