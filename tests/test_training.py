"""Training: the loss, change masking, determinism, checkpoint and resume."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from mtsar2sar.network import load_state_dict
from mtsar2sar.simulate import SimulationConfig, simulate_stack
from mtsar2sar.superimage import temporal_mean
from mtsar2sar.training import TrainingConfig, nll_loss, prepare_stack, train


@pytest.fixture(scope="module")
def stacks():
    _, _, noisy, _ = simulate_stack(SimulationConfig(seed=21, height=64, width=64, dates=6, looks=1))
    cfg = TrainingConfig(patch=32, batch=2, steps=4, checkpoint_every=2, validate_every=2, validation_dates=2, threads=1)
    mean, _ = temporal_mean(noisy)
    return [prepare_stack("tiny", noisy, mean, cfg)], cfg


def test_loss_is_minimal_at_the_expected_intensity():
    # E over Exp(1) speckle of the NLL is minimal when exp(x_hat) = mean intensity
    rng = np.random.default_rng(0)
    w = torch.tensor(rng.exponential(2.0, 20000), dtype=torch.float32).view(1, 1, 100, 200)
    y = torch.log(w)
    mask = torch.ones_like(y, dtype=torch.bool)
    losses = {}
    for level in (1.0, 2.0, 4.0):
        # network output encoding log-intensity log(level) at gain 1
        out = torch.full_like(y, (np.log(level) / 2 - (-1.429329123112601)) / (10.089038980848645 + 1.429329123112601))
        losses[level] = float(nll_loss(out, torch.zeros(1), y, mask, 1.0))
    assert losses[2.0] < losses[1.0] and losses[2.0] < losses[4.0]


def test_prepare_stack_splits_dates_and_masks_changes(stacks):
    (st,), cfg = stacks
    assert st.train_dates == [0, 1, 2, 3] and st.val_dates == [4, 5]
    assert st.inputs.shape == (6, 64, 64) and st.inputs.dtype == np.float32
    # the network sees each date at the working level: geometric mean of the input = level
    assert float(np.mean(st.inputs[0])) == pytest.approx(
        (np.log(np.sqrt(cfg.level)) + 1.429329123112601) / (10.089038980848645 + 1.429329123112601), abs=1e-3)


def test_training_is_deterministic_and_resumes(tmp_path, stacks):
    st, cfg = stacks
    a = train(st, cfg, tmp_path / "a.pt", tmp_path / "a", ".")
    # interrupted after 2 steps (checkpoint), then resumed to 4
    short = TrainingConfig(**{**cfg.__dict__, "steps": 2})
    train(st, short, tmp_path / "b.pt", tmp_path / "b", ".")
    ckpt = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    ckpt["config"] = json.dumps({**json.loads(ckpt["config"]), "steps": 4}, sort_keys=True)
    torch.save(ckpt, tmp_path / "b" / "checkpoint.pt")
    b = train(st, cfg, tmp_path / "b.pt", tmp_path / "b", ".")
    wa, wb = load_state_dict(tmp_path / "a.pt"), load_state_dict(tmp_path / "b.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a["history"]["loss"] == b["history"]["loss"]
    assert (tmp_path / "a" / "loss.png").stat().st_size > 5000
    assert len(a["history"]["val_nll"]) == 3  # steps 0, 2, 4


def test_stable_mean_target_averages_only_the_dates_that_share_the_state():
    from mtsar2sar.training import Stack, stable_mean_target

    t, h, w = 4, 8, 8
    intens = np.array([1.0, 2.0, 4.0, 100.0])[:, None, None] * np.ones((t, h, w))
    smooth = np.zeros((t, h, w), np.float32)
    smooth[3, :4] = np.log(100.0)  # date 3 differs by 20 dB in the top half
    intens[3, 4:] = 3.0  # and is stable (same boxcar level) in the bottom half
    targets = np.log(intens).astype(np.float32)
    targets[2, 0, 0] = np.nan  # an invalid target pixel is not averaged
    st = Stack("s", np.zeros((t, h, w), np.float32), np.zeros(t), targets, smooth, [0, 1, 2, 3], [])
    y, m = stable_mean_target(st, 0, (slice(0, h), slice(0, w)), 3.0)
    assert m.all()
    assert np.exp(y[1, 1]) == pytest.approx((2 + 4) / 2)  # date 3 excluded: changed
    assert np.exp(y[6, 6]) == pytest.approx((2 + 4 + 3) / 3)  # date 3 included: stable
    assert np.exp(y[0, 0]) == pytest.approx(2.0)  # the invalid pixel of date 2 is left out
    y3, m3 = stable_mean_target(st, 3, (slice(0, h), slice(0, w)), 3.0)
    assert not m3[:4].any() and m3[4:].all()  # no other date shares date 3's state up there
    assert np.exp(y3[6, 6]) == pytest.approx((1 + 2 + 4) / 3)


def test_change_field_is_piecewise_constant_and_deterministic():
    from mtsar2sar.training import change_field

    a = change_field(np.random.default_rng(3), 96, 6.0)
    b = change_field(np.random.default_rng(3), 96, 6.0)
    assert a.dtype == np.float32 and a.shape == (96, 96)
    np.testing.assert_array_equal(a, b)
    fields = [change_field(np.random.default_rng(s), 96, 6.0) for s in range(40)]
    # Voronoi fields: at most 12 levels plus point/line targets; most patches do change somewhere
    assert all(np.unique(f).size <= 12 + 64 for f in fields)
    assert sum(bool(np.any(f != 0)) for f in fields) >= 30
    db = np.concatenate([f.ravel() for f in fields]) * 10 / np.log(10)
    assert np.abs(db).max() < 6.0 * 6 + 25 + 2 * 10


def test_synthetic_change_multiplies_input_and_target_alike(monkeypatch):
    """The augmentation is a reflectivity change: +5 dB on the target log-intensity and on the input's log-amplitude."""
    import mtsar2sar.training as tr
    from mtsar2sar.training import sampler

    cfg = TrainingConfig(domain="ratio", patch=32, batch=4, synthetic_change_share=1.0, targets="pair")
    _, _, noisy, _ = simulate_stack(SimulationConfig(seed=21, height=64, width=64, dates=6, looks=1))
    prepared = [prepare_stack("a", noisy, temporal_mean(noisy)[0], cfg)]
    monkeypatch.setattr(sampler, "change_field", lambda rng, size, sigma: np.zeros((size, size), np.float32))
    x0, g0, y0, m0 = tr.PatchSampler(prepared, cfg, np.random.default_rng(0)).sample()
    step = np.float32(5 * np.log(10) / 10)
    monkeypatch.setattr(sampler, "change_field", lambda rng, size, sigma: np.full((size, size), step, np.float32))
    x1, g1, y1, m1 = tr.PatchSampler(prepared, cfg, np.random.default_rng(0)).sample()
    assert torch.equal(m0, m1) and torch.equal(g0, g1)
    assert m0.dtype == torch.bool and m0.any()  # the comparison below is not over an empty region
    np.testing.assert_allclose((y1 - y0)[m0].numpy(), step, atol=1e-5)
    np.testing.assert_allclose((x1 - x0).numpy(), step / (2 * tr.SPAN), atol=1e-5)


def test_compensated_mean_target_carries_changes_through_the_pre_estimates():
    """A date twice as bright as the others (a 3 dB change) is still supervised by all of them, at its own level."""
    from mtsar2sar.training import Stack, compensated_mean_target

    rng = np.random.default_rng(5)
    t, n = 8, 200
    level = np.ones(t)
    level[3] = 2.0
    w = level[:, None, None] * rng.exponential(1.0, (t, n, n))
    logs = np.log(w).astype(np.float32)
    st = Stack("s", np.zeros((t, n, n), np.float32), np.zeros(t), logs, logs, list(range(t)), [],
               np.log(level)[:, None, None].repeat(n, 1).repeat(n, 2).astype(np.float32))
    y, m = compensated_mean_target(st, 3, (slice(None), slice(None)))
    assert m.all()
    # 7 other dates, each carried to date 3's level: mean intensity 2 (the changed state), not 8/7
    assert float(np.exp(y).mean()) == pytest.approx(2.0, rel=0.01)
    y0, _ = compensated_mean_target(st, 0, (slice(None), slice(None)))
    assert float(np.exp(y0).mean()) == pytest.approx(1.0, rel=0.01)
    with pytest.raises(ValueError, match="pre-estimates"):
        compensated_mean_target(Stack("s", st.inputs, st.log_gain, logs, logs, list(range(t)), []), 0,
                                (slice(None), slice(None)))


def test_rabasar_pre_estimates_keep_a_change_and_agree_across_domains():
    """Pre-estimates by RABASAR (MuLoG-DCT on the ratio): a field 6 dB brighter on one date is kept in
    its estimate (not pulled toward the temporal mean), and the image-domain estimates are the
    ratio-domain ones times the normalized super-image, so the compensation is the same in both."""
    from mtsar2sar.despeckle import geometric_mean
    from mtsar2sar.training.inputs import rabasar_pre_estimator

    rng = np.random.default_rng(3)
    t, n = 10, 64
    v = np.full((t, n, n), 1.0)
    v[4, :, : n // 2] = 10 ** 0.6  # +6 dB on the left half of date 4
    w = v * rng.exponential(1.0, (t, n, n))
    s = w.mean(axis=0)
    s_norm = s / geometric_mean(s)
    ratio_pre = rabasar_pre_estimator(s, "ratio", 1.0, "dct")
    est = ratio_pre(w[4] / s_norm) * s_norm
    left, right = np.median(est[8:-8, 8 : n // 2 - 8]), np.median(est[8:-8, n // 2 + 8 : -8])
    # truth: left / right = 6 dB; the temporal mean alone would give 10 log10(s ratio) ~ 1.4 dB
    assert 10 * np.log10(left / right) == pytest.approx(6.0, abs=1.0)
    image_est = rabasar_pre_estimator(s, "image", 1.0, "dct")(w[4])
    np.testing.assert_allclose(image_est, est, rtol=1e-5)


def test_gated_compensation_moves_only_the_changes():
    """With a gate, dates that the pre-estimates find unchanged supervise the input date as they are
    (the pre-estimates' errors stay out of the target); a 3 dB change is still compensated."""
    from mtsar2sar.training import Stack, compensated_mean_target

    rng = np.random.default_rng(8)
    t, n = 8, 200
    level = np.ones(t)
    level[3] = 2.0
    logs = np.log(level[:, None, None] * rng.exponential(1.0, (t, n, n))).astype(np.float32)
    exact = np.log(level)[:, None, None].repeat(n, 1).repeat(n, 2).astype(np.float32)
    noisy = (exact + rng.normal(0.0, 0.05, exact.shape)).astype(np.float32)  # 0.2 dB pre-estimate errors

    def target(pre, i, gate=None):
        st = Stack("s", np.zeros((t, n, n), np.float32), np.zeros(t), logs, logs, list(range(t)), [], pre)
        return compensated_mean_target(st, i, (slice(None), slice(None)), gate)[0]

    # date 0: 6 of the 7 other dates share its state; only date 3's (changed) part carries pre-estimate errors
    clean = target(exact, 0)
    full_err = np.abs(target(noisy, 0) - clean).mean()
    gated_err = np.abs(target(noisy, 0, (1.0, 2.0)) - clean).mean()
    assert gated_err < 0.3 * full_err
    assert float(np.exp(target(noisy, 3, (1.0, 2.0))).mean()) == pytest.approx(2.0, rel=0.02)
    with pytest.raises(ValueError, match="compensation_gate_db"):
        TrainingConfig.from_dict({"compensation_gate_db": [2.0, 1.0]})


def test_neighbour_share_takes_x_i_from_the_neighbouring_dates():
    """pre_neighbour_share = 1: the target of date i does not depend on date i's own pre-estimate
    (whose errors the network could learn from its input) but on dates i - 1 and i + 1's."""
    from mtsar2sar.training import Stack, compensated_mean_target

    rng = np.random.default_rng(2)
    t, n = 6, 16
    logs = np.log(rng.exponential(1.0, (t, n, n))).astype(np.float32)
    pre = np.zeros((t, n, n), np.float32)
    sl = (slice(None), slice(None))

    def target(p, share):
        return compensated_mean_target(Stack("s", logs, np.zeros(t), logs, logs, list(range(t)), [], p), 2, sl, None, share)[0]

    moved_self, moved_neighbours = pre.copy(), pre.copy()
    moved_self[2] += 0.3
    moved_neighbours[[1, 3]] += 0.3
    np.testing.assert_allclose(target(moved_self, 1.0), target(pre, 1.0), atol=1e-6)
    np.testing.assert_allclose(target(moved_self, 0.0), target(pre, 0.0) + 0.3, atol=1e-5)
    # neighbours at +0.3 carried into x_i, minus their own (other) dates' share of the mean
    assert float((target(moved_neighbours, 1.0) - target(pre, 1.0)).mean()) > 0.15
    with pytest.raises(ValueError, match="pre_neighbour_share"):
        TrainingConfig.from_dict({"pre_neighbour_share": 1.5})


def test_departure_patches_are_centred_on_the_dates_that_leave_their_mean(monkeypatch):
    """change_patch_departure_db: change patches show date i in a state far from its temporal mean
    (a flood on one date): date i is drawn with the pixel, and the patch covers it."""
    import mtsar2sar.training as tr

    t, n = 8, 64
    smooth = np.zeros((t, n, n), np.float32)
    smooth[5, 40:44, 10:14] = np.log(10 ** -1.0)  # date 5: a -10 dB "flood" on 4 x 4 pixels
    smooth[7, :8, :8] = np.log(10 ** -1.0)  # a validation date: never drawn
    st = tr.Stack("s", np.zeros((t, n, n), np.float32), np.zeros(t), smooth, smooth, list(range(6)), [6, 7])
    dep = tr.departures(st, 5.0)
    dates, pixels = np.divmod(dep, n * n)
    assert set(dates.tolist()) == {5} and dep.size == 16
    assert sorted(set((pixels // n).tolist())) == [40, 41, 42, 43]
    cfg = TrainingConfig(patch=16, batch=6, change_patch_share=1.0, change_patch_departure_db=5.0, targets="pair")
    sampler = tr.PatchSampler([st], cfg, np.random.default_rng(0))
    drawn = []
    from mtsar2sar.training import targets

    monkeypatch.setattr(targets, "change_mask", lambda stack, i, j, sl, thr: (drawn.append((i, j, sl)), np.ones((16, 16), bool))[1])
    sampler.sample()
    assert len(drawn) == 6
    for i, j, (rows, cols) in drawn:
        assert i == 5 and j != 5 and j in range(6)
        assert rows.start <= 40 and rows.stop >= 44 and cols.start <= 10 and cols.stop >= 14
    # without the option, patches are centred on changes between i and j as before
    assert tr.PatchSampler([st], TrainingConfig(patch=16), np.random.default_rng(0)).departures == [None]


def test_weighted_compensation_trusts_the_dates_in_the_same_state():
    """Pre-estimates that shrink a change (a pre-estimator's bias) bias the compensated target;
    weighting the dates by their closeness to date i's state lets the dates sharing it decide."""
    from mtsar2sar.training import Stack, compensated_mean_target

    rng = np.random.default_rng(7)
    t, n = 8, 200
    level = np.ones(t)
    level[[3, 4]] = 8.0  # a 9 dB change on two dates
    shrunk = np.where(level > 1, 4.0, 1.0)  # the pre-estimates see 6 dB of it
    logs = np.log(level[:, None, None] * rng.exponential(1.0, (t, n, n))).astype(np.float32)
    pre = np.log(shrunk)[:, None, None].repeat(n, 1).repeat(n, 2).astype(np.float32)
    st = Stack("s", logs, np.zeros(t), logs, logs, list(range(t)), [], pre)
    sl = (slice(None), slice(None))
    plain, _ = compensated_mean_target(st, 3, sl)
    weighted, m = compensated_mean_target(st, 3, sl, weight_db=1.0)
    assert m.all()
    # plain: 6 dates carried to 4 (their level 1 x 4 / 1) and date 4 at 8: (6 x 4 + 8) / 7
    assert float(np.exp(plain).mean()) == pytest.approx(32 / 7, rel=0.02)
    assert float(np.exp(weighted).mean()) == pytest.approx(8.0, rel=0.02)  # date 4 alone shares the state
    # a stable date is unaffected: all its others are at its state but two, down-weighted
    assert float(np.exp(compensated_mean_target(st, 0, sl, weight_db=1.0)[0]).mean()) == pytest.approx(1.0, rel=0.02)
    with pytest.raises(ValueError, match="compensation_weight_db"):
        TrainingConfig.from_dict({"compensation_weight_db": 0})


def test_neighbour_share_is_not_taken_across_a_change():
    """pre_neighbour_db: date i takes its neighbours' pre-estimates only where they share its state."""
    from mtsar2sar.training import Stack, compensated_mean_target

    t, n = 6, 16
    logs = np.zeros((t, n, n), np.float32)
    pre = np.zeros((t, n, n), np.float32)
    pre[3:] = np.log(10.0)  # a 10 dB change from date 3 on
    pre[3] += 0.1  # date 3's own pre-estimate, 0.43 dB off its neighbour 4's
    st = Stack("s", logs, np.zeros(t), logs, logs, list(range(t)), [], pre)
    sl = (slice(None), slice(None))
    shift = compensated_mean_target(st, 3, sl, None, 1.0, 2.0)[0] - compensated_mean_target(st, 3, sl)[0]
    # x_3 moves half-way to date 4 (weight exp(-(0.43/2)^2) = 0.95), not to date 2 (10 dB off)
    assert float(shift.mean()) == pytest.approx(-0.1 * 0.5 * np.exp(-(0.1 * 10 / np.log(10) / 2.0) ** 2), abs=1e-4)
    unweighted = compensated_mean_target(st, 3, sl, None, 1.0)[0] - compensated_mean_target(st, 3, sl)[0]
    assert float(unweighted.mean()) < -1.0  # the plain share drags x_3 half-way across the change


def test_aoi_model_settings_resolve_init_and_refuse_what_does_not_apply():
    from mtsar2sar.training import AOI_MODEL_DEFAULTS, aoi_model_settings

    st = aoi_model_settings({"steps": 50}, looks=5.0)
    assert st["steps"] == 50 and st["looks"] == 5.0 and st["targets"] == AOI_MODEL_DEFAULTS["targets"]
    assert st["init"] == "sar2sar-ml"  # what `auto` picks for 5 looks
    assert aoi_model_settings({}, looks=1.0)["init"] == "sar2sar-s1"
    with pytest.raises(ValueError, match="'aois' is not a setting here"):
        aoi_model_settings({"aois": ["x"]}, looks=1.0)
    with pytest.raises(ValueError, match="pre_neighbour_share must be in"):
        aoi_model_settings({"pre_neighbour_share": 2.0}, looks=1.0)


def test_aoi_weights_outside_the_workflow_name_the_file_to_give():
    from mtsar2sar.errors import InputError
    from mtsar2sar.network import resolve_weights

    with pytest.raises(InputError, match=r"results/\{aoi\}/model.pt"):
        resolve_weights("aoi")


@pytest.mark.parametrize("settings, message", [
    ({"targets": "pair", "compensation_weight_db": 1.3},
     "compensation_weight_db does nothing with targets: pair (it is an option of targets: compensated_mean)"),
    ({"targets": "stable_mean", "pre_estimator": "rabasar"},
     "pre_estimator does nothing with targets: stable_mean"),
    ({"targets": "compensated_mean", "pre_denoiser": "bm3d"}, "pre_denoiser does nothing unless pre_estimator: rabasar"),
    ({"targets": "compensated_mean", "pre_neighbour_db": 1.7}, "pre_neighbour_db does nothing unless pre_neighbour_share > 0"),
    ({"synthetic_change_db": 3.0}, "synthetic_change_db does nothing unless synthetic_change_share > 0"),
    ({"change_patch_share": 0.0, "change_patch_departure_db": 3.0},
     "change_patch_departure_db does nothing unless change_patch_share > 0"),
    ({"targets": "mean"}, "targets must be one of pair, stable_mean, compensated_mean, got 'mean'"),
    ({"step": 10}, "unknown setting(s) step"),
])
def test_an_option_that_does_nothing_is_an_error(settings, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainingConfig.from_dict(settings)


def test_the_shipped_training_configs_are_valid():
    import yaml
    from conftest import REPO

    for name in ("train_single_look.yaml", "train_multilook.yaml"):
        for model in yaml.safe_load((REPO / "examples" / name).read_text())["training"]["models"].values():
            TrainingConfig.from_dict({k: v for k, v in model.items() if k != "aois"})


def test_no_validation_dates_report_no_score_not_a_perfect_one(tmp_path):
    cfg = TrainingConfig(domain="ratio", patch=32, batch=2, steps=2, validate_every=1, validation_dates=0)
    _, _, noisy, _ = simulate_stack(SimulationConfig(seed=3, height=64, width=64, dates=4, looks=1))
    st = prepare_stack("a", noisy, temporal_mean(noisy)[0], cfg)
    assert st.val_dates == []
    summary = train([st], cfg, tmp_path / "m.pt", tmp_path / "w")
    assert summary["initial_validation_nll"] is None and summary["final_validation_nll"] is None
    assert (tmp_path / "w" / "loss.png").exists()


def test_training_device_is_a_setting_and_cuda_without_a_gpu_is_refused(tmp_path, stacks):
    (st,), cfg = stacks
    from dataclasses import replace

    from mtsar2sar.errors import InputError

    assert TrainingConfig.from_dict({"device": "auto"}).device == "auto"
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(InputError, match=r"training\.device: 'cuda' requested but no CUDA device is available"):
        train([st], replace(cfg, device="cuda"), tmp_path / "m.pt", tmp_path / "m")
    with pytest.raises(InputError, match=r"training\.device: 'tpu' is not one of auto, cpu, cuda"):
        train([st], replace(cfg, device="tpu"), tmp_path / "m.pt", tmp_path / "m")
    summary = train([st], replace(cfg, device="auto", steps=2), tmp_path / "a.pt", tmp_path / "a")  # auto: the CPU here
    assert summary["config"]["device"] == "auto" and not (tmp_path / "m.pt").exists()
