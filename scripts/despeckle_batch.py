"""Rule `despeckle_batch`: the dates of one batch despeckled with one loaded network (as rule `despeckle`,
same bytes) and their quicklooks (as rule `quicklook`), into the batch's staging folder, with the logs of
each date."""
import logging
import time
from contextlib import contextmanager
from pathlib import Path

from mtsar2sar import despeckle, steps
from mtsar2sar.io import atomic_directory
from mtsar2sar.logs import log, rule_logging

sm = snakemake  # noqa: F821


@contextmanager
def also_to(path):
    """The log lines of the block also to ``path`` (a date's own log)."""
    root = logging.getLogger()
    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()


with rule_logging(sm.log[0], sm.rule), atomic_directory(sm.output[0]) as staging:
    # the batch's folder appears only once every date is in it: a killed job leaves no half-filled one
    batch = Path(sm.output[0]).name
    t0 = time.perf_counter()
    denoiser = despeckle.build_denoiser(sm.params.network, sm.params.looks)
    log.info("network loaded in %.2f s", time.perf_counter() - t0)
    n = len(sm.params.files)
    for i, (date, file) in enumerate(sm.params.files.items(), 1):
        t1 = time.perf_counter()
        with also_to(staging / f"{date}.log"):
            log.info("rule despeckle started (date %s, %d of %d of batch %s)", date, i, n, batch)
            steps.despeckle(
                file, sm.params.domain, sm.params.band, sm.input.super_image, sm.params.network,
                staging / f"{date}.tif", sm.params.looks, denoiser,
            )
            log.info("rule despeckle done (date %s in %.2f s)", date, time.perf_counter() - t1)
        if sm.params.quicklooks:
            with also_to(staging / f"{date}.quicklook.log"):
                log.info("rule quicklook started (date %s of batch %s)", date, batch)
                steps.quicklook(file, sm.params.domain, sm.params.band, staging / f"{date}.tif",
                                   staging / f"{date}.jpg", f"{sm.wildcards.aoi} {date}")
                log.info("rule quicklook done")
    log.info("%d dates in %.1f s (%.2f s per date, network loading included)", n, time.perf_counter() - t0,
             (time.perf_counter() - t0) / max(n, 1))
