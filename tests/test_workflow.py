"""End to end: the Snakemake workflow on a tiny AOI (5 dates of 80 x 96), and bad input on the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from conftest import REPO, assert_cog, flat_ratio, raster_meta
from PIL import Image

from mtsar2sar import layout
from mtsar2sar.despeckle import despeckle_by_ratio
from mtsar2sar.io import read_product
from mtsar2sar.metrics import psnr_log
from mtsar2sar.network import select_precision

SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def run_workflow(workdir: Path, config: dict, *targets: str) -> subprocess.CompletedProcess:
    cfg = workdir / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    cmd = [*SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(cfg),
           "--cores", "2", *targets]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=900)


def tiny_config(stack_dir: Path, truth_dir: Path | None = None, **aoi) -> dict:
    spec = {"inputs": str(stack_dir / "*.tif"), "date_regex": r"_(\d{8})", "looks": 1}
    if truth_dir is not None:
        spec["truth"] = str(truth_dir / "*.tif")
    spec.update(aoi)
    return {
        "aois": {"tiny": spec},
        "network": {"tile": 128, "overlap": 64, "batch": 2, "device": "cpu", "threads": 1},
    }


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.slow
def test_end_to_end_tiny_aoi(tmp_path, tiny_stack):
    files, truth, grid = tiny_stack
    before = {p: sha256(p) for p in [*files.values(), *truth.values()]}
    work = tmp_path / "work"
    work.mkdir()
    config = tiny_config(tmp_path / "stack", tmp_path / "truth")
    config["outputs"] = {"stac_license": "CC-BY-4.0", "stac_license_url": "https://creativecommons.org/licenses/by/4.0/"}
    res = run_workflow(work, config)
    assert res.returncode == 0, res.stderr[-3000:]
    out = work / "results" / "tiny"
    # only the AOI of the given config ran (not the demo AOIs of the repository's config)
    assert sorted(p.name for p in (work / "results").iterdir()) == ["tiny"]
    report = json.loads((out / "coregistration.json").read_text())
    assert report["kept_dates"] == list(files)
    enl = json.loads((out / "super_image_enl.json").read_text())
    assert enl["dates"] == 5 and enl["source"] == "estimated"
    s_filtered, _ = read_product(out / "super_image_filtered.tif")
    # the super-images say what they are, like the products
    mean_tags, filtered_tags = raster_meta(out / "super_image.tif")["tags"], raster_meta(out / "super_image_filtered.tif")["tags"]
    assert mean_tags["dates"] == filtered_tags["dates"] == ",".join(files) and mean_tags["units"] == filtered_tags["units"]
    assert mean_tags["software"].startswith("mtsar2sar ") and filtered_tags["software"] == mean_tags["software"]
    assert float(filtered_tags["super_image_enl"]) == enl["enl"]
    assert filtered_tags["filter"] == "mulog (L = 0.7 x super_image_enl, bm3d step 4 in 2 strips, 3 ADMM iterations from a dct start)"
    ours, flat, noisy = [], [], []
    for d, f in files.items():
        p = out / "despeckled" / f"{d}.tif"
        meta = raster_meta(p)
        low_precision = {} if select_precision("auto", torch.device("cpu")) == "float32" else {"precision": "bfloat16"}
        assert meta["crs"] == grid.crs and meta["transform"] == grid.transform and meta["shape"] == grid.shape
        assert meta["dtype"] == "float32" and meta["tiled"]
        assert_cog(meta)
        assert meta["tags"]["units"] == "linear intensity, in the input's units (squared for an amplitude or complex input)" and meta["tags"]["weights_sha256"]
        # the settings that change the numbers, defaults included, and their digest
        # (precision: auto, recorded as what it resolved to on this machine when that is not float32)
        # the weights resolved (auto at 1 look: sar2sar-s1); the setting as configured: weights_setting
        assert json.loads(meta["tags"]["network_settings"]) == {"weights": "sar2sar-s1", "level": 10000.0, "tile": 128,
                                                                "overlap": 64, "debias": True, "self_ensemble": 1,
                                                                **low_precision}
        assert meta["tags"]["settings_sha256"] == hashlib.sha256(meta["tags"]["network_settings"].encode()).hexdigest()
        assert meta["tags"]["weights_setting"] == "auto"
        assert meta["tags"]["weights_file"] == "mtsar2sar/weights/sar2sar-s1.pt"
        w_hat, _ = read_product(p)
        v, _ = read_product(truth[d])
        w, _ = read_product(f)
        assert np.isfinite(w_hat).all()
        ours.append(psnr_log(w_hat, v))
        flat.append(psnr_log(despeckle_by_ratio(w, s_filtered, flat_ratio).despeckled, v))
        noisy.append(psnr_log(w, v))
        assert (out / "quicklooks" / f"{d}.jpg").stat().st_size > 10_000
        date_log = (out / "logs" / "despeckle" / f"{d}.log").read_text()
        assert date_log.count("despeckled") == 1
        assert f"Mpx/s) on cpu, {low_precision.get('precision', 'float32')}" in date_log  # device and precision used
    for rule in ("check_coregistration", "super_image", "filter_super_image", "quality"):
        assert (out / "benchmarks" / f"{rule}.tsv").exists()
    # the quality without a truth, in the default run: every kept date judged, its scores on its STAC item
    quality = json.loads((out / "quality.json").read_text())
    assert [d["date"] for d in quality["dates"]] == list(files) and quality["reference_looks"] >= 1
    assert all(abs(d["ratio_mean"] - 1) < 0.1 for d in quality["dates"]), [d["ratio_mean"] for d in quality["dates"]]
    assert (out / "quality.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    item = json.loads((out / "stac" / f"tiny_{next(iter(files))}.json").read_text())
    assert item["properties"]["mtsar2sar:quality"] == quality["dates"][0]["verdict"]["status"]
    assert item["properties"]["mtsar2sar:quality_ratio_mean"] == quality["dates"][0]["ratio_mean"]
    # the collection's license as configured (outputs.stac_license, outputs.stac_license_url)
    collection = json.loads((out / "stac" / "collection.json").read_text())
    assert collection["license"] == "CC-BY-4.0"
    assert [link["href"] for link in collection["links"] if link["rel"] == "license"] == [
        "https://creativecommons.org/licenses/by/4.0/"]
    # Despeckling must beat the flat-ratio baseline (the chain with a 'network' returning the ratio's geometric
    # mean: the scaled filtered temporal mean, itself about +8 dB over noisy here), not just the noisy dates.
    # Measured (shipped sar2sar-s1): ours 28.7-29.6 dB, flat 25.1-27.3, noisy 18.1-18.4; margin over the flat
    # ratio 1.69-4.28 dB per date, 2.91 dB on average. A flat-ratio network has margin 0 and fails.
    ours, flat, noisy = np.array(ours), np.array(flat), np.array(noisy)
    assert (flat > noisy + 3.0).all(), (flat, noisy)
    assert (ours > flat + 1.0).all(), (ours, flat)
    assert ours.mean() > flat.mean() + 2.0, (ours.mean(), flat.mean())
    # inputs never change
    assert {p: sha256(p) for p in before} == before
    assert not list(out.rglob("*.part*")), "temporary files left behind"
    # every file the run wrote is a product of the package's layout (or a log, a benchmark)
    written = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    assert len(written) > 30 and [p for p in written if not layout.is_known(p)] == []
    folder = layout.AoiFolder(out)
    assert folder.despeckled(next(iter(files))).is_file() and folder.super_image_enl.is_file()
    # the HTML report of the finished run
    res = run_workflow(work, tiny_config(tmp_path / "stack", tmp_path / "truth"), "--report", "report.html")
    assert res.returncode == 0, res.stderr[-3000:]
    html = (work / "report.html").read_text()
    assert "check_coregistration" in html and "Quicklooks" in html
    # the checks (co-registration, ENL) and the AOI's quicklook sheet are in it, not every date's quicklook
    for name in ("coregistration.json", "super_image_enl.json", "quicklooks.jpg"):
        assert name in html, name
    assert f"{next(iter(files))}.jpg" not in html
    sheet = out / "quicklooks.jpg"
    with Image.open(sheet) as im:
        assert im.format == "JPEG" and im.mode == "L" and im.size[1] > 1.5 * im.size[0]  # 4 dates, one per row
    assert len(html) < 5_000_000 and len(html) > (work / "report.html").stat().st_size * 0.99
    # the inputs are checked on every run: a date_regex now wrong was "Nothing to be done" over the earlier
    # run's report and products (hostile-input review of stop 20)
    res = run_workflow(work, tiny_config(tmp_path / "stack", tmp_path / "truth", date_regex=r"_(\d{6})"), "-n")
    said = res.stdout + res.stderr  # a dry run prints its errors on stdout
    assert res.returncode != 0 and "captures the date key '202401', which does not start with a date" in said, said[-3000:]


def _jobs(stderr: str, rule: str) -> int:
    return sum(line.strip() in (f"rule {rule}:", f"localrule {rule}:") for line in stderr.splitlines())


@pytest.mark.slow
@pytest.mark.parametrize("per_job", [1, "auto"])
def test_a_deleted_product_is_remade(tmp_path, tiny_stack, per_job):
    """A product deleted after a finished run is remade by the next run, with the same bytes, and what
    reads it (its quicklook, STAC, quality) rerun: the products are targets of `all` themselves (before:
    despeckled.done was up to date, so Snakemake remade nothing, "Nothing to be done"). One job per date
    remakes that date alone; a batch (auto: the 5 small dates in one job) reruns and places its dates."""
    work = tmp_path / "work"
    work.mkdir()
    cfg = tiny_config(tmp_path / "stack")
    cfg["super_image"] = {"filter": "none"}
    cfg["network"]["dates_per_job"] = per_job
    res = run_workflow(work, cfg)
    assert res.returncode == 0, res.stderr[-3000:]
    out = work / "results" / "tiny"
    dates = sorted(p.stem for p in out.glob("despeckled/*.tif"))
    assert len(dates) == 5, dates
    gone = dates[1]
    first = {p: sha256(p) for p in [*out.glob("despeckled/*.tif"), *out.glob("quicklooks/*.jpg")]}
    before = {p: p.stat().st_mtime_ns for p in [*out.glob("despeckled/*.tif"), out / "stac" / "collection.json",
                                                 out / "quality.json"]}
    (out / "despeckled" / f"{gone}.tif").unlink()
    res = run_workflow(work, cfg)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Nothing to be done" not in res.stdout + res.stderr
    assert {p: sha256(p) for p in first} == first
    for product in ("stac/collection.json", "quality.json"):
        assert (out / product).stat().st_mtime_ns > before[out / product], product
    if per_job == 1:
        assert _jobs(res.stderr, "despeckle") == _jobs(res.stderr, "quicklook") == 1, res.stderr[-3000:]
        assert f"wildcards: aoi=tiny, date={gone}" in res.stderr
        for d in dates:
            if d != gone:
                assert (out / "despeckled" / f"{d}.tif").stat().st_mtime_ns == before[out / "despeckled" / f"{d}.tif"]
    else:
        assert _jobs(res.stderr, "despeckle_batch") == 1, res.stderr[-3000:]
    res = run_workflow(work, cfg, "-n")
    assert res.returncode == 0 and "Nothing to be done" in res.stdout + res.stderr, res.stdout[-2000:]


@pytest.mark.slow
def test_single_date_fails_cleanly(tmp_path, tiny_stack):
    files, _, _ = tiny_stack
    for f in list(files.values())[1:]:
        f.unlink()
    work = tmp_path / "work"
    work.mkdir()
    res = run_workflow(work, tiny_config(tmp_path / "stack"))
    assert res.returncode != 0
    assert "needs at least 2 dates; found 1" in res.stderr
    assert not (work / "results" / "tiny" / "coregistration.json").exists()
    assert not list((work / "results").rglob("*.tif"))


@pytest.mark.slow
def test_regex_matching_nothing_and_bad_config_key(tmp_path, tiny_stack):
    work = tmp_path / "work"
    work.mkdir()
    res = run_workflow(work, tiny_config(tmp_path / "stack", date_regex=r"_(\d{6})X"))
    assert res.returncode != 0
    assert "AOI 'tiny'" in res.stderr and "matches nothing in the file name" in res.stderr
    cfg = tiny_config(tmp_path / "stack")
    cfg["network"]["tile_size"] = 256
    res = run_workflow(work, cfg)
    assert res.returncode != 0
    assert "tile_size" in res.stderr
    assert not (work / "results").exists()
    braced = tmp_path / "stack" / "S1_20240301_{v1}.tif"  # Snakemake would read {v1} as a wildcard
    braced.write_bytes(b"")
    res = run_workflow(work, tiny_config(tmp_path / "stack", date_regex=r"_(\d{8})"))
    assert res.returncode != 0
    assert f"{braced}: a brace in the path of an input; Snakemake reads {{...}} as a wildcard" in res.stderr, res.stderr
    assert not (work / "results").exists()


@pytest.mark.slow
def test_non_raster_input_fails_cleanly(tmp_path, tiny_stack):
    files, _, _ = tiny_stack
    list(files.values())[2].write_text("not a raster")
    work = tmp_path / "work"
    work.mkdir()
    res = run_workflow(work, tiny_config(tmp_path / "stack"))
    assert res.returncode != 0
    assert f"{list(files.values())[2]}: not a readable raster" in res.stderr
    assert not list((work / "results").rglob("*.json")) and not list((work / "results").rglob("*.tif"))


@pytest.mark.slow
def test_relative_weights_path_is_from_the_working_directory(tmp_path, tiny_stack):
    """`network.weights: my.pt` is a file of the working directory (`--directory`, `mtsar2sar run`), like
    every relative path of a config; it was looked for in the workflow's folder and not found."""
    import shutil

    from mtsar2sar.network import published_weights_path

    work = tmp_path / "work"
    work.mkdir()
    shutil.copyfile(published_weights_path("sar2sar-s1"), work / "my.pt")
    cfg = tiny_config(tmp_path / "stack")
    cfg["network"]["weights"] = "my.pt"
    cfg["super_image"] = {"filter": "none"}
    date = next(iter(tiny_stack[0]))
    res = run_workflow(work, cfg, f"results/tiny/despeckled/{date}.tif")
    assert res.returncode == 0, res.stderr[-3000:]
    tags = raster_meta(work / "results" / "tiny" / "despeckled" / f"{date}.tif")["tags"]
    assert tags["weights_file"] == "my.pt" and tags["weights_sha256"] == sha256(work / "my.pt")
