"""Fixtures: small stacks made by the project itself (no external data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine

from mtsar2sar.io import Grid, read_product, write_float32
from mtsar2sar.network import native_bfloat16
from mtsar2sar.simulate import SimulationConfig, simulate_stack

REPO = Path(__file__).resolve().parents[1]
# tests that run the network in bfloat16 explicitly: only where the CPU has bfloat16 units (emulated, it is
# about 100x slower than float32); network.precision auto then resolves to float32 and is tested as such
NATIVE_BF16 = pytest.mark.skipif(not native_bfloat16(torch.device("cpu")),
                                 reason="this CPU has no bfloat16 units: emulated, about 100x slower than float32")


def tiny_config(**kw) -> SimulationConfig:
    base = {"seed": 7, "height": 80, "width": 96, "dates": 5, "looks": 1, "speckle": "correlated"}
    base.update(kw)
    return SimulationConfig(**base)


def write_dates(folder: Path, dates: dict[str, np.ndarray], grid: Grid, prefix: str = "S1_") -> dict[str, Path]:
    """Write one GeoTIFF per date named ``{prefix}{date}.tif``."""
    out = {}
    for d, img in dates.items():
        p = folder / f"{prefix}{d}.tif"
        write_float32(p, img, grid)
        out[d] = p
    return out


@pytest.fixture
def tiny_stack(tmp_path: Path) -> tuple[dict[str, Path], dict[str, Path], Grid]:
    """5 dates of 80 x 96 single-look correlated speckle, with truth, on a UTM grid."""
    cfg = tiny_config()
    dates, truths, noisy, _ = simulate_stack(cfg)
    grid = cfg.grid()
    (tmp_path / "stack").mkdir()
    (tmp_path / "truth").mkdir()
    files = write_dates(tmp_path / "stack", dict(zip(dates, noisy)), grid)
    truth = write_dates(tmp_path / "truth", dict(zip(dates, truths)), grid)
    return files, truth, grid


def cog_validate(path: Path) -> tuple[bool, list[str], list[str]]:
    """``rio cogeo validate``: (valid, errors, warnings)."""
    from rio_cogeo.cogeo import cog_validate as validate

    valid, errors, warnings = validate(str(path))
    return bool(valid), list(errors), list(warnings)


def raster_meta(path: Path) -> dict:
    with rasterio.open(path) as ds:
        return {"crs": ds.crs, "transform": ds.transform, "shape": (ds.height, ds.width), "nodata": ds.nodata,
                "dtype": ds.dtypes[0], "tiled": ds.profile.get("tiled"), "compress": ds.profile.get("compress"),
                "block": ds.block_shapes[0], "overviews": ds.overviews(1),
                "layout": ds.tags(ns="IMAGE_STRUCTURE").get("LAYOUT"),
                "predictor": ds.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR"),
                "description": ds.descriptions[0], "tags": ds.tags(), "cog_validate": cog_validate(path)}


def assert_cog(meta: dict) -> None:
    """A product as every raster product is written: a Cloud-Optimized GeoTIFF (GDAL's layout), 512-pixel
    tiles, DEFLATE with the floating-point predictor, overviews when larger than one tile."""
    assert meta["layout"] == "COG" and meta["compress"] == "deflate" and meta["predictor"] == "3"
    assert meta["cog_validate"] == (True, [], []), meta["cog_validate"]  # rio-cogeo: valid, no error, no warning
    assert meta["tiled"] and meta["block"] == (512, 512)
    if max(meta["shape"]) > 512:
        assert meta["overviews"], meta


def utm_grid(h: int = 64, w: int = 64, nodata: float | None = None) -> Grid:
    return Grid(h, w, rasterio.crs.CRS.from_epsg(32631), Affine(10, 0, 600000, 0, -10, 4800000), nodata)


def flat_ratio(tau: np.ndarray) -> np.ndarray:
    """A 'network' that returns a flat ratio (the ratio's geometric mean everywhere): the chain then gives the
    scaled filtered temporal mean, the baseline a despeckling network must beat."""
    return np.full_like(tau, float(np.exp(np.mean(np.log(tau)))))


def run_against_reference(work: Path, aois, dates) -> tuple[dict, dict[str, dict]]:
    """One run of the workflow in the new folder ``work`` on ``aois`` (among them ``ref``), small and fast
    (no super-image filter, no quicklooks, tiles of 128), which must succeed, then
    :func:`products_match_reference`. The configuration and each AOI's coregistration report."""
    from test_workflow import run_workflow

    config = {"aois": aois, "super_image": {"filter": "none"}, "outputs": {"quicklooks": False},
              "network": {"tile": 128, "overlap": 64, "batch": 2, "device": "cpu", "threads": 1}}
    work.mkdir()
    res = run_workflow(work, config)
    assert res.returncode == 0, res.stderr[-4000:]
    return config, products_match_reference(work, aois, dates)


def products_match_reference(work: Path, aois, dates) -> dict[str, dict]:
    """After one run of several AOIs, among them ``ref`` (the same dates as separate dated GeoTIFFs): every
    AOI kept ``dates`` and its products are ref's, pixel for pixel. Each AOI's coregistration report."""
    reports = {}
    for name in aois:
        report = json.loads((work / "results" / name / "coregistration.json").read_text())
        assert report["kept_dates"] == list(dates), name
        for d in dates:
            ours = read_product(work / "results" / name / "despeckled" / f"{d}.tif")[0]
            expected = read_product(work / "results" / "ref" / "despeckled" / f"{d}.tif")[0]
            np.testing.assert_array_equal(ours, expected, err_msg=f"{name} {d}")
        reports[name] = report
    return reports
