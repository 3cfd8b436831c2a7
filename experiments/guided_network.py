"""An experiment (not in the product, not kept): a ratio network that also sees the unfiltered super-image.

The error budget (experiments/error_budget.py) puts most of the chain's error in the filtered super-image
s': a perfect one adds 1.9 dB on demo_4look. MuLoG-BM3D removes the super-image's noise and some of its
texture; here the network gets, beside the ratio w / s'_norm, a second input channel
``guide = log(s / s'_norm) / (2 SPAN)`` (s the plain temporal mean): what the filter removed, texture and
noise, so that it can put back the texture that the date itself confirms.

Training (from ``sar2sar-ml``, the guide's weights zero at the start, so step 0 is sar2sar-ml exactly):
sar2sar-ml's recipe (ratio domain, compensated_mean targets from RABASAR-DCT pre-estimates, NLL at L = 4)
on its 4-look-range stacks (simulated L = 3, 4, 6 and the 8 real training stacks), with the super-image at
the workflow's filter_looks_factor 0.7. The guide must not carry the target's speckle (the target is the
compensated mean of the other dates, the plain mean contains them): per patch the other training dates
are split at random in halves, A gives the guide (with date i), B the target. ``plain`` trains the
1-channel network on the same patches and targets: the control. The widened U-Net (:class:`WideUNet`,
:func:`widen`) is this experiment's own: the product's U-Net has one input channel.

    .venv/bin/snakemake $(for a in ml_203_gamm_l3 ml_204_corr_l3 ml_205_gamm_l4 ml_206_corr_l4 ml_207_gamm_l6 \
        ml_208_corr_l6 rtc_2923{18_iw1,18_iw2,19_iw1,19_iw2}_{vv,vh}; do echo results/$a/super_image_filtered.tif \
        results/$a/super_image.tif results/$a/coregistration.json; done) --cores 2 \
        --configfile examples/train_multilook.yaml C      # C: super_image: {filter_looks_factor: 0.7}; 2 min
    .venv/bin/python experiments/guided_network.py train guided 800 /tmp/guided.pt   # 2 min + 12 min
    .venv/bin/python experiments/guided_network.py train plain 800 /tmp/plain.pt
    .venv/bin/python experiments/guided_network.py train guided 2400 /tmp/guided2400.pt   # 36 min
    .venv/bin/python experiments/guided_network.py eval results/demo_4look /tmp/guided.pt /tmp/plain.pt
    .venv/bin/python experiments/guided_network.py eval results/demo_4look /tmp/guided.pt --half-guide  # as trained
    .venv/bin/python experiments/guided_network.py real /tmp/guided.pt /tmp/plain.pt
"""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mtsar2sar.despeckle import (
    clip_to_level,
    denormalize_to_intensity,
    despeckle_by_ratio,
    geometric_mean,
    normalize_log_amplitude,
)
from mtsar2sar.io import read_intensity, read_product
from mtsar2sar.network import SAR2SARUNet, load_network
from mtsar2sar.training import SPAN, compensated_mean_target, log_mean_intensity
from mtsar2sar.training.inputs import TrainingArrays, train_model_settings, training_stacks
from mtsar2sar.training.loop import training_step

torch.set_num_threads(2)
AOIS = ["ml_203_gamm_l3", "ml_204_corr_l3", "ml_205_gamm_l4", "ml_206_corr_l4", "ml_207_gamm_l6", "ml_208_corr_l6",
        "rtc_292318_iw1_vv", "rtc_292318_iw1_vh", "rtc_292318_iw2_vv", "rtc_292318_iw2_vh", "rtc_292319_iw1_vv",
        "rtc_292319_iw1_vh", "rtc_292319_iw2_vv", "rtc_292319_iw2_vh"]
LOOKS = {"l3": 3, "l4": 4, "l6": 6, "vv": 5, "vh": 3}


class WideUNet(SAR2SARUNet):
    """SAR2SAR's U-Net with ``in_channels`` input channels, the image first: the first convolution and the
    input's skip into the last decoder stage (``enc0``, ``dec1a``) take them all; the output is one channel,
    the first input's residual. Float32 only (the product's bfloat16 split assumes one input channel)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.enc0 = torch.nn.Conv2d(in_channels, 48, kernel_size=3, stride=1, padding=1)
        self.dec1a = torch.nn.Conv2d(96 + in_channels, 64, kernel_size=3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inner_dtype is not None:
            raise NotImplementedError("WideUNet runs in float32 only")
        # the product's forward computes x - residual on every channel (broadcast): keep the image's
        return super().forward(x)[:, :1]


def in_channels(net: SAR2SARUNet) -> int:
    return int(net.enc0.weight.shape[1])


def widen(net: SAR2SARUNet, channels: int) -> WideUNet:
    """A copy of ``net`` with ``channels`` input channels, the added ones with zero weights: it computes
    exactly what ``net`` computes, whatever the added channels hold, until training gives them weight."""
    kept_in = in_channels(net)
    if channels < kept_in:
        raise ValueError(f"cannot reduce a U-Net of {kept_in} input channels to {channels}")
    wide = WideUNet(channels)
    sd = net.state_dict()
    for key, kept in (("enc0.weight", kept_in), ("dec1a.weight", 96 + kept_in)):
        w = torch.zeros_like(wide.state_dict()[key])
        w[:, :kept] = sd[key]
        sd[key] = w
    wide.load_state_dict(sd)
    return wide


def load_file(path: str) -> SAR2SARUNet:
    sd = torch.load(path, weights_only=True)
    channels = sd["enc0.weight"].shape[1]
    net = SAR2SARUNet() if channels == 1 else WideUNet(channels)
    net.load_state_dict(sd)
    return net.eval()


def load_arrays() -> list[TrainingArrays]:
    out = []
    for name in AOIS:
        rep = json.loads(Path(f"results/{name}/coregistration.json").read_text())
        files = {d["date"]: d["file"] for d in rep["dates"]}
        dates = [read_intensity(files[k], "intensity")[0] for k in rep["kept_dates"]]
        s, _ = read_product(f"results/{name}/super_image_filtered.tif")
        out.append(TrainingArrays(name, dates, s, float(LOOKS[name.rsplit("_", 1)[1]])))
    return out


def plain_mean_guide(st, i: int, a_dates: list[int], sl) -> np.ndarray:
    """This experiment's guide: the plain mean of date i and the dates of half A, relative to s'_norm."""
    tg = st.targets[[i] + a_dates][:, sl[0], sl[1]]
    g, _ = log_mean_intensity(tg, np.isfinite(tg))
    return np.nan_to_num(g) / (2 * SPAN)


def sample(stacks, cfg, rng, guide=None):
    """A batch of ``sar2sar-ml``'s recipe; with ``guide(stack, i, a_dates, patch)`` (a function of date i and
    the dates of half A) a second input channel, the target from half B."""
    p = cfg.patch
    xs, gs, ys, ms = [], [], [], []
    for _ in range(cfg.batch):
        st = stacks[int(rng.integers(len(stacks)))]
        i = int(rng.choice(st.train_dates))
        others = [c for c in st.train_dates if c != i]
        rng.shuffle(others)
        half = len(others) // 2
        a_dates, b_dates = others[:half], others[half:]
        _, h, w = st.inputs.shape
        r0, c0 = int(rng.integers(h - p + 1)), int(rng.integers(w - p + 1))
        sl = (slice(r0, r0 + p), slice(c0, c0 + p))
        sub = dataclasses.replace(st, train_dates=sorted([i] + b_dates))
        y, m = compensated_mean_target(sub, i, sl, cfg.compensation_gate_db, cfg.pre_neighbour_share,
                                       cfg.pre_neighbour_db, cfg.compensation_weight_db)
        chans = [st.inputs[i][sl]]
        if guide is not None:
            chans.append(guide(st, i, a_dates, sl))
        x = np.stack(chans)
        k, flip = int(rng.integers(4)), bool(rng.integers(2))
        x, y, m = np.rot90(x, k, axes=(1, 2)), np.rot90(y, k), np.rot90(m, k)
        if flip:
            x, y, m = x[:, :, ::-1], y[:, ::-1], m[:, ::-1]
        xs.append(np.ascontiguousarray(x))
        ys.append(np.ascontiguousarray(np.nan_to_num(y)))
        ms.append(np.ascontiguousarray(m & np.isfinite(y)))
        gs.append(st.log_gain[i])
    return (torch.from_numpy(np.stack(xs)), torch.tensor(gs, dtype=torch.float32),
            torch.from_numpy(np.stack(ys)[:, None]), torch.from_numpy(np.stack(ms)[:, None]))


def train(mode: str, steps: int, out: str, guide=plain_mean_guide, save_every: int | None = None) -> None:
    """``mode`` ``plain`` (the 1-channel control) or any other (2 channels, ``guide``), from sar2sar-ml;
    the state dict written to ``out`` at the end (and every ``save_every`` steps)."""
    settings = {"domain": "ratio", "init": "sar2sar-ml", "targets": "compensated_mean", "pre_estimator": "rabasar",
                "pre_denoiser": "dct", "compensation_weight_db": 1.3, "pre_neighbour_share": 1.0,
                "pre_neighbour_db": 1.74, "steps": steps, "patch": 96, "batch": 8, "lr": 1e-4, "seed": 0, "looks": 4}
    cfg = train_model_settings(settings)
    t0 = time.time()
    stacks, cfg = training_stacks(load_arrays(), cfg, ".")
    print(f"stacks ready {time.time() - t0:.0f} s", flush=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    plain = load_network("sar2sar-ml", ".")
    wide = mode != "plain"
    net = widen(plain, 2) if wide else plain
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(steps * 0.75)], 0.3)
    t0 = time.time()
    run = []
    for step in range(steps):
        run.append(training_step(net, opt, sched, sample(stacks, cfg, rng, guide if wide else None), cfg.looks))
        if (step + 1) % 50 == 0:
            print(f"step {step + 1} loss {np.mean(run[-50:]):.5f} {time.time() - t0:.0f} s", flush=True)
        if save_every and (step + 1) % save_every == 0:
            torch.save(net.state_dict(), out)
    torch.save(net.state_dict(), out)


class Guided:
    """The network on a ratio as NetworkDenoiser applies it (working level 1e4, clipped at +-40 dB), the
    guide as a second channel; the whole image at once (padded to the pooling grid)."""

    level = 1e4

    def __init__(self, net, guide):
        self.net, self.guide = net, guide

    def __call__(self, tau):
        gain = self.level / geometric_mean(tau)
        x = normalize_log_amplitude(clip_to_level(tau * gain, self.level, 40.0))
        chans = [x] if self.guide is None else [x, self.guide]
        h, w = x.shape
        ph, pw = -h % 32, -w % 32
        arr = np.pad(np.stack(chans), ((0, 0), (0, ph), (0, pw)), mode="reflect")
        with torch.inference_mode():
            y = self.net(torch.from_numpy(arr[None].astype(np.float32)))[0, 0].numpy()[:h, :w]
        return denormalize_to_intensity(y) / gain


def evaluate(aoi: str, *models: str, half: bool = False) -> None:
    from mtsar2sar.layout import AoiFolder
    from mtsar2sar.metrics import psnr_log

    d = AoiFolder(Path(aoi))
    dates = json.loads(d.coregistration.read_text())["kept_dates"]
    s, _ = read_product(d.super_image_filtered)
    raw, _ = read_product(d.super_image)
    changed = read_product(d.changed)[0] > 0.5
    s_norm = s / geometric_mean(s)
    if half:  # the guide as in training: the mean of half of the dates
        raw = np.mean([read_product(d.noisy(x))[0] for x in dates[::2]], axis=0)
    guide = (np.log(raw / s_norm) / (2 * SPAN)).astype(np.float32)
    nets = {"sar2sar-ml": Guided(load_network("sar2sar-ml", ".").eval(), None)}
    for path in models:
        n = load_file(path)
        nets[path] = Guided(n, guide if in_channels(n) == 2 else None)
    for name, den in nets.items():
        a = []
        for x in dates:
            w = read_product(d.noisy(x))[0].astype(np.float64)
            v = read_product(d.truth(x))[0].astype(np.float64)
            e = despeckle_by_ratio(w, s, den).despeckled
            a.append((psnr_log(e, v), psnr_log(e, v, changed)))
        a = np.array(a)
        print(f"{aoi} {name:<40} {a[:, 0].mean():.3f} {a[:, 1].mean():.3f}", flush=True)


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
        s_norm = st.filtered / geometric_mean(st.filtered)
        guide = (np.log(st.mean / s_norm) / (2 * SPAN)).astype(np.float32)
        vals = []
        for net in nets.values():
            g = guide if in_channels(net) == 2 else None
            est = despeckle_by_ratio(st.dates[-1], st.filtered, Guided(net, g)).despeckled
            vals.append(leftout_nll(est, st.leftout, st.stable))
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in vals) + " |", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "real":
        real(*sys.argv[2:])
        sys.exit()
    if sys.argv[1] == "train":
        train(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        args = [a for a in sys.argv[2:] if a != "--half-guide"]
        evaluate(args[0], *args[1:], half="--half-guide" in sys.argv)
