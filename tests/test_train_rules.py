"""The training rules run by Snakemake on a tiny simulated AOI (64 x 64, 4 single-look dates): rule `train`
(a `training.models` entry) and rule `train_aoi` (`network.weights: aoi`), a few steps each. The model files
must load as the U-Net, differ from the weights they start from, and (train_aoi) be the weights the AOI's
despeckled products were made with."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from test_workflow import run_workflow

from mtsar2sar.io import read_product
from mtsar2sar.network import load_network

SIMULATE = {"seed": 5, "height": 64, "width": 64, "dates": 4, "looks": 1, "speckle": "correlated"}


def tiny_sim_config(**sections) -> dict:
    return {
        "aois": {"tinysim": {"simulate": SIMULATE, "looks": 1}},
        "mulog": {"denoiser": "dct"},
        "network": {"tile": 64, "overlap": 32, "batch": 2, "device": "cpu", "threads": 1},
        **sections,
    }


def assert_trained_from(model: Path, init: str) -> None:
    """``model`` loads as the U-Net and is not its ``init`` unchanged."""
    trained = load_network(model).state_dict()
    start = load_network(init).state_dict()
    assert trained.keys() == start.keys()
    changed = [k for k in trained if not torch.equal(trained[k], start[k])]
    assert changed, f"{model}: identical to its init {init}"
    assert all(torch.isfinite(v).all() for v in trained.values())


@pytest.mark.slow
def test_rule_train_on_a_tiny_simulated_aoi(tmp_path):
    cfg = tiny_sim_config(training={"models": {"tiny-m": {
        "aois": ["tinysim"], "init": "sar2sar-grd", "steps": 3, "patch": 32, "batch": 2, "validate_every": 1,
        "checkpoint_every": 2, "validation_dates": 2, "threads": 1,
    }}})
    res = run_workflow(tmp_path, cfg, "results/models/tiny-m.pt")
    assert res.returncode == 0, res.stderr[-3000:]
    model = tmp_path / "results" / "models" / "tiny-m.pt"
    assert_trained_from(model, "sar2sar-grd")
    summary = json.loads((tmp_path / "results" / "models" / "tiny-m" / "training.json").read_text())
    assert summary["config"]["steps"] == 3 and summary["config"]["patch"] == 32
    assert len(summary["history"]["val_nll"]) >= 2 and all(np.isfinite(summary["history"]["val_nll"]))
    assert (tmp_path / "results" / "models" / "tiny-m" / "loss.png").stat().st_size > 0
    # only what the model needs ran: no despeckled products
    assert not (tmp_path / "results" / "tinysim" / "despeckled").exists()


@pytest.mark.slow
def test_rule_train_aoi_and_despeckling_with_the_aois_model(tmp_path):
    cfg = tiny_sim_config(training={"aoi_model": {"steps": 2, "patch": 32, "batch": 2, "validate_every": 1}})
    cfg["network"]["weights"] = "aoi"
    res = run_workflow(tmp_path, cfg)
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / "results" / "tinysim"
    model = out / "model.pt"
    summary = json.loads((out / "model" / "training.json").read_text())
    init = summary["config"]["init"]
    assert init == "sar2sar-s1"  # init: auto at 1 look
    assert summary["config"]["steps"] == 2 and summary["config"]["patch"] == 32
    assert_trained_from(model, init)
    products = sorted((out / "despeckled").glob("*.tif"))
    assert len(products) == SIMULATE["dates"]
    for p in products:
        with rasterio.open(p) as ds:
            tags = ds.tags()
        assert Path(tags["weights_file"]).resolve() == model.resolve(), tags
        assert Path(tags["weights"]).resolve() == model.resolve(), tags
        w_hat, _ = read_product(p)
        assert np.isfinite(w_hat).all() and (w_hat > 0).all()
    log = (out / "logs" / "train_aoi.log").read_text()
    assert "trained in" in log
