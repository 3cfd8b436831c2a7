"""Dates despeckled by batches (network.dates_per_job) give the bytes of one job per date; monitoring
(super_image.reference_dates): a new date is one despeckle job and leaves every earlier output as it is."""

from __future__ import annotations

from conftest import tiny_config as sim_config
from conftest import write_dates
from test_workflow import run_workflow, sha256, tiny_config

from mtsar2sar.simulate import simulate_stack


def config(stack, **network):
    cfg = tiny_config(stack)
    cfg["network"].update(network)
    cfg["super_image"] = {"filter": "none", "reference_dates": 2}
    return cfg


def jobs(stderr: str, rule: str) -> int:
    return sum(line.strip() in (f"rule {rule}:", f"localrule {rule}:") for line in stderr.splitlines())


def simulated_stack(tmp_path, dates: int, size: int, written: int | None = None):
    """A simulated stack of ``dates`` dates of ``size`` x ``size`` px, the first ``written`` of them (all by
    default) written into ``tmp_path / "stack"``: (date keys, noisy dates, grid, stack folder)."""
    cfg = sim_config(dates=dates, height=size, width=size)
    keys, _, noisy, _ = simulate_stack(cfg)
    stack = tmp_path / "stack"
    stack.mkdir()
    n = len(keys) if written is None else written
    write_dates(stack, dict(zip(keys[:n], noisy[:n])), cfg.grid())
    return keys, noisy, cfg.grid(), stack


def test_batches_match_per_date_jobs_and_a_new_date_is_one_job(tmp_path):
    # one stack folder for both runs: the outputs name their source file in a tag
    dates, noisy, grid, stack = simulated_stack(tmp_path, 4, 64, written=3)
    runs = {}
    for name, per_job in (("batch", 2), ("date", 1)):
        work = tmp_path / name
        work.mkdir()
        res = run_workflow(work, config(stack, dates_per_job=per_job))
        assert res.returncode == 0, res.stderr[-3000:]
        runs[name] = (work / "results" / "tiny", res.stderr)
    out, log = runs["batch"]
    # batches: the 2 reference dates, then the date after the reference period alone
    assert jobs(log, "despeckle_batch") == 2 and jobs(log, "despeckle") == jobs(log, "quicklook") == 0, log[-3000:]
    assert jobs(runs["date"][1], "despeckle") == jobs(runs["date"][1], "quicklook") == 3
    for d in dates[:3]:
        for product in (f"despeckled/{d}.tif", f"quicklooks/{d}.jpg"):
            assert sha256(out / product) == sha256(runs["date"][0] / product), product
        assert (out / "logs" / "despeckle" / f"{d}.log").read_text().count("despeckled") == 1
        assert (out / "logs" / "quicklook" / f"{d}.log").read_text().count("rule quicklook done") == 1
    assert not (out / ".despeckle_batches").exists() or not any((out / ".despeckle_batches").iterdir())

    # a new acquisition: one batch of one date; the super-image and the earlier dates untouched
    earlier = [*out.glob("despeckled/*"), *out.glob("quicklooks/*"), *out.glob("super_image*")]
    before = {p: p.stat().st_mtime_ns for p in earlier}
    write_dates(stack, {dates[3]: noisy[3]}, grid)
    res = run_workflow(tmp_path / "batch", config(stack, dates_per_job=2))
    assert res.returncode == 0, res.stderr[-3000:]
    assert jobs(res.stderr, "despeckle_batch") == 1, res.stderr[-3000:]
    for rule in ("super_image", "check_reference_dates", "filter_super_image"):
        assert jobs(res.stderr, rule) == 0, rule
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert (out / "despeckled" / f"{dates[3]}.tif").exists()
    # nothing left to do: the staging folders are temporary, their absence reruns nothing
    res = run_workflow(tmp_path / "batch", config(stack, dates_per_job=2), "-n")
    assert res.returncode == 0 and "Nothing to be done" in res.stdout + res.stderr, res.stdout[-2000:]


def test_placing_a_batch_date_can_run_again(tmp_path):
    """The rules that place a batch's date and quicklook leave the staging folder as it was: a run killed
    after a date was placed but before Snakemake recorded it reruns that rule (--rerun-incomplete)
    and must find its source again (before: the files were moved, and the rerun failed)."""
    dates, _, _, stack = simulated_stack(tmp_path, 2, 48)
    work = tmp_path / "work"
    work.mkdir()
    conf = config(stack, dates_per_job=2)
    conf["super_image"] = {"filter": "none"}
    res = run_workflow(work, conf, "--notemp")
    assert res.returncode == 0, res.stderr[-3000:]
    out = work / "results" / "tiny"
    first = {d: sha256(out / "despeckled" / f"{d}.tif") for d in dates}
    res = run_workflow(work, conf, "--notemp", "--forcerun", "despeckle_from_batch", "quicklook_from_batch")
    assert res.returncode == 0, res.stderr[-3000:]
    assert jobs(res.stderr, "despeckle_from_batch") == 2 and jobs(res.stderr, "despeckle_batch") == 0
    assert {d: sha256(out / "despeckled" / f"{d}.tif") for d in dates} == first
    assert all((out / "quicklooks" / f"{d}.jpg").stat().st_size > 0 for d in dates)


def test_monitoring_with_the_aois_own_network_does_not_retrain_it_for_a_new_date(tmp_path):
    """network.weights: aoi + reference_dates: the AOI's network is trained on the reference period,
    so a new acquisition is still one despeckle job (before: train_aoi took every date and reran all)."""
    dates, noisy, grid, stack = simulated_stack(tmp_path, 4, 64, written=3)
    conf = config(stack, weights="aoi", dates_per_job=2)
    conf["training"] = {"aoi_model": {"steps": 2, "patch": 32, "batch": 2, "validate_every": 1}}
    work = tmp_path / "work"
    work.mkdir()
    res = run_workflow(work, conf)
    assert res.returncode == 0, res.stderr[-3000:]
    assert jobs(res.stderr, "train_aoi") == 1
    model = work / "results" / "tiny" / "model.pt"
    before = model.stat().st_mtime_ns
    write_dates(stack, {dates[3]: noisy[3]}, grid)
    res = run_workflow(work, conf)
    assert res.returncode == 0, res.stderr[-3000:]
    assert jobs(res.stderr, "train_aoi") == 0 and jobs(res.stderr, "despeckle_batch") == 1, res.stderr[-3000:]
    assert model.stat().st_mtime_ns == before


def test_a_dry_run_before_the_check_lists_the_work_of_every_date(tmp_path):
    """Before the co-registration check (a checkpoint) has run, a dry run plans for every date of the
    AOI (and says so) instead of listing the check alone; the real run then follows the check."""
    _, _, _, stack = simulated_stack(tmp_path, 3, 48)
    work = tmp_path / "work"
    work.mkdir()
    conf = tiny_config(stack)
    conf["network"].update(dates_per_job=1)
    conf["super_image"] = {"filter": "none"}
    res = run_workflow(work, conf, "-n")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "dry run: AOI 'tiny' has no co-registration report yet" in out
    assert jobs(out, "despeckle") == jobs(out, "quicklook") == 3, out[-3000:]
    assert not (work / "results" / "tiny" / "coregistration.json").exists()  # a dry run writes nothing
    res = run_workflow(work, conf)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "dry run" not in res.stdout + res.stderr
    assert jobs(res.stderr, "despeckle") == 3


def test_a_change_of_the_filter_settings_reruns_the_filter_not_the_mean(tmp_path):
    """The super-image mean's jobs take only its own settings (enl, enl_window): changing the filter's
    (before: the whole super_image section) reran the mean and everything after it."""
    _, _, _, stack = simulated_stack(tmp_path, 2, 48)
    work = tmp_path / "work"
    work.mkdir()
    conf = tiny_config(stack)
    conf["mulog"] = {"denoiser": "dct"}
    res = run_workflow(work, conf)
    assert res.returncode == 0, res.stderr[-3000:]
    conf["super_image"] = {"filter_iterations": 2}
    res = run_workflow(work, conf, "-n")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert jobs(out, "filter_super_image") == 1 and jobs(out, "super_image") == 0, out[-3000:]


def test_quicklooks_switched_off_are_removed_once_the_products_change(tmp_path):
    """outputs.quicklooks: false, then a setting that changes the products: the quicklooks of the first
    run are removed (formerly left beside products newer than they; hostile-input review)."""
    dates, _, _, stack = simulated_stack(tmp_path, 3, 64)
    cfg = tiny_config(stack)
    cfg["super_image"] = {"filter": "none"}
    res = run_workflow(tmp_path, cfg)
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / "results" / "tiny"
    assert sorted(p.name for p in out.glob("quicklooks/*.jpg")) == [f"{d}.jpg" for d in dates]
    (out / "quicklooks" / "my_map.jpg").write_bytes(b"a user's file")  # not the workflow's: never removed
    cfg["outputs"] = {"quicklooks": False}
    cfg["network"]["debias"] = False  # new products
    res = run_workflow(tmp_path, cfg)
    assert res.returncode == 0, res.stderr[-3000:]
    assert [p.name for p in out.glob("quicklooks/*.jpg")] == ["my_map.jpg"] and not (out / "quicklooks.jpg").exists()
    res = run_workflow(tmp_path, cfg, "-n")  # nothing left to do: the names it may remove (its param) do not depend on what exists
    assert "Nothing to be done" in res.stdout + res.stderr, res.stderr[-3000:]
    assert sorted(p.name for p in out.glob("despeckled/*.tif")) == [f"{d}.tif" for d in dates]
    assert "outputs.quicklooks is off: a quicklook of an earlier run" in (out / "logs" / "aoi_done.log").read_text()
    # with super_image.filter: none, the MuLoG filter's own settings (here its ADMM start) rerun nothing
    cfg["super_image"]["filter_start"] = "filter"
    res = run_workflow(tmp_path, cfg, "-n")
    assert "Nothing to be done" in res.stdout + res.stderr, (res.stdout + res.stderr)[-3000:]
