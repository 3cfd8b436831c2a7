"""The ``mtsar2sar`` command: the workflow (``run``) and one date (``despeckle``) from an installed package.

    mtsar2sar --version
    mtsar2sar run CONFIG [--directory DIR] [--cores N] [snakemake options...]
    mtsar2sar run INPUTS [--looks L] [--aoi NAME] [--layout X] [--domain D] [--date-format F] [...]
    mtsar2sar init FOLDER|PATTERN [-o CONFIG] [--aoi NAME] [--looks L] [--layout X]
    mtsar2sar despeckle DATE.tif --super SUPER.tif -o OUT.tif [--weights auto] [--looks L] [--device auto]

``run`` runs the Snakemake workflow shipped inside the package (``mtsar2sar/workflow_files/`` of an
installed wheel, the repository's top level in a checkout) with Snakemake's own command line, in a
subprocess, on a configuration file, or on the configuration of one AOI made from a glob pattern or a
folder of files (INPUTS). The AOIs' files and dates are checked before Snakemake starts: an input error is
one line naming the file. Snakemake's output is copied as it comes; a failed job's one-line error is
repeated as the last line; Ctrl-C waits for Snakemake to stop its jobs and release its lock (status 130).
``init`` inspects a folder or the files of a glob pattern (:mod:`mtsar2sar.inspection`, read-only) and
writes a commented configuration of what it found, and no other file. ``despeckle`` is the workflow's ``despeckle`` step (:func:`mtsar2sar.steps.despeckle`) on one
date: the same bytes and tags as the workflow's product for that date, written atomically.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import math
import os
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mtsar2sar.config import defaults
from mtsar2sar.errors import InputError
from mtsar2sar.inspection import inspect_stack, is_pattern
from mtsar2sar.resources import workflow_dir
from mtsar2sar.snakemake_process import run_snakemake

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


CONFIG_SUFFIXES = (".yaml", ".yml", ".json")
# the options of `run` that make the configuration of one AOI from INPUTS
INPUTS_OPTIONS = ("looks", "aoi", "layout", "domain", "date_format")


def load_config(path: Path) -> dict[str, Any]:
    import yaml

    check_yaml_mapping(path)
    return dict(yaml.safe_load(path.read_text()))


def check_inputs(config: Mapping[str, Any], directory: Path) -> None:
    """What the workflow checks before any job, and the grids of the dates: the configuration against the
    schema, the network's weights file, and each AOI's files and dates (relative paths: against ``directory``). An error names the
    AOI, the file and the problem."""
    from mtsar2sar import plan
    from mtsar2sar.config import AoiSpec, validate_config

    validate_config(dict(config))
    plan.check_network_weights(config.get("network") or {}, base=directory)
    reference = (config.get("super_image") or {}).get("reference_dates")
    for name, given in config["aois"].items():
        plan.aoi_dates(AoiSpec.from_config(name, dict(given)), reference, base=directory, grids=True)


def run_config_dir(directory: Path) -> tempfile.TemporaryDirectory[str]:
    """The folder of the configuration of ``run INPUTS``, in the working directory (the jobs of a cluster read
    it too); an error naming the directory where it cannot be written."""
    try:
        return tempfile.TemporaryDirectory(prefix=".mtsar2sar-run-", dir=directory)
    except OSError as exc:
        raise InputError(f"{directory}: the working directory is not writable ({exc.strerror or exc}); the run writes"
                         " its configuration and results/ there: run it from a writable folder, or give --directory"
                         " DIR") from None


def cmd_run(args: argparse.Namespace, extra: list[str]) -> int:
    directory = Path(args.directory).expanduser().resolve() if args.directory else Path.cwd()
    if not directory.is_dir():
        raise InputError(f"--directory {args.directory}: no such folder")
    from_inputs = Path(args.config).suffix.lower() not in CONFIG_SUFFIXES
    if not from_inputs:
        given = [f"--{o.replace('_', '-')}" for o in INPUTS_OPTIONS if getattr(args, o) is not None]
        if given:
            raise InputError(f"{' '.join(given)}: options of `mtsar2sar run INPUTS` (a glob pattern or a folder);"
                             f" with a configuration file, set them in its AOIs ({args.config})")
        config = Path(args.config).expanduser().resolve()
        if not config.is_file():
            raise InputError(f"{args.config}: configuration file not found" if not config.exists()
                             else f"{args.config}: not a file (give the configuration YAML file)")
        check_yaml_mapping(Path(args.config))
    missing = missing_workflow_modules()
    if missing:
        raise InputError(f"mtsar2sar run needs {', '.join(missing)} (the 'workflow' extra): {WORKFLOW_EXTRA}"
                         " (with -c envs/requirements.txt for the tested versions)")
    if not from_inputs:
        if not args.print_command:
            check_inputs(load_config(config), directory)
        cmd = snakemake_command(config, directory, args.cores, extra)
        if args.print_command:
            print(" ".join(cmd))
            return 0
        return run_snakemake(cmd, directory)
    expanded = [a for a in extra if not a.startswith("-") and (directory / a).is_file()]
    if expanded and (directory / args.config).is_file():
        raise InputError(f"{args.config} {expanded[0]} ...: the shell expanded the pattern into its files; quote it,"
                         ' e.g. mtsar2sar run "data/*.tif"')
    found = inspect_stack(args.config, directory, aoi=args.aoi, looks=args.looks, layout_name=args.layout,
                          domain=args.domain, date_format=args.date_format, need_looks=True, need_dates=True)
    text = found.config_text(comments=False)
    print(f"mtsar2sar: the configuration of this run (`mtsar2sar init` writes it, commented, to a file):\n{text}",
          file=sys.stderr)
    guessed = found.notes.get("input_domain", "")
    if guessed.startswith("guessed"):
        print(f"mtsar2sar: input_domain {found.spec['input_domain']} is {guessed}; give --domain if it is not",
              file=sys.stderr)
    # in the working directory: the jobs of a cluster read it too; removed after the run
    with run_config_dir(directory) as tmp:
        config = Path(tmp) / f"{found.aoi}.yaml"
        config.write_text(text)
        check_inputs(load_config(config), directory)
        cmd = snakemake_command(config, directory, args.cores, extra)
        if args.print_command:
            print(" ".join(cmd))
            return 0
        return run_snakemake(cmd, directory)


def cmd_init(args: argparse.Namespace) -> int:
    from mtsar2sar.config import validate_config
    from mtsar2sar.io import atomic_path

    directory = Path.cwd()
    # a glob pattern matching no file: named by inspect_stack, as in `mtsar2sar run`
    if not (directory / args.folder).exists() and not is_pattern(args.folder):
        raise InputError(f"{args.folder}: no such folder or file")
    out = Path(args.output)
    if out.exists() and not args.force:
        raise InputError(f"{out}: exists; give another -o, or --force to replace it")
    found = inspect_stack(args.folder, directory, aoi=args.aoi, looks=args.looks, layout_name=args.layout,
                          date_format=args.date_format)
    text = found.config_text()
    import yaml

    validate_config(yaml.safe_load(text))
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    print(text, end="")
    if not found.dates_found and isinstance(found.spec.get("dates"), list):
        print(f"mtsar2sar: warning: no date found in the bands' descriptions or tags: write each band's date in {out}"
              " (dates:, in band order)", file=sys.stderr)
    elif not found.dates_found:
        print(f"mtsar2sar: warning: no date found in the file names or tags: write each file's date in {out}"
              " (dates:)", file=sys.stderr)
    print(f"mtsar2sar: wrote {out}; run it with: mtsar2sar run {out}", file=sys.stderr)
    return 0


def looks_of(date: Path) -> float:
    """The nominal looks a date's tags give (:func:`mtsar2sar.dates.read_looks`); an error without them."""
    from mtsar2sar.dates import LOOKS_TAGS, read_looks

    found = read_looks(date)
    if found is None:
        raise InputError(f"{date}: no number of looks in its tags ({', '.join(LOOKS_TAGS)}, SNAP's DIMAP azimuth_looks"
                         " x range_looks): give --looks (1 for single-look data; it picks the network)")
    logging.getLogger("mtsar2sar").info("%s: %g looks (%s)", date, found[0], found[1])
    return found[0]


def check_tiles(tile: int, overlap: int) -> None:
    """``--tile`` and ``--overlap`` as the network takes them (the schema's network.tile and network.overlap):
    a tile of at least 32 px, both multiples of 32, the overlap smaller than the tile; else the problem."""
    net = defaults("network")
    if tile < 32:
        problem = f"--tile {tile}: a tile is at least 32 px (a multiple of 32; default {net['tile']})"
    elif tile % 32:
        problem = f"--tile {tile}: not a multiple of 32 (e.g. {max(32, tile // 32 * 32)} or {(tile // 32 + 1) * 32})"
    elif overlap < 0:
        problem = f"--overlap {overlap}: negative; give 0 or a multiple of 32 smaller than the tile"
    elif overlap % 32:
        problem = f"--overlap {overlap}: not a multiple of 32 (e.g. {overlap // 32 * 32} or {(overlap // 32 + 1) * 32})"
    elif overlap >= tile:
        given = "" if overlap != net["overlap"] else " (the default)"
        problem = (f"--overlap {overlap}{given} is not smaller than --tile {tile}: give a smaller --overlap"
                   f" ({max(0, tile // 2 // 32 * 32)}, say) or a larger --tile")
    else:
        return
    raise InputError(problem)


def cmd_despeckle(args: argparse.Namespace) -> int:
    from mtsar2sar.coregistration import check_date
    from mtsar2sar.dates import band_count
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
    if args.level is None:
        del settings["level"]  # the network's default working level
    if args.band is None and (bands := band_count(date)) > 1:  # 0: no raster, which check_date names
        raise InputError(f"{date}: has {bands} bands; give --band N (1 to {bands}) to choose one")
    report, _ = check_date(date.stem, date, args.domain, args.band)  # the workflow's checks of a date on its own
    if report.status == "dropped":
        raise InputError(f"{date}: {'; '.join(report.reasons)}")
    looks = args.looks if args.looks is not None else looks_of(date)
    try:
        despeckle(date, args.domain, args.band, super_image, settings, output, looks)
    except InputError as exc:  # the settings by their option names
        message = str(exc)
        for key in ("weights", "device"):
            message = message.replace(f"network.{key}: ", f"--{key}: ")
        raise InputError(message) from exc
    return 0


def add_stack_options(p: argparse.ArgumentParser, domain: bool = True) -> None:
    """The options of one AOI made from a stack's files (`run INPUTS`, `init`; ``domain``: `run`'s)."""
    from mtsar2sar.layouts import LAYOUTS

    p.add_argument("--looks", type=positive_float, help="nominal looks of the dates (" + (
        "needed unless the layout or the files' tags give them)" if domain else
        "default: the layout's or the files' tags', else estimated from the first date and marked ESTIMATED)"))
    p.add_argument("--aoi", type=aoi_argument, help="name of the AOI (results/NAME/; default: the folder's name as"
                   " given, <site>_<pol> for a polarization folder such as <site>/VV)")
    p.add_argument("--layout", choices=list(LAYOUTS), help="the files' layout (default: detected in a folder)")
    if domain:
        p.add_argument("--domain", choices=["intensity", "amplitude", "complex"],
                       help="what the pixels are (default: the layout's, else guessed from the values)")
    else:
        p.set_defaults(domain=None)
    p.add_argument("--date-format", help='the order of the dates in the names, e.g. "%%d%%m%%Y" (date_format)')


def aoi_argument(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise argparse.ArgumentTypeError(f"{text}: an AOI's name is letters, digits, '_' and '-'")
    return text


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
    sub = p.add_subparsers(dest="command", required=True, metavar="{run,init,quality,despeckle}")

    run = sub.add_parser(
        "run", allow_abbrev=False,
        usage="mtsar2sar run CONFIG|INPUTS [--directory DIR] [--cores N] [--print-command] [--looks L] [--aoi NAME]"
        " [--layout X] [--domain D] [--date-format F] [snakemake options...]",
        help="run the workflow shipped with the package on a configuration, or on a stack's files",
        description="Run the mtsar2sar Snakemake workflow (installed with the package) on CONFIG (a .yaml file),"
        " or on one AOI of INPUTS: a glob pattern of the dates' files (quoted: \"data/*.tif\") or a folder (of"
        " a layout's files, else its GeoTIFFs), with --looks unless the layout or the files' tags give them."
        " Relative paths are relative to the working directory (--directory, default: the current folder),"
        " where results/ is written. Any other option is passed to Snakemake (e.g. -n, --rerun-incomplete,"
        " --profile slurm: the shipped profiles are 'local' and 'slurm').",
        epilog=f"Needs the 'workflow' extra: {WORKFLOW_EXTRA}.",
    )
    run.add_argument("config", metavar="CONFIG|INPUTS",
                     help="configuration YAML (see config.yaml of the repository; replaces its demo AOIs), or the"
                     " dates' files: a glob pattern or a folder")
    run.add_argument("--directory", "-d", help="working directory of the run (default: the current folder)")
    run.add_argument("--cores", "-c", help="cores Snakemake may use (default: all, unless a profile, --jobs or an"
                     " executor is given)")
    run.add_argument("--print-command", action="store_true", help="print the Snakemake command line and exit")
    add_stack_options(run)

    init = sub.add_parser(
        "init", allow_abbrev=False,
        help="write a commented configuration for a folder of dates (or a glob pattern)",
        description="Inspect FOLDER (a layout's files, else its GeoTIFFs; or a glob pattern) and write a"
        " commented configuration of what it found: the files, their dates and where they come from, the grid,"
        " the domain and the looks (from the layout or the metadata, else guessed from the values: check them)."
        " Run it with `mtsar2sar run CONFIG`.",
    )
    init.add_argument("folder", metavar="FOLDER", help="the folder of the dates' files, or a glob pattern")
    init.add_argument("-o", "--output", default="mtsar2sar.yaml", help="the configuration written (default:"
                      " mtsar2sar.yaml)")
    init.add_argument("--force", action="store_true", help="replace the output if it exists")
    add_stack_options(init, domain=False)

    qa = sub.add_parser(
        "quality", allow_abbrev=False,
        help="judge a finished AOI's products without a truth: quality.json and the sheet quality.png",
        description="Score every kept date of a finished AOI (its results folder, results/<aoi>) by its ratio"
        " image noisy / despeckled (mean 1, the input's looks, no structure) and its changes since the date"
        " before; write quality.json and the one-page sheet quality.png into the folder (the workflow's"
        " `quality` rule) and print one verdict line per date. Exit status 1 when a date fails.",
    )
    qa.add_argument("results", metavar="RESULTS_DIR", help="an AOI's results folder (results/<aoi>)")
    qa.add_argument("--domain", choices=["intensity", "amplitude", "complex"], default="intensity",
                    help="what the input dates' pixels are (default: intensity)")
    qa.add_argument("--band", type=positive_int, help="band of multi-band inputs")
    qa.add_argument("--looks", type=positive_float, default=None,
                    help="looks of the input dates (default: the products' looks tag)")
    qa.add_argument("--workdir", help="the folder the products' source paths are relative to (default: the"
                    " folder above results/)")

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
    ds.add_argument("--looks", type=positive_float, default=None,
                    help="number of looks of the date (default: its tags' LOOKS, NUMBER_OF_LOOKS or SNAP's DIMAP"
                    " azimuth_looks x range_looks; refused without them)")
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


def cmd_quality(args: argparse.Namespace) -> int:
    """``mtsar2sar quality RESULTS_DIR``: the workflow's quality step on a finished AOI; 1 if a date fails."""
    from mtsar2sar.steps import quality_of_results

    report = quality_of_results(args.results, args.domain, args.band, args.looks, args.workdir)
    for d in report["dates"]:
        print(f"{d['date']}: {d['verdict']['line']}")
    print(f"{report['aoi']}: {report['aggregate']['line']}")
    print(f"written: {Path(args.results) / 'quality.json'}, {Path(args.results) / 'quality.png'}")
    return 1 if report["aggregate"]["status"] == "fail" else 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        status = dispatch(argv)
        sys.stdout.flush()  # here, not at exit: a closed pipe is then the error below
        return status
    except BrokenPipeError:  # the reader of the output stopped (| head): quiet, status 141 as a shell reports it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141


def dispatch(argv: Sequence[str] | None = None) -> int:
    args, extra = parser().parse_known_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args, extra)
        if extra:
            parser().error(f"unrecognized arguments: {' '.join(extra)}")
        if args.command == "init":
            return cmd_init(args)
        if args.command == "quality":
            return cmd_quality(args)
        check_tiles(args.tile, args.overlap)
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s")
        logging.getLogger("mtsar2sar").setLevel(logging.INFO)  # our steps' progress; not GDAL's chatter
        return cmd_despeckle(args)
    except InputError as exc:
        print(f"mtsar2sar: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
