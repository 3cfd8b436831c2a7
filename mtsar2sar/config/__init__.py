"""The configuration in one place: its schema and defaults (:mod:`.schema`), an AOI (:mod:`.aoi`), the
typed settings sections (:mod:`.sections`) and a training run's settings (:mod:`.training`)."""

from mtsar2sar.config.aoi import DEFAULT_DATE_REGEX, AoiSpec
from mtsar2sar.config.schema import (
    check_keys,
    config_errors,
    defaults,
    describe_schema,
    non_finite,
    schema,
    semantic_errors,
    validate_config,
    with_defaults,
)
from mtsar2sar.config.sections import RESULT_SETTINGS, CoregistrationSettings, NetworkSettings
from mtsar2sar.config.training import (
    AOI_MODEL_DEFAULTS,
    DEPENDENT_OPTIONS,
    TARGET_OPTIONS,
    TrainingConfig,
    aoi_model_settings,
)

__all__ = [
    "AOI_MODEL_DEFAULTS", "DEFAULT_DATE_REGEX", "DEPENDENT_OPTIONS", "RESULT_SETTINGS", "TARGET_OPTIONS", "AoiSpec",
    "CoregistrationSettings", "NetworkSettings", "TrainingConfig", "aoi_model_settings", "check_keys",
    "config_errors", "defaults", "describe_schema", "non_finite", "schema", "semantic_errors", "validate_config",
    "with_defaults",
]
