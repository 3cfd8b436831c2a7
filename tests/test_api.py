"""mtsar2sar.api.despeckle_stack on a multi-band stack (one GeoTIFF, a band per date): the products of the same
dates given as separate dated GeoTIFFs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import products_match_reference, tiny_config, utm_grid, write_dates
from stack_layouts import multiband, snap_band

from mtsar2sar import api
from mtsar2sar.simulate import simulate_stack

pytest.importorskip("xarray")

NETWORK = {"tile": 128, "overlap": 64, "batch": 2, "device": "cpu", "threads": 1}  # tests/test_workflow.py's


def test_a_multiband_stack_gives_the_products_of_dated_geotiffs(tmp_path):
    cfg = tiny_config(looks=5, speckle="gamma", height=64, width=64)
    dates, _, noisy, _ = simulate_stack(cfg)
    imgs = {k: v[:32, :32].astype(np.float32) for k, v in zip(dates, noisy)}
    g = utm_grid(32, 32)
    refs = write_dates(tmp_path / "ref", imgs, g)
    order = list(imgs)[::-1]  # the bands need not be in time order
    stack = multiband(tmp_path / "tif" / "stack.tif", {k: imgs[k] for k in order}, g,
                      descriptions=[snap_band(k) for k in order])
    before = stack.read_bytes()
    given = {"ref": list(refs.values()), "tif": str(stack), "list": [stack]}
    results = tmp_path / "results"
    arrays = {name: api.despeckle_stack(files, looks=5, super_image={"filter": "none"}, network=NETWORK,
                                        workdir=results / name) for name, files in given.items()}
    products_match_reference(tmp_path, given, dates)
    for name in ("tif", "list"):
        da = arrays[name]
        assert list(da["date_key"].values) == list(dates)
        np.testing.assert_array_equal(da.values, arrays["ref"].values)
        # each band read through a VRT of its own in the workdir, as the workflow's results/<aoi>/bands/
        assert list(da["source"].values) == [str(results / name / "bands" / f"{d}.vrt") for d in dates]
        assert da.attrs["weights"] == arrays["ref"].attrs["weights"] == "sar2sar-ml"
    assert stack.read_bytes() == before  # the input is untouched


def test_a_multiband_stack_with_band_set_is_one_date_per_file(tmp_path):
    """`band=2`: each file is one date (its band 2), as an AOI's `band`; no VRT."""
    imgs = {k: np.random.default_rng(i).gamma(5, 0.2, (32, 32)).astype(np.float32)
            for i, k in enumerate(("a", "b"))}
    for d in ("20240106", "20240118"):
        multiband(tmp_path / "in" / f"S1_{d}.tif", imgs, utm_grid(32, 32))
    files = api._date_files(str(tmp_path / "in" / "*.tif"), r"(\d{8})", None, 2, tmp_path / "bands")
    assert files == {d: tmp_path / "in" / f"S1_{d}.tif" for d in ("20240106", "20240118")}
    assert not (tmp_path / "bands").exists()


def test_date_keys_of_days_and_of_days_with_a_time_are_all_dates():
    """Keys of a day and of a day with its time in one stack give a datetime64 time coordinate, not text
    (new-user review); a key that is no date keeps them all as text."""
    t = api.date_coordinate(["20240106", "20240118", "20240130T060504"])
    assert t.dtype == np.dtype("datetime64[ns]")
    assert list(t.astype(str)) == ["2024-01-06T00:00:00.000000000", "2024-01-18T00:00:00.000000000",
                                   "2024-01-30T06:05:04.000000000"]
    assert api.date_coordinate(["site_a", "20240101"]).dtype == np.dtype(object)
