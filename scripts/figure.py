"""Rule `figure`: Fig. 1 layout, metrics per date, ratio images."""
from mtsar2sar.figures import figure1, metric_per_date, ratio_images
from mtsar2sar.io import read_intensity, read_product
from mtsar2sar.logs import rule_logging

sm = snakemake  # noqa: F821
with rule_logging(sm.log[0], sm.rule):
    p = sm.params
    dates = sorted({d for m in p.methods.values() for d in m})
    date = dates[0]
    w, _ = read_intensity(p.files[date], p.domain, p.band)
    images = {"noisy": w, "super_image": read_product(sm.input.filtered)[0]}
    estimates = {m: read_product(files[date])[0] for m, files in p.methods.items()}
    images.update(estimates)
    figure1(images, date, sm.wildcards.aoi, [sm.output.png, sm.output.pdf])
    metric_per_date(sm.input.metrics, "psnr_log" if p.has_truth else "heldout_nll", sm.output.per_date, sm.wildcards.aoi)
    ratio_images(w, estimates, sm.output.ratios, f"{sm.wildcards.aoi}, {date}: ratio images")
