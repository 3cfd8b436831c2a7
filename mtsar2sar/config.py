"""AOI settings of the configuration, with their defaults, and where each AOI's dates are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtsar2sar.simulate import SimulationConfig
from mtsar2sar.stack import find_dates

DEFAULT_DATE_REGEX = r"(\d{8})"


@dataclass(frozen=True)
class AoiSpec:
    name: str
    simulate: SimulationConfig | None
    inputs: str | None
    date_regex: str
    input_domain: str
    band: int | None
    looks: float
    truth: str | None

    @classmethod
    def from_config(cls, name: str, d: dict[str, Any]) -> AoiSpec:
        sim = SimulationConfig.from_dict(d["simulate"]) if "simulate" in d else None
        looks = float(d.get("looks", sim.looks if sim else 1.0))
        return cls(
            name=name,
            simulate=sim,
            inputs=d.get("inputs"),
            date_regex=d.get("date_regex", DEFAULT_DATE_REGEX),
            input_domain=d.get("input_domain", "intensity"),
            band=d.get("band"),
            looks=looks,
            truth=d.get("truth"),
        )

    @property
    def simulated(self) -> bool:
        return self.simulate is not None

    def simulated_dir(self, results: str | Path = "results") -> Path:
        return Path(results) / self.name / "simulated"

    def date_files(self, results: str | Path = "results") -> dict[str, Path]:
        """Date key -> file of every date of the AOI (before the co-registration check)."""
        if self.simulate is not None:
            base = self.simulated_dir(results) / "noisy"
            return {d: base / f"{d}.tif" for d in self.simulate.date_keys()}
        assert self.inputs is not None
        return find_dates(self.inputs, self.date_regex)

    def truth_files(self, results: str | Path = "results") -> dict[str, Path]:
        """Date key -> truth file (empty when the AOI has no truth)."""
        if self.simulate is not None:
            base = self.simulated_dir(results) / "truth"
            return {d: base / f"{d}.tif" for d in self.simulate.date_keys()}
        if self.truth is None:
            return {}
        return find_dates(self.truth, self.date_regex)

    def read_domain(self) -> str:
        return "intensity" if self.simulated else self.input_domain
