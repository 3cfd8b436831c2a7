"""Property-based tests (hypothesis) of the invariants of the chain."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtsar2sar.despeckle import despeckle_by_ratio, geometric_mean, identity_denoiser
from mtsar2sar.superimage import temporal_mean
from mtsar2sar.tiling import tiled_apply, tiled_apply_rows, whole_apply

SETTINGS = settings(max_examples=25, deadline=None)


def random_stack(seed: int, t: int, h: int, w: int, invalid: float) -> list[np.ndarray]:
    """``t`` dates, a share ``invalid`` of NaN pixels in each, but one pixel valid in every date (so that the
    regions the tests compare are never empty)."""
    rng = np.random.default_rng(seed)
    v = np.exp(rng.normal(0, 1.5, (h, w)))
    keep = (rng.integers(h), rng.integers(w))
    out = []
    for _ in range(t):
        x = (v * rng.exponential(1.0, (h, w))).astype(np.float32)
        drop = rng.random((h, w)) < invalid
        drop[keep] = False
        x[drop] = np.nan
        out.append(x)
    return out


def smooth_denoiser(x: np.ndarray) -> np.ndarray:
    """A scale-equivariant, local, nonlinear stand-in for the network (3x3 geometric mean)."""
    from scipy.ndimage import uniform_filter

    return np.exp(uniform_filter(np.log(x), 3, mode="reflect"))


@SETTINGS
@given(seed=st.integers(0, 10_000), t=st.integers(2, 6), h=st.integers(4, 40), w=st.integers(4, 40),
       invalid=st.floats(0.0, 0.3), c=st.floats(1e-6, 1e6))
def test_scale_equivariance_and_nodata(seed, t, h, w, invalid, c):
    stack = random_stack(seed, t, h, w, invalid)
    mean, count = temporal_mean(stack)
    assert np.array_equal(np.isnan(mean), count == 0)
    out = despeckle_by_ratio(stack[0], mean, smooth_denoiser)
    scaled_mean, _ = temporal_mean([x * np.float32(c) for x in stack])
    out_c = despeckle_by_ratio(stack[0] * np.float32(c), scaled_mean, smooth_denoiser)
    ok = np.isfinite(out.despeckled)
    assert ok.any()  # the comparison below is never over an empty region
    np.testing.assert_allclose(out_c.despeckled[ok], c * out.despeckled[ok], rtol=1e-4)
    # nodata: invalid in the date or in the super-image, and nowhere else
    expected_invalid = ~np.isfinite(stack[0]) | ~np.isfinite(mean)
    assert np.array_equal(~ok, expected_invalid)
    assert np.array_equal(np.isnan(out_c.despeckled), expected_invalid)


@SETTINGS
@given(seed=st.integers(0, 10_000), h=st.integers(2, 50), w=st.integers(2, 50), invalid=st.floats(0.0, 0.5))
def test_ratio_identities(seed, h, w, invalid):
    stack = random_stack(seed, 3, h, w, invalid)
    mean, _ = temporal_mean(stack)
    r = despeckle_by_ratio(stack[1], mean, identity_denoiser)
    ok = np.isfinite(r.despeckled)
    assert ok.any()  # the comparisons below are never over an empty region
    assert np.array_equal(r.despeckled[ok], stack[1][ok])  # identity network: w_hat = w exactly
    lam = geometric_mean(mean)
    np.testing.assert_allclose(r.ratio[ok] * (mean[ok] / lam), stack[1][ok], rtol=1e-5)  # tau' s' = w


class _LocalNet(torch.nn.Module):
    """A random 2-layer CNN (receptive field 5 px): tiling with any overlap >= 32 is exact, borders included."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.b = torch.nn.Conv2d(4, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.tanh(self.a(x)))


NET = _LocalNet().eval()


@SETTINGS
@given(h=st.integers(1, 150), w=st.integers(1, 150), tile=st.sampled_from([64, 96, 128]),
       overlap_frac=st.sampled_from([1, 2]), batch=st.integers(1, 5), seed=st.integers(0, 1000))
def test_tiled_equals_whole_for_a_local_network(h, w, tile, overlap_frac, batch, seed):
    # every example compares (overlap >= 32 for every tile drawn) and over the whole image, borders included
    # (formerly tile 32 drew overlap 0 and compared nothing, and images of 8 px or less compared an empty region)
    overlap = min(32 * overlap_frac, tile - 32)
    assert overlap >= 32
    x = np.random.default_rng(seed).random((h, w)).astype(np.float32)
    whole = whole_apply(NET, x)
    tiled = tiled_apply(NET, x, tile=tile, overlap=overlap, batch=batch)
    assert tiled.shape == (h, w)
    np.testing.assert_allclose(tiled, whole, rtol=1e-5, atol=1e-6)


@SETTINGS
@given(h=st.integers(1, 150), w=st.integers(1, 150), tile=st.sampled_from([64, 96]), batch=st.integers(1, 3),
       seed=st.integers(0, 1000))
def test_blending_on_the_device_gives_the_bytes_of_blending_on_the_host(h, w, tile, batch, seed):
    # the GPU path blends the tiles where the network ran (torch, float64); here on the CPU, the same bytes
    x = np.random.default_rng(seed).random((h, w)).astype(np.float32)
    host = tiled_apply(NET, x, tile=tile, overlap=32, batch=batch)
    device = tiled_apply_rows_to_array(x, tile, batch)
    assert device.dtype == host.dtype == np.float32
    np.testing.assert_array_equal(device, host)


def tiled_apply_rows_to_array(x: np.ndarray, tile: int, batch: int) -> np.ndarray:
    out = np.full(x.shape, np.nan, dtype=np.float32)

    def sink(r0: int, r1: int, rows: np.ndarray) -> None:
        out[r0:r1] = rows

    tiled_apply_rows(NET, lambda r0, r1: x[r0:r1], *x.shape, sink, tile, 32, batch, accumulate_on_device=True)
    return out
