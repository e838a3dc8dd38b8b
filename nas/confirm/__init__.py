"""Confirming a search's front at a higher fidelity than the proxy it was found with.

A proxy ranks architectures only as well as its rank correlation with longer training
(``docs/fidelity.md``), so the members of a front are retrained with a longer budget
(``[confirm]``: by default 4x the proxy's training images, a larger validation subset) and the
confirmed accuracy is stored beside the proxy's. ``nas pareto`` and ``nas export --knee`` rank
by confirmed values where a front has them, and say so. This is the "re-train the top
candidates" step of most NAS pipelines (e.g. Zoph et al., CVPR 2018, section 4: the top
architectures of the search are retrained longer before one is chosen). Each member is trained
at ``[confirm] seeds`` seeds (2 by default), and their spread measures the confirmation's own
noise (:mod:`nas.confirm.noise`, stored as ``noise:confirm``: docs/noise.md).
"""

from nas.confirm.budget import confirm_budgets
from nas.confirm.run import confirm_study, confirm_trials
from nas.confirm.store import CONFIRMED_PREFIX, Confirmation, confirmations

__all__ = [
    "CONFIRMED_PREFIX",
    "Confirmation",
    "confirm_budgets",
    "confirm_study",
    "confirm_trials",
    "confirmations",
]
