"""AOI settings of the configuration, with their defaults, and where each AOI's dates are."""

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


def config_errors(config: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Every schema violation of ``config`` as one line naming the key (dotted path) and the problem;
    an unknown key comes with the closest allowed key, when there is one."""
    import difflib

    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        if err.validator == "additionalProperties":
            allowed = list(err.schema.get("properties", {}))
            extra = sorted(set(err.instance) - set(allowed))
            for key in extra:
                path = f"{where}.{key}" if err.absolute_path else key
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else (f"; allowed: {', '.join(allowed)}" if allowed else "")
                messages.append(f"config: {path}: unknown key{hint}")
        elif err.validator == "oneOf" and where == "super_image.enl":
            messages.append(f"config: super_image.enl: {err.instance!r} must be auto or a number of looks, at least 1")
        elif err.validator == "oneOf" and where.startswith("aois.") and "." not in where[5:]:
            messages.append(f"config: {where}: give either 'simulate' or 'inputs' (not both, not neither)")
        elif err.validator == "oneOf" and all(describe_schema(sub) for sub in err.validator_value):
            expected = " or ".join(describe_schema(sub) for sub in err.validator_value)
            messages.append(f"config: {where}: {err.instance!r} is not valid; expected {expected}")
        else:
            messages.append(f"config: {where}: {err.message}")
    return messages


def describe_schema(sub: dict[str, Any]) -> str:
    """A short description of a simple schema (for the alternatives of a ``oneOf``): ``auto``, ``null``,
    ``an integer >= 1``, ``a list of 2 texts``...; empty when the schema is not that simple."""
    if "const" in sub:
        return str(sub["const"])
    kind = sub.get("type")
    if kind == "null":
        return "null"
    if kind == "boolean":
        return "true or false"
    bounds = [f">= {sub['minimum']}" if "minimum" in sub else "", f"> {sub['exclusiveMinimum']}" if "exclusiveMinimum" in sub else ""]
    bound = " ".join(b for b in bounds if b)
    if kind in ("integer", "number"):
        return f"{'an integer' if kind == 'integer' else 'a number'}{' ' + bound if bound else ''}"
    if kind == "array":
        items = "texts" if sub.get("items") == {"type": "string"} else "items"
        n = sub.get("minItems")
        return f"a list of {n} {items}" if n is not None and n == sub.get("maxItems") else f"a list of {items}"
    return ""


def non_finite(value: Any, where: str = "") -> list[tuple[str, float]]:
    """(dotted key, value) of every NaN or infinite number in a configuration (YAML's .nan and .inf pass
    the schema's minimum and maximum tests)."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return [(where or "(top level)", value)]
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in non_finite(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in non_finite(v, f"{where}[{i}]")]
    return []


def semantic_errors(config: dict[str, Any]) -> list[str]:
    """Problems the schema cannot express: settings that are valid alone but not together."""
    from mtsar2sar.settings import with_defaults

    messages = [f"config: {where}: {value} is not a finite number" for where, value in non_finite(config)]
    net = config.get("network") or {}
    full = with_defaults("network", net)
    tile, overlap = full["tile"], full["overlap"]
    if isinstance(tile, int) and isinstance(overlap, int) and overlap >= tile:
        given = "network.overlap" if "overlap" in net else "network.overlap (default)"
        messages.append(f"config: {given}: {overlap} must be smaller than network.tile ({tile})")
    return messages


def validate_config(config: dict[str, Any], schema_path: str | Path) -> None:
    """Raise :class:`InputError` listing every problem of ``config`` against the YAML schema."""
    import yaml

    from mtsar2sar.errors import InputError

    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = config_errors(config, schema) + semantic_errors(config)
    if errors:
        raise InputError("invalid configuration:\n  " + "\n  ".join(errors))
