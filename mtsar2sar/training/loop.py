"""The training loop: the speckle NLL, validation on held-out dates, checkpoints, the loss plot."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from mtsar2sar.config import TrainingConfig
from mtsar2sar.io import atomic_path
from mtsar2sar.logs import log
from mtsar2sar.network import LOG_AMPLITUDE_MIN, SAR2SARUNet, load_network, select_device
from mtsar2sar.training.data import SPAN, Stack
from mtsar2sar.training.sampler import PatchSampler
from mtsar2sar.training.targets import change_mask


def nll_loss(out: torch.Tensor, log_gain: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, looks: float) -> torch.Tensor:
    """Masked mean L-look speckle NLL of the target log-intensity given the network output."""
    x_hat = 2.0 * (out * SPAN + LOG_AMPLITUDE_MIN) - log_gain.view(-1, 1, 1, 1)
    diff = torch.where(mask, target - x_hat, torch.zeros_like(x_hat))
    nll = looks * (-diff + torch.exp(diff) - 1.0)  # minus its minimum, so a perfect fit scores 0
    return (nll * mask).sum() / mask.sum().clamp(min=1)


def fmt_nll(v: float | None) -> str:
    return "none (no validation dates)" if v is None else f"{v:.5f}"


def validation_nll(
    net: torch.nn.Module, stacks: list[Stack], cfg: TrainingConfig, device: torch.device | str = "cpu"
) -> float | None:
    """Mean masked NLL over the held-out date pairs (both directions), whole images (cropped to /32);
    None without validation dates (not a perfect 0)."""
    total, count = 0.0, 0
    net.eval()
    with torch.inference_mode():
        for st in stacks:
            if len(st.val_dates) < 2:
                continue
            _, h, w = st.inputs.shape
            hh, ww = h - h % 32, w - w % 32
            sl = (slice(0, hh), slice(0, ww))
            for i in st.val_dates:
                for j in st.val_dates:
                    if i == j:
                        continue
                    x = torch.from_numpy(np.ascontiguousarray(st.inputs[i][sl]))[None, None].to(device)
                    y = torch.from_numpy(np.nan_to_num(st.targets[j][sl]))[None, None].to(device)
                    m = torch.from_numpy(change_mask(st, i, j, sl, cfg.change_threshold_db))[None, None].to(device)
                    g = torch.tensor([st.log_gain[i]], dtype=torch.float32, device=device)
                    total += float(nll_loss(net(x), g, y, m, cfg.looks))
                    count += 1
    net.train()
    return total / count if count else None


def training_step(
    net: torch.nn.Module, opt: torch.optim.Optimizer, sched: torch.optim.lr_scheduler.LRScheduler,
    batch: tuple[torch.Tensor, ...], looks: float,
) -> float:
    """One optimizer step on a batch ``(input, log gain, target, mask)``; returns the batch's loss."""
    x, g, y, m = batch
    loss = nll_loss(net(x), g, y, m, looks)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
    opt.step()
    sched.step()
    return float(loss.detach())


def initial_network(init: str, base: str | Path = ".") -> SAR2SARUNet:
    if init == "scratch":
        return SAR2SARUNet()
    return load_network(init, base)


def save_loss_plot(history: dict[str, list[Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    steps = np.array(history["step"])
    loss = np.array(history["loss"])
    if loss.size:
        k = max(1, loss.size // 100)
        smooth = np.convolve(loss, np.ones(k) / k, mode="valid")
        ax.plot(steps, loss, color="0.8", lw=0.5, label="training loss (batch)")
        ax.plot(steps[k - 1 :], smooth, color="C0", label=f"training loss (mean of {k})")
    val = [(s, v) for s, v in zip(history["val_step"], history["val_nll"]) if v is not None]
    if val:
        ax.plot(*zip(*val), "o-", color="C3", label="validation NLL (held-out dates)")
    ax.set_xlabel("step")
    ax.set_ylabel("NLL - min (log-intensity)")
    ax.legend()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)


def train(
    stacks: list[Stack], cfg: TrainingConfig, output: str | Path, workdir: str | Path, base: str | Path = "."
) -> dict[str, Any]:
    """Train, checkpointing in ``workdir`` (resumes there), and write the final state dict to ``output``."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    device = select_device(cfg.device, "training.device")
    if device.type == "cuda":  # deterministic cuBLAS needs this before its first use
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")  # a CUDA op without one: a warning
    net = initial_network(cfg.init, base).to(device)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(cfg.lr_milestones), cfg.lr_gamma)
    rng = np.random.default_rng(cfg.seed)
    history: dict[str, list[Any]] = {"step": [], "loss": [], "val_step": [], "val_nll": []}
    start, elapsed = 0, 0.0
    ckpt = workdir / "checkpoint.pt"
    cfg_json = json.dumps(asdict(cfg), sort_keys=True)
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        if state["config"] == cfg_json:
            net.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
            rng.bit_generator.state = json.loads(state["numpy_rng"])
            torch.set_rng_state(state["torch_rng"])
            history = json.loads(state["history"])
            start, elapsed = int(state["step"]), float(state["elapsed"])
            log.info("resumed from %s at step %d", ckpt, start)
        else:
            log.info("checkpoint %s is for another configuration: starting over", ckpt)
    sampler = PatchSampler(stacks, cfg, rng)
    log.info("training on %s", device)
    if start == 0:
        v = validation_nll(net, stacks, cfg, device)
        history["val_step"].append(0)
        history["val_nll"].append(v)
        log.info("step 0: validation NLL %s", fmt_nll(v))
    t0 = time.perf_counter() - elapsed
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc="training", mininterval=5.0)
    for step in bar:
        batch = tuple(t.to(device, non_blocking=True) for t in sampler.sample())
        history["step"].append(step + 1)
        history["loss"].append(training_step(net, opt, sched, batch, cfg.looks))
        done = step + 1
        if done % cfg.validate_every == 0 or done == cfg.steps:
            v = validation_nll(net, stacks, cfg, device)
            history["val_step"].append(done)
            history["val_nll"].append(v)
            log.info("step %d: loss %.5f, validation NLL %s, %.0f s", done, history["loss"][-1], fmt_nll(v),
                     time.perf_counter() - t0)
        if done % cfg.checkpoint_every == 0 or done == cfg.steps:
            with atomic_path(ckpt) as tmp:
                torch.save({
                    "model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "numpy_rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state(),
                    "history": json.dumps(history), "step": done, "elapsed": time.perf_counter() - t0,
                    "config": cfg_json,
                }, tmp)
    bar.close()
    seconds = time.perf_counter() - t0
    with atomic_path(output) as tmp:
        torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, tmp)
    save_loss_plot(history, workdir / "loss.png")
    summary = {
        "config": asdict(cfg), "stacks": [s.name for s in stacks], "seconds": seconds,
        "final_validation_nll": history["val_nll"][-1], "initial_validation_nll": history["val_nll"][0],
        "history": history,
    }
    with atomic_path(workdir / "training.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
    return summary
