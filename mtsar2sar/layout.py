"""Where an AOI's products are: ``results/{aoi}/``, laid out once for the package, the API and the benchmarks.

The rules write these paths (spelled out in ``rules/*.smk`` so that a rule reads on its own);
``tests/test_workflow.py`` checks that every file a run writes is one of :data:`PRODUCTS` (or a log,
a benchmark), so the two cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# The products of an AOI folder, relative to it ({date}, {method}: wildcards). Logs and Snakemake
# benchmarks are under logs/ and benchmarks/, one per rule (and date).
PRODUCTS = {
    "coregistration": "coregistration.json",
    "coregistration_reference": "coregistration_reference.json",  # monitoring: the reference period's check
    "super_image": "super_image.tif",
    "super_image_enl": "super_image_enl.json",
    "super_image_filtered": "super_image_filtered.tif",
    "despeckled": "despeckled/{date}.tif",
    "despeckled_done": "despeckled.done",
    "quicklook": "quicklooks/{date}.jpg",
    "quicklook_sheet": "quicklooks.jpg",
    "quality": "quality.json",  # outputs.quality: every date judged without a truth
    "quality_sheet": "quality.png",
    "stac_collection": "stac/collection.json",
    "stac_item": "stac/{item}.json",
    "method": "methods/{method}/{date}.tif",
    "metrics": "metrics.csv",
    "metrics_summary": "metrics_summary.md",
    "metric_per_date": "metric_per_date.png",
    "figure1_png": "figure1.png",
    "figure1_pdf": "figure1.pdf",
    "ratio_images": "ratio_images.png",
    "model": "model.pt",
    "model_loss": "model/loss.png",
    "model_report": "model/training.json",
    "simulated_noisy": "simulated/noisy/{date}.tif",
    "simulated_truth": "simulated/truth/{date}.tif",
    "simulated_changed": "simulated/changed.tif",
}
# Folders of per-rule records (not products).
RECORDS = ("logs", "benchmarks")
# The files of one date (products, and the per-date rules' logs and benchmark records; "*": any method):
# removed when their date leaves the stack.
PER_DATE = (
    "despeckled/{date}.tif", "quicklooks/{date}.jpg", "methods/*/{date}.tif",
    "logs/despeckle/{date}.log", "logs/quicklook/{date}.log", "logs/methods/*/{date}.log",
    "benchmarks/despeckle/{date}.tsv", "benchmarks/despeckle_from_batch/{date}.tsv", "benchmarks/quicklook/{date}.tsv",
    "benchmarks/quicklook_from_batch/{date}.tsv", "benchmarks/methods/*/{date}.tsv",
)


def product_pattern(template: str) -> re.Pattern[str]:
    """A template as a regular expression on POSIX relative paths (a wildcard: one path component)."""
    parts = re.split(r"(\{[a-z_]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + r"\Z")


def is_known(relative: str) -> bool:
    """Whether a path relative to an AOI folder is a product of :data:`PRODUCTS` or a record."""
    if relative.split("/", 1)[0] in RECORDS:
        return True
    return any(product_pattern(t).match(relative) for t in PRODUCTS.values())


@dataclass(frozen=True)
class AoiFolder:
    """An AOI's results folder (``results/{aoi}/``, or a working folder laid out alike)."""

    root: Path

    @classmethod
    def of(cls, aoi: str, results: str | Path = "results") -> AoiFolder:
        return cls(Path(results) / aoi)

    def path(self, product: str, **wildcards: str) -> Path:
        return self.root / PRODUCTS[product].format(**wildcards)

    @property
    def coregistration(self) -> Path:
        return self.path("coregistration")

    @property
    def super_image(self) -> Path:
        return self.path("super_image")

    @property
    def super_image_enl(self) -> Path:
        return self.path("super_image_enl")

    @property
    def super_image_filtered(self) -> Path:
        return self.path("super_image_filtered")

    def despeckled(self, date: str) -> Path:
        return self.path("despeckled", date=date)

    def method(self, method: str, date: str) -> Path:
        return self.path("method", method=method, date=date)

    @property
    def methods_dir(self) -> Path:
        return self.root / "methods"

    @property
    def simulated_dir(self) -> Path:
        """A simulated AOI's stack (noisy dates, truth, changed pixels): the output of rule simulate."""
        return self.changed.parent

    def noisy(self, date: str) -> Path:
        """A simulated AOI's noisy date."""
        return self.path("simulated_noisy", date=date)

    def truth(self, date: str) -> Path:
        """A simulated AOI's truth of a date."""
        return self.path("simulated_truth", date=date)

    @property
    def changed(self) -> Path:
        """A simulated AOI's mask of the pixels that change over time."""
        return self.path("simulated_changed")
