"""The configuration's settings sections as typed objects, their defaults from the schema
(:mod:`mtsar2sar.config.schema`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from mtsar2sar.config.schema import check_keys, with_defaults


@dataclass(frozen=True)
class CoregistrationSettings:
    """The ``coregistration`` section (:func:`mtsar2sar.coregistration.check_stack`'s keyword arguments)."""

    max_shift_px: float
    on_misregistered: str
    radiometric_outlier_db: float
    shift_window: int
    min_correlation: float
    shift_significance: float
    on_radiometric_outlier: str

    @classmethod
    def from_mapping(cls, given: Mapping[str, Any] | None) -> CoregistrationSettings:
        check_keys("coregistration", given or {})
        st = with_defaults("coregistration", given)
        return cls(**{f.name: st[f.name] for f in fields(cls)})

    def as_kwargs(self) -> dict[str, Any]:
        return asdict(self)


# The network settings that change a product's numbers (not where or how fast it is computed): recorded
# in every despeckled product (tags network_settings, settings_sha256).
RESULT_SETTINGS = ("weights", "level", "tile", "overlap", "debias", "self_ensemble")


@dataclass(frozen=True)
class NetworkSettings:
    """The ``network`` section, typed. ``base``: the folder a relative weights path is relative to (the
    working directory); ``dates_per_job`` (how dates are grouped into jobs) is the workflow's only."""

    weights: str
    level: float | None
    tile: int
    overlap: int
    batch: int
    device: str
    debias: bool
    threads: int
    self_ensemble: int
    precision: str = "float32"
    base: str = "."

    @classmethod
    def from_mapping(cls, given: Mapping[str, Any] | None) -> NetworkSettings:
        given = dict(given or {})
        check_keys("network", given, extra=("base",))
        given.pop("dates_per_job", None)
        st = with_defaults("network", given)
        level = st["level"]
        return cls(
            weights=str(st["weights"]),
            level=None if level is None else float(level),
            tile=int(st["tile"]),
            overlap=int(st["overlap"]),
            batch=int(st["batch"]),
            device=str(st["device"]),
            debias=bool(st["debias"]),
            threads=int(st["threads"]),
            self_ensemble=int(st["self_ensemble"]),
            precision=str(st["precision"]),
            base=str(st.get("base", ".")),
        )

    def resolved_precision(self) -> str:
        """The network's precision on this machine (``auto`` resolved for the device used)."""
        from mtsar2sar.network import select_device, select_precision

        return select_precision(self.precision, select_device(self.device))

    def result_settings(self) -> dict[str, Any]:
        """The settings that change the numbers, as recorded (a weights file by its name: its bytes are
        in the ``weights_sha256`` tag)."""
        used = {k: getattr(self, k) for k in RESULT_SETTINGS}
        precision = self.resolved_precision()
        if precision != "float32":  # float32 is not recorded: products of earlier versions keep their digest
            used["precision"] = precision
        if self.weights.endswith(".pt"):
            used["weights"] = Path(self.weights).name
        return used

    def tags(self) -> dict[str, str]:
        """``network_settings`` (JSON of :meth:`result_settings`) and its ``settings_sha256``: two
        products with the same digest and inputs were computed alike."""
        text = json.dumps(self.result_settings(), sort_keys=True)
        return {"network_settings": text, "settings_sha256": hashlib.sha256(text.encode()).hexdigest()}
