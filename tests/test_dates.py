"""Dates from where users keep them (mtsar2sar.dates), the named layouts (mtsar2sar.layouts), on files built
to the published layouts (tests/stack_layouts.py): the path (file name, folder), a declared format, the
metadata (OPERA's, SNAP's, generic tags), a table; the message when none gives a date; and, end to end,
each layout giving the products of the same dates as dated GeoTIFFs."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pytest
import rasterio
import yaml
from conftest import REPO, run_against_reference, tiny_config, utm_grid, write_dates
from stack_layouts import (
    dimap_xml,
    hyp3_stack,
    opera_stack,
    snap_geotiff,
    snap_name,
    snap_products,
    snap_stack,
    undated_tagged,
    when,
    write_raster,
)

from mtsar2sar import plan
from mtsar2sar.config import AoiSpec, config_errors
from mtsar2sar.dates import discover, metadata_date, parse_datetime, read_looks, regex_of_format
from mtsar2sar.errors import InputError
from mtsar2sar.layouts import LAYOUTS, detect, layout_pattern
from mtsar2sar.simulate import simulate_stack
from mtsar2sar.stack import find_dates

KEYS = ("20240106", "20240118", "20240130")
SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())


def images(keys=KEYS, shape=(32, 32), seed=0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.gamma(5, 0.2, shape).astype(np.float32) for k in keys}


def names(files: dict[str, Path]) -> dict[str, str]:
    return {k: f.name for k, f in files.items()}


# --- the path ---


def test_file_names_give_the_keys_they_always_gave(tmp_path):
    files = write_dates(tmp_path, images(), utm_grid(32, 32))
    found = discover(str(tmp_path / "*.tif"), r"_(\d{8})")
    assert found.files == find_dates(str(tmp_path / "*.tif"), r"_(\d{8})") == files
    assert found.sources == {k: r"file name (date_regex '_(\d{8})')" for k in KEYS}


def test_the_date_in_a_folder_name(tmp_path):
    """SNAP's layout: the band is Sigma0_VV.img in a folder named with the date (the default regex finds it)."""
    files = snap_products(tmp_path, images(), utm_grid(32, 32))
    found = discover(str(tmp_path / "*.data" / "Sigma0_VV.img"))
    assert found.files == files
    assert found.sources["20240106"] == f"path '{snap_name('20240106')}.data/Sigma0_VV.img' (date_regex '(\\d{{8}})')"
    # a folder outside the pattern's wildcards is no date: /data/20240301_campaign/img.tif is not 20240301
    camp = tmp_path / "20240301_campaign"
    undated_tagged(camp, images(), utm_grid(32, 32), tag="NOTHING")
    with pytest.raises(InputError, match=r"img_01\.tif: no date found: date_regex '\(\\d\{8\}\)' matches nothing in"
                                         r" the file name; no date in its metadata"):
        discover(str(camp / "*.tif"))


@pytest.mark.parametrize("fmt, name, key", [
    ("%d%m%Y", "S1_01022024_x.tif", "20240201"),  # day first: refused as a key, read with the format
    ("%d%b%Y", "Sigma0_VV_slv1_06Jan2024.img", "20240106"),  # SNAP's band names
    ("%Y-%m-%dT%H%M%S", "x_2024-01-06T055012.tif", "20240106T055012"),  # ISO with a time of day
    ("%m-%d-%Y", "x_01-02-2024.tif", "20240102"),  # month first
])
def test_a_declared_date_format(tmp_path, fmt, name, key):
    (tmp_path / name).write_bytes(b"")
    found = discover(str(tmp_path / "*"), date_format=fmt)
    assert names(found.files) == {key: name}
    assert re.search(r"(\d{8})", regex_of_format("%d%m%Y")) is None
    assert found.sources[key].startswith("file name: ") and found.sources[key].endswith(f" as '{fmt}'")


def test_a_day_first_key_names_the_fix(tmp_path):
    for name in ("S1_01022024_x.tif", "S1_13022024_x.tif"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(InputError, match=r"S1_01022024_x\.tif: .* the date key '01022024', which does not start with a"
                                         r" date as yyyymmdd .* declare the order of its date with date_format"):
        discover(str(tmp_path / "*.tif"), r"_(\d{8})_")
    with pytest.raises(InputError, match=r"S1_13022024_x\.tif: the file name \(date_regex .*\) gives '13022024', which"
                                         r" is not a date as date_format '%m%d%Y'"):
        discover(str(tmp_path / "*.tif"), r"_(\d{8})_", date_format="%m%d%Y")  # month 13: named
    found = discover(str(tmp_path / "*.tif"), r"_(\d{8})_", date_format="%d%m%Y")
    assert list(found.files) == ["20240201", "20240213"]


def test_regex_of_a_format():
    assert regex_of_format("%d%m%Y") == r"(?<!\d)(\d{2}\d{2}\d{4})(?!\d)"
    assert re.search(regex_of_format("%d%b%Y"), "Sigma0_VV_mst_06Jan2024.img").group(1) == "06Jan2024"
    assert re.search(regex_of_format("%d%m%Y"), "a_123456789.tif") is None  # not inside a longer number
    with pytest.raises(InputError, match=r"date_format: '%d%m%Y%Z': the directive %Z cannot be searched for"):
        regex_of_format("%d%m%Y%Z")


# --- the metadata ---


def test_undated_names_with_dates_in_the_tags(tmp_path):
    files = undated_tagged(tmp_path, images(), utm_grid(32, 32))
    found = discover(str(tmp_path / "*.tif"))
    assert found.files == files and list(found.files) == list(KEYS)
    assert found.sources["20240118"] == "tag ACQUISITION_START_TIME = 2024-01-18T05:50:00.123456Z"
    # explicitly: metadata only (a number in a name is then no date)
    renamed = {k: f.rename(f.with_name(f"img_2023010{i}.tif")) for i, (k, f) in enumerate(files.items())}
    with pytest.raises(InputError, match=r"img_20230100\.tif: .* '20230100': no calendar date"):
        discover(str(tmp_path / "*.tif"))  # a number in a name is taken for its date
    assert discover(str(tmp_path / "*.tif"), date_source="metadata").files == renamed


def test_tag_order_and_the_file_time_last(tmp_path):
    g = utm_grid(8, 8)
    img = np.ones((8, 8))
    f = write_raster(tmp_path / "a.tif", img, g, {"TIFFTAG_DATETIME": "2025:03:01 10:00:00",
                                                   "ACQUISITION_DATE": "20240106"})
    assert metadata_date(f)[:2] == (parse_datetime("20240106"), "tag ACQUISITION_DATE = 20240106")
    f = write_raster(tmp_path / "b.tif", img, g, {"TIFFTAG_DATETIME": "2025:03:01 10:00:00"})
    assert metadata_date(f)[1] == "tag TIFFTAG_DATETIME = 2025:03:01 10:00:00 (the time the file was written)"
    f = write_raster(tmp_path / "c.tif", img, g)
    with rasterio.open(f, "r+") as ds:
        ds.update_tags(ns="IMAGERY", ACQUISITIONDATETIME="2024-01-06T05:50:00Z")
    assert metadata_date(f)[:2] == (parse_datetime("2024-01-06T05:50:00"),
                                    "tag IMAGERY ACQUISITIONDATETIME = 2024-01-06T05:50:00Z")
    assert metadata_date(write_raster(tmp_path / "d.tif", img, g)) is None


def test_opera_rtc_s1_names_and_tags(tmp_path):
    files = opera_stack(tmp_path, images(), utm_grid(32, 32))
    # the name: the acquisition's date, not the processing's (both are in the name)
    spec = LAYOUTS["opera_rtc"]
    found = discover(layout_pattern(spec, str(tmp_path)), rules=spec.date_rules)
    assert found.files == files
    # the tags: ZERO_DOPPLER_START_TIME, not PROCESSING_DATETIME (3 days later)
    found = discover(str(tmp_path / "*_VV.tif"), date_source="metadata")
    assert found.files == files
    assert found.sources["20240106"] == "tag ZERO_DOPPLER_START_TIME = 2024-01-06T05:50:00.123456Z"


def test_snap_dimap_beside_the_data_folder_and_in_a_geotiff(tmp_path):
    files = snap_products(tmp_path / "p", images(), utm_grid(32, 32))
    found = discover(str(tmp_path / "p" / "*.data" / "Sigma0_VV.img"), date_source="metadata")
    assert found.files == files
    dim = tmp_path / "p" / f"{snap_name('20240130')}.dim"
    assert found.sources["20240130"] == f"DIMAP PRODUCT_SCENE_RASTER_START_TIME = 30-JAN-2024 05:50:00.123456 ({dim})"
    assert read_looks(files["20240106"])[0] == 5.0  # azimuth_looks 1 x range_looks 5 (IW GRD)
    gt = {k: snap_geotiff(tmp_path / "gt" / f"subset_{i}_of_product.tif", img, utm_grid(32, 32), dimap_xml("p", when(k)))
          for i, (k, img) in enumerate(images().items())}
    found = discover(str(tmp_path / "gt" / "*.tif"))
    assert found.files == gt and found.sources["20240118"].endswith("(TIFF tag 65000)")
    with rasterio.open(gt["20240106"]) as ds:  # GDAL reads it as a GeoTIFF on its grid
        assert ds.transform == utm_grid(32, 32).transform and ds.crs == utm_grid(32, 32).crs


def test_a_snap_stack_given_as_a_glob_of_its_bands_is_dated_by_the_band_names(tmp_path):
    """stack.data/*.img of a co-registered stack: each band by SNAP's date in its name, not every band by the
    .dim's time (the master's: one date for all, then an error about polarizations)."""
    files = snap_stack(tmp_path / "snap", images(), utm_grid(32, 32))
    for source in ("auto", "metadata"):
        found = discover("snap/stack.data/*.img", base=tmp_path, date_source=source)
        assert found.files == files
        assert found.sources["20240118"] == "file name: '18Jan2024' as '%d%b%Y' (SNAP's date of the band)"
    # bands named without their dates: the .dim's one time for all is named as such, not as two polarizations
    for i, f in enumerate(files.values()):
        f.rename(f.with_name(f"Sigma0_VV_b{i}.img"))
        f.with_suffix(".hdr").rename(f.with_name(f"Sigma0_VV_b{i}.hdr"))
    with pytest.raises(InputError) as err:
        discover("snap/stack.data/*.img", base=tmp_path)
    message = str(err.value)
    assert "Sigma0_VV_b0.img, " in message and "Sigma0_VV_b1.img: both dated 20240106T055000 by the same metadata (DIMAP" \
        in message and "(of a co-registered stack: its master's)" in message, message
    assert "polarization" not in message


def test_two_passes_of_one_day_are_keyed_by_time(tmp_path):
    g = utm_grid(8, 8)
    for name, t in (("a", "2024-01-06T05:50:00Z"), ("b", "2024-01-06T17:20:00Z"), ("c", "2024-01-18T05:50:00Z")):
        write_raster(tmp_path / f"{name}.tif", np.ones((8, 8)), g, {"ACQUISITION_START_TIME": t})
    assert list(discover(str(tmp_path / "*.tif")).files) == ["20240106T055000", "20240106T172000", "20240118T055000"]


# --- a table ---


def test_a_table_as_mapping_and_as_csv(tmp_path):
    files = undated_tagged(tmp_path / "s", images(), utm_grid(32, 32), tag="NOTHING")
    mapping = {f"s/{f.name}": date(2024, 2, 1 + i) for i, f in enumerate(files.values())}  # YAML dates
    mapping["s/img_03.tif"] = "2024-02-03T05:50:00"
    found = discover("s/*.tif", table=mapping, base=tmp_path)
    assert list(found.files) == ["20240201", "20240202", "20240203T055000"]
    assert found.sources["20240201"] == "dates (config): 2024-02-01"
    (tmp_path / "s" / "dates.csv").write_text("path,date\nimg_01.tif,06/01/2024\nimg_02.tif,18/01/2024\n"
                                              "img_03.tif,30/01/2024\n")
    found = discover("s/*.tif", table="s/dates.csv", base=tmp_path, date_format="%d/%m/%Y")
    assert list(found.files) == list(KEYS) and found.sources["20240130"] == "s/dates.csv: 30/01/2024"
    (tmp_path / "s" / "dates.csv").write_text("img_01.tif,2024-01-06\nimg_02.tif,2024-01-18\n")
    with pytest.raises(InputError, match=r"s/img_03\.tif: not in the table s/dates\.csv .* give every file of inputs a"
                                         r" date there"):
        discover("s/*.tif", table="s/dates.csv", base=tmp_path)
    with pytest.raises(InputError, match=r"dates \(config\): s/img_01\.tif: 'soon' is not a date"):
        discover("s/*.tif", table={"s/img_01.tif": "soon"}, base=tmp_path)
    with pytest.raises(InputError, match=r"dates: nothere\.csv: no such file"):
        discover("s/*.tif", table="nothere.csv", base=tmp_path)


def test_a_table_giving_two_files_one_date_names_its_rows(tmp_path):
    undated_tagged(tmp_path / "s", images(), utm_grid(32, 32), tag="NOTHING")
    (tmp_path / "s" / "dates.csv").write_text("path,date\nimg_01.tif,2024-01-06\nimg_02.tif,2024-01-18\n"
                                              "img_03.tif,2024-01-18\n")
    with pytest.raises(InputError) as err:
        discover("s/*.tif", table="s/dates.csv", base=tmp_path)
    assert str(err.value) == (
        "s/dates.csv: rows 'line 3: img_02.tif,2024-01-18' and 'line 4: img_03.tif,2024-01-18' give"
        f" {tmp_path}/s/img_02.tif and {tmp_path}/s/img_03.tif the same date 20240118; each date needs one file:"
        " correct the table")
    table = {"s/img_01.tif": "2024-01-06", "s/img_02.tif": "2024-01-06", "s/img_03.tif": "2024-01-30"}
    with pytest.raises(InputError, match=r"^dates \(config\): rows 's/img_01\.tif: 2024-01-06' and 's/img_02\.tif:"
                                         r" 2024-01-06' give .* the same date 20240106; each date needs one file"):
        discover("s/*.tif", table=table, base=tmp_path)


# --- nothing found: where it looked, and a line that works ---


def test_no_date_names_where_it_looked_and_a_line_that_works(tmp_path):
    files = undated_tagged(tmp_path / "s", images(), utm_grid(32, 32), tag="NOTHING")
    with pytest.raises(InputError) as err:
        discover("s/*.tif", base=tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 's' / 'img_01.tif'}: no date found: date_regex '(\\d{{8}})' matches"
                              " nothing in the file name; no date in its metadata (tags ACQUISITION_START_TIME,")
    assert "TIFFTAG_DATETIME). Give the dates in the AOI's configuration, e.g." in message
    line = message.splitlines()[-1].strip()
    assert line.startswith("dates: {") and "(or dates: dates.csv, rows path,date)" in line
    table = yaml.safe_load(line.split("   (")[0])["dates"]  # the stack's paths as written, relative to the run's
    assert table == {"s/img_01.tif": date(2024, 1, 6), "s/img_02.tif": date(2024, 1, 18), "...": None}
    table = {**{k: v for k, v in table.items() if k != "..."}, "s/img_03.tif": "2024-01-30"}
    assert discover("s/*.tif", base=tmp_path, table=table).files == files
    # names with day-first dates: the suggested line reads them
    for i, k in enumerate(KEYS):
        (tmp_path / "d").mkdir(exist_ok=True)
        write_raster(tmp_path / "d" / f"S1_{k[6:]}-{k[4:6]}-{k[:4]}.tif", np.ones((8, 8)), utm_grid(8, 8))
    with pytest.raises(InputError, match=r"(?s)S1_06-01-2024\.tif: no date found: .* date_format: \"%d-%m-%Y\"   \(the"
                                         r" file names hold dates in that order\)"):
        discover("d/*.tif", base=tmp_path)
    assert list(discover("d/*.tif", base=tmp_path, date_format="%d-%m-%Y").files) == list(KEYS)



@pytest.mark.parametrize("names, fmt", [
    (["S1_2024-01-06_VV.tif", "S1_2024-01-18_VV.tif"], "%Y-%m-%d"),
    (["S1_2024_01_06_VV.tif", "S1_2024_01_18_VV.tif"], "%Y_%m_%d"),
])
def test_names_with_iso_dates_name_the_format_that_reads_them(tmp_path, names, fmt):
    for name in names:
        write_raster(tmp_path / name, np.ones((8, 8)), utm_grid(8, 8))
    with pytest.raises(InputError) as err:
        discover(str(tmp_path / "*.tif"))
    assert err.value.args[0].splitlines()[-1] == (f'    date_format: "{fmt}"   (the file names hold dates in that order);'
                                                  f' on the command line (run INPUTS, init): --date-format "{fmt}"')
    assert list(discover(str(tmp_path / "*.tif"), date_format=fmt).files) == ["20240106", "20240118"]


def test_two_passes_of_one_day_in_the_names_name_the_format_with_the_time(tmp_path):
    names = ["S1_20240106T055012.tif", "S1_20240106T175012.tif", "S1_20240118T055012.tif"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(InputError) as err:
        discover(str(tmp_path / "*.tif"))
    assert str(err.value) == (
        f"{tmp_path / names[0]}, {tmp_path / names[1]}: both dated 20240106, the day of their names' '20240106T055012'"
        " and '20240106T175012': two acquisitions of one day; key them by date and time: date_format:"
        " \"%Y%m%dT%H%M%S\" (and no date_regex, or one that captures the time too: '(\\d{8}T\\d{6})'); on the"
        " command line (run INPUTS, init): --date-format \"%Y%m%dT%H%M%S\"")
    assert "polarization" not in str(err.value)
    assert list(discover(str(tmp_path / "*.tif"), date_format="%Y%m%dT%H%M%S").files) == [
        "20240106T055012", "20240106T175012", "20240118T055012"]
    assert list(discover(str(tmp_path / "*.tif"), r"(\d{8}T\d{6})", "%Y%m%dT%H%M%S").files) == [
        "20240106T055012", "20240106T175012", "20240118T055012"]


def test_an_id_number_before_the_date_names_a_regex_that_captures_the_date(tmp_path):
    for k in KEYS:
        (tmp_path / f"S1_12345678_{k}_VV.tif").write_bytes(b"")
    with pytest.raises(InputError) as err:
        discover(str(tmp_path / "*.tif"))
    suggested = r"(?<!\d)((?:19|20)\d{6})(?!\d)"
    assert str(err.value) == (
        f"{tmp_path / 'S1_12345678_20240106_VV.tif'}: date_regex '(\\d{{8}})' captures '12345678' in the file name,"
        " which is not a date (yyyymmdd, month 01-12, day of that month); the date in the name is '20240106': capture"
        f" it, e.g. date_regex: '{suggested}'")
    found = discover(str(tmp_path / "*.tif"), yaml.safe_load(f"date_regex: '{suggested}'")["date_regex"])
    assert list(found.files) == list(KEYS)
    # no date elsewhere in the name: the check's message, its regexes written alike (as in YAML's '...')
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "S1_12345678_VV.tif").write_bytes(b"")
    with pytest.raises(InputError) as err:
        discover(str(tmp_path / "x" / "*.tif"))
    assert "date_regex '(\\d{8})' captures the date key '12345678'" in str(err.value)
    assert "'(\\\\d{8})'" not in str(err.value) and "e.g. '_(\\d{8})'" in str(err.value)


# --- layouts ---


def test_each_layout_finds_its_files_dates_domain_and_looks(tmp_path):
    g = utm_grid(32, 32)
    built = {"opera_rtc": opera_stack(tmp_path / "opera", images(), g),
             "hyp3_rtc": hyp3_stack(tmp_path / "hyp3", images(), g),
             "snap": snap_products(tmp_path / "snap", images(), g)}
    expected_looks = {"opera_rtc": 5.0, "hyp3_rtc": 5.0, "snap": 5.0}
    for name, files in built.items():
        folder = tmp_path / name.split("_")[0]
        assert detect(folder)[0].name == name
        spec = AoiSpec.from_config(name, {"inputs": str(folder), "layout": name})
        resolved, found, sources = plan.aoi_dates(spec, grids=True)
        assert found == {k: str(f) for k, f in files.items()}, name
        assert resolved.looks == expected_looks[name] and resolved.input_domain == "intensity", name
        assert not config_errors({"aois": {"a": {"inputs": str(folder), "layout": name}}}, SCHEMA)
    # HyP3: the scale and the looks from the product's name (amplitude, 30 m: 3 x 15 looks)
    hyp3_stack(tmp_path / "hyp3a", images(), g, resolution=30, scale="a")
    resolved, _, _ = plan.aoi_dates(AoiSpec.from_config("a", {"inputs": str(tmp_path / "hyp3a"), "layout": "hyp3_rtc"}))
    assert (resolved.input_domain, resolved.looks) == ("amplitude", 45.0)
    # the AOI's own keys win over its layout's
    resolved, _, _ = plan.aoi_dates(AoiSpec.from_config("a", {"inputs": str(tmp_path / "hyp3a"), "layout": "hyp3_rtc",
                                                              "looks": 20, "input_domain": "intensity"}))
    assert (resolved.input_domain, resolved.looks) == ("intensity", 20.0)
    # a SNAP stack: the dates in the bands' names (not the .dim's, the master's for all)
    files = snap_stack(tmp_path / "stack", images(), g)
    _, found, sources = plan.aoi_dates(AoiSpec.from_config("s", {"inputs": str(tmp_path / "stack"), "layout": "snap"}))
    assert found == {k: str(f) for k, f in files.items()}
    assert sources["20240118"] == "file name: '18Jan2024' as '%d%b%Y'"
    # the VH polarization: a pattern
    _, found, _ = plan.aoi_dates(AoiSpec.from_config("o", {"inputs": str(tmp_path / "opera" / "*_VH.tif"),
                                                           "layout": "opera_rtc"}))
    assert all(f.endswith("_VH.tif") for f in found.values())
    with pytest.raises(InputError, match=r"AOI 'e': inputs: '.*empty' holds no file of layout hyp3_rtc \(ASF HyP3 RTC"
                                         r" .*for another polarization than VV give a pattern, e.g. inputs: '.*_VH.tif'"):
        (tmp_path / "empty").mkdir()
        plan.aoi_dates(AoiSpec.from_config("e", {"inputs": str(tmp_path / "empty"), "layout": "hyp3_rtc"}))


def test_snap_without_looks_in_its_metadata_is_named(tmp_path):
    files = snap_products(tmp_path, images(), utm_grid(32, 32))
    for dim in tmp_path.glob("*.dim"):
        dim.write_text(re.sub(r'<MDATTR name="(azimuth|range)_looks".*\n', "", dim.read_text()))
    spec = AoiSpec.from_config("s", {"inputs": str(tmp_path), "layout": "snap"})
    with pytest.raises(InputError, match=r"AOI 's': .*Sigma0_VV\.img: AOI 's' \(layout snap\): no number of looks in its"
                                         r" metadata .* set looks: in the AOI"):
        plan.aoi_dates(spec)
    assert plan.aoi_dates(AoiSpec.from_config("s", {"inputs": str(tmp_path), "layout": "snap", "looks": 4}))[0].looks == 4
    assert len(files) == 3


def test_the_report_records_where_each_date_came_from(tmp_path):
    from mtsar2sar import steps

    files = undated_tagged(tmp_path, images(shape=(64, 64)), utm_grid())
    found = discover(str(tmp_path / "*.tif"))
    report = steps.check_coregistration(found.files, "intensity", None, {"date_sources": found.sources},
                                        tmp_path / "out" / "coregistration.json")
    written = json.loads((tmp_path / "out" / "coregistration.json").read_text())
    assert [r["date_source"] for r in written["dates"]] == [found.sources[k] for k in KEYS]
    assert report["kept_dates"] == list(files)
    steps.check_coregistration(found.files, "intensity", None, {}, tmp_path / "plain" / "coregistration.json")
    assert "date_source" not in json.loads((tmp_path / "plain" / "coregistration.json").read_text())["dates"][0]


# --- end to end: each layout, the products of the same dates as dated GeoTIFFs ---


@pytest.mark.slow
def test_layouts_give_the_products_of_dated_geotiffs(tmp_path):
    """One run of the workflow on six AOIs of the same 5 dates: dated GeoTIFFs (the reference), and as an
    OPERA RTC-S1 folder, a HyP3 RTC folder, SNAP products, a SNAP stack (each with one line: `layout`), and
    undated names with dates in their tags (no line): the same despeckled pixels, the same date keys."""


    cfg = tiny_config(looks=5, speckle="gamma", height=64, width=64)
    dates, _, noisy, _ = simulate_stack(cfg)
    imgs = {k: v.astype(np.float32) for k, v in zip(dates, noisy)}
    g = cfg.grid()
    write_dates(tmp_path / "ref", imgs, g)
    opera_stack(tmp_path / "opera", imgs, g)
    hyp3_stack(tmp_path / "hyp3", imgs, g)
    snap_products(tmp_path / "snap", imgs, g)
    snap_stack(tmp_path / "snapstack", imgs, g)
    undated_tagged(tmp_path / "tagged", imgs, g)
    aois = {"ref": {"inputs": str(tmp_path / "ref" / "*.tif"), "looks": 5},
            **{name: {"inputs": str(tmp_path / name), "layout": lay} for name, lay in
               (("opera", "opera_rtc"), ("hyp3", "hyp3_rtc"), ("snap", "snap"), ("snapstack", "snap"))},
            "tagged": {"inputs": str(tmp_path / "tagged" / "*.tif"), "looks": 5}}
    work = tmp_path / "work"
    _, reports = run_against_reference(work, aois, dates)
    assert reports["tagged"]["dates"][0]["date_source"].startswith("tag ACQUISITION_START_TIME = ")
    assert reports["snap"]["dates"][0]["date_source"].startswith("path 'S1A_IW_GRDH_1SDV_")
    shutil.rmtree(work / "results")


def test_the_api_finds_dates_as_the_workflow(tmp_path):
    from mtsar2sar import api

    files = undated_tagged(tmp_path / "t", images(), utm_grid(32, 32))
    assert api._date_files(str(tmp_path / "t" / "*.tif"), r"(\d{8})") == files
    assert api._date_files(list(files.values()), r"(\d{8})") == files
    (tmp_path / "d").mkdir()
    for k in KEYS:
        (tmp_path / "d" / f"S1_{k[6:]}{k[4:6]}{k[:4]}.tif").write_bytes(b"")
    assert list(api._date_files(str(tmp_path / "d" / "*.tif"), r"(\d{8})", "%d%m%Y")) == list(KEYS)
