"""The quality step on a finished AOI folder (the workflow's rule, `mtsar2sar quality`, the API): a good
estimate passes, a degraded one fails with a warning, the outputs are the same whichever way it is called."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import utm_grid
from scipy.ndimage import uniform_filter

from mtsar2sar import cli, steps
from mtsar2sar.api import assess_quality
from mtsar2sar.io import write_float32
from mtsar2sar.simulate import SimulationConfig, simulate_stack


def finished_aoi(root: Path, estimate: str) -> Path:
    """results/site of a finished run whose products are the truth (``good``), the truth blurred by a 7 x 7
    boxcar (``blurred``), the noisy dates themselves (``noisy``) or the truth's temporal mean (``mean``)."""
    keys, truths, noisy, _ = simulate_stack(SimulationConfig(seed=4, height=128, width=128, dates=4, looks=4,
                                                             speckle="gamma"))
    grid = utm_grid(128, 128)
    folder = root / "results" / "site"
    for k, v, w in zip(keys, truths, noisy, strict=True):
        write_float32(root / "inputs" / f"S1_{k}.tif", w, grid, "a date")
        est = {"good": v, "blurred": uniform_filter(v, 7), "noisy": w, "mean": np.mean(truths, axis=0)}[estimate]
        write_float32(folder / "despeckled" / f"{k}.tif", est, grid, "despeckled",
                      {"source": f"inputs/S1_{k}.tif", "looks": "4.0"})
    write_float32(folder / "super_image_filtered.tif", np.mean(truths, axis=0), grid, "super-image")
    (folder / "coregistration.json").write_text(json.dumps({"kept_dates": list(keys)}))
    return folder


def test_a_good_estimate_passes_and_the_outputs_are_written(tmp_path, capsys):
    folder = finished_aoi(tmp_path, "good")
    assert cli.main(["quality", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.count("unbiased, speckle removed without visible structure") == 4
    report = json.loads((folder / "quality.json").read_text())
    assert report["aggregate"]["status"] == "ok" and report["reference_looks"] == 4.0
    assert all(abs(d["ratio_mean"] - 1) < 0.05 and 3.0 < d["ratio_enl"] < 5.0 for d in report["dates"])
    assert (folder / "quality.png").read_bytes()[:4] == b"\x89PNG"
    # the API and the CLI write the same report
    first = (folder / "quality.json").read_bytes()
    assert assess_quality(folder)["aggregate"]["line"] == report["aggregate"]["line"]
    assert (folder / "quality.json").read_bytes() == first


@pytest.mark.parametrize(("estimate", "words"), [
    ("noisy", "nothing was removed"),
    ("blurred", "edges and targets left in the ratio"),
])
def test_a_degraded_estimate_fails_with_a_warning(tmp_path, capsys, caplog, estimate, words):
    folder = finished_aoi(tmp_path, estimate)
    assert cli.main(["quality", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and words in out
    report = json.loads((folder / "quality.json").read_text())
    assert report["aggregate"]["status"] == "fail" and report["aggregate"]["counts"]["fail"] >= 3
    # the workflow's step warns about each failing date, naming its product
    steps.quality_of_results(folder)
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) >= 3 and all("quality of date" in m and "despeckled" in m for m in warned)


def test_a_folder_that_is_not_a_finished_aoi_is_refused(tmp_path, capsys):
    assert cli.main(["quality", str(tmp_path)]) == 1
    assert "no coregistration.json: not the results folder of an AOI" in capsys.readouterr().err
    folder = finished_aoi(tmp_path, "good")
    next((folder / "despeckled").iterdir()).unlink()
    assert cli.main(["quality", str(folder)]) == 1
    assert "not despeckled yet" in capsys.readouterr().err


def test_quality_read_by_a_pipe_that_closes_early_stops_quietly(tmp_path):
    """`mtsar2sar quality DIR | head -1`: the reader stops; no BrokenPipeError traceback, and status 141
    (as a shell reports SIGPIPE), not 1, which says that a date fails (new-user review)."""
    import subprocess
    import sys

    folder = finished_aoi(tmp_path, "good")
    code = "import sys; from mtsar2sar import cli; sys.exit(cli.main(['quality', sys.argv[1]]))"
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()  # the reader is gone before the first line, as head after its lines
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 141, err.decode()
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()


def test_products_that_are_the_temporal_mean_fail_where_the_dates_depart_from_it(tmp_path, capsys):
    """Every product the temporal mean: a date that departs from it (a flood, a harvest) fails on its
    departure slope, 0, even where the date before changed too little for the change slope; the truth as
    products keeps its departures at about their size (new-user review: such products passed as ok)."""
    bad = finished_aoi(tmp_path / "mean", "mean")
    assert cli.main(["quality", str(bad)]) == 1
    report = json.loads((bad / "quality.json").read_text())
    judged = [d for d in report["dates"] if d["departure_slope"] is not None]
    assert judged and all(abs(d["departure_slope"]) < 0.05 for d in judged), report["dates"]
    assert all(d["verdict"]["status"] == "fail" and "its own departures from the temporal mean shrunk to 0% of their"
               " size" in d["verdict"]["line"] for d in judged)
    good = finished_aoi(tmp_path / "good", "good")
    assert cli.main(["quality", str(good)]) == 0
    slopes = [d["departure_slope"] for d in json.loads((good / "quality.json").read_text())["dates"]]
    assert [s is None for s in slopes] == [d["departure_slope"] is None for d in report["dates"]]
    assert all(0.9 < s < 1.1 for s in slopes if s is not None), slopes
    capsys.readouterr()
