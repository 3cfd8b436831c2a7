"""One file, one band per date (mtsar2sar.dates.band_dates): a multi-band GeoTIFF, a VRT stack or SNAP's GeoTIFF
export of a stack as an AOI's inputs; each band's date from its description, its band-level tags, SNAP's DIMAP
band names, or a list given in band order; each band read through a VRT of its own under results/<aoi>/bands/;
and, end to end, the products of the same dates as dated GeoTIFFs."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from conftest import REPO, run_against_reference, tiny_config, utm_grid, write_dates
from stack_layouts import multiband, snap_band, snap_geotiff_stack, vrt_stack, when, write_raster

from mtsar2sar import plan
from mtsar2sar.config import AoiSpec, config_errors
from mtsar2sar.errors import InputError
from mtsar2sar.io import read_band, read_grid
from mtsar2sar.simulate import simulate_stack

KEYS = ("20240106", "20240118", "20240130", "20240211", "20240223", "20240306")
SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())


def images(keys=KEYS, shape=(32, 32), seed=0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.gamma(5, 0.2, shape).astype(np.float32) for k in keys}


def resolve(tmp_path: Path, **aoi) -> tuple[AoiSpec, dict[str, str], dict[str, str]]:
    return plan.aoi_dates(AoiSpec.from_config("site", {"looks": 5, **aoi}), base=tmp_path)


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def assert_bands(files: dict[str, str], imgs: dict[str, np.ndarray]) -> None:
    assert list(files) == sorted(imgs)
    for key, f in files.items():
        values, _ = read_band(f)
        np.testing.assert_array_equal(values, imgs[key])


def test_a_six_band_geotiff_with_dated_descriptions(tmp_path):
    """SNAP's band names (Sigma0_VV_06Jan2024) in the band descriptions: no configuration line; a band per date,
    each a VRT of its band under results/<aoi>/bands/, the same grid and nodata; the input untouched."""
    imgs = images()
    g = utm_grid(32, 32, nodata=0.0)
    order = [KEYS[i] for i in (2, 0, 1, 5, 3, 4)]  # bands need not be in time order
    src = multiband(tmp_path / "data" / "stack.tif", {k: imgs[k] for k in order}, g,
                    descriptions=[snap_band(k) for k in order])
    before = sha(src)
    _, files, sources = resolve(tmp_path, inputs=str(src))
    assert files == {k: str(tmp_path / "results" / "site" / "bands" / f"{k}.vrt") for k in KEYS}
    assert sources["20240106"] == "band 2 description 'Sigma0_VV_06Jan2024'"
    assert_bands(files, imgs)
    grid = read_grid(files["20240106"])
    assert grid == read_grid(src)
    assert grid.nodata == 0.0
    with rasterio.open(files["20240106"]) as ds:
        assert ds.count == 1 and ds.descriptions == ("Sigma0_VV_06Jan2024",)
    assert sha(src) == before  # nothing the user gave is modified
    # resolved again (each time the workflow is read): the VRTs are not rewritten (Snakemake reruns nothing)
    mtimes = {k: os.stat(f).st_mtime_ns for k, f in files.items()}
    assert resolve(tmp_path, inputs=str(src))[1] == files
    assert {k: os.stat(f).st_mtime_ns for k, f in files.items()} == mtimes


@pytest.mark.parametrize("description, key", [
    ("VV_2024-01-06", "20240106"),
    ("20240106", "20240106"),
    ("S1A_IW_20240106T055000", "20240106"),  # the default date_regex (\\d{8}): the day, as in file names
    ("Sigma0_VV_slv3_06Jan2024", "20240106"),
])
def test_dates_in_band_descriptions(tmp_path, description, key):
    imgs = images(keys=KEYS[:2])
    src = multiband(tmp_path / "s.tif", imgs, utm_grid(32, 32), descriptions=[description, "Sigma0_VV_18Jan2024"])
    _, files, sources = resolve(tmp_path, inputs=str(src))
    assert key in files
    assert sources[key] == f"band 1 description {description!r}"


def test_dates_given_in_band_order(tmp_path):
    """Undated bands: one line, `dates:` a list in band order (YAML dates or text)."""
    imgs = images()
    src = multiband(tmp_path / "undated.tif", imgs, utm_grid(32, 32))
    given = yaml.safe_load("dates: [2024-01-06, 2024-01-18, 2024-01-30, 2024-02-11, 2024-02-23, '2024-03-06']")
    assert not config_errors({"aois": {"site": {"inputs": str(src), **given}}}, SCHEMA)
    _, files, sources = resolve(tmp_path, inputs=str(src), **given)
    assert_bands(files, imgs)
    assert sources["20240118"] == "band 2: dates (config) 2024-01-18"
    with pytest.raises(InputError, match=r"the list has 2 dates but the file has 6 bands .*dates: \[2024-01-06,"):
        resolve(tmp_path, inputs=str(src), dates=["2024-01-06", "2024-01-18"])
    # a list is for one multi-band file
    write_dates(tmp_path / "sep", imgs, utm_grid(32, 32))
    with pytest.raises(InputError, match=r"a list of dates is for one multi-band file"):
        resolve(tmp_path, inputs=str(tmp_path / "sep" / "*.tif"), dates=given["dates"])


def test_a_vrt_stack(tmp_path):
    """A VRT of a band per file (gdalbuildvrt -separate), its bands' descriptions dated."""
    imgs = images()
    sources = [write_raster(tmp_path / "d" / f"img_{i:02d}.tif", img, utm_grid(32, 32)) for i, img in
               enumerate(imgs.values())]
    src = vrt_stack(tmp_path / "d" / "stack.vrt", sources, descriptions=[f"VV {when(k):%Y-%m-%d}" for k in imgs])
    _, files, where = resolve(tmp_path, inputs=str(src))
    assert_bands(files, imgs)
    assert where["20240130"] == "band 3 description 'VV 2024-01-30'"


def test_band_level_tags(tmp_path):
    imgs = images()
    tags = [{"ACQUISITION_START_TIME": f"{when(k):%Y-%m-%dT%H:%M:%S.%f}Z"} for k in imgs]
    src = multiband(tmp_path / "tagged.tif", imgs, utm_grid(32, 32), band_tags=tags)
    _, files, sources = resolve(tmp_path, inputs=str(src))
    assert_bands(files, imgs)
    assert sources["20240106"] == "band 1 tag ACQUISITION_START_TIME = 2024-01-06T05:50:00.123456Z"
    with rasterio.open(files["20240106"]) as ds:  # the band's tags: the VRT's
        assert ds.tags()["ACQUISITION_START_TIME"] == "2024-01-06T05:50:00.123456Z"


def test_snap_geotiff_export_of_a_stack(tmp_path):
    """SNAP's GeoTIFF export: no band description; the bands' names in its DIMAP XML (TIFF tag 65000)."""
    imgs = images(keys=KEYS[:3])
    src = snap_geotiff_stack(tmp_path / "stack_Stack.tif", imgs, utm_grid(32, 32))
    _, files, sources = resolve(tmp_path, inputs=str(src))
    assert_bands(files, imgs)
    assert sources["20240118"] == "band 2 DIMAP BAND_NAME 'Sigma0_VV_slv1_18Jan2024' (TIFF tag 65000)"


def test_a_mask_band_and_nodata_are_the_vrts(tmp_path):
    imgs = images(keys=KEYS[:2])
    src = tmp_path / "masked.tif"
    g = utm_grid(32, 32)
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(
            src, "w", driver="GTiff", width=32, height=32, count=2, dtype="float32", crs=g.crs,
            transform=g.transform) as dst:
        for b, (k, img) in enumerate(imgs.items(), start=1):
            dst.write(img, b)
            dst.set_band_description(b, snap_band(k))
        mask = np.full((32, 32), 255, np.uint8)
        mask[:4] = 0
        dst.write_mask(mask)
    _, files, _ = resolve(tmp_path, inputs=str(src))
    values, _ = read_band(files["20240106"])
    assert np.isnan(values[:4]).all() and np.isfinite(values[4:]).all()


def test_the_message_when_bands_carry_no_date(tmp_path):
    src = multiband(tmp_path / "undated.tif", images(), utm_grid(32, 32), descriptions=["VV"] * 6)
    with pytest.raises(InputError) as err:
        resolve(tmp_path, inputs=str(src))
    msg = str(err.value)
    assert msg.startswith(f"AOI 'site': {src}: one file of 6 bands, read as a band per date, but band 1 has no date:"
                          " its description 'VV' holds no date; its tags hold no date (ACQUISITION_START_TIME,")
    assert "    dates: [2024-01-06, 2024-01-18, 2024-01-30, ...]   (6 dates)" in msg
    # the line it shows works
    line = msg.split("\n")[1].split("   (")[0].strip()
    dates = yaml.safe_load(line)["dates"][:2] + ["2024-01-30", "2024-02-11", "2024-02-23", "2024-03-06"]
    assert list(resolve(tmp_path, inputs=str(src), dates=dates)[1]) == list(KEYS)


def test_two_polarizations_in_one_file(tmp_path):
    imgs = images(keys=KEYS[:2])
    both = {**{f"{k}vv": v for k, v in imgs.items()}, **{f"{k}vh": v for k, v in imgs.items()}}
    names = [snap_band(k) for k in KEYS[:2]] + [snap_band(k, "VH") for k in KEYS[:2]]
    src = multiband(tmp_path / "dual.tif", both, utm_grid(32, 32), descriptions=names)
    with pytest.raises(InputError, match=r"bands 1 and 3 both have the date 20240106 .* one band per date; a stack is"
                                         r" one polarization: make a file of the VV bands, e.g. gdal_translate -of VRT"
                                         r" -b 1 -b 2 dual.tif dual_VV.vrt"):
        resolve(tmp_path, inputs=str(src))


def test_band_keeps_todays_behaviour(tmp_path):
    """`band` set: the file is one date (its band), as for several multi-band files."""
    imgs = images()
    for k in KEYS[:3]:
        multiband(tmp_path / f"S1_{k}.tif", imgs, utm_grid(32, 32))
    spec, files, _ = resolve(tmp_path, inputs=str(tmp_path / "S1_*.tif"), band=2)
    assert list(files) == list(KEYS[:3]) and spec.band == 2
    # one file with band set: one date (not a band per date), so too few for a stack, said before any job
    with pytest.raises(InputError, match=r"^AOI 'site': multi-temporal despeckling needs at least 2 dates; found 1 \("
                                         + re.escape(str(tmp_path / "S1_20240106.tif")) + r"\)$"):
        resolve(tmp_path, inputs=str(tmp_path / "S1_20240106.tif"), band=2)


@pytest.mark.slow
def test_multiband_stacks_give_the_products_of_dated_geotiffs(tmp_path):
    """One run on the same 5 dates as dated GeoTIFFs (the reference), a 5-band GeoTIFF with SNAP's band names
    (no line), an undated one with `dates:` (one line), a VRT stack and band-level tags: the same despeckled
    pixels, the same date keys, each date's source in coregistration.json."""
    from test_workflow import run_workflow


    cfg = tiny_config(looks=5, speckle="gamma", height=64, width=64)
    dates, _, noisy, _ = simulate_stack(cfg)
    imgs = {k: v[:32, :32].astype(np.float32) for k, v in zip(dates, noisy)}  # 32 x 32 px
    g = utm_grid(32, 32)
    refs = write_dates(tmp_path / "ref", imgs, g)
    tagged = [{"ACQUISITION_START_TIME": f"{when(k):%Y-%m-%dT%H:%M:%S.%f}Z"} for k in imgs]
    inputs = {
        "tif": multiband(tmp_path / "tif" / "stack.tif", imgs, g, descriptions=[snap_band(k) for k in imgs]),
        "given": multiband(tmp_path / "given" / "stack.tif", imgs, g),
        "vrt": vrt_stack(tmp_path / "ref" / "stack.vrt", list(refs.values()), descriptions=list(imgs)),
        "tagged": multiband(tmp_path / "tagged" / "stack.tif", imgs, g, band_tags=tagged),
    }
    aois = {"ref": {"inputs": str(tmp_path / "ref" / "*.tif"), "looks": 5},
            **{name: {"inputs": str(f), "looks": 5} for name, f in inputs.items()}}
    aois["given"]["dates"] = [f"{k[:4]}-{k[4:6]}-{k[6:]}" for k in imgs]
    work = tmp_path / "work"
    config, reports = run_against_reference(work, aois, dates)
    first = next(iter(dates))
    assert reports["tif"]["dates"][0]["date_source"] == f"band 1 description {snap_band(first)!r}"
    # a second run: nothing to do (the VRTs are not rewritten)
    again = run_workflow(work, config, "-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout[-2000:]
    shutil.rmtree(work / "results")
