"""Bad input: each case meets a clear error naming the file or config key and the problem, and
leaves no output behind. Catalogue (cases tested elsewhere are named with their test):

 1 not a raster .......................... test_domain_io::test_not_a_raster_is_a_clear_error, test_workflow
 2 truncated GeoTIFF ..................... test_truncated_geotiff
 3 empty glob ............................ test_enl_stack::test_find_dates
 4 a single date ......................... test_coregistration::test_single_date_is_refused, test_workflow
 5-7 different grids: shape, CRS, transform  test_coregistration::test_dates_on_different_grids
 8 two files with the same date key ...... test_enl_stack::test_find_dates
 9 complex data declared as intensity .... test_domain_io::test_complex_int16_slc
10 real data declared as complex ......... test_domain_io::test_complex_declared_as_intensity_and_reverse
11 multi-band file without band .......... test_domain_io::test_multiband_needs_band
12 band out of range ..................... test_band_out_of_range
13 integer SLC (CInt16) .................. test_domain_io::test_complex_int16_slc (read as |z|^2)
14 NaN, inf, negative and zero pixels .... test_domain_io::test_invalid_pixels_are_masked (masked, documented)
15 nodata values ......................... test_domain_io::test_invalid_pixels_are_masked
16 an all-invalid date ................... test_coregistration::test_all_invalid_date
17 absurd magnitudes ..................... test_absurd_magnitudes
18 unknown config key / typo, with a suggestion  test_config_typos_suggest_the_key
19 wrong types in config ................. test_config_wrong_types
20 AOI with both simulate and inputs ..... test_config_aoi_source
21 date_regex matching nothing ........... test_enl_stack::test_find_dates, test_workflow
22 date_regex invalid / without a group .. test_bad_date_regex
23 weights of another architecture ....... test_network::test_weights_of_another_architecture
24 truncated weights file ................ test_network::test_truncated_weights_file
25 a pickle carrying code (never run) .... test_network::test_pickle_carrying_code_is_refused_and_never_run
26 deepdespeckling missing ............... test_deepdespeckling_missing
27 weights path that does not exist ...... test_missing_weights_file
28 full disk while writing ............... test_full_disk_leaves_nothing
29 a missing input file .................. test_missing_file
30 a read-only results folder ............ test_read_only_results_folder (the OS refusal is simulated:
   the tests run as root, for whom chmod does not make a folder read-only)
31 an all-invalid stack (no super-image) . test_streaming::test_all_invalid_stack_leaves_no_super_image
"""

from __future__ import annotations

import errno
import importlib.util

import numpy as np
import pytest
import rasterio
import yaml
from conftest import REPO, utm_grid, write_dates

from mtsar2sar import io as mio
from mtsar2sar.config import config_errors
from mtsar2sar.coregistration import check_stack
from mtsar2sar.errors import InputError, OutputError
from mtsar2sar.io import read_intensity, write_float32
from mtsar2sar.network import load_network
from mtsar2sar.stack import find_dates

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())


def base_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_truncated_geotiff(tmp_path):
    p = tmp_path / "cut.tif"
    write_float32(p, np.random.default_rng(0).gamma(1, 1, (300, 300)), utm_grid(300, 300))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.tif: (cannot read the pixels \(truncated or corrupt file\?\)|not a readable raster)"):
        read_intensity(p, "intensity")


def test_band_out_of_range(tmp_path):
    p = tmp_path / "one.tif"
    write_float32(p, np.ones((8, 8)), utm_grid(8, 8))
    with pytest.raises(InputError, match=r"one\.tif: band 3 requested but the file has 1 band"):
        read_intensity(p, "intensity", band=3)


def test_absurd_magnitudes(tmp_path):
    rng = np.random.default_rng(0)
    imgs = {f"2024010{i}": rng.gamma(1, 1, (64, 64)) for i in range(1, 4)}
    imgs["20240102"] = imgs["20240102"] * 1e30  # e.g. an uncalibrated or mis-scaled file
    files = write_dates(tmp_path, imgs, utm_grid())
    with pytest.raises(InputError, match=r"S1_20240102\.tif: date 20240102 rejected: median intensity 6.\d+e\+29 is outside the plausible range"):
        check_stack(files, "intensity", reference_date="20240101", min_correlation=1.0)


def test_config_typos_suggest_the_key():
    c = base_config()
    c["network"]["tile_siz"] = 256
    c["super_imag"] = {}
    c["aois"]["demo_4look"]["lookz"] = 4
    errs = config_errors(c, SCHEMA)
    assert "config: network.tile_siz: unknown key; did you mean 'tile'?" in errs
    assert "config: super_imag: unknown key; did you mean 'super_image'?" in errs
    assert "config: aois.demo_4look.lookz: unknown key; did you mean 'looks'?" in errs
    assert config_errors(base_config(), SCHEMA) == []


def test_config_wrong_types():
    c = base_config()
    c["network"]["batch"] = "two"
    c["network"]["tile"] = 100
    c["coregistration"]["on_misregistered"] = "ignore"
    c["super_image"]["enl"] = -3
    errs = config_errors(c, SCHEMA)
    assert "config: network.batch: 'two' is not of type 'integer'" in errs
    assert "config: network.tile: 100 is not a multiple of 32" in errs
    assert "config: coregistration.on_misregistered: 'ignore' is not one of ['fail', 'drop']" in errs
    assert any(e.startswith("config: super_image.enl:") for e in errs)


def test_config_aoi_source():
    c = base_config()
    c["aois"]["demo_1look"]["inputs"] = "data/*.tif"
    assert "config: aois.demo_1look: give either 'simulate' or 'inputs' (not both, not neither)" in config_errors(c, SCHEMA)


def test_bad_date_regex(tmp_path):
    (tmp_path / "a_20240101.tif").write_text("x")
    with pytest.raises(InputError, match=r"date_regex: '\(\\\\d\{8\}' is not a valid regular expression"):
        find_dates(str(tmp_path / "*.tif"), r"(\d{8}")
    with pytest.raises(InputError, match=r"date_regex: '_2024' has no group"):
        find_dates(str(tmp_path / "*.tif"), "_2024")


def test_deepdespeckling_missing(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deepdespeckling" else real(name, *a))
    with pytest.raises(InputError, match=r"network.weights: 'sar2sar-grd' .* 'deepdespeckling', which is not installed"):
        load_network("sar2sar-grd")


def test_missing_weights_file(tmp_path):
    with pytest.raises(InputError, match=r"network.weights: 'nowhere/w.pt' is neither a published name"):
        load_network("nowhere/w.pt", base=tmp_path)


def test_full_disk_leaves_nothing(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mio.os, "replace", no_space)
    with pytest.raises(OutputError, match=r"out\.tif: writing failed \(No space left on device\); nothing was kept"):
        write_float32(tmp_path / "out.tif", np.ones((16, 16)), utm_grid(16, 16))
    assert list(tmp_path.iterdir()) == []


def test_read_only_results_folder(tmp_path, monkeypatch):
    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(mio.tempfile, "mkstemp", refused)
    with pytest.raises(InputError, match=r"results: cannot write out\.tif there \(Permission denied\)"):
        write_float32(tmp_path / "results" / "out.tif", np.ones((16, 16)), utm_grid(16, 16))
    assert list((tmp_path / "results").iterdir()) == []


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"gone\.tif: file not found"):
        read_intensity(tmp_path / "gone.tif", "intensity")


def test_inputs_are_never_modified(tmp_path):
    p = tmp_path / "in.tif"
    write_float32(p, np.random.default_rng(0).gamma(1, 1, (32, 32)), utm_grid(32, 32))
    before = p.read_bytes()
    mtime = p.stat().st_mtime_ns
    read_intensity(p, "intensity")
    with rasterio.open(p) as ds:
        ds.read(1)
    assert p.read_bytes() == before and p.stat().st_mtime_ns == mtime
