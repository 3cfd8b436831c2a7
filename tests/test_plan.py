"""The workflow's planning (mtsar2sar.plan), unit-tested without Snakemake: the reference period, the
batches of dates and dates per job, the runtimes, the settings each rule passes, the files of the
targets, and the named errors of settings that cannot be used."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import utm_grid

from mtsar2sar import plan
from mtsar2sar.config import AoiSpec, with_defaults
from mtsar2sar.errors import InputError
from mtsar2sar.io import write_float32
from mtsar2sar.methods import METHODS

DATES = ["20240101", "20240113", "20240125", "20240206", "20240218"]


def sections(**given: dict) -> dict[str, dict]:
    """The settings sections as the workflow's config holds them: the schema's defaults filled in."""
    names = ("network", "super_image", "mulog", "methods", "outputs")
    return {name: with_defaults(name, given.get(name)) for name in names}


# --- the dates ---


def test_kept_dates_are_read_from_the_report(tmp_path):
    report = tmp_path / "coregistration.json"
    report.write_text(json.dumps({"kept_dates": ["20240113", "20240101"], "dropped_dates": ["20240125"]}))
    assert plan.kept_dates(report) == ["20240113", "20240101"]


@pytest.mark.parametrize(("n", "expected"), [
    (None, DATES), (10, DATES), (5, DATES), (1, ["20240101"]),
    (2, ["20240101", "20240218"]), (3, ["20240101", "20240125", "20240218"]),
])
def test_method_dates_are_evenly_spaced(n, expected):
    assert plan.method_dates(DATES, n) == expected


def test_the_sheet_has_four_evenly_spaced_dates():
    dates = [f"202401{d:02d}" for d in range(1, 11)]
    assert plan.SHEET_DATES == 4
    assert plan.sheet_dates(dates) == ["20240101", "20240104", "20240107", "20240110"]
    assert plan.sheet_dates(DATES[:3]) == DATES[:3]


def test_reference_period_by_number_of_dates():
    assert plan.reference_dates(DATES, None) == DATES
    assert plan.reference_dates(DATES, 3) == DATES[:3]
    assert plan.reference_dates(DATES, 3.0) == DATES[:3]  # YAML's 3.0 passes the schema's integer
    assert plan.reference_dates(DATES, 20) == DATES


def test_reference_period_by_first_and_last_date_is_inclusive_to_the_day():
    timed = ["20240101T054500", "20240103T054500", "20240104T054500", "20240105T054500"]
    assert plan.reference_dates(timed, ["20240101", "20240103"]) == timed[:2]
    assert plan.reference_dates(timed, ["20240102", "20240104"]) == timed[1:3]
    assert plan.reference_dates(DATES, ["20240113", "20240206"]) == DATES[1:4]


def test_a_reference_period_of_fewer_than_two_dates_is_named():
    with pytest.raises(InputError) as info:
        plan.reference_dates(DATES, ["20240113", "20240120"], "site")
    assert str(info.value) == (
        "AOI 'site': super_image.reference_dates = ['20240113', '20240120'] selects 1 of its dates"
        " (20240101, 20240113, 20240125, 20240206, 20240218); the super-image needs at least 2"
    )
    with pytest.raises(InputError, match=r"^super_image.reference_dates = 1 selects 1 of its dates"):
        plan.reference_dates(DATES, 1.0)
    with pytest.raises(InputError, match="selects 0 of its dates"):
        plan.reference_dates(DATES, ["20250101", "20250201"])


def test_the_super_image_takes_the_report_of_its_period():
    assert plan.monitoring({"reference_dates": 3}) and not plan.monitoring(sections()["super_image"])
    assert plan.reference_report("a", {"reference_dates": 3}) == "results/a/coregistration_reference.json"
    assert plan.reference_report("a", sections()["super_image"]) == "results/a/coregistration.json"


# --- batches of dates ---


@pytest.mark.parametrize(("shape", "expected"), [
    ((512, 512), 61),  # 0.26 Mpx: every date of a small scene in one job
    ((1000, 1000), 16), ((2048, 2048), 3), ((4000, 4000), 1),
    ((4096, 4096), 1),  # 16.8 Mpx: one date per job, at least 1
    ((1, 1), 16_000_000),
])
def test_dates_per_job_auto_fills_sixteen_megapixels(shape, expected):
    assert plan.dates_per_job("auto", shape) == expected
    assert plan.dates_per_job(None, shape) == expected  # unset (no default in the schema): auto


def test_dates_per_job_given_needs_no_shape():
    def unreadable() -> tuple[int, int]:
        raise AssertionError("the shape was read")

    assert plan.dates_per_job(3, unreadable) == 3
    assert plan.dates_per_job(1, unreadable) == 1
    assert plan.dates_per_job(2.0, unreadable) == 2
    assert plan.dates_per_job("auto", lambda: (2048, 2048)) == 3
    for bad in (0, -1, 2.5, "many", True):
        with pytest.raises(InputError, match="network.dates_per_job: .* is neither auto nor a number of dates >= 1"):
            plan.dates_per_job(bad, unreadable)


def test_the_shape_of_a_simulated_aoi_is_known_before_its_files(tmp_path):
    spec = AoiSpec.from_config("demo", {"simulate": {"seed": 1, "height": 300, "width": 200, "dates": 4}})
    assert plan.grid_shape(spec, spec.date_files(tmp_path / "results")) == (300, 200)  # no file written yet


def test_the_shape_of_an_aoi_of_files_is_its_first_dates(tmp_path):
    files = {"20240101": tmp_path / "a.tif", "20240113": tmp_path / "b.tif"}
    write_float32(files["20240101"], np.ones((40, 60), "float32"), utm_grid(40, 60))
    spec = AoiSpec.from_config("site", {"inputs": str(tmp_path / "*.tif")})
    assert plan.grid_shape(spec, files) == (40, 60)
    # a first date that is no raster is an InputError naming the file (not a silent 1 date per job)
    files = {"20240101": tmp_path / "notes.tif", "20240113": files["20240101"]}
    files["20240101"].write_text("not a raster")
    with pytest.raises(InputError, match=r"notes\.tif: not a readable raster"):
        plan.dates_per_job("auto", lambda: plan.grid_shape(spec, files))
    with pytest.raises(InputError, match="AOI 'site': no date file"):
        plan.grid_shape(spec, {})


def test_batches_without_monitoring_are_runs_of_n_dates():
    assert plan.despeckle_batches(DATES, None, 2) == {
        "20240101": ["20240101", "20240113"], "20240125": ["20240125", "20240206"], "20240218": ["20240218"]}
    assert plan.despeckle_batches(DATES, None, 10) == {"20240101": DATES}
    assert plan.despeckle_batches(DATES, None, 1) == {d: [d] for d in DATES}


def test_with_monitoring_a_new_date_is_a_batch_of_its_own_and_earlier_batches_keep_their_dates():
    reference = DATES[:3]
    before = plan.despeckle_batches(DATES[:4], reference, 2)
    assert before == {"20240101": ["20240101", "20240113"], "20240125": ["20240125"], "20240206": ["20240206"]}
    after = plan.despeckle_batches(DATES, reference, 2)  # a new acquisition
    assert after == {**before, "20240218": ["20240218"]}
    # a date of the reference period dropped by the check: the batches of the others
    assert plan.despeckle_batches(["20240101", "20240125", "20240206"], reference, 2) == {
        "20240101": ["20240101", "20240125"], "20240206": ["20240206"]}


def test_the_batch_of_a_date_and_the_dates_of_a_batch():
    batches = plan.despeckle_batches(DATES, None, 2)
    assert plan.batch_of("20240206", batches, "site") == "20240125"
    assert plan.batch_members("20240125", batches, "site") == ["20240125", "20240206"]
    with pytest.raises(InputError) as info:
        plan.batch_of("20240301", batches, "site")
    assert str(info.value) == "AOI 'site': date 20240301 is not a kept date (coregistration.json)"
    with pytest.raises(InputError) as info:
        plan.batch_members("20240113", batches, "site")
    assert str(info.value) == "AOI 'site': no despeckling batch starts at 20240113"


def test_aoi_regex_matches_the_names_only():
    import re

    regex = plan.aoi_regex(["a.b", "c"])
    assert re.fullmatch(regex, "a.b") and re.fullmatch(regex, "c") and not re.fullmatch(regex, "axb")
    assert not re.fullmatch(plan.aoi_regex([]), "") and not re.fullmatch(plan.aoi_regex([]), "a")


# --- runtimes ---


def test_runtimes_are_at_least_five_minutes_and_scale_with_the_attempt():
    assert plan.runtime_min("quicklook", 0.26) == 5
    assert plan.runtime_min("despeckle", 16.0) == 20  # 25 s/Mpx x 16 Mpx x 3 = 20 min
    assert plan.runtime_min("despeckle", 16.0, attempt=2) == 40
    assert plan.runtime_min("check_coregistration", 100.0, n=50) == 50  # per date: 0.2 s/Mpx x 100 x 50 x 3
    assert plan.runtime_min("mulog_bm3d", 1.0) == 15
    assert plan.batch_runtime_min(4.0, 10) == 51  # (25 x 4 x 10 + 10 s) x 3 / 60 = 50.5
    assert plan.batch_runtime_min(4.0, 10, attempt=3) == 152
    assert plan.batch_runtime_min(0.01, 1) == 5
    with pytest.raises(KeyError):
        plan.runtime_min("no_such_step", 1.0)


def test_the_runtime_of_a_mulog_block_is_of_its_pixels_with_the_halo():
    mulog = sections(mulog={"block": 2048, "halo": 32})["mulog"]
    assert plan.mulog_step(mulog) == "mulog_bm3d" and plan.mulog_step({"denoiser": "dct"}) == "mulog_dct"
    # block 0 of an 8192 x 8192 grid reads 2048 + 32 rows and columns: 4.33 Mpx x 300 s/Mpx x 3 = 64.9 min
    assert plan.mulog_block_runtime_min((8192, 8192), mulog, 0) == 65
    # an inner block reads its halo on every side: 2112 x 2112 px, 66.9 min
    assert plan.mulog_block_runtime_min((8192, 8192), mulog, 5) == 67
    assert plan.mulog_block_runtime_min((8192, 8192), mulog, 5, attempt=2) == 134
    assert plan.mulog_block_runtime_min((8192, 8192), {**mulog, "denoiser": "dct"}, 5) == 6  # 25 s/Mpx
    assert plan.mulog_block_runtime_min((512, 512), mulog, 0) == 5


def test_gpus_of_the_network_and_of_training():
    assert plan.network_gpus(sections()["network"]) == 0
    assert plan.network_gpus(sections(network={"device": "cuda"})["network"]) == 1
    assert plan.training_gpus({"aois": ["a"]}) == 0 and plan.training_gpus({"device": "cuda"}) == 1


# --- settings ---


def test_the_super_image_settings_of_the_mean_and_of_the_filter():
    st = sections(super_image={"filter_iterations": 2})
    assert plan.super_image_mean_settings(st["super_image"]) == {"enl": "auto", "enl_window": 15}
    assert plan.super_image_mean_settings({"filter": "none"}) == {}
    mulog = plan.super_image_mulog_settings(st["super_image"], st["mulog"])
    assert mulog == {"denoiser": "bm3d", "admm_iterations": 2, "newton_iterations": 10, "block": 1024, "halo": 32,
                     "looks_factor": 0.7, "bm3d_step": 4, "bm3d_strips": 2, "start_denoiser": "dct"}
    none = sections(super_image={"filter": "none", "filter_start": "filter"})
    assert plan.super_image_mulog_settings(none["super_image"], none["mulog"]) == {}  # they rerun nothing
    assert plan.mulog_computation_settings({"block_jobs": True, "block": 64}) == {"block": 64}
    with pytest.raises(InputError, match=r"super_image.filter_start: 'bm3d' is not one of \['dct', 'filter'\]"):
        plan.super_image_filter_settings({"filter_start": "bm3d"}, st["mulog"])


def test_mulog_blocks_as_jobs():
    st = sections(mulog={"block": 64, "halo": 8})

    def shape() -> tuple[int, int]:
        return (80, 96)

    blocks = plan.mulog_block_files("a", st["super_image"], st["mulog"], shape)  # auto, more than one block
    assert blocks == [f"results/a/.super_image_blocks/{i}.npy" for i in range(4)]
    assert plan.mulog_block_files("a", st["super_image"], st["mulog"], (64, 64)) == []  # auto, one block
    one = {**st["mulog"], "block_jobs": True}
    assert plan.mulog_block_files("a", st["super_image"], one, (64, 64)) == ["results/a/.super_image_blocks/0.npy"]

    def unread() -> tuple[int, int]:
        raise AssertionError("the shape was read")

    assert plan.mulog_block_files("a", st["super_image"], {**st["mulog"], "block_jobs": False}, unread) == []
    assert plan.mulog_block_files("a", {"filter": "none"}, st["mulog"], unread) == []


def test_network_settings_of_the_despeckling_and_of_the_methods():
    net = sections(network={"dates_per_job": 4, "tile": 256})["network"]
    st = plan.network_settings(net, "results/a/model.pt")
    assert st == {**net, "base": "."} and list(st) == [*net, "base"]  # the order of the recorded param
    assert "dates_per_job" not in plan.despeckle_network_settings(net, "results/a/model.pt")
    assert plan.despeckle_network_settings(net, "x") == {k: v for k, v in st.items() if k != "dates_per_job"}
    assert plan.single_date_network_settings(net, "x") == st
    own = {**net, "weights": "aoi"}
    assert plan.uses_aoi_model(own) and not plan.uses_aoi_model(net)
    assert plan.despeckle_network_settings(own, "results/a/model.pt")["weights"] == str(
        Path("results/a/model.pt").resolve())
    assert plan.single_date_network_settings(own, "results/a/model.pt")["weights"] == "auto"


# --- the files of the targets ---


def test_the_outputs_of_an_aoi_and_of_the_default_target():
    assert plan.aoi_outputs("a", DATES[:2], True) == [
        "results/a/despeckled/20240101.tif", "results/a/despeckled/20240113.tif",
        "results/a/quicklooks/20240101.jpg", "results/a/quicklooks/20240113.jpg"]
    assert plan.aoi_outputs("a", DATES[:2], False) == ["results/a/despeckled/20240101.tif",
                                                       "results/a/despeckled/20240113.tif"]
    assert plan.all_outputs(["a", "b"], False) == ["results/a/despeckled.done", "results/a/stac/collection.json",
                                                   "results/b/despeckled.done", "results/b/stac/collection.json"]
    assert plan.all_outputs(["a"], True)[-1] == "results/a/quicklooks.jpg"


def test_stale_quicklooks_are_named_by_the_settings_and_dates_only():
    assert plan.stale_quicklooks(True, DATES) == []
    assert plan.stale_quicklooks(False, DATES[:2]) == ["quicklooks/20240101.jpg", "quicklooks/20240113.jpg",
                                                       "quicklooks.jpg"]


def test_the_methods_and_their_evaluation():
    methods = sections()["methods"]
    assert plan.methods_run(methods) == list(METHODS)  # methods.run unset: all
    evaluation = plan.evaluation_methods("a", DATES, {"run": ["mean", "mulog"], "max_dates": 2})
    assert evaluation == {m: {d: f"results/a/methods/{m}/{d}.tif" for d in ("20240101", "20240218")}
                          for m in ("mean", "mulog")}
    assert plan.method_products(evaluation)[:2] == ["results/a/methods/mean/20240101.tif",
                                                    "results/a/methods/mean/20240218.tif"]
    kept = {"a": DATES, "b": DATES[:1]}
    assert plan.method_outputs(["a", "b"], kept.__getitem__, {"run": ["mean"], "max_dates": 1}) == [
        "results/a/methods/mean/20240101.tif", "results/b/methods/mean/20240101.tif"]


def test_the_grids_and_polarizations_of_the_dates_are_checked_when_the_workflow_is_read(tmp_path):
    """plan.aoi_dates (the Snakefile's, before any job): a date on another grid or of another polarization is the
    one-line input error naming the AOI and the file, under plain snakemake as under mtsar2sar run."""
    from stack_layouts import write_raster

    img = np.ones((32, 32), "float32")
    for i, d in enumerate(DATES[:3]):
        write_raster(tmp_path / "grids" / f"S1_{d}.tif", img[: 16 if i == 2 else 32], utm_grid(16 if i == 2 else 32, 32))
        write_raster(tmp_path / "pols" / f"S1_{d}.tif", img, utm_grid(32, 32), {"POLARIZATION": "VH" if i == 1 else "VV"})
    grids = AoiSpec.from_config("site", {"inputs": str(tmp_path / "grids" / "*.tif"), "looks": 1})
    with pytest.raises(InputError) as info:
        plan.aoi_dates(grids, base=tmp_path)
    assert str(info.value) == (
        f"AOI 'site': {tmp_path / 'grids' / 'S1_20240125.tif'}: not on the grid of the reference date"
        f" {tmp_path / 'grids' / 'S1_20240101.tif'}: shape (16, 32) instead of (32, 32) (2 of the 3 dates share the"
        " reference grid)")
    pols = AoiSpec.from_config("site", {"inputs": str(tmp_path / "pols" / "*.tif"), "looks": 1})
    with pytest.raises(InputError, match=r"^AOI 'site': .*S1_20240113\.tif: polarization VH, but .*S1_20240101\.tif is"
                                         r" VV: a stack is one polarization"):
        plan.aoi_dates(pols, base=tmp_path)
    # grids=False: the header of the first date only (the grids then checked by the co-registration job)
    assert list(plan.aoi_dates(grids, base=tmp_path, grids=False)[1]) == DATES[:3]


def test_the_count_and_data_type_of_the_dates_are_checked_when_the_workflow_is_read(tmp_path):
    """plan.aoi_dates, before any job: a stack of one date, complex data declared as intensity (or real data as
    complex), each one line naming the AOI and the file (before: the error of the first job)."""
    import rasterio

    img = np.ones((32, 32), "float32")
    write_float32(tmp_path / "one" / "S1_20240101.tif", img, utm_grid(32, 32))
    one = AoiSpec.from_config("site", {"inputs": str(tmp_path / "one" / "*.tif"), "looks": 1})
    with pytest.raises(InputError) as info:
        plan.aoi_dates(one, base=tmp_path)
    assert str(info.value) == (f"AOI 'site': multi-temporal despeckling needs at least 2 dates; found 1"
                               f" ({tmp_path / 'one' / 'S1_20240101.tif'})")
    g = utm_grid(32, 32)
    (tmp_path / "slc").mkdir()
    for d in DATES[:3]:
        with rasterio.open(tmp_path / "slc" / f"S1_{d}.tif", "w", driver="GTiff", height=32, width=32, count=1,
                           dtype="complex64", crs=g.crs, transform=g.transform) as ds:
            ds.write((img + 1j * img).astype("complex64"), 1)
    slc = {"inputs": str(tmp_path / "slc" / "*.tif"), "looks": 1}
    for grids in (True, False):
        with pytest.raises(InputError) as info:
            plan.aoi_dates(AoiSpec.from_config("site", slc), base=tmp_path, grids=grids)
        assert str(info.value) == (f"AOI 'site': {tmp_path / 'slc' / 'S1_20240101.tif'}: input_domain is 'intensity'"
                                   " but the data are complex (complex64; declare input_domain: complex)")
    assert len(plan.aoi_dates(AoiSpec.from_config("site", {**slc, "input_domain": "complex"}), base=tmp_path)[1]) == 3
    for d in DATES[:3]:
        write_float32(tmp_path / "real" / f"S1_{d}.tif", img, g)
    real = AoiSpec.from_config("site", {"inputs": str(tmp_path / "real" / "*.tif"), "looks": 1, "input_domain": "complex"})
    with pytest.raises(InputError, match=r"^AOI 'site': .*S1_20240101\.tif: input_domain is 'complex' but the data are"
                                         r" real-valued \(float32\)$"):
        plan.aoi_dates(real, base=tmp_path)


def test_a_folder_among_the_files_of_the_inputs_is_named(tmp_path):
    """A folder the inputs pattern matches (S1_20240223.tif/) was skipped without a word: one date fewer."""
    for d in DATES[:3]:
        write_float32(tmp_path / "s" / f"S1_{d}.tif", np.ones((8, 8), "float32"), utm_grid(8, 8))
    (tmp_path / "s" / "S1_20240223.tif").mkdir()
    spec = AoiSpec.from_config("site", {"inputs": "s/*.tif", "looks": 1})
    with pytest.raises(InputError) as info:
        plan.aoi_dates(spec, base=tmp_path)
    assert str(info.value) == (f"AOI 'site': {tmp_path / 's' / 'S1_20240223.tif'}: matched by the inputs pattern"
                               " 's/*.tif' but is a folder, not a raster; remove it or narrow the inputs pattern")


def test_a_brace_in_an_input_path_is_named():
    assert plan.without_braces({"20240101": "/data/a.tif"}) == {"20240101": "/data/a.tif"}
    with pytest.raises(InputError) as info:
        plan.without_braces({"20240101": "/data/a.tif", "20240113": "/data/{v1}/b.tif"})
    assert str(info.value) == ("/data/{v1}/b.tif: a brace in the path of an input; Snakemake reads {...} as a"
                               " wildcard: rename the file or its folder")


# --- training ---


def test_training_settings_inputs_and_entries(tmp_path):
    training = {"models": {"m": {"aois": ["a"], "init": "results/models/base.pt"}}}
    assert plan.training_model(training, "m") == {"aois": ["a"], "init": "results/models/base.pt"}
    with pytest.raises(InputError, match=r"^training.models: no model named 'x' \(have: m\)$"):
        plan.training_model(training, "x")
    with pytest.raises(InputError, match=r"\(have: none\)"):
        plan.training_model(None, "x")
    stack = {"a": ["s1.tif", "s2.tif"]}.__getitem__
    assert plan.training_inputs("m", training["models"]["m"], {"a"}, stack) == [
        "results/models/base.pt", "s1.tif", "s2.tif", "results/a/coregistration.json",
        "results/a/super_image_filtered.tif"]
    assert plan.training_inputs("m", {"aois": ["a"], "init": "sar2sar-grd"}, {"a"}, stack)[0] == "s1.tif"
    with pytest.raises(InputError, match=r"^training.models.m.aois: 'b' is not an AOI of the config$"):
        plan.training_inputs("m", {"aois": ["b"]}, {"a"}, stack)
    spec = AoiSpec.from_config("a", {"inputs": "x/*.tif", "input_domain": "amplitude", "looks": 4, "band": 2})
    assert plan.training_entry(spec, {"20240101": "x/1.tif"}) == {
        "files": {"20240101": "x/1.tif"}, "domain": "amplitude", "band": 2, "looks": 4.0,
        "coregistration": "results/a/coregistration.json", "super_image": "results/a/super_image_filtered.tif"}
    assert plan.training_entry(spec, {}, report="r.json")["coregistration"] == "r.json"
    st = plan.aoi_model_training({"aoi_model": {"steps": 2}}, 1.0)
    assert st["steps"] == 2 and st["init"] == "sar2sar-s1" and st["looks"] == 1.0


def test_the_init_of_the_aois_own_network_must_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net, own = sections()["network"], {**sections()["network"], "weights": "aoi"}
    missing = {"aoi_model": {"init": "nonexistent.pt"}}
    plan.check_aoi_model_init(net, missing)  # not used
    plan.check_aoi_model_init(own, None)
    plan.check_aoi_model_init(own, {"aoi_model": {"init": "results/models/m.pt"}})  # a model the workflow trains
    with pytest.raises(InputError) as info:
        plan.check_aoi_model_init(own, missing)
    assert str(info.value) == ("training.aoi_model.init: nonexistent.pt: no such file (nor a model this workflow"
                               " trains, results/models/<name>.pt)")
    Path("nonexistent.pt").write_bytes(b"")
    plan.check_aoi_model_init(own, missing)


def test_the_network_weights_must_be_a_published_name_or_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for weights in ("auto", "aoi", *plan.PUBLISHED_WEIGHTS, "results/models/m.pt"):  # the last: trained here
        plan.check_network_weights({"weights": weights})
    with pytest.raises(InputError) as info:
        plan.check_network_weights({"weights": "nowhere/w.pt"})
    assert str(info.value) == ("network.weights: 'nowhere/w.pt' is neither a published name (sar2sar-grd, sar2sar-s1,"
                               " sar2sar-s1-ratio, sar2sar-ml) nor an existing file (nowhere/w.pt)")
    Path("w.pt").write_bytes(b"")
    plan.check_network_weights({"weights": "w.pt"})
    plan.check_network_weights({"weights": str(tmp_path / "w.pt")})


def test_the_published_weights_of_the_plan_are_the_networks():
    from mtsar2sar.network import PUBLISHED_WEIGHTS  # imports torch: the plan has the names without it

    assert set(plan.PUBLISHED_WEIGHTS) == set(PUBLISHED_WEIGHTS)
    assert not {"torch", "mtsar2sar.network"} & set(plan.__dict__)  # the planning imports neither


def test_a_file_where_a_results_folder_goes_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan.check_results_folders(["a"])  # nothing yet
    Path("results").mkdir()
    Path("results/a").write_text("not a folder")
    with pytest.raises(InputError, match=r"^results/a: a file where the workflow keeps a folder of results; move"):
        plan.check_results_folders(["a", "b"])
    plan.check_results_folders(["b"])


def test_the_changes_map_of_a_simulated_aoi():
    sim = AoiSpec.from_config("demo", {"simulate": {"seed": 1, "height": 64, "width": 64, "dates": 3}})
    assert plan.changed_file(sim) == "results/demo/simulated/changed.tif"
    assert plan.changed_file(AoiSpec.from_config("site", {"inputs": "x/*.tif"})) is None
