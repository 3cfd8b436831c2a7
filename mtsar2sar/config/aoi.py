"""An AOI of the configuration (``aois.<name>``), with its defaults, and where its dates are."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mtsar2sar.dates import Dates, date_rules, discover, read_looks
from mtsar2sar.errors import InputError
from mtsar2sar.layout import AoiFolder
from mtsar2sar.layouts import layout, layout_pattern
from mtsar2sar.simulate import SimulationConfig

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
    date_format: str | None = None
    date_source: str = "auto"
    dates: Any = None  # a table: a mapping path -> date, or a CSV file's path
    layout: str | None = None
    # (date_regex, date_format) tried in order: the AOI's own, else its layout's
    date_rules: tuple[tuple[str, str | None], ...] = field(default=((DEFAULT_DATE_REGEX, None),))
    looks_given: bool = True  # looks given by the AOI (else: its layout's, its metadata's, or the default)
    domain_given: bool = True  # input_domain given by the AOI (else: its layout's, or the default)

    @classmethod
    def from_config(cls, name: str, d: dict[str, Any]) -> AoiSpec:
        """The AOI of the keys ``d`` as the user gave them (a layout's values under the keys not given; the
        schema's defaults under the others)."""
        sim = SimulationConfig.from_dict(d["simulate"]) if "simulate" in d else None
        preset = layout(d["layout"]) if d.get("layout") else None
        inputs = d.get("inputs")
        date_format = d.get("date_format")
        if "date_regex" in d or "date_format" in d or preset is None:
            rules = tuple(date_rules(d.get("date_regex"), date_format))
        else:
            rules = preset.date_rules
        domain = d.get("input_domain")
        looks = d.get("looks", sim.looks if sim else None)
        return cls(
            name=name,
            simulate=sim,
            inputs=inputs,
            date_regex=rules[0][0],
            input_domain=domain or "intensity",
            band=d.get("band"),
            looks=float(looks if looks is not None else 1.0),
            truth=d.get("truth"),
            date_format=date_format,
            date_source=d.get("date_source", "auto"),
            dates=d.get("dates"),
            layout=preset.name if preset else None,
            date_rules=rules,
            looks_given=looks is not None,
            domain_given=domain is not None,
        )

    @property
    def simulated(self) -> bool:
        return self.simulate is not None

    def simulated_dir(self, results: str | Path = "results") -> Path:
        return AoiFolder.of(self.name, results).simulated_dir

    def pattern(self, base: str | Path = ".") -> str:
        """The glob of the AOI's files: ``inputs``, or with a layout and a folder as inputs, the layout's
        pattern in that folder."""
        assert self.inputs is not None
        root = Path(self.inputs) if Path(self.inputs).is_absolute() else Path(base) / self.inputs
        if self.layout is not None and root.is_dir():
            return layout_pattern(layout(self.layout), self.inputs, base)
        return self.inputs

    def find_dates(self, results: str | Path = "results", base: str | Path = ".") -> Dates:
        """Date key -> file of every date of the AOI (before the co-registration check), and where each date
        came from (none for a simulated AOI)."""
        if self.simulate is not None:
            folder = AoiFolder.of(self.name, results)
            return Dates({d: folder.noisy(d) for d in self.simulate.date_keys()})
        found = discover(self.pattern(base), date_format=self.date_format, date_source=self.date_source,
                         table=self.dates, base=base, rules=self.date_rules, split_bands=self.band is None)
        root = (Path(base) / results).resolve()
        for f in found.files.values():
            if f.resolve().is_relative_to(root):
                raise InputError(
                    f"{f}: an input of AOI {self.name!r} is under the results folder {results}, where the workflow"
                    " writes, replaces and removes files; keep the inputs elsewhere"
                )
        return self.band_files(found, results, base)

    def band_files(self, found: Dates, results: str | Path = "results", base: str | Path = ".",
                   folder: str = "bands") -> Dates:
        """``found`` with, for one multi-band file (a band per date), each date's band as a file of its own: a
        GDAL VRT of that band, ``results/<aoi>/<folder>/<date>.vrt`` (written when it changes), which every
        step then reads as a single-band date; ``found`` itself otherwise."""
        if not found.bands:
            return found
        from mtsar2sar.io import write_band_vrt

        out = Path(base) / results / self.name / folder
        files = {}
        for key, band in found.bands.items():
            files[key] = out / f"{key}.vrt"
            write_band_vrt(found.files[key], band, files[key])
        return replace(found, files=files)

    def date_files(self, results: str | Path = "results") -> dict[str, Path]:
        """Date key -> file of every date of the AOI (before the co-registration check)."""
        return self.find_dates(results).files

    def resolved(self, files: dict[str, Path]) -> AoiSpec:
        """The AOI with what its layout says of its files (``files``: its dates) where the AOI does not say
        it: the domain and looks by the first file's name, else the looks of its metadata (SNAP's DIMAP);
        an error when the layout reads the looks there and they are not there."""
        if self.layout is None or not files or (self.looks_given and self.domain_given):
            return self
        preset, first = layout(self.layout), next(iter(files.values()))
        domain = self.input_domain if self.domain_given else preset.domain_of(first.name)
        looks: float | None = self.looks if self.looks_given else preset.looks_of(first.name)
        if looks is None and preset.looks_from_metadata:
            found = read_looks(first)
            if found is None:
                raise InputError(f"{first}: AOI {self.name!r} (layout {self.layout}): no number of looks in its"
                                 " metadata (tags LOOKS, NUMBER_OF_LOOKS, DIMAP azimuth_looks x range_looks); set"
                                 " looks: in the AOI")
            looks = found[0]
        return replace(self, input_domain=domain, looks=self.looks if looks is None else float(looks),
                       looks_given=looks is not None, domain_given=True)

    def shape(self, results: str | Path = "results") -> tuple[int, int]:
        """(height, width) of the AOI's grid: from the simulation settings, or the first date's file."""
        if self.simulate is not None:
            return self.simulate.height, self.simulate.width
        from mtsar2sar.io import read_grid

        return read_grid(next(iter(self.date_files(results).values()))).shape

    def truth_files(self, results: str | Path = "results", base: str | Path = ".") -> dict[str, Path]:
        """Date key -> truth file (empty when the AOI has no truth); relative paths against ``base``."""
        if self.simulate is not None:
            folder = AoiFolder.of(self.name, results)
            return {d: folder.truth(d) for d in self.simulate.date_keys()}
        if self.truth is None:
            return {}
        truth = self.band_files(discover(self.truth, date_format=self.date_format, date_source=self.date_source,
                                         rules=self.date_rules, base=base, split_bands=self.band is None,
                                         key="truth"),
                                results, base, "bands/truth").files
        missing = sorted(set(self.find_dates(results, base).files) - set(truth))
        if missing:
            raise InputError(
                f"truth: {self.truth!r} has no file for the date(s) {', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''} of the inputs (its keys, by date_regex: {', '.join(list(truth)[:5])})"
            )
        return truth

    def read_domain(self) -> str:
        return "intensity" if self.simulated else self.input_domain
