"""Quicklooks drawn with Pillow: the colour bar's ticks, the display range, and images of any shape."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mtsar2sar.quicklook import MAX_PANEL_ASPECT, display_range, nice_ticks, save_rows, save_side_by_side


def test_ticks_are_round_values_inside_the_range_and_few():
    assert nice_ticks(-1.0, 0.1) == [-1.0, -0.8, -0.6, -0.4, -0.2, 0.0]  # no -2.2e-16 for 0
    assert nice_ticks(-12.3, 25.1) == [-10.0, 0.0, 10.0, 20.0]
    assert nice_ticks(0.3, 0.31, most=3) == [0.3, 0.305, 0.31]
    wide = nice_ticks(-1e9, 1e9)  # formerly built an array of 2e12 values
    assert len(wide) <= 6 and wide[0] >= -1e9 and wide[-1] <= 1e9
    assert nice_ticks(5.0, 5.0) == [] and nice_ticks(1.0, float("nan")) == [] and nice_ticks(2.0, 1.0) == []
    assert all(type(t) is float for t in nice_ticks(-3.0, 7.0))


def test_display_range_of_constant_and_invalid_panels():
    assert display_range(np.full((4, 4), 3.0)) == (2.5, 3.5)  # a constant image: mid-grey, not black
    noisy = np.linspace(-10, 10, 100).reshape(10, 10)
    lo, hi = display_range(np.full((10, 10), np.nan), noisy)  # no valid despeckled pixel: the next panel's
    assert lo == pytest.approx(np.percentile(noisy, 1)) and hi == pytest.approx(np.percentile(noisy, 99.5))
    assert display_range(np.full((3, 3), np.nan)) == (0.0, 1.0)


@pytest.mark.parametrize("shape", [(1, 1), (3, 500), (5000, 1), (64, 64)])
def test_a_quicklook_of_any_shape_is_written(tmp_path, shape):
    rng = np.random.default_rng(0)
    out = tmp_path / "q.jpg"
    save_side_by_side(out, {"noisy": rng.gamma(1.0, 1.0, shape), "despeckled": np.full(shape, np.nan)}, "a date")
    with Image.open(out) as im:
        assert im.mode == "L" and im.height <= MAX_PANEL_ASPECT * 378 + 200 and im.width >= 2 * 1
        pixels = np.asarray(im)
    assert pixels.min() < 64 and pixels.max() > 192  # text and the bar's ramp on a white page


def test_a_sheet_keeps_each_rows_range(tmp_path):
    """Each row has its own display range: a dark date and a bright date are both drawn in full grey range."""
    rows = {d: {"noisy": np.full((32, 32), 10.0**k), "despeckled": np.tile(np.linspace(1, 2, 32), (32, 1)) * 10.0**k}
            for d, k in (("20240101", -3), ("20240113", 3))}
    save_rows(tmp_path / "s.jpg", rows, "AOI", panel_inches=1.0)
    with Image.open(tmp_path / "s.jpg") as im:
        a = np.asarray(im).astype(float)
    # the despeckled panel of each row spans dark to light (its own range), at x of its middle column
    col = 5 + 90 + 8 + 45
    for band in (a[30:110, col - 30 : col + 30], a[150:230, col - 30 : col + 30]):
        assert band.min() < 60 and band.max() > 190


def test_without_freetype_the_bitmap_font_is_used(tmp_path, monkeypatch):
    """A Pillow built without FreeType has no sized default font: quicklooks fall back to its bitmap font."""
    from PIL import ImageFont, features

    sized, check = ImageFont.load_default, features.check

    def no_freetype(size=None):
        if size is not None:
            raise ImportError("The _imagingft C module is not installed")
        return sized()

    monkeypatch.setattr(ImageFont, "load_default", no_freetype)
    monkeypatch.setattr(features, "check", lambda name: name != "freetype2" and check(name))
    save_side_by_side(tmp_path / "q.jpg", {"noisy": np.ones((8, 8)), "despeckled": np.ones((8, 8))}, "a date")
    with Image.open(tmp_path / "q.jpg") as im:
        assert np.asarray(im).min() < 64  # the text is drawn
