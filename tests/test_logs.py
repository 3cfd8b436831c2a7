"""The rules' warnings reach the console, not only the rule's log (issue 15: the ENL far from T*L warning
was only in logs/super_image.log)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from conftest import utm_grid, write_dates

from mtsar2sar.errors import InputError
from mtsar2sar.logs import log, rule_logging
from mtsar2sar.simulate import SimulationConfig, simulate_stack


def test_rule_warnings_go_to_the_log_and_the_console(tmp_path, capsys):
    root = logging.getLogger()
    before = root.handlers[:], root.level
    with rule_logging(tmp_path / "rule.log", "super_image"):
        log.info("an info line")
        log.warning("dates left out of the super-image mean: %s", "20240102")
        logging.getLogger("mtsar2sar.steps").warning("from a module logger")
        logging.getLogger("rasterio").warning("a library's warning")
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "mtsar2sar: warning in rule super_image: dates left out of the super-image mean: 20240102",
        "mtsar2sar: warning in rule super_image: from a module logger",
    ]
    text = (tmp_path / "rule.log").read_text()
    for line in ("INFO an info line", "WARNING dates left out of the super-image mean: 20240102",
                 "WARNING from a module logger", "WARNING a library's warning", "INFO rule super_image done"):
        assert line in text
    assert (root.handlers, root.level) == before  # nothing left writing to the closed log file


def test_an_input_error_is_one_console_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc, rule_logging(tmp_path / "rule.log", "despeckle"):
        log.warning("a warning first")
        raise InputError("x.tif: not a readable raster")
    assert exc.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        "mtsar2sar: warning in rule despeckle: a warning first",
        "mtsar2sar: error in rule despeckle: x.tif: not a readable raster",
    ]
    assert "ERROR x.tif: not a readable raster" in (tmp_path / "rule.log").read_text()


def test_without_a_log_file_warnings_are_printed_once(capsys):
    with rule_logging(None, "quicklook"):
        log.warning("only once")
    assert capsys.readouterr().err.count("only once") == 1


@pytest.mark.slow
def test_enl_far_from_dates_times_looks_reaches_the_snakemake_console(tmp_path):
    """Amplitude declared as intensity: the super-image ENL is about 3 x T*L; the warning naming the likely
    cause is on Snakemake's console (before: only in results/{aoi}/logs/super_image.log)."""
    from test_workflow import run_workflow, tiny_config

    cfg = SimulationConfig(seed=4, height=96, width=96, dates=6, looks=1, speckle="gamma", changes=False)
    dates, _, noisy, _ = simulate_stack(cfg)
    (tmp_path / "stack").mkdir()
    write_dates(tmp_path / "stack", {d: np.sqrt(x).astype(np.float32) for d, x in zip(dates, noisy)}, utm_grid(96, 96))
    work = tmp_path / "work"
    work.mkdir()
    res = run_workflow(work, tiny_config(tmp_path / "stack"), "results/tiny/super_image.tif")
    assert res.returncode == 0, res.stderr[-3000:]
    lines = [x for x in res.stderr.splitlines() if x.startswith("mtsar2sar: warning in rule super_image: ")]
    assert len(lines) == 1, res.stderr[-3000:]
    assert "super_image.tif: the super-image ENL estimate" in lines[0]
    assert "x T*L = 6 dates x 1 looks" in lines[0] and "Likely amplitude declared as intensity" in lines[0]
    assert lines[0].split(": ", 2)[2] in (work / "results" / "tiny" / "logs" / "super_image.log").read_text()
