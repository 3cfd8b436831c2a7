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
Issue 15 (faults, hostile data, misleading errors):
32 GDAL write failure mid-file (3 sizes) .. test_faults::test_gdal_write_failure_fails_and_leaves_nothing
33 ENOSPC in super_image (3 faults) ...... test_faults::test_enospc_in_super_image_step_leaves_nothing
34 ENOSPC in despeckle (3 points) ........ test_faults::test_enospc_in_despeckle_step_leaves_nothing
35 truncated after writing, strict JSON .. test_faults::test_truncated_after_writing_is_refused, test_json_is_strict
36 no valid pixel in the shift window (5)  test_coregistration::test_shift_window_without_valid_pixels
37 unusable reference date ............... test_coregistration::test_unusable_reference_date_given
38 false misregistration, single-look .... test_coregistration::test_no_false_misregistration_on_single_look_piecewise_constant_stacks
39 a date 40 dB off (3 settings) ......... test_coregistration::test_radiometric_outlier_kept_out_of_the_mean,
   test_enl_stack::test_radiometric_outlier_not_averaged_into_the_super_image
40 ENL of a small / sparse stack (3) ..... test_enl_stack::test_given_enl_needs_no_estimate_and_a_failed_estimate_is_clear
41 amplitude as intensity and reverse .... test_enl_stack::test_enl_far_from_dates_times_looks_warns
42 dB data declared as intensity ......... test_db_data_declared_as_intensity_refused
43 undeclared fill values (2) ............ test_undeclared_fill_value_is_named
44 PNG / cropped / corrupt first date (4)  test_bad_first_date_is_the_one_named
45 -DBL_MAX nodata ....................... test_dbl_max_nodata_is_masked_not_blamed_on_the_report
46 regex with alternative groups ......... test_date_regex_with_alternative_groups
47 overlap >= tile (2) ................... test_overlap_not_below_tile_is_a_config_error
48 a folder given as inputs .............. test_folder_given_as_inputs
49 stale output of a removed date ........ test_stale_outputs_of_a_removed_date_are_removed
50 bare NaN in coregistration.json ....... test_coregistration_report_is_strict_json
51 weights tag 'auto' .................... test_output_tags_record_the_weights_used
Hostile-input review of stop 18:
52 a GDAL scale/offset (refused) ......... test_a_band_with_a_gdal_scale_is_refused_not_read_as_raw_values
53 a GDAL mask band ...................... test_pixels_of_a_gdal_mask_band_are_invalid
54 nodata of a complex band .............. test_the_nodata_of_a_complex_band_is_its_real_part
55 integer fill / saturation ............ test_integer_data_at_the_types_largest_value_are_named
56 date keys not year first (dd mm yyyy) . test_date_keys_that_do_not_start_with_a_date_are_refused_up_front
57 CLI: negative level, -o folder / .png . test_cli_refuses_a_negative_level_and_an_output_that_is_no_geotiff_file
58 API workdir holding the user's files .. test_cli::test_despeckle_stack_never_overwrites_files_it_did_not_write
59 one corrupt pixel in one date ......... test_enl_stack::test_one_dates_spike_is_left_out_of_the_super_image_and_speckle_never_is
60 a link giving one file two dates ...... test_a_link_giving_one_file_two_dates_is_refused
61 broken link, mixed date formats ....... test_broken_links_and_mixed_date_formats_are_named
62 reference range with times of day .... test_a_reference_range_of_days_includes_the_acquisitions_of_its_last_day
Hostile-input review of stop 20:
63 a run killed inside a batch of dates .. test_interrupted::test_sigkill_then_resume_is_bit_identical[despeckle_batch...]
64 a date dropped without a word ......... test_coregistration::test_a_dropped_date_is_a_warning_that_names_its_file
65 date keys such as 20240106_VV (STAC) .. test_stac::test_a_date_key_with_a_suffix_dates_its_item
66 key 20211301 (month 13) ............... test_date_keys_that_do_not_start_with_a_date_are_refused_up_front
67 5 x 5 and 8 x 8 images ................ test_a_tiny_aoi_is_checked_and_filtered_or_refused_by_name
68 CLI: an all-NaN date, dB data ........ test_the_cli_runs_the_workflows_checks_of_a_date
69 API: int time, transform vs x / y, _FillValue  test_cli::test_dataarray_grid_nodata_and_time_as_the_caller_gave_them
70 a brace in an input's path ............ test_workflow::test_regex_matching_nothing_and_bad_config_key
71 ENL warning on 5 real dates .......... test_enl_stack::test_a_short_real_stack_at_its_nominal_looks_does_not_warn
72 date_regex made wrong after a run .... test_workflow::test_end_to_end_tiny_aoi (its end)
Stacks as users have them (dates, layouts, a first run without a configuration file):
73 undated names, no date tag ............ test_dates::test_no_date_names_where_it_looked_and_a_line_that_works
74 day-first keys (the fix named) ........ test_dates::test_a_day_first_key_names_the_fix
75 a table without a file / a bad date .. test_dates::test_a_table_as_mapping_and_as_csv
76 a layout's folder without its files .. test_dates::test_each_layout_finds_its_files_dates_domain_and_looks
77 SNAP products without looks ........... test_dates::test_snap_without_looks_in_its_metadata_is_named
78 despeckle without --looks or tags ..... test_cli::test_despeckle_reads_the_looks_of_the_dates_tags_or_refuses
79 the input errors above, through snakemake and mtsar2sar run: one line, no traceback
   ....................................... test_input_errors_are_one_line_without_a_traceback
New-user sweep (found before any job, through snakemake and mtsar2sar run: input_error_cases):
80 a folder matched by the inputs glob ... test_plan::test_a_folder_among_the_files_of_the_inputs_is_named
81 a stack of one date, complex data declared as intensity
   ....................................... test_plan::test_the_count_and_data_type_of_the_dates_are_checked_when_the_workflow_is_read
82 network.weights: no such file ......... test_a_missing_network_weights_file_is_named_before_any_job
83 a table giving two files one date ..... test_dates::test_a_table_giving_two_files_one_date_names_its_rows
"""

from __future__ import annotations

import errno
import hashlib
import importlib.metadata
import importlib.util
import json
import re
from pathlib import Path

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
from mtsar2sar.network import load_network, published_weights_path
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
    with pytest.raises(InputError, match=r"date_regex: '\(\\d\{8\}' is not a valid regular expression"):
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


# --- issue 15: wrong units (class 5), misleading messages (class 7), smaller (class 8) -------------

def stack5(size: int = 64, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.exp(rng.normal(0, 0.7, (size, size)))
    return {f"2024010{i}": (truth * rng.gamma(4, 0.25, truth.shape)).astype(np.float32) for i in range(1, 6)}


@pytest.mark.parametrize("gain", [0.01, 2.0])
def test_db_data_declared_as_intensity_refused(tmp_path, gain):
    # gain 0.01: sigma0 in dB, mostly negative; gain 2: a bright scene in dB, about a quarter of it negative
    # (formerly passed with those pixels masked: the check asked for a majority)
    imgs = stack5()
    imgs["20240104"] = 10 * np.log10(imgs["20240104"] * gain)
    negative = float(np.mean(imgs["20240104"] < 0))
    assert 0.1 < negative < 0.5 if gain > 1 else negative > 0.9
    files = write_dates(tmp_path, imgs, utm_grid())
    for policy in ("fail", "drop"):
        with pytest.raises(InputError, match=r"S1_20240104\.tif: \d+% of its values are negative: the data look like dB \(10 log10\), but input_domain 'intensity' expects linear values"):
            check_stack(files, "intensity", on_misregistered=policy)


@pytest.mark.parametrize("fill", [9999.0, 1e20])
def test_undeclared_fill_value_is_named(tmp_path, fill):
    imgs = stack5(128)
    imgs["20240104"][:, :40] = fill  # a fill value the file does not declare as nodata
    files = write_dates(tmp_path, imgs, utm_grid(128, 128))
    value = re.escape(f"{fill:.6g}")
    with pytest.raises(InputError, match=rf"S1_20240104\.tif: date 20240104 rejected: 31\.2% of its valid pixels hold the single value {value}: an undeclared fill \(nodata\) value\?"):
        check_stack(files, "intensity")


def write_png(path, data):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        _write_png(path, data)


def _write_png(path, data):
    with rasterio.open(path, "w", driver="PNG", height=data.shape[0], width=data.shape[1], count=1, dtype="uint8") as ds:
        ds.write(data, 1)


@pytest.mark.parametrize("first", ["png", "other-shape", "garbage", "truncated"])
def test_bad_first_date_is_the_one_named(tmp_path, first):
    imgs = stack5()
    files = write_dates(tmp_path, imgs, utm_grid())
    bad = files["20240101"]
    if first == "png":
        bad.unlink()
        bad = tmp_path / "S1_20240101.png"
        write_png(bad, (imgs["20240101"] * 50).clip(1, 255).astype(np.uint8))
        files["20240101"] = bad
        msg = r"S1_20240101\.png: not on the grid of the reference date .*S1_20240102\.tif: CRS None instead of EPSG:32631.*no CRS: not a georeferenced raster"
    elif first == "other-shape":  # e.g. a cropped or otherwise damaged first file
        write_float32(bad, imgs["20240101"][:, :60], utm_grid(64, 60))
        msg = r"S1_20240101\.tif: not on the grid of the reference date .*S1_20240102\.tif: shape \(64, 60\) instead of \(64, 64\) \(4 of the 5 dates"
    elif first == "garbage":
        bad.write_bytes(b"II*\x00" + bytes(range(256)) * 8)
        msg = r"S1_20240101\.tif: not a readable raster"
    else:
        bad.write_bytes(bad.read_bytes()[:2000])
        msg = r"S1_20240101\.tif: (not a readable raster|cannot read the pixels)"
    with pytest.raises(InputError, match=msg) as info:
        check_stack(files, "intensity")
    assert "S1_20240102" not in str(info.value).split(":")[0]


def test_dbl_max_nodata_is_masked_not_blamed_on_the_report(tmp_path):
    from mtsar2sar import steps

    nodata = -np.finfo(np.float64).max
    imgs = stack5()
    files = {}
    for d, img in imgs.items():
        data = img.astype(np.float64)
        data[:4] = nodata
        files[d] = tmp_path / f"S1_{d}.tif"
        g = utm_grid()
        with rasterio.open(files[d], "w", driver="GTiff", height=64, width=64, count=1, dtype="float64",
                           crs=g.crs, transform=g.transform, nodata=nodata) as ds:
            ds.write(data, 1)
    out = tmp_path / "results"
    steps.check_coregistration(files, "intensity", None, {}, out / "coregistration.json")
    res = steps.super_image(files, out / "coregistration.json", "intensity", None, 4.0, {"enl": 20.0},
                               out / "super_image.tif", out / "super_image_enl.json")
    s, grid = mio.read_product(out / "super_image.tif")
    assert res["enl"] == 20.0 and np.isnan(grid.nodata)  # -DBL_MAX does not fit float32: NaN is the products' nodata
    assert np.isnan(s[:4]).all() and np.isfinite(s[4:]).all()
    np.testing.assert_allclose(s[4:], np.mean([imgs[d][4:] for d in imgs], axis=0), rtol=1e-5)


def test_date_regex_with_alternative_groups(tmp_path):
    for name in ("S1_20240101_VV.tif", "S1-20240113.tif"):
        (tmp_path / name).write_text("x")
    files = find_dates(str(tmp_path / "*.tif"), r"_(\d{8})_|-(\d{8})\.")
    assert {k: p.name for k, p in files.items()} == {"20240101": "S1_20240101_VV.tif", "20240113": "S1-20240113.tif"}
    with pytest.raises(InputError, match=r"S1-20240113\.tif: date_regex '_\(\\d\{8\}\)_\|-\(x\)\?' matches '-' in the file name but none of its groups captured a date key"):
        find_dates(str(tmp_path / "*.tif"), r"_(\d{8})_|-(x)?")


@pytest.mark.parametrize("network, message", [
    ({"tile": 128}, "config: network.overlap (default): 128 must be smaller than network.tile (128)"),
    ({"tile": 64, "overlap": 96}, "config: network.overlap: 96 must be smaller than network.tile (64)"),
])
def test_overlap_not_below_tile_is_a_config_error(network, message):
    from mtsar2sar.config import validate_config

    c = base_config()
    c["network"] = network
    with pytest.raises(InputError, match=re.escape(message)):
        validate_config(c, REPO / "schemas" / "config.schema.yaml")


@pytest.mark.parametrize("section, key, value", [("network", "level", float("nan")), ("network", "level", float("inf")),
                                                ("coregistration", "max_shift_px", float("nan")),
                                                ("super_image", "enl", float("inf"))])
def test_nan_or_infinite_settings_are_config_errors(section, key, value):
    # YAML's .nan and .inf pass the schema's minimum tests: formerly a NaN level gave all-NaN products (exit 0),
    # a NaN max_shift_px disabled the check, an infinite ENL ended in a traceback (hostile-input review)
    from mtsar2sar.config import validate_config

    c = base_config()
    c[section] = {key: value}
    with pytest.raises(InputError, match=re.escape(f"config: {section}.{key}: {value} is not a finite number")):
        validate_config(c, REPO / "schemas" / "config.schema.yaml")


def test_folder_given_as_inputs(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "S1_20240101.tif").write_text("x")
    with pytest.raises(InputError, match=r"inputs: '.*site' is a folder; give a pattern of its files, e.g. '.*site/\*\.tif'"):
        find_dates(str(tmp_path / "site"), r"(\d{8})")
    with pytest.raises(InputError, match=r"inputs: '.*site/' is a folder"):
        find_dates(str(tmp_path / "site") + "/", r"(\d{8})")


def test_stale_outputs_of_a_removed_date_are_removed(tmp_path):
    from mtsar2sar import steps

    imgs = stack5()
    files = write_dates(tmp_path, imgs, utm_grid())
    aoi = tmp_path / "results" / "site"
    per_date = ["despeckled/{}.tif", "quicklooks/{}.jpg", "methods/rabasar/{}.tif", "logs/despeckle/{}.log",
                "logs/methods/rabasar/{}.log", "benchmarks/despeckle/{}.tsv", "benchmarks/methods/rabasar/{}.tsv"]
    others = ["logs/despeckle_batch/b0.log", "benchmarks/despeckle_batch/b0.tsv", "logs/super_image.log"]
    for f in [p.format(d) for p in per_date for d in ("20231225", "20240102")] + others:
        (aoi / f).parent.mkdir(parents=True, exist_ok=True)  # 20231225: a date since removed from the inputs
        (aoi / f).write_text("x")
    steps.check_coregistration(files, "intensity", None, {}, aoi / "coregistration.json")
    left = sorted(str(p.relative_to(aoi)) for p in aoi.rglob("*") if p.is_file() and p.name != "coregistration.json")
    assert left == sorted([p.format("20240102") for p in per_date] + others)


def test_coregistration_report_is_strict_json(tmp_path):
    from mtsar2sar import steps

    imgs = stack5()
    imgs["20240102"][:] = np.nan  # no valid pixel: no median
    files = write_dates(tmp_path, imgs, utm_grid())
    out = tmp_path / "coregistration.json"
    steps.check_coregistration(files, "intensity", None, {"on_misregistered": "drop"}, out)
    text = out.read_text()
    assert not re.search(r"[:\[,]\s*-?(NaN|Infinity)", text)

    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    rep = json.loads(text, parse_constant=refuse)
    assert rep["dates"][1]["median_db"] is None and rep["dropped_dates"] == ["20240102"]


def test_output_tags_record_the_weights_used(tmp_path):
    from mtsar2sar import steps

    imgs = stack5()
    files = write_dates(tmp_path, imgs, utm_grid())
    with rasterio.open(files["20240101"], "r+", IGNORE_COG_LAYOUT_BREAK="YES") as ds:  # the input's own tags travel to its product
        ds.update_tags(ACQUISITION_DATE="2024-01-01T06:00:00Z", POLARIZATION="VV")
    write_float32(tmp_path / "super.tif", np.mean(list(imgs.values()), axis=0), utm_grid())
    (tmp_path / "super_image_enl.json").write_text(json.dumps({"enl": 4.5}))
    settings = {"weights": "auto", "tile": 64, "overlap": 32, "device": "cpu", "threads": 1, "base": str(REPO)}
    steps.despeckle(files["20240101"], "intensity", None, tmp_path / "super.tif", settings, tmp_path / "out.tif", 1.0)
    with rasterio.open(tmp_path / "out.tif") as ds:
        tags = ds.tags()
    assert tags["weights"] == "sar2sar-s1" and tags["weights_setting"] == "auto"
    assert tags["weights_file"].endswith("mtsar2sar/weights/sar2sar-s1.pt")
    assert tags["weights_sha256"] == hashlib.sha256(published_weights_path("sar2sar-s1").read_bytes()).hexdigest()
    assert tags["ACQUISITION_DATE"] == "2024-01-01T06:00:00Z" and tags["POLARIZATION"] == "VV"
    assert tags["units"] == "linear intensity, in the input's units (squared for an amplitude or complex input)"
    assert tags["software"] == f"mtsar2sar {importlib.metadata.version('mtsar2sar')}"
    assert float(tags["super_image_enl"]) == 4.5


def test_inputs_under_the_results_folder_are_refused_and_never_removed(tmp_path):
    """A stack kept under results/ (e.g. results/site/despeckled/S1_*.tif) was deleted by the removal of stale
    per-date files, every input lost (hostile-input review)."""
    from mtsar2sar import steps
    from mtsar2sar.config import AoiSpec

    aoi = tmp_path / "results" / "site"
    files = write_dates(aoi / "despeckled", stack5(), utm_grid())
    before = {p: p.read_bytes() for p in files.values()}
    spec = AoiSpec.from_config("site", {"inputs": str(aoi / "despeckled" / "S1_*.tif"), "date_regex": r"_(\d{8})"})
    with pytest.raises(InputError, match=r"S1_20240101\.tif: an input of AOI 'site' is under the results folder .*keep the inputs elsewhere"):
        spec.date_files(tmp_path / "results")
    # and, whatever calls the check (the API, a script), an input is never one of the stale files removed
    steps.check_coregistration(files, "intensity", None, {}, aoi / "coregistration.json")
    assert {p: p.read_bytes() for p in files.values()} == before


@pytest.mark.parametrize("name, regex", [("S1 [20240101] v1.tif", r"(\[\d{8}\] v1)"), ("S1_2024;rm x_01.tif", r"_(2024.*)_")])
def test_date_keys_with_unsafe_characters_are_refused(tmp_path, name, regex):
    # a key names files and shell arguments: formerly a key with spaces failed in a cp command of a placement rule
    from mtsar2sar.stack import find_dates

    (tmp_path / name).write_bytes(b"x")
    with pytest.raises(InputError, match=r"captures the date key .* which has characters other than letters"):
        find_dates(str(tmp_path / "*.tif"), regex)


@pytest.mark.parametrize("fill", [-9999.0, -32768.0])
def test_negative_fill_value_is_named_not_called_db(tmp_path, fill):
    # formerly "31% of its values are negative: the data look like dB" (hostile-input review)
    imgs = stack5(128)
    imgs["20240104"][:, :40] = fill
    files = write_dates(tmp_path, imgs, utm_grid(128, 128))
    with pytest.raises(InputError, match=rf"S1_20240104\.tif: date 20240104 rejected: 31\.2% of its pixels hold the single value {fill:.6g}: an undeclared fill \(nodata\) value\?"):
        check_stack(files, "intensity")


def test_constant_date_is_rejected(tmp_path):
    # a constant date (no speckle) was kept and averaged in, or reported as a residual shift (hostile-input review)
    imgs = stack5()
    imgs["20240103"][:] = np.median(imgs["20240103"])
    files = write_dates(tmp_path, imgs, utm_grid())
    rep = check_stack(files, "intensity", on_misregistered="drop")
    d = next(r for r in rep["dates"] if r["date"] == "20240103")
    assert d["status"] == "dropped" and "every valid pixel holds the value" in d["reasons"][0]
    assert "20240103" not in rep["kept_dates"] and len(rep["kept_dates"]) == 4


def test_a_truth_pattern_matching_nothing_names_the_truth_key(tmp_path):
    """A `truth` pattern that matches no file is named as `truth`, not `inputs` (new-user review)."""
    from mtsar2sar.config import AoiSpec

    write_dates(tmp_path / "in", stack5(), utm_grid())
    spec = AoiSpec.from_config("site", {"inputs": str(tmp_path / "in" / "*.tif"), "truth": str(tmp_path / "nothing" / "*.tif")})
    with pytest.raises(InputError, match=r"^truth: the pattern '.*nothing/\*\.tif' matches no file"):
        spec.truth_files(tmp_path / "results")


def test_truth_without_the_inputs_dates_is_named(tmp_path):
    # formerly KeyError: '20240101' in evaluation.evaluate_aoi (hostile-input review)
    from mtsar2sar.config import AoiSpec

    imgs = stack5()
    write_dates(tmp_path / "in", imgs, utm_grid())
    write_dates(tmp_path / "truth", {k.replace("2024", "2023"): v for k, v in imgs.items()}, utm_grid())
    spec = AoiSpec.from_config("site", {"inputs": str(tmp_path / "in" / "*.tif"), "truth": str(tmp_path / "truth" / "*.tif"),
                                        "date_regex": r"_(\d{8})"})
    with pytest.raises(InputError, match=r"truth: '.*truth/\*\.tif' has no file for the date\(s\) 20240101, 20240102, 20240103, "
                                         r"20240104, 20240105 of the inputs \(its keys, by date_regex: 20230101"):
        spec.truth_files(tmp_path / "results")


@pytest.mark.parametrize("scale", [1e290, 1e-300])
def test_float64_values_beyond_float32_are_named(tmp_path, scale):
    # formerly "rejected: no valid pixel (all NaN, inf, <= 0 or nodata)" (hostile-input review)
    imgs = {k: v.astype(np.float64) * scale for k, v in stack5().items()}
    files = {}
    for k, v in imgs.items():
        files[k] = tmp_path / f"S1_{k}.tif"
        with rasterio.open(files[k], "w", driver="GTiff", height=64, width=64, count=1, dtype="float64",
                           crs="EPSG:32631", transform=utm_grid().transform) as ds:
            ds.write(v, 1)
    with pytest.raises(InputError, match=r"S1_20240101\.tif: \d+ pixels hold intensities beyond the range of float32"):
        check_stack(files, "intensity")


@pytest.mark.parametrize("where", ["results", "results/site"])
def test_a_file_where_the_results_folder_goes_is_named(tmp_path, where):
    # formerly a Snakemake traceback (NotADirectoryError) (hostile-input review)
    from test_workflow import run_workflow

    write_dates(tmp_path / "stack", stack5(), utm_grid())
    (tmp_path / where).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / where).write_text("not a folder")
    res = run_workflow(tmp_path, {"aois": {"site": {"inputs": str(tmp_path / "stack" / "*.tif"), "date_regex": r"_(\d{8})"}}},
                       "-n")
    assert res.returncode != 0
    assert f"{where}: a file where the workflow keeps a folder of results; move it away" in res.stderr + res.stdout
    assert "NotADirectoryError" not in res.stderr + res.stdout
    assert (tmp_path / where).read_text() == "not a folder"


def test_a_missing_init_of_the_aois_own_network_is_named(tmp_path):
    # formerly, after a first run, "Nothing to be done" and the products of the earlier weights kept (exit 0)
    from test_workflow import run_workflow

    write_dates(tmp_path / "stack", stack5(), utm_grid())
    cfg = {"aois": {"site": {"inputs": str(tmp_path / "stack" / "*.tif"), "date_regex": r"_(\d{8})"}},
           "network": {"weights": "aoi"}, "training": {"aoi_model": {"init": str(tmp_path / "nonexistent.pt")}}}
    res = run_workflow(tmp_path, cfg, "-n")
    assert res.returncode != 0
    assert f"training.aoi_model.init: {tmp_path / 'nonexistent.pt'}: no such file" in res.stderr + res.stdout


def test_a_missing_network_weights_file_is_named_before_any_job(tmp_path):
    # named when the workflow is read, not by the first despeckling job after the co-registration check and the super-image
    from test_workflow import run_workflow

    write_dates(tmp_path / "stack", stack5(), utm_grid())
    cfg = {"aois": {"site": {"inputs": str(tmp_path / "stack" / "*.tif"), "date_regex": r"_(\d{8})", "looks": 1}},
           "network": {"weights": "nowhere/w.pt"}}
    res = run_workflow(tmp_path, cfg, "-n")
    out = res.stdout + res.stderr
    errors = [line for line in res.stderr.splitlines() if line.startswith("mtsar2sar: error: ")]
    assert res.returncode == 1 and errors == [
        ("mtsar2sar: error: network.weights: 'nowhere/w.pt' is neither a published name (sar2sar-grd, sar2sar-s1,"
        " sar2sar-s1-ratio, sar2sar-ml) nor an existing file (nowhere/w.pt)")], out[-2000:]
    assert "Traceback" not in out and "Building DAG" not in out and not (tmp_path / "results").exists()


def test_reference_dates_as_a_whole_float_is_a_number_of_dates(tmp_path):
    # YAML's 3.0 passes the schema's integer: formerly TypeError 'float' object is not iterable
    from test_workflow import run_workflow

    write_dates(tmp_path / "stack", stack5(), utm_grid())
    cfg = {"aois": {"site": {"inputs": str(tmp_path / "stack" / "*.tif"), "date_regex": r"_(\d{8})"}},
           "super_image": {"reference_dates": 3.0}}
    res = run_workflow(tmp_path, cfg, "-n")
    assert res.returncode == 0, (res.stderr + res.stdout)[-2000:]
    assert "TypeError" not in res.stderr + res.stdout


def test_negative_fill_value_among_many_small_negative_values_is_named(tmp_path):
    # thermal-noise removal leaves small negative values, thousands of them distinct: the fill (-9999) must still
    # be found (the first version counted only the 1000 negative values nearest zero of a strip)
    imgs = stack5(256)
    rng = np.random.default_rng(9)
    d = imgs["20240104"]
    d[:, :80] = -9999.0
    noise = rng.random(d.shape) < 0.03
    noise[:, :80] = False
    d[noise] = -rng.uniform(1e-4, 1e-3, int(noise.sum())).astype(np.float32)
    assert len(np.unique(d[noise])) > 1000
    files = write_dates(tmp_path, imgs, utm_grid(256, 256))
    with pytest.raises(InputError, match=r"S1_20240104\.tif: date 20240104 rejected: 31\.2% of its pixels hold the single value -9999"):
        check_stack(files, "intensity")


@pytest.mark.parametrize(("section", "key", "value", "expected"), [
    ("network", "level", "abc", "'abc' is not valid; expected null or a number > 0"),
    ("network", "dates_per_job", 0, "0 is not valid; expected auto or an integer >= 1"),
    ("mulog", "block_jobs", "maybe", "'maybe' is not valid; expected auto or true or false"),
    ("super_image", "reference_dates", [1], "[1] is not valid; expected an integer >= 2 or a list of 2 texts"),
    ("network", "precision", "fp16", "'fp16' is not one of ['auto', 'float32', 'bfloat16']"),
])
def test_a_setting_with_alternatives_names_what_it_allows(section, key, value, expected):
    # formerly "'abc' is not valid under any of the given schemas" (hostile-input review: oneOf messages)
    from mtsar2sar.config import validate_config

    c = base_config()
    c[section] = {key: value}
    with pytest.raises(InputError, match=re.escape(f"config: {section}.{key}: {expected}")):
        validate_config(c, REPO / "schemas" / "config.schema.yaml")


# --- hostile-input review of stop 18 ------------------------------------------------------------------

def write_raw(path: Path, data: np.ndarray, grid, **profile) -> Path:
    """A one-band GeoTIFF of ``data`` as it is (its dtype), with extra creation ``profile`` keys."""
    with rasterio.open(path, "w", driver="GTiff", height=data.shape[0], width=data.shape[1], count=1,
                       dtype=data.dtype, crs=grid.crs, transform=grid.transform, **profile) as ds:
        ds.write(data, 1)
    return path


def test_a_band_with_a_gdal_scale_is_refused_not_read_as_raw_values(tmp_path):
    grid = utm_grid()
    path = write_raw(tmp_path / "S1_20240101.tif", (stack5()["20240101"] * 100).astype(np.uint16), grid)
    with rasterio.open(path, "r+") as ds:
        ds.scales = (1 / 1.6,)
    with pytest.raises(InputError, match=r"S1_20240101\.tif: band 1 has a scale 0\.625 and offset 0 \(GDAL metadata\) that"
                                         r" this workflow does not apply; write the physical values first"):
        read_intensity(path, "intensity")


def test_pixels_of_a_gdal_mask_band_are_invalid(tmp_path):
    grid = utm_grid()
    data = (stack5()["20240101"] * 100).astype(np.uint16)
    data[:30, :30] = np.random.default_rng(0).integers(10_000, 60_000, (30, 30))  # garbage under the mask
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        path = write_raw(tmp_path / "S1_20240101.tif", data, grid)
        with rasterio.open(path, "r+") as ds:
            mask = np.full(data.shape, 255, dtype=np.uint8)
            mask[:30, :30] = 0
            ds.write_mask(mask)
    img, _ = read_intensity(path, "intensity")
    assert np.isnan(img[:30, :30]).all()
    np.testing.assert_array_equal(img[30:], data[30:].astype(np.float32))  # the rest as it is


def test_the_nodata_of_a_complex_band_is_its_real_part(tmp_path):
    grid = utm_grid()
    rng = np.random.default_rng(1)
    z = (rng.normal(0, 50, (64, 64)) + 1j * rng.normal(0, 50, (64, 64))).astype(np.complex64)
    z[:20, :20] = -9999
    path = write_raw(tmp_path / "S1_20240101.tif", z, grid, nodata=-9999)
    img, _ = read_intensity(path, "complex")
    assert np.isnan(img[:20, :20]).all() and np.isfinite(img[20:]).all()


def test_integer_data_at_the_types_largest_value_are_named(tmp_path, caplog):
    """A border of 65535 on 20 % of a uint16 date (a fill no nodata declares): rejected; a bright field
    clipped at 65535 on 2.8 %: kept, with a warning (its backscatter is underestimated)."""
    import logging

    imgs = {k: (v * 1000).astype(np.uint16) for k, v in stack5(128).items()}
    imgs["20240103"][:, :26] = 65535
    imgs["20240104"][:, :4] = 65535
    grid = utm_grid(128, 128)
    files = {k: write_raw(tmp_path / f"S1_{k}.tif", v, grid) for k, v in imgs.items()}
    with pytest.raises(InputError, match=r"S1_20240103\.tif: date 20240103 rejected: 20\.3% of its valid pixels hold 65535,"
                                         r" the largest value of its integer type: saturated, or an undeclared fill value\?"):
        check_stack(files, "intensity")
    del files["20240103"]
    with caplog.at_level(logging.WARNING):
        report = check_stack(files, "intensity")
    assert report["kept_dates"] == list(files)
    assert "S1_20240104.tif: 3.1% of its valid pixels hold 65535" in caplog.text and "underestimated" in caplog.text


def test_date_keys_that_do_not_start_with_a_date_are_refused_up_front(tmp_path):
    for name in ("S1_01012024_x.tif", "S1_01022024_x.tif"):  # dd mm yyyy: sorted as text, February before January 2
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(InputError, match=r"S1_01012024_x\.tif: date_regex .* captures the date key '01012024',"
                                         r" which does not start with a date as yyyymmdd or yyyy-mm-dd"):
        find_dates(str(tmp_path / "*.tif"), r"_(\d{8})_")
    (tmp_path / "S1_01012024_x.tif").unlink()
    (tmp_path / "S1_01022024_x.tif").unlink()
    (tmp_path / "S1_20012024_x.tif").write_bytes(b"")  # 20 January 2024, day first: not "year 2001, month 20"
    with pytest.raises(InputError, match=r"'20012024', which does not start with a date as yyyymmdd"):
        find_dates(str(tmp_path / "*.tif"), r"_(\d{8})_")
    (tmp_path / "S1_20012024_x.tif").unlink()
    (tmp_path / "S1_20211301_x.tif").write_bytes(b"")  # year first, but month 13: not "capture it year first"
    with pytest.raises(InputError, match=r"S1_20211301_x\.tif: .* the date key '20211301', which starts with"
                                         r" '20211301': no calendar date \(year, month 01-12, day of that month\)"):
        find_dates(str(tmp_path / "*.tif"), r"_(\d{8})_")


def test_cli_refuses_a_negative_level_and_an_output_that_is_no_geotiff_file(tmp_path):
    import subprocess
    import sys

    files = write_dates(tmp_path, dict(list(stack5().items())[:2]), utm_grid())
    date, sup = (str(p) for p in files.values())
    for extra, message in ((["-o", str(tmp_path / "o.tif"), "--level", "-5"], "--level: -5 is negative"),
                           (["-o", str(tmp_path)], "is a folder; -o names the output GeoTIFF file"),
                           (["-o", str(tmp_path / "o.png")], "o.png: the output is a GeoTIFF (COG); name it .tif or .tiff")):
        res = subprocess.run([sys.executable, "-m", "mtsar2sar.cli", "despeckle", date, "--super", sup, *extra],
                             capture_output=True, text=True, check=False)
        assert res.returncode == 1 and message in res.stderr, res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["S1_20240101.tif", "S1_20240102.tif"]


def test_the_cli_runs_the_workflows_checks_of_a_date(tmp_path):
    """Hostile-input review of stop 20: `mtsar2sar despeckle` wrote an all-NaN product (exit 0) for an
    all-NaN date, and a 99 % nodata one for dB data, which the workflow refuses."""
    import subprocess
    import sys

    imgs = stack5()
    good, sup = (str(p) for p in write_dates(tmp_path, dict(list(imgs.items())[:2]), utm_grid()).values())
    bad = tmp_path / "bad"
    bad.mkdir()
    nan_date = write_dates(bad, {"20240103": np.full((64, 64), np.nan, np.float32)}, utm_grid())["20240103"]
    db_date = write_dates(bad, {"20240104": 10 * np.log10(imgs["20240104"] * 0.01)}, utm_grid())["20240104"]
    for date, super_image, message in (
        (nan_date, sup, f"{nan_date}: no valid pixel (all NaN, inf, <= 0 or nodata)"),
        (db_date, sup, "of its values are negative: the data look like dB"),
        (good, nan_date, f"{nan_date}: no valid pixel"),
    ):
        out = tmp_path / "out.tif"
        res = subprocess.run([sys.executable, "-m", "mtsar2sar.cli", "despeckle", str(date), "--super", str(super_image),
                              "-o", str(out), "--looks", "1"], capture_output=True, text=True, check=False)
        assert res.returncode == 1 and message in res.stderr and "Traceback" not in res.stderr, res.stderr
        assert not out.exists()


def test_a_link_giving_one_file_two_dates_is_refused(tmp_path):
    (tmp_path / "S1_20240101_x.tif").write_bytes(b"")
    (tmp_path / "S1_20240109_x.tif").symlink_to(tmp_path / "S1_20240101_x.tif")
    with pytest.raises(InputError, match=r"S1_20240109_x\.tif: the same file as .*S1_20240101_x\.tif \(a link\)"):
        find_dates(str(tmp_path / "*.tif"), r"_(\d{8})_")


def test_broken_links_and_mixed_date_formats_are_named(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "S1_20240101_x.tif").symlink_to(tmp_path / "nowhere.tif")
    with pytest.raises(InputError, match=r"S1_20240101_x\.tif: cannot be read \(No such file or directory\): a broken link"):
        find_dates(str(tmp_path / "a" / "*.tif"), r"_(\d{8})_")
    (tmp_path / "b").mkdir()
    for name in ("x_2024-12-31.tif", "x_20240101.tif"):
        (tmp_path / "b" / name).write_bytes(b"")
    with pytest.raises(InputError, match=r"date keys '2024-12-31' and '20240101' write their dates in two formats"):
        find_dates(str(tmp_path / "b" / "*.tif"), r"_([\d-]{8,10})")


def test_a_reference_range_of_days_includes_the_acquisitions_of_its_last_day(tmp_path):
    """Keys with a time of day: [20240101, 20240103] takes 20240103T054500 (formerly left out: compared as text)."""
    import json

    from test_workflow import run_workflow

    (tmp_path / "stack").mkdir()
    write_dates(tmp_path / "stack", {f"{k}T054500": v for k, v in stack5().items()}, utm_grid())
    cfg = {"aois": {"site": {"inputs": str(tmp_path / "stack" / "*.tif"), "date_regex": r"_(\d{8}T\d{6})"}},
           "super_image": {"reference_dates": ["20240101", "20240103"]}}
    res = run_workflow(tmp_path, cfg, "results/site/coregistration_reference.json")
    assert res.returncode == 0, (res.stderr + res.stdout)[-2000:]
    report = json.loads((tmp_path / "results/site/coregistration_reference.json").read_text())
    assert report["kept_dates"] == ["20240101T054500", "20240102T054500", "20240103T054500"]


def test_a_tiny_aoi_is_checked_and_filtered_or_refused_by_name(tmp_path):
    """Hostile-input review of stop 20: a stack of 5 x 5 pixels had its brightest pixel (4 % of the pixels)
    taken for an undeclared fill, and an image under BM3D's size crashed the filter (8 x 8: a segfault)."""
    import json

    from mtsar2sar.denoisers import bm3d_denoiser
    from mtsar2sar.plan import super_image_filter_settings
    from mtsar2sar.steps import filter_super_image_step

    rng = np.random.default_rng(5)
    files = write_dates(tmp_path, {f"2024010{i}": rng.gamma(5.0, 0.2, (5, 5)) for i in range(1, 6)}, utm_grid(5, 5))
    rep = check_stack(files, "intensity")
    assert rep["dropped_dates"] == [] and len(rep["kept_dates"]) == 5, rep["dates"]
    with pytest.raises(ValueError, match=r"BM3D needs an image of at least 16 pixels on each side, not \(8, 8\)"):
        bm3d_denoiser(rng.normal(0, 1, (8, 8)), 1.0)
    write_float32(tmp_path / "s.tif", rng.gamma(20.0, 0.05, (12, 40)), utm_grid(12, 40))
    (tmp_path / "enl.json").write_text(json.dumps({"enl": 20.0}))
    with pytest.raises(InputError, match=r"s\.tif: 12 x 40 pixels, too small for the super-image filter's BM3D \(at"
                                         r" least 16 x 16\); for so small an AOI set mulog.denoiser: dct"):
        filter_super_image_step(tmp_path / "s.tif", tmp_path / "enl.json", "mulog", tmp_path / "f.tif",
                                super_image_filter_settings({}, {}))
    assert not (tmp_path / "f.tif").exists()
    filter_super_image_step(tmp_path / "s.tif", tmp_path / "enl.json", "mulog", tmp_path / "f.tif",
                            super_image_filter_settings({}, {"denoiser": "dct"}))
    assert np.isfinite(read_intensity(tmp_path / "f.tif", "intensity")[0]).all()
    # an edge block of MuLoG's grid thinner than BM3D's size (a small mulog.halo) is named too
    write_float32(tmp_path / "s130.tif", rng.gamma(20.0, 0.05, (130, 130)), utm_grid(130, 130))
    with pytest.raises(InputError, match=r"s130\.tif: MuLoG's block at rows \(0, 64\), columns \(128, 130\) reads 68 x 6 pixels,"
                                         r" too few for BM3D \(at least 16 a side\); raise mulog.halo"):
        filter_super_image_step(tmp_path / "s130.tif", tmp_path / "enl.json", "mulog", tmp_path / "f130.tif",
                                super_image_filter_settings({}, {"block": 64, "halo": 4}))


def input_error_cases(root: Path) -> list[tuple[str, dict, str]]:
    """(name, AOI or whole configuration, the message expected) of the input errors found before any job:
    each in its own folder of ``root``."""
    from stack_layouts import opera_stack, undated_tagged

    imgs = stack5(32)
    g = utm_grid(32, 32)

    def folder(name: str, prefix: str = "S1_") -> Path:
        (root / name).mkdir()
        write_dates(root / name, imgs, g, prefix=prefix)
        return root / name

    cases: list[tuple[str, dict, str]] = []
    ok = folder("ok")
    cases.append(("bad regex", {"inputs": f"{ok}/*.tif", "date_regex": r"(\d{8}"},
                  r"date_regex: '(\d{8}' is not a valid regular expression"))
    cases.append(("regex without a group", {"inputs": f"{ok}/*.tif", "date_regex": "_2024"}, "has no group"))
    cases.append(("glob matching nothing", {"inputs": f"{root}/nothing/*.tif"}, "matches no file"))
    broken = folder("broken")
    (broken / "S1_20240120.tif").symlink_to(root / "nowhere.tif")
    cases.append(("broken link", {"inputs": f"{broken}/*.tif"},
                  "S1_20240120.tif: cannot be read (No such file or directory): a broken link"))
    cases.append(("a folder as inputs", {"inputs": str(ok)}, "is a folder; give a pattern of its files"))
    opera_stack(root / "opera", {k: imgs[k] for k in list(imgs)[:3]}, g)
    cases.append(("VV and VH under one glob", {"inputs": f"{root}/opera/*_V?.tif"},
                  "each date needs one file (narrow the inputs pattern to one file per date, e.g. one polarization)"))
    undated_tagged(root / "undated", imgs, g, tag="NOTHING")
    cases.append(("undated names", {"inputs": f"{root}/undated/*.tif"}, "img_01.tif: no date found"))
    dayfirst = root / "dayfirst"
    dayfirst.mkdir()
    for k, v in imgs.items():
        write_float32(dayfirst / f"S1_{k[6:]}{k[4:6]}{k[:4]}.tif", v, g)
    cases.append(("day-first keys", {"inputs": f"{dayfirst}/*.tif"}, "declare the order of its date with date_format"))
    linked = folder("linked")
    (linked / "S1_20240120.tif").symlink_to(linked / "S1_20240101.tif")
    cases.append(("a link, two dates", {"inputs": f"{linked}/*.tif"}, "S1_20240120.tif: the same file as"))
    cases.append(("truth without the dates", {"inputs": f"{ok}/*.tif", "truth": f"{linked}/S1_2024010[12].tif"},
                  "truth: '" + f"{linked}/S1_2024010[12].tif' has no file for the date(s) 20240103, 20240104, 20240105"))
    cases.append(("reference period of one date", {"aois": {"x": {"inputs": f"{ok}/*.tif"}},
                                                   "super_image": {"reference_dates": ["20240101", "20240101"]}},
                  ("selects 1 of its dates (20240101, 20240102, 20240103, 20240104, 20240105); the super-image needs"
                   " at least 2")))
    corrupt = folder("corrupt")
    (corrupt / "S1_20240101.tif").write_text("not a raster")
    cases.append(("a first date that is no raster", {"inputs": f"{corrupt}/*.tif"},
                  "S1_20240101.tif: not a readable raster"))
    cases.append(("a key of the configuration", {"inputs": f"{ok}/*.tif", "lokks": 4},
                  "config: aois.x.lokks: unknown key; did you mean 'looks'?"))
    cases.append(("a table without a file", {"inputs": f"{ok}/*.tif", "dates": {f"{ok}/S1_20240101.tif": "2024-01-01"}},
                  "S1_20240102.tif: not in the table dates (config)"))
    cases.append(("a layout's folder without its files", {"inputs": str(ok), "layout": "hyp3_rtc"},
                  "holds no file of layout hyp3_rtc"))
    braced = folder("braced")
    (braced / "S1_20240120_{v}.tif").write_bytes((braced / "S1_20240101.tif").read_bytes())
    cases.append(("a brace in a path", {"inputs": f"{braced}/*.tif"}, "a brace in the path of an input"))
    with_folder = folder("with_folder")
    (with_folder / "S1_20240120.tif").mkdir()
    cases.append(("a folder among the files", {"inputs": f"{with_folder}/*.tif"},
                  (f"{with_folder}/S1_20240120.tif: matched by the inputs pattern '{with_folder}/*.tif' but is a folder,"
                  " not a raster; remove it or narrow the inputs pattern")))
    cases.append(("a single date", {"inputs": f"{ok}/S1_20240101.tif"},
                  "multi-temporal despeckling needs at least 2 dates; found 1"))
    (root / "slc").mkdir()
    for k, v in imgs.items():
        with rasterio.open(root / "slc" / f"S1_{k}.tif", "w", driver="GTiff", height=32, width=32, count=1,
                           dtype="complex64", crs=g.crs, transform=g.transform) as ds:
            ds.write((np.sqrt(v) + 0j).astype("complex64"), 1)
    cases.append(("complex data declared as intensity", {"inputs": f"{root}/slc/*.tif", "input_domain": "intensity"},
                  ("S1_20240101.tif: input_domain is 'intensity' but the data are complex (complex64; declare"
                  " input_domain: complex)")))
    table = {f"{ok}/S1_{k}.tif": f"{k[:4]}-{k[4:6]}-{k[6:]}" for k in imgs}
    table[f"{ok}/S1_20240102.tif"] = "2024-01-01"
    cases.append(("a table giving two files one date", {"inputs": f"{ok}/*.tif", "dates": table},
                  f"dates (config): rows '{ok}/S1_20240101.tif: 2024-01-01' and '{ok}/S1_20240102.tif: 2024-01-01' give"))
    return cases


@pytest.mark.slow
def test_input_errors_are_one_line_without_a_traceback(tmp_path):
    """Each input error found before any job, through `snakemake` and through `mtsar2sar run`: one line
    naming the AOI, the file and the problem, status 1, and no Python traceback (neither Snakemake's
    InputFunctionException nor its frames); `mtsar2sar run` names it before Snakemake starts. The grids and
    polarizations of the dates too, which `mtsar2sar run` checks before Snakemake and the workflow when it
    plans the jobs."""
    import os
    import subprocess
    import sys

    from stack_layouts import write_raster

    root = tmp_path / "stacks"
    root.mkdir()
    cases = input_error_cases(root)
    grids = root / "grids"
    grids.mkdir()
    write_dates(grids, dict(list(stack5(32).items())[:2]), utm_grid(32, 32))
    write_float32(grids / "S1_20240103.tif", stack5(16)["20240101"], utm_grid(16, 16))
    pols = root / "pols"
    for i, (k, v) in enumerate(stack5(32).items()):
        write_raster(pols / f"S1_{k}.tif", v, utm_grid(32, 32), {"POLARIZATION": "VH" if i == 3 else "VV"})
    run_only = [("dates on two grids", {"inputs": f"{grids}/*.tif"}, "S1_20240103.tif: not on the grid of the reference"),
                ("VV and VH by their tags", {"inputs": f"{pols}/*.tif"}, "S1_20240104.tif: polarization VH, but ")]
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    failures = []
    for name, given, message in cases + run_only:
        config = given if "aois" in given else {"aois": {"x": {"looks": 1, **given}}}
        cfg = work / "c.yaml"
        cfg.write_text(yaml.safe_dump(config))
        runs = [("mtsar2sar run", [sys.executable, "-m", "mtsar2sar.cli", "run", str(cfg), "-n", "--cores", "1"])]
        if (name, given, message) in cases:
            runs.append(("snakemake", [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--configfile",
                                       str(cfg), "--directory", str(work), "-n", "--cores", "1"]))
        for tool, cmd in runs:
            res = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
            out = res.stdout + res.stderr
            errors = [line for line in res.stderr.splitlines() if line.startswith("mtsar2sar: error: ")]
            if not (res.returncode == 1 and len(errors) == 1 and message in out and "Traceback" not in out
                    and 'File "' not in out and "InputFunctionException" not in out and "Exception" not in out):
                failures.append(f"{name} ({tool}): status {res.returncode}\n{out[-1500:]}")
            elif tool == "mtsar2sar run" and "Building DAG" in out:
                failures.append(f"{name} ({tool}): Snakemake started\n{out[-1500:]}")
            elif "config: " not in message and not errors[0].startswith("mtsar2sar: error: AOI 'x': "):
                failures.append(f"{name} ({tool}): the AOI is not named: {errors[0]}")
    assert not failures, "\n\n".join(failures)
    assert not (work / "results").exists()
