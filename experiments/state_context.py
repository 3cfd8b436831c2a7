"""An experiment (not in the product): a ratio network that also sees date i's *state* in the other dates.

The chain's deficit on changed pixels is the network's noise on a structured ratio
(`experiments/state_reference/README.md`); a reference corrected towards date i's state carries the
noise of its own estimate into the product. Here the correction is not applied: it is given to the
network as a second input channel, and training decides how much of it to trust.

``guide = log(m_i / s'_norm) / (2 SPAN)``, with ``m_i`` the *soft state mean* of the dates: every date k
weighted by ``exp(-(d_ik / scale)^2)``, ``d_ik`` the difference in dB of the 7 x 7 boxcars of dates k and
i (date i has weight 1). Where the scene does not change, ``m_i`` is the plain mean (the guide is what
MuLoG removed from the super-image, as in ``guided_network.py``); where date i departs from the mean,
``m_i`` follows the dates in date i's state, and is date i itself where no other date shares it.

Training is ``guided_network.py``'s: ``sar2sar-ml``'s recipe (compensated_mean targets from RABASAR-DCT
pre-estimates, NLL at L = 4) on its 4-look-range stacks, from ``sar2sar-ml`` with the guide's weights at
zero (step 0 is sar2sar-ml). Per patch the other training dates are split at random in halves: A (with
date i) gives the guide, B the target, so the guide never carries the target's speckle. ``plain`` is the
1-channel control on the same patches and targets.

    # the training AOIs' super-images (workflow's filter_looks_factor 0.7), 2 min
    printf 'super_image: {filter_looks_factor: 0.7}\\n' > /tmp/C.yaml
    .venv/bin/snakemake $(for a in ml_203_gamm_l3 ml_204_corr_l3 ml_205_gamm_l4 ml_206_corr_l4 ml_207_gamm_l6 \\
        ml_208_corr_l6 rtc_2923{18_iw1,18_iw2,19_iw1,19_iw2}_{vv,vh}; do echo results/$a/super_image_filtered.tif \\
        results/$a/super_image.tif results/$a/coregistration.json; done) --cores 2 \\
        --configfile examples/train_multilook.yaml /tmp/C.yaml
    .venv/bin/python experiments/state_context.py train state 800 /tmp/state.pt
    .venv/bin/python experiments/state_context.py train plain 800 /tmp/plain.pt
    .venv/bin/python experiments/state_context.py eval results/demo_4look /tmp/state.pt /tmp/plain.pt
    .venv/bin/python experiments/state_context.py real /tmp/state.pt /tmp/plain.pt
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import guided_network
from guided_network import Guided, in_channels, load_file

from mtsar2sar.despeckle import despeckle_by_ratio, geometric_mean
from mtsar2sar.io import read_product
from mtsar2sar.methods import boxcar
from mtsar2sar.network import load_network
from mtsar2sar.training import SPAN

DB = 10 / np.log(10)
CLIP = 40 / DB
SCALE_DB = 3.0  # the state weights' scale (the training change test's threshold)


def soft_state_log_ratio(logs: np.ndarray, smooth: np.ndarray, i: int, scale_db: float = SCALE_DB) -> np.ndarray:
    """log of the soft state mean of the dates (axis 0; ``logs`` their log-intensity in the ratio domain,
    ``smooth`` the logs of their boxcars), weighted by their boxcar's closeness to date ``i``'s."""
    d = (smooth - smooth[i][None]) * DB
    wt = np.exp(-((d / scale_db) ** 2))
    ok = np.isfinite(logs) & np.isfinite(wt)
    wt = np.where(ok, wt, 0.0)
    wt[i] = np.where(np.isfinite(logs[i]), 1.0, 0.0)  # date i itself, even where its boxcar is not finite
    total = (wt * np.exp(np.where(ok | (wt > 0), logs, 0.0))).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(total / wt.sum(axis=0))
    return np.clip(np.where(np.isfinite(out), out, 0.0), -CLIP, CLIP)  # +-40 dB, as the network's input


def state_mean_guide(st, i: int, a_dates: list[int], sl) -> np.ndarray:
    """This experiment's guide in training: the soft state mean of date i and the dates of half A."""
    idx = [i] + a_dates
    g = soft_state_log_ratio(st.targets[idx][:, sl[0], sl[1]], st.smooth_log[idx][:, sl[0], sl[1]], 0)
    return g.astype(np.float32) / (2 * SPAN)


def train(mode: str, steps: int, out: str, threads: int = 1) -> None:
    """``guided_network.py``'s training with the state guide (``mode`` ``state``) or without (``plain``)."""
    torch.set_num_threads(threads)
    guided_network.train(mode, steps, out, guide=state_mean_guide, save_every=50)


def state_guide(dates: list[np.ndarray], s_filtered: np.ndarray, i: int, use: list[int] | None = None) -> np.ndarray:
    """The guide of date ``i`` from the dates ``use`` (default all), as the network was trained."""
    s_norm = s_filtered / geometric_mean(s_filtered)
    idx = [i] + [k for k in (range(len(dates)) if use is None else use) if k != i]
    logs = np.stack([np.log(np.maximum(dates[k], 1e-30) / s_norm) for k in idx])
    smooth = np.stack([np.log(boxcar(dates[k], 7)) for k in idx])
    return (soft_state_log_ratio(logs, smooth, 0) / (2 * SPAN)).astype(np.float32)


def evaluate(aoi: str, *models: str, half: bool = False) -> None:
    from mtsar2sar.layout import AoiFolder
    from mtsar2sar.metrics import psnr_log

    d = AoiFolder(Path(aoi))
    dates = json.loads(d.coregistration.read_text())["kept_dates"]
    s, _ = read_product(d.super_image_filtered)
    changed = read_product(d.changed)[0] > 0.5
    ws = [read_product(d.noisy(x))[0].astype(np.float64) for x in dates]
    nets = {"sar2sar-ml": load_network("sar2sar-ml", ".").eval(), **{p: load_file(p) for p in models}}
    res: dict[str, list[tuple[float, float, float]]] = {k: [] for k in nets}
    for t, x in enumerate(dates):
        v = read_product(d.truth(x))[0].astype(np.float64)
        use = [k for k in range(len(dates)) if k % 2 == t % 2] if half else None
        guide = state_guide(ws, s, t, use)
        for name, net in nets.items():
            den = Guided(net, guide if in_channels(net) == 2 else None)
            e = despeckle_by_ratio(ws[t], s, den).despeckled
            res[name].append((psnr_log(e, v), psnr_log(e, v, changed), psnr_log(e, v, ~changed)))
    for name, a in res.items():
        arr = np.array(a)
        print(f"{aoi} {name:<28} overall {arr[:, 0].mean():.3f} changed {arr[:, 1].mean():.3f} "
              f"unchanged {arr[:, 2].mean():.3f}", flush=True)


def real(*models: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from real_stacks import DEFAULT_DATA, Stack, find_stacks

    from mtsar2sar.config import defaults
    from mtsar2sar.realscore import leftout_nll

    nets = {"sar2sar-ml": load_network("sar2sar-ml", ".").eval(), **{p: load_file(p) for p in models}}
    print("| stack | " + " | ".join(nets) + " |")
    for name, files in find_stacks(DEFAULT_DATA, None).items():
        st = Stack(name, files, Path("results/real_stacks_cache"), "bm3d", "workflow",
                   defaults("super_image")["filter_looks_factor"])
        guide = state_guide(st.dates, st.filtered, len(st.dates) - 1)
        vals = []
        for net in nets.values():
            g = guide if in_channels(net) == 2 else None
            est = despeckle_by_ratio(st.dates[-1], st.filtered, Guided(net, g)).despeckled
            vals.append(leftout_nll(est, st.leftout, st.stable))
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in vals) + " |", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "real":
        real(*sys.argv[2:])
    elif sys.argv[1] == "train":
        train(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        args = [a for a in sys.argv[2:] if a != "--half-guide"]
        evaluate(args[0], *args[1:], half="--half-guide" in sys.argv)
