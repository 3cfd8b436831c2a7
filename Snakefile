# mtsar2sar: multi-temporal SAR despeckling, from a folder of co-registered GeoTIFFs to
# despeckled GeoTIFFs per date. Wiring only; the rules are in rules/, the numerics in mtsar2sar/.
import copy
import os
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

from mtsar2sar import plan
from mtsar2sar.config import validate_config
from mtsar2sar.errors import InputError

min_version("9.0")

# With --use-conda, envs/environment.post-deploy.sh installs mtsar2sar from this checkout
# (editable, no dependencies) into the new environment; it reads the checkout's path from here
# (set here, not required from the user).
os.environ.update(MTSAR2SAR_ROOT=str(workflow.basedir))


report: "report/workflow.rst"


# The repository's config.yaml is the default; `--configfile other.yaml` replaces it (not merged).
if not workflow.config_settings.configfiles:

    configfile: Path(workflow.basedir) / "config.yaml"


# An input error found before any job: one line naming the file or key (status 1), no traceback: nothing
# has run, nothing to clean up.
stop = lambda exc: sys.exit(f"mtsar2sar: error: {exc}")
SCHEMA = Path(workflow.basedir) / "schemas" / "config.schema.yaml"
# the AOIs as the user gave them, before the schema's defaults: a layout fills the keys not given
GIVEN_AOIS = copy.deepcopy(config.get("aois"))
try:
    # one line per problem, naming the key; suggests a close key
    validate_config(config, SCHEMA)
    # the schema's defaults filled in (Snakemake's validation): the rules read config[section][key]
    validate(config, SCHEMA)
    # what the config names on disk: the network's weights, a weights file to start the AOI's network from;
    # the results folders
    plan.check_aoi_model_init(config["network"], config.get("training"))
    plan.check_network_weights(config["network"])
    plan.check_results_folders(config["aois"])
except InputError as exc:
    stop(exc)


include: "rules/common.smk"
include: "rules/simulate.smk"
include: "rules/coregistration.smk"
include: "rules/super_image.smk"
include: "rules/despeckle.smk"
include: "rules/stac.smk"
include: "rules/quality.smk"
include: "rules/methods.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/figure.smk"


# The targets: every AOI's done file, STAC, sheet and quality, and its products themselves (every kept
# date despeckled, its quicklook). Snakemake remakes a missing file only when a job that reads it runs
# or when it is a target: a product deleted after a finished run is remade because it is a target
# here (the done file, which reads it, is up to date and would not run).
rule all:
    default_target: True
    input:
        plan.all_outputs(AOIS, QUICKLOOKS, quality=QUALITY),
        every_product,
