"""The quality sheet's optional left-out-date check (outputs.quality_leave_out, mtsar2sar.leaveout): the score
prefers the truth to the temporal mean where the scene changes, N pairs give N rows, the same numbers each time,
off by default; the workflow writes it into quality.json and the sheet."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import utm_grid
from test_quality_step import finished_aoi
from test_workflow import run_workflow, tiny_config

from mtsar2sar import plan, steps
from mtsar2sar.config import with_defaults
from mtsar2sar.io import write_float32
from mtsar2sar.leaveout import METHODS, LeaveOutCheck, LeaveOutPair, leave_out_check, score_pair
from mtsar2sar.methods import boxcar
from mtsar2sar.simulate import SimulationConfig, simulate_stack

SIM = SimulationConfig(seed=7, height=64, width=64, dates=6, looks=4, speckle="gamma")
FAST_MULOG = {"denoiser": "dct", "admm_iterations": 2, "looks_factor": 0.7}


def local_mean_denoiser(ratio: np.ndarray) -> np.ndarray:
    """A stand-in for the network: the ratio's 5 x 5 local mean."""
    return boxcar(ratio, 5).astype(np.float64)


def stack() -> dict[str, np.ndarray]:
    keys, _, noisy, _ = simulate_stack(SIM)
    return dict(zip(keys, noisy, strict=True))


def test_the_truth_beats_the_temporal_mean_where_the_scene_changed():
    rng = np.random.default_rng(3)
    v0 = np.full((64, 64), 1.0)
    v1 = v0.copy()
    v1[:, 32:] = 6.0  # the right half changed after date 2, then stayed
    truths = [v0, v0, v0, v1, v1, v1]
    noisy = [v * rng.gamma(4, 1 / 4, v.shape) for v in truths]
    mean = np.mean(noisy[:5], axis=0)  # the temporal mean of the dates before the left-out one
    nll, stable = score_pair({"truth": v1, "temporal_mean": mean}, noisy[4], noisy[5])
    assert 0.5 < stable <= 1.0
    assert nll["truth"] < nll["temporal_mean"] - 0.1, nll
    # where nothing changed, the temporal mean of the dates before is close to the truth
    same, _ = score_pair({"truth": v0, "temporal_mean": np.mean(noisy[:2], axis=0)}, noisy[1], noisy[2])
    assert same["truth"] < same["temporal_mean"] < same["truth"] + 0.1, same


def test_n_pairs_give_n_rows_the_same_each_time():
    dates = stack()
    keys = list(dates)
    run = lambda n: leave_out_check(dates, n, local_mean_denoiser, 24.0, 6, "mulog", FAST_MULOG)
    check = run(3)
    assert [(p.left_out, p.before, p.mean_dates) for p in check.pairs] == [
        (keys[5], keys[4], 5), (keys[4], keys[3], 4), (keys[3], keys[2], 3)]
    assert all(p.scored and 0 < p.stable_fraction <= 1 for p in check.pairs)
    assert check.pairs[0].filter_looks == pytest.approx(24.0 * 5 / 6 * 0.7)
    d = check.to_dict()
    assert set(d["means"]) == set(METHODS) and d["best"] in METHODS and d["pairs_scored"] == 3
    assert d["line"].startswith("left-out dates (3 pairs): NLL chain ")
    assert json.dumps(run(3).to_dict()) == json.dumps(d)  # deterministic
    # more pairs than the stack allows: at least two dates stay before each left-out date
    assert len(run(10).pairs) == 4 and run(10).asked == 10
    # the plain mean (super_image.filter: none) needs no filter looks
    assert leave_out_check(dates, 1, local_mean_denoiser, 24.0, 6, "none").pairs[0].filter_looks is None


def test_the_line_names_the_best():
    def check(chain: float, mean: float, quegan: float) -> LeaveOutCheck:
        nll = {"chain": chain, "temporal_mean": mean, "quegan": quegan}
        return LeaveOutCheck(4, (LeaveOutPair("b", "a", 5, 10.0, 0.6, nll),))

    assert check(-2.598, -2.571, -2.590).line == (
        "left-out dates (1 pair): NLL chain -2.598, temporal mean -2.571, Quegan -2.590: the chain is best")
    assert check(-2.5, -2.6, -2.55).line.endswith(": temporal mean is best, not the chain")
    empty = check(math.nan, math.nan, math.nan)
    assert empty.best is None and empty.line == "left-out dates (0 pairs): no pair with stable valid pixels to score"


def test_off_by_default_and_into_quality_json_when_given(tmp_path):
    assert with_defaults("outputs", {})["quality_leave_out"] == 0
    folder = finished_aoi(tmp_path, "good")
    files = {d: tmp_path / "inputs" / f"S1_{d}.tif" for d in json.loads((folder / "coregistration.json").read_text())["kept_dates"]}
    despeckled = {d: folder / "despeckled" / f"{d}.tif" for d in files}
    args = ("site", files, "intensity", None, despeckled, folder / "super_image_filtered.tif", None, 4.0)
    off = steps.quality(*args, folder / "quality.json", folder / "quality.png")
    assert "leave_out" not in off and "leave_out" not in json.loads((folder / "quality.json").read_text())
    # the check with the shipped network (tile 64) and the workflow's default super-image filter
    (folder / "super_image_enl.json").write_text(json.dumps({"enl": 16.0, "dates": 4}))
    network = {"tile": 64, "overlap": 0, "device": "cpu", "threads": 1}
    mulog = plan.super_image_mulog_settings(with_defaults("super_image", {}), with_defaults("mulog", {}))
    report = steps.quality_leave_out(files, "intensity", None, folder / "super_image_enl.json", 4.0, 2, network,
                                     "mulog", mulog, folder / "quality_leave_out.json")
    assert report["pairs_scored"] == 2 and len(report["pairs"]) == 2
    first = (folder / "quality_leave_out.json").read_bytes()
    steps.quality_leave_out(files, "intensity", None, folder / "super_image_enl.json", 4.0, 2, network,
                            "mulog", mulog, folder / "quality_leave_out.json")
    assert (folder / "quality_leave_out.json").read_bytes() == first  # the same bytes
    on = steps.quality(*args, folder / "quality.json", folder / "quality.png", folder / "quality_leave_out.json")
    assert on["leave_out"] == report
    assert json.loads((folder / "quality.json").read_text())["leave_out"]["line"] == report["line"]


@pytest.mark.slow
def test_the_workflow_writes_the_check(tmp_path):
    keys, _, noisy, _ = simulate_stack(SIM)
    grid = utm_grid(SIM.height, SIM.width)
    for k, w in zip(keys, noisy, strict=True):
        write_float32(tmp_path / "stack" / f"S1_{k}.tif", w, grid, "a date")
    work = tmp_path / "work"
    work.mkdir()
    cfg = tiny_config(tmp_path / "stack", looks=4)
    cfg["network"] = {"tile": 64, "overlap": 0, "batch": 1, "device": "cpu", "threads": 1}
    cfg["mulog"] = {"denoiser": "dct"}
    cfg["outputs"] = {"quality_leave_out": 2}
    res = run_workflow(work, cfg)
    assert res.returncode == 0, res.stderr[-3000:]
    out = work / "results" / "tiny"
    block = json.loads((out / "quality.json").read_text())["leave_out"]
    assert block == json.loads((out / "quality_leave_out.json").read_text())
    assert block["pairs_scored"] == 2 and [p["left_out"] for p in block["pairs"]] == [keys[-1], keys[-2]]
    assert block["line"].startswith("left-out dates (2 pairs): NLL chain ")
    assert block["line"] in (out / "logs" / "quality.log").read_text()
    assert (out / "benchmarks" / "quality_leave_out.tsv").exists()
