"""Training data from the workflow's AOIs: their kept dates and filtered super-images read into
memory, the pre-estimates of ``compensated_mean`` targets, and the ``train`` rule's step."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mtsar2sar.config import TrainingConfig
from mtsar2sar.enl import estimate_enl
from mtsar2sar.errors import InputError
from mtsar2sar.io import read_intensity, read_product
from mtsar2sar.logs import log
from mtsar2sar.plan import kept_dates
from mtsar2sar.training.data import Stack, prepare_stack


def rabasar_pre_estimator(
    super_image: NDArray[np.floating], domain: str, looks: float, denoiser: str
) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
    """RABASAR (MuLoG on the ratio to the filtered super-image, the ``methods`` rule's ``rabasar``)
    as the pre-estimator of ``compensated_mean`` targets, for images of the training ``domain``.

    Its estimates are independent of the network being trained and keep temporal changes (their
    PSNR on changed pixels is as high as on stable ones), which is what the compensation needs."""
    from mtsar2sar.denoisers import get_denoiser
    from mtsar2sar.despeckle import geometric_mean
    from mtsar2sar.methods import rabasar_ratio

    s_norm = np.asarray(super_image, dtype=np.float64)
    s_norm = s_norm / geometric_mean(s_norm)
    looks_super = estimate_enl(super_image).enl  # on the filtered super-image, as the methods rule
    den = get_denoiser(denoiser)

    def estimate(img: NDArray[np.float64]) -> NDArray[np.float64]:
        if domain == "ratio":
            return np.asarray(rabasar_ratio(img, looks, looks_super, den), dtype=np.float64)
        return np.asarray(rabasar_ratio(img / s_norm, looks, looks_super, den), dtype=np.float64) * s_norm

    return estimate


def train_model_settings(settings: Mapping[str, Any]) -> TrainingConfig:
    """The training config of a model's settings (its ``aois`` aside)."""
    return TrainingConfig.from_dict({k: v for k, v in settings.items() if k != "aois"})


@dataclass(frozen=True)
class TrainingArrays:
    """One AOI's training data in memory: its kept dates (intensity) and filtered super-image."""

    name: str
    dates: list[NDArray[np.floating]]
    super_image: NDArray[np.floating]
    looks: float


def training_stacks(
    aois: Iterable[TrainingArrays], cfg: TrainingConfig, base: str | Path = "."
) -> tuple[list[Stack], TrainingConfig]:
    """The training stacks of ``aois`` (pre-estimates of ``compensated_mean`` targets included), and the
    config with its patch reduced where an AOI is smaller than a patch."""
    from dataclasses import replace

    network_pre: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None = None
    if cfg.targets == "compensated_mean":
        log.info("pre-estimates by %s", cfg.pre_estimator or cfg.init)
        if cfg.pre_estimator != "rabasar":  # a previous model, applied as at inference
            import torch

            from mtsar2sar.despeckle import NetworkDenoiser
            from mtsar2sar.network import load_network

            torch.set_num_threads(cfg.threads)
            network_pre = NetworkDenoiser(load_network(cfg.pre_estimator or cfg.init, base), level=cfg.level)
    stacks = []
    for a in aois:
        side = min(a.super_image.shape) // 32 * 32
        if side < cfg.patch:
            if side < 32:
                raise InputError(f"training: AOI {a.name!r} is {a.super_image.shape[0]} x {a.super_image.shape[1]} px, "
                                 "smaller than the network's smallest patch (32 x 32)")
            log.warning("training patches reduced from %d to %d px: AOI %s is %d x %d px", cfg.patch, side, a.name,
                        *a.super_image.shape)
            cfg = replace(cfg, patch=side)
        for domain in ("ratio", "image") if cfg.domain == "both" else (cfg.domain,):
            pre = network_pre
            if cfg.targets == "compensated_mean" and cfg.pre_estimator == "rabasar":
                pre = rabasar_pre_estimator(a.super_image, domain, a.looks, cfg.pre_denoiser)
            stacks.append(prepare_stack(f"{a.name}:{domain}", a.dates, a.super_image, cfg, domain, pre))
        log.info("prepared %s: %d dates (%d for validation)", a.name, len(a.dates), len(stacks[-1].val_dates))
    return stacks, cfg


def train_model(
    aois: Mapping[str, Mapping[str, Any]], settings: Mapping[str, Any], output: str | Path, workdir: str | Path,
    base: str | Path = ".",
) -> dict[str, Any]:
    """Train a network on the kept dates of ``aois`` (name -> files, domain, band, coregistration, super_image)."""
    from mtsar2sar.training.loop import fmt_nll, train

    cfg = train_model_settings(settings)
    arrays = []
    for name, a in aois.items():
        dates = kept_dates(a["coregistration"])
        imgs = [read_intensity(a["files"][d], a["domain"], a.get("band"))[0] for d in dates]
        s, _ = read_product(a["super_image"])
        arrays.append(TrainingArrays(name, imgs, s, float(a.get("looks", cfg.looks))))
    stacks, cfg = training_stacks(arrays, cfg, base)
    summary = train(stacks, cfg, output, workdir, base)
    log.info("trained in %.0f s; validation NLL %s -> %s", summary["seconds"],
             fmt_nll(summary["initial_validation_nll"]), fmt_nll(summary["final_validation_nll"]))
    return summary
