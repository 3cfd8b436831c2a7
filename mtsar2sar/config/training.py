"""The settings of a training run (``training.models.<name>``, ``training.aoi_model``), validated."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

# The options each kind of training target owns (:mod:`mtsar2sar.training.targets` builds its targets
# from them): an option of another target than the chosen one is an error, not silently ignored.
TARGET_OPTIONS: dict[str, frozenset[str]] = {
    "pair": frozenset(),
    "stable_mean": frozenset(),
    "compensated_mean": frozenset({"pre_estimator", "pre_denoiser", "compensation_gate_db", "pre_neighbour_share",
                                   "pre_neighbour_db", "compensation_weight_db"}),
}


@dataclass(frozen=True)
class TrainingConfig:
    domain: str = "ratio"  # ratio | image | both (each stack twice: ratios and images)
    init: str = "sar2sar-grd"  # sar2sar-grd | scratch | path to a state dict
    steps: int = 3000
    patch: int = 96
    batch: int = 8
    lr: float = 3e-4
    lr_milestones: tuple[int, ...] = (2000,)
    lr_gamma: float = 0.3
    seed: int = 0
    looks: float = 1.0
    level: float = 1e4
    change_window: int = 7
    change_threshold_db: float = 3.0
    change_patch_share: float = 0.3
    change_patch_departure_db: float | None = None  # centre change patches on dates departing from their mean
    targets: str = "pair"  # pair | stable_mean | compensated_mean
    pre_estimator: str = ""  # compensated_mean: "rabasar", or weights of the pre-estimates (default: init)
    pre_denoiser: str = "dct"  # pre_estimator rabasar: MuLoG's Gaussian denoiser (dct | bm3d)
    compensation_gate_db: tuple[float, float] | None = None  # compensate only changes above (soft ramp, dB)
    pre_neighbour_share: float = 0.0  # share of x_i taken from the pre-estimates of dates i - 1 and i + 1
    pre_neighbour_db: float | None = None  # ... scaled down where a neighbour's state differs (5 x 5 rms, dB)
    compensation_weight_db: float | None = None  # weight dates j by how close their state is to date i's (dB)
    synthetic_change_share: float = 0.0  # share of patches given a synthetic change (see change_field)
    synthetic_change_db: float = 6.0  # standard deviation of the synthetic changes' gains, dB
    validation_dates: int = 2
    checkpoint_every: int = 250
    validate_every: int = 250
    threads: int = 2
    device: str = "cpu"  # cpu | cuda | auto (CUDA when present); same seed, same device: same weights

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainingConfig:
        """The config of a training model; every error names the setting. An option that does nothing
        with the chosen ``targets`` (and a few more that depend on another setting) is an error, not
        silently ignored: each target type owns its options (``TARGET_OPTIONS``)."""
        d = dict(d)
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"training: unknown setting(s) {', '.join(unknown)}")
        targets = d.get("targets", cls.targets)
        if targets not in TARGET_OPTIONS:
            raise ValueError(f"training: targets must be one of {', '.join(TARGET_OPTIONS)}, got {targets!r}")
        owned = set().union(*TARGET_OPTIONS.values())
        foreign = sorted(k for k in owned if k in d and k not in TARGET_OPTIONS[targets])
        if foreign:
            owners = {k: [n for n, opts in TARGET_OPTIONS.items() if k in opts] for k in foreign}
            raise ValueError("training: " + "; ".join(
                f"{k} does nothing with targets: {targets} (it is an option of targets: {', '.join(owners[k])})"
                for k in foreign))
        for key, needs, ok in DEPENDENT_OPTIONS:
            if key in d and not ok(d):
                raise ValueError(f"training: {key} does nothing unless {needs}")
        if "lr_milestones" in d:
            d["lr_milestones"] = tuple(d["lr_milestones"])
        if d.get("compensation_gate_db") is not None:
            lo, hi = (float(x) for x in d["compensation_gate_db"])
            if not 0 <= lo < hi:
                raise ValueError(f"training: compensation_gate_db must be [low, high] with 0 <= low < high dB, got {[lo, hi]}")
            d["compensation_gate_db"] = (lo, hi)
        if not 0 <= float(d.get("pre_neighbour_share", 0.0)) <= 1:
            raise ValueError(f"training: pre_neighbour_share must be in [0, 1], got {d['pre_neighbour_share']}")
        for key in ("pre_neighbour_db", "compensation_weight_db", "change_patch_departure_db"):
            if d.get(key) is not None and not float(d[key]) > 0:
                raise ValueError(f"training: {key} must be a positive number of dB, got {d[key]}")
        return cls(**d)


# Options that do nothing unless another setting makes them act: (option, what it needs, test).
DEPENDENT_OPTIONS: tuple[tuple[str, str, Callable[[dict[str, Any]], bool]], ...] = (
    ("pre_denoiser", "pre_estimator: rabasar", lambda d: d.get("pre_estimator") == "rabasar"),
    ("pre_neighbour_db", "pre_neighbour_share > 0", lambda d: float(d.get("pre_neighbour_share", 0.0)) > 0),
    ("change_patch_departure_db", "change_patch_share > 0", lambda d: float(d.get("change_patch_share", 0.3)) > 0),
    ("synthetic_change_db", "synthetic_change_share > 0", lambda d: float(d.get("synthetic_change_share", 0.0)) > 0),
    ("lr_gamma", "lr_milestones is not empty", lambda d: bool(d.get("lr_milestones", (2000,)))),
)


# The AOI's own network (``training.aoi_model``, rule ``train_aoi``, ``network.weights: aoi``): a short
# fine-tune of the weights ``auto`` picks for the AOI, in the ratio domain, on the AOI's own dates.
AOI_MODEL_DEFAULTS: dict[str, Any] = {
    "init": "auto", "domain": "ratio", "targets": "compensated_mean", "pre_estimator": "rabasar",
    "pre_denoiser": "dct", "compensation_weight_db": 1.3, "pre_neighbour_share": 1.0, "pre_neighbour_db": 1.74,
    "steps": 200, "patch": 96, "batch": 8, "lr": 1e-4, "lr_milestones": [150], "seed": 0, "validate_every": 100,
}


def aoi_model_settings(user: dict[str, Any], looks: float) -> dict[str, Any]:
    """The training settings of an AOI's own network: the defaults, the user's ``training.aoi_model``
    over them, ``init: auto`` resolved for the AOI's ``looks`` and the loss at those looks."""
    from mtsar2sar.network import auto_weights

    if "aois" in user:
        raise ValueError("training.aoi_model: 'aois' is not a setting here (the model is trained on its own AOI)")
    st = {**AOI_MODEL_DEFAULTS, **user}
    if st["init"] == "auto":
        st["init"] = auto_weights(looks)
    st.setdefault("looks", looks)
    TrainingConfig.from_dict(st)  # fails here, naming the setting, rather than in the job
    return st
