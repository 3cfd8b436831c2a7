"""An AOI of the configuration (``aois.<name>``), with its defaults, and where its dates are."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtsar2sar.errors import InputError
from mtsar2sar.layout import AoiFolder
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
        return AoiFolder.of(self.name, results).simulated_dir

    def date_files(self, results: str | Path = "results") -> dict[str, Path]:
        """Date key -> file of every date of the AOI (before the co-registration check)."""
        if self.simulate is not None:
            folder = AoiFolder.of(self.name, results)
            return {d: folder.noisy(d) for d in self.simulate.date_keys()}
        assert self.inputs is not None
        files = find_dates(self.inputs, self.date_regex)
        root = Path(results).resolve()
        for f in files.values():
            if f.resolve().is_relative_to(root):
                raise InputError(
                    f"{f}: an input of AOI {self.name!r} is under the results folder {results}, where the workflow"
                    " writes, replaces and removes files; keep the inputs elsewhere"
                )
        return files

    def shape(self, results: str | Path = "results") -> tuple[int, int]:
        """(height, width) of the AOI's grid: from the simulation settings, or the first date's file."""
        if self.simulate is not None:
            return self.simulate.height, self.simulate.width
        from mtsar2sar.io import read_grid

        return read_grid(next(iter(self.date_files(results).values()))).shape

    def truth_files(self, results: str | Path = "results") -> dict[str, Path]:
        """Date key -> truth file (empty when the AOI has no truth)."""
        if self.simulate is not None:
            folder = AoiFolder.of(self.name, results)
            return {d: folder.truth(d) for d in self.simulate.date_keys()}
        if self.truth is None:
            return {}
        truth = find_dates(self.truth, self.date_regex)
        missing = sorted(set(self.date_files(results)) - set(truth))
        if missing:
            raise InputError(
                f"truth: {self.truth!r} has no file for the date(s) {', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''} of the inputs (its keys, by date_regex: {', '.join(list(truth)[:5])})"
            )
        return truth

    def read_domain(self) -> str:
        return "intensity" if self.simulated else self.input_domain
