"""Self-supervised SAR2SAR training on stacks (noise2noise between dates), in two domains.

* ``ratio``: the network learns the ratio domain it sees at inference in the multi-temporal method:
  input ``tau'_i = w_i / s'``, target ``tau'_j`` of another date of the same AOI.
* ``image``: the classic SAR2SAR: input ``w_i``, target ``w_j``.

The loss is the negative log-likelihood of the target under L-look speckle, on log-intensity
``y_j`` and the estimate ``x_hat``: ``L (x_hat - y_j + exp(y_j - x_hat))`` (its minimum is at
``exp(x_hat) = E[w_j]``: the estimate is unbiased in intensity). Temporal changes between dates i
and j must not be learnt as noise: pixels where a 7 x 7 boxcar ratio test says the two dates differ
are masked out of the loss, and a share of the patches is drawn on such changes so the network
learns to keep them (it sees the changed input and is not asked to erase it).

Targets (``targets``):

* ``pair``: one other date j per patch (the classic noise2noise pair), changed pixels masked;
* ``stable_mean``: per pixel, the mean intensity of *every* other training date that the change test
  finds stable with respect to date i. Still self-supervised (only noisy dates), but the target has
  up to T - 1 looks instead of one, and a pixel that changed between i and some dates is still
  supervised by the dates that share its state at i (a harvested field, a new building), so the
  network learns to denoise temporal changes instead of only passing them through. The NLL of a
  mean of n L-look intensities has its minimum at the same place (the mean), so the estimate stays
  unbiased; pixels count equally in the loss.

The network sees every image at the working level of :class:`mtsar2sar.despeckle.NetworkDenoiser`
(gain ``level / geometric_mean``), exactly as at inference. Training is deterministic for a seed,
checkpoints every ``checkpoint_every`` steps and resumes from the last checkpoint.
"""

from mtsar2sar.config import AOI_MODEL_DEFAULTS, TrainingConfig, aoi_model_settings
from mtsar2sar.training.data import SPAN, Stack, prepare_stack
from mtsar2sar.training.loop import fmt_nll, initial_network, nll_loss, save_loss_plot, train, validation_nll
from mtsar2sar.training.sampler import PatchSampler, change_field
from mtsar2sar.training.targets import (
    TARGETS,
    change_db,
    change_mask,
    compensated_mean_target,
    departures,
    log_mean_intensity,
    make_target,
    stable_mean_target,
)

__all__ = [
    "AOI_MODEL_DEFAULTS", "SPAN", "TARGETS", "PatchSampler", "Stack", "TrainingConfig", "aoi_model_settings",
    "change_db", "change_field", "change_mask", "compensated_mean_target", "departures", "fmt_nll",
    "initial_network", "log_mean_intensity", "make_target", "nll_loss", "prepare_stack", "save_loss_plot",
    "stable_mean_target", "train", "validation_nll",
]
