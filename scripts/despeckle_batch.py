"""Rule `despeckle_batch`: the dates of one batch despeckled with one loaded network (as rule `despeckle`,
same bytes), into the batch's staging folder with one log per date."""
import logging
import time
from pathlib import Path

from mtsar2sar import workflow
from mtsar2sar.logs import log, rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    staging = Path(sm.output[0])
    staging.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    denoiser = workflow.build_denoiser(sm.params.network, sm.params.looks)
    log.info("network loaded in %.2f s", time.perf_counter() - t0)
    root = logging.getLogger()
    n = len(sm.params.files)
    for i, (date, file) in enumerate(sm.params.files.items(), 1):
        t1 = time.perf_counter()
        handler = logging.FileHandler(staging / f"{date}.log", mode="w")  # the date's own log
        handler.setFormatter(root.handlers[0].formatter)
        root.addHandler(handler)
        try:
            log.info("rule despeckle started (date %s, %d of %d of batch %s)", date, i, n, staging.name)
            workflow.despeckle_with(
                denoiser, file, sm.params.domain, sm.params.band, sm.input.super_image, sm.params.network,
                staging / f"{date}.tif", sm.params.looks,
            )
            log.info("rule despeckle done (date %s in %.2f s)", date, time.perf_counter() - t1)
        finally:
            root.removeHandler(handler)
            handler.close()
    log.info("%d dates in %.1f s (%.2f s per date, network loading included)", n, time.perf_counter() - t0,
             (time.perf_counter() - t0) / max(n, 1))
