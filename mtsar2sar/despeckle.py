"""Despeckling of one date by the ratio to the normalized super-image.

    s' = s / lambda,   lambda = exp(mean(log s))        (over valid pixels)
    tau' = w / s'                                       (ratio, at the scene's level lambda)
    tau_hat' = D(tau')                                  (a despeckler of intensity images)
    w_hat = tau_hat' * s'

The ratio and the product are formed in float64, so with an identity ``D`` the output equals the
input exactly on valid pixels. Pixels invalid in ``w`` or ``s`` are NaN in the output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from mtsar2sar.config import NetworkSettings
from mtsar2sar.hostmemory import keep_freed_blocks
from mtsar2sar.logs import log
from mtsar2sar.network import (
    AMPLITUDE_EPS,
    LOG_AMPLITUDE_MAX,
    LOG_AMPLITUDE_MIN,
    SAR2SARUNet,
    SelfEnsemble,
    native_bfloat16,
    select_precision,
    with_precision,
)
from mtsar2sar.tiling import RowSink, RowSource, tiled_apply, tiled_apply_rows

IntensityDenoiser = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def geometric_mean_of(blocks: Iterable[NDArray[np.floating]]) -> float:
    """``exp(mean(log x))`` over the finite, positive pixels of all ``blocks`` (an image read by parts)."""
    total, count = 0.0, 0
    for block in blocks:
        x = np.asarray(block, dtype=np.float64)
        x = x[np.isfinite(x) & (x > 0)]
        total += float(np.log(x).sum())
        count += x.size
    if count == 0:
        raise ValueError("no valid pixel to normalize by")
    return float(np.exp(total / count))


def geometric_mean(image: NDArray[np.floating]) -> float:
    """``exp(mean(log x))`` over the finite, positive pixels."""
    return geometric_mean_of([image])


def ratio_of(
    date: NDArray[np.floating], super_image: NDArray[np.floating], lam: float
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]]:
    """``tau' = w / s'`` with ``s' = s / lam`` (``lam`` where either is invalid), the valid mask, and ``s'``."""
    s = np.asarray(super_image, dtype=np.float64)
    w = np.asarray(date, dtype=np.float64)
    valid = np.isfinite(w) & (w > 0) & np.isfinite(s) & (s > 0)
    s_norm = s / lam
    tau = np.where(valid, w / np.where(valid, s_norm, 1.0), lam)  # invalid pixels: neutral ratio level
    return tau, valid, s_norm


@dataclass(frozen=True)
class RatioResult:
    despeckled: NDArray[np.float32]
    ratio: NDArray[np.float32]
    ratio_despeckled: NDArray[np.float32]
    lam: float


def despeckle_by_ratio(
    date: NDArray[np.floating], super_image: NDArray[np.floating], denoiser: IntensityDenoiser, lam: float | None = None,
    debias: bool = True,
) -> RatioResult:
    """Apply the ratio chain to one date (see module doc). ``lam`` defaults to the super-image's geometric
    mean. ``debias``: correct ``tau_hat'`` region by region so that it keeps the local mean of ``tau'``
    (the noisy ratio is an unbiased estimate of the true one; :func:`mtsar2sar.debias.regional_debias`)."""
    from mtsar2sar.debias import OverallFactor, regional_debias

    lam = geometric_mean(super_image) if lam is None else lam
    tau, valid, s_norm = ratio_of(date, super_image, lam)
    tau_hat = denoiser(tau)
    if debias and valid.any():
        overall = OverallFactor()
        overall.add(tau, tau_hat, valid)
        tau_hat = regional_debias(tau, tau_hat, valid, overall)
    w_hat = np.where(valid, tau_hat * s_norm, np.nan)
    return RatioResult(
        despeckled=w_hat.astype(np.float32),
        ratio=np.where(valid, tau, np.nan).astype(np.float32),
        ratio_despeckled=np.where(valid, tau_hat, np.nan).astype(np.float32),
        lam=lam,
    )


def normalize_log_amplitude(intensity: NDArray[np.floating]) -> NDArray[np.float32]:
    """Network input: ``(log A - m) / (M - m)`` with ``A = sqrt(w)``."""
    log_a = np.log(np.sqrt(np.asarray(intensity, dtype=np.float64)) + AMPLITUDE_EPS)
    return ((log_a - LOG_AMPLITUDE_MIN) / (LOG_AMPLITUDE_MAX - LOG_AMPLITUDE_MIN)).astype(np.float32)


def clip_to_level(intensity: NDArray[np.floating], level: float | None, clip_db: float | None) -> NDArray[np.floating]:
    """Clip an image at the network's working ``level`` to ``level`` x 10^(+-``clip_db`` / 10): the U-Net
    sees the whole image, and one pixel tens of dB outside the range it was trained on (an undeclared
    fill value, a corrupt pixel, a near-zero ratio under an outlier of the super-image) otherwise
    changes its output hundreds of pixels away (+80 dB in one date moved 4,089 of 4,096 pixels of
    another). Measured on the demo_1look date 1 (validation): +-30 dB cost 0.08 dB PSNR log and 0.27 dB
    in amplitude (single-look ratios reach it), +-40 dB nothing; with it the +80 dB pixel moves 1
    (sar2sar-s1) to 5 (sar2sar-ml) pixels by more than 1 dB. Off when ``level`` or ``clip_db`` is None."""
    if level is None or clip_db is None:
        return intensity
    f = 10.0 ** (clip_db / 10.0)
    return np.clip(intensity, level / f, level * f)


def denormalize_to_intensity(x: NDArray[np.floating]) -> NDArray[np.float64]:
    """Inverse of :func:`normalize_log_amplitude`, back to intensity ``A**2``."""
    log_a = np.asarray(x, dtype=np.float64) * (LOG_AMPLITUDE_MAX - LOG_AMPLITUDE_MIN) + LOG_AMPLITUDE_MIN
    return np.exp(2.0 * log_a)


@dataclass
class NetworkDenoiser:
    """SAR2SAR on an intensity image, brought to the network's working ``level`` first.

    The published weights behave well only for amplitudes of about 30 to 1000 (Sentinel-1 digital
    numbers). The image is multiplied by ``level / geometric_mean(image)`` before the network and
    divided by the same gain after, so the network always sees the same radiometric level whatever
    the unit of the data (digital numbers, linear sigma0/gamma0): this makes the chain scale
    equivariant. ``level=None`` feeds the image as it is.
    """

    net: SAR2SARUNet | torch.nn.Module
    level: float | None = 1e4
    tile: int = 768
    overlap: int = 128
    batch: int = 1
    device: torch.device | str = "cpu"
    progress: bool = False
    channels_last: bool = True  # 1.6x faster convolutions on CPU (benchmarks/speed.py), same output to 1e-6
    clip_db: float | None = 40.0  # input clipped to level x 10^(+-clip_db/10): see clip_to_level
    self_ensemble: int = 1  # 1, 2, 4 or 8 flips/rotations averaged (network.SelfEnsemble)
    precision: str = "auto"  # float32 | bfloat16 (the U-Net's inner layers) | auto (network.select_precision)

    def __post_init__(self) -> None:
        if self.self_ensemble != 1:
            self.net = SelfEnsemble(self.net, self.self_ensemble)
        if self.channels_last:
            # Module.to(memory_format=...) is documented and works; torch's typed overloads of .to omit it
            self.net = self.net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        keep_freed_blocks()  # host buffers (the layers' outputs on a CPU, the bands read and written) reused
        device = torch.device(self.device)
        self.precision = select_precision(self.precision, device)
        if self.precision == "bfloat16" and device.type == "cpu" and not native_bfloat16(device):
            log.warning("network.precision: bfloat16 on a CPU without bfloat16 units is emulated, about 100x slower"
                        " than float32; use auto or float32")
        self.net = with_precision(self.net, self.precision)

    def gain(self, geometric_mean_value: float) -> float:
        """The factor that brings an image of this geometric mean to the working level."""
        return 1.0 if self.level is None else self.level / geometric_mean_value

    def __call__(self, intensity: NDArray[np.float64]) -> NDArray[np.float64]:
        gain = self.gain(geometric_mean(intensity))
        x = normalize_log_amplitude(clip_to_level(intensity * gain, self.level, self.clip_db))
        y = tiled_apply(self.net, x, self.tile, self.overlap, self.batch, self.device, self.progress, self.channels_last)
        return denormalize_to_intensity(y) / gain

    def stream(self, source: RowSource, height: int, width: int, sink: RowSink, gain: float) -> None:
        """The same on an image read and written by bands of rows (``gain`` from a first pass)."""
        tiled_apply_rows(
            self.net,
            lambda r0, r1: normalize_log_amplitude(clip_to_level(source(r0, r1) * gain, self.level, self.clip_db)),
            height, width,
            lambda r0, r1, y: sink(r0, r1, denormalize_to_intensity(y) / gain),
            self.tile, self.overlap, self.batch, self.device, self.progress, self.channels_last,
        )


def identity_denoiser(intensity: NDArray[np.float64]) -> NDArray[np.float64]:
    """A denoiser that returns its input (tests, and the ratio chain's identities)."""
    return np.array(intensity, dtype=np.float64, copy=True)


def build_denoiser(settings: Mapping[str, Any], looks: float | None = None, progress: bool = True) -> NetworkDenoiser:
    """The SAR2SAR denoiser described by the ``network`` settings (``weights: auto`` picks by ``looks``;
    a key not given takes the schema's default)."""
    from mtsar2sar.network import load_network, select_device

    st = NetworkSettings.from_mapping(settings)
    torch.set_num_threads(st.threads)
    device = select_device(st.device)
    net = load_network(st.weights, st.base, looks).to(device)
    return NetworkDenoiser(net, level=st.level, tile=st.tile, overlap=st.overlap, batch=st.batch, device=device,
                           progress=progress, self_ensemble=st.self_ensemble, precision=st.precision)
