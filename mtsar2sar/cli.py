"""The ``mtsar2sar`` command: the workflow (``run``) and one date (``despeckle``) from an installed package.

    mtsar2sar --version
    mtsar2sar run CONFIG [--directory DIR] [--cores N] [snakemake options...]
    mtsar2sar despeckle DATE.tif --super SUPER.tif -o OUT.tif [--weights auto] [--looks L] [--device auto]

``run`` runs the Snakemake workflow shipped inside the package (``mtsar2sar/workflow_files/`` of an
installed wheel, the repository's top level in a checkout) with Snakemake's own command line, in a
subprocess. ``despeckle`` is the workflow's ``despeckle`` step (:func:`mtsar2sar.steps.despeckle`)
on one date: the same bytes and tags as the workflow's product for that date, written atomically.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import math
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from mtsar2sar.config import defaults
from mtsar2sar.errors import InputError
from mtsar2sar.resources import workflow_dir

WORKFLOW_EXTRA = 'pip install "mtsar2sar[workflow]"'


def missing_workflow_modules() -> list[str]:
    """The modules of the ``workflow`` extra that ``mtsar2sar run`` needs and are not installed."""
    return [m for m in ("snakemake", "jsonschema") if importlib.util.find_spec(m) is None]


# Options after which Snakemake does not need our default `--cores all`: a profile or an executor sets
# its own cores / jobs (a command-line --cores would override the profile's).
_SCHEDULING_OPTIONS = ("--cores", "-c", "--jobs", "-j", "--profile", "--executor", "-e", "--workflow-profile")


def _given(extra: Sequence[str], options: Sequence[str]) -> bool:
    return any(a == o or a.startswith(o + "=") or (len(o) == 2 and a.startswith(o) and not a.startswith("--"))
               for a in extra for o in options)


def shipped_profile(extra: list[str]) -> list[str]:
    """``--profile local`` / ``--profile slurm``: the profiles shipped with the workflow, unless a folder of
    that name exists in the working directory (Snakemake's own lookup then applies)."""
    out = list(extra)
    for i, a in enumerate(out):
        value_at = i + 1 if a == "--profile" else (i if a.startswith("--profile=") else None)
        if value_at is None or value_at >= len(out):
            continue
        name = out[value_at].split("=", 1)[1] if value_at == i else out[value_at]
        shipped = workflow_dir() / "profiles" / name
        if "/" not in name and not Path(name).exists() and shipped.is_dir():
            out[value_at] = f"--profile={shipped}" if value_at == i else str(shipped)
    return out


def snakemake_command(config: Path, directory: Path, cores: str | None, extra: Sequence[str]) -> list[str]:
    """The Snakemake command line of ``mtsar2sar run``."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(workflow_dir() / "Snakefile"),
           "--configfile", str(config), "--directory", str(directory)]
    if cores is not None:
        cmd += ["--cores", cores]
    elif not _given(extra, _SCHEDULING_OPTIONS):
        cmd += ["--cores", "all"]
    return cmd + shipped_profile(list(extra))


def check_yaml_mapping(path: Path) -> None:
    """The configuration file parses as YAML into a mapping; else an error naming the file (and the line)."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}: not valid YAML{where}: {problem}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text file (give the configuration YAML file)") from None
    if data is None:
        raise InputError(f"{path}: empty; a configuration sets at least 'aois' (see config.yaml)")
    if not isinstance(data, dict):
        raise InputError(f"{path}: its top level is a {type(data).__name__}, not a mapping of settings (aois: ...)")


def cmd_run(args: argparse.Namespace, extra: list[str]) -> int:
    config = Path(args.config).expanduser().resolve()
    if not config.is_file():
        raise InputError(f"{args.config}: configuration file not found" if not config.exists()
                         else f"{args.config}: not a file (give the configuration YAML file)")
    check_yaml_mapping(Path(args.config))
    directory = Path(args.directory).expanduser().resolve() if args.directory else Path.cwd()
    if not directory.is_dir():
        raise InputError(f"--directory {args.directory}: no such folder")
    missing = missing_workflow_modules()
    if missing:
        raise InputError(f"mtsar2sar run needs {', '.join(missing)} (the 'workflow' extra): {WORKFLOW_EXTRA}"
                         " (with -c envs/requirements.txt for the tested versions)")
    cmd = snakemake_command(config, directory, args.cores, extra)
    if args.print_command:
        print(" ".join(cmd))
        return 0
    return subprocess.call(cmd)


def cmd_despeckle(args: argparse.Namespace) -> int:
    from mtsar2sar.coregistration import check_date
    from mtsar2sar.steps import despeckle

    date, super_image, output = (Path(p).expanduser() for p in (args.date, args.super_image, args.output))
    weights = Path(args.weights).expanduser()
    for given in (date, super_image, *([weights] if weights.exists() else [])):
        if output.resolve() == given.resolve():
            raise InputError(f"{output}: the output would overwrite an input ({given}); give another -o")
    for option, value in (("--level", args.level), ("--looks", args.looks)):
        if value is not None and not math.isfinite(value):
            raise InputError(f"{option}: {value} is not a finite number")
    if args.level is not None and args.level < 0:
        raise InputError(f"--level: {args.level:g} is negative; give a level > 0, or 0 to feed the ratio as it is")
    if output.is_dir():
        raise InputError(f"{output}: is a folder; -o names the output GeoTIFF file")
    if output.suffix.lower() not in (".tif", ".tiff"):
        raise InputError(f"{output}: the output is a GeoTIFF (COG); name it .tif or .tiff")
    settings = {
        "weights": args.weights,
        "device": args.device,
        "threads": args.threads,
        "tile": args.tile,
        "overlap": args.overlap,
        "batch": args.batch,
        "self_ensemble": args.self_ensemble,
        "precision": args.precision,
        "level": None if args.level is not None and args.level <= 0 else args.level,
        "debias": not args.no_debias,
        "base": os.getcwd(),  # a weights path is relative to the working directory
    }
    if args.overlap >= args.tile:
        raise InputError(f"--overlap {args.overlap} must be smaller than --tile {args.tile}")
    if args.level is None:
        del settings["level"]  # the network's default working level
    report, _ = check_date(date.stem, date, args.domain, args.band)  # the workflow's checks of a date on its own
    if report.status == "dropped":
        raise InputError(f"{date}: {'; '.join(report.reasons)}")
    try:
        despeckle(date, args.domain, args.band, super_image, settings, output, args.looks)
    except InputError as exc:  # the settings by their option names
        message = str(exc)
        for key in ("weights", "device"):
            message = message.replace(f"network.{key}: ", f"--{key}: ")
        raise InputError(message) from exc
    return 0


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be at least 1")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text}: must be a positive finite number")
    return value


def parser() -> argparse.ArgumentParser:
    from mtsar2sar.provenance import software_version

    p = argparse.ArgumentParser(
        prog="mtsar2sar",
        description="Multi-temporal SAR despeckling: ratio to a filtered super-image, despeckled by SAR2SAR.",
    )
    p.add_argument("--version", action="version", version=software_version())
    sub = p.add_subparsers(dest="command", required=True, metavar="{run,despeckle}")

    run = sub.add_parser(
        "run", allow_abbrev=False,
        usage="mtsar2sar run CONFIG [--directory DIR] [--cores N] [--print-command] [snakemake options...]",
        help="run the workflow shipped with the package on a configuration",
        description="Run the mtsar2sar Snakemake workflow (installed with the package) on CONFIG. Relative paths"
        " in CONFIG are relative to the working directory (--directory, default: the current folder), where"
        " results/ is written. Any other option, after CONFIG, is passed to Snakemake (e.g. -n,"
        " --rerun-incomplete, --profile slurm: the shipped profiles are 'local' and 'slurm').",
        epilog=f"Needs the 'workflow' extra: {WORKFLOW_EXTRA}.",
    )
    run.add_argument("config", help="configuration YAML (see config.yaml of the repository; replaces its demo AOIs)")
    run.add_argument("--directory", "-d", help="working directory of the run (default: the current folder)")
    run.add_argument("--cores", "-c", help="cores Snakemake may use (default: all, unless a profile, --jobs or an"
                     " executor is given)")
    run.add_argument("--print-command", action="store_true", help="print the Snakemake command line and exit")

    ds = sub.add_parser(
        "despeckle", allow_abbrev=False,
        help="despeckle one date by its ratio to a (filtered) super-image",
        description="Despeckle one date: its ratio to the normalized super-image, despeckled by the SAR2SAR"
        " network, times the super-image; written atomically as a float32 Cloud-Optimized GeoTIFF on the"
        " date's grid, with the tags of the workflow's products (the workflow's `despeckle` step).",
    )
    ds.add_argument("date", help="the date's GeoTIFF")
    ds.add_argument("--super", dest="super_image", required=True,
                    help="the super-image on the date's grid (the workflow's results/{aoi}/super_image_filtered.tif)")
    ds.add_argument("-o", "--output", required=True, help="output GeoTIFF")
    net = defaults("network")  # the workflow's defaults (schemas/config.schema.yaml), not others
    ds.add_argument("--weights", default=net["weights"],
                    help="auto (by --looks) | sar2sar-s1 | sar2sar-s1-ratio | sar2sar-ml | sar2sar-grd | a state-dict"
                    f" path (default: {net['weights']})")
    ds.add_argument("--looks", type=positive_float, default=1.0, help="number of looks of the date (default: 1)")
    ds.add_argument("--device", choices=["auto", "cpu", "cuda"], default=net["device"],
                    help=f"default: {net['device']} (auto: CUDA if present)")
    ds.add_argument("--domain", choices=["intensity", "amplitude", "complex"], default="intensity",
                    help="what the date's pixels are (default: intensity)")
    ds.add_argument("--band", type=positive_int, help="band of a multi-band file")
    ds.add_argument("--threads", type=positive_int, default=net["threads"], help=f"torch threads (default: {net['threads']})")
    ds.add_argument("--tile", type=positive_int, default=net["tile"],
                    help=f"network tile side, a multiple of 32 (default: {net['tile']})")
    ds.add_argument("--overlap", type=int, default=net["overlap"], help=f"overlap of the tiles (default: {net['overlap']})")
    ds.add_argument("--batch", type=positive_int, default=net["batch"],
                    help=f"tiles per forward pass (default: {net['batch']})")
    ds.add_argument("--self-ensemble", type=int, choices=[1, 2, 4, 8], default=net["self_ensemble"],
                    help="flips/rotations of the ratio the network is averaged over (8: about 0.1 dB better at 8x"
                    f" the network's time; default: {net['self_ensemble']})")
    ds.add_argument("--precision", choices=["auto", "float32", "bfloat16"], default=net["precision"],
                    help="bfloat16: the network's inner layers in bfloat16 (1.6-2.0x faster on CPUs with AVX-512 BF16;"
                    f" products within 0.01 dB); auto: bfloat16 on a CPU with bfloat16 units (default: {net['precision']})")
    ds.add_argument("--level", type=float, default=None,
                    help=f"intensity level at which the network sees the ratio (default: {net['level']:g}; 0: as is)")
    ds.add_argument("--no-debias", action="store_true", help="do not keep the local mean of the noisy ratio")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args, extra = parser().parse_known_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args, extra)
        if extra:
            parser().error(f"unrecognized arguments: {' '.join(extra)}")
        if args.tile % 32 or args.overlap % 32 or args.overlap < 0:
            raise InputError(f"--tile {args.tile} and --overlap {args.overlap} must be multiples of 32 (overlap >= 0)")
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
        logging.getLogger("mtsar2sar").setLevel(logging.INFO)  # our steps' progress; not GDAL's chatter
        return cmd_despeckle(args)
    except InputError as exc:
        print(f"mtsar2sar: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
