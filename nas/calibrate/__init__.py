"""Calibrating a proxy before a search: how well does it rank on this config's own data?

A search is worth the rank correlation of its proxy with longer training, and that depends on
the dataset, the backbone and the space (``docs/fidelity.md`` measured it for Fashion-MNIST
only). ``nas calibrate`` measures it for any config: it trains a handful of specs (the
reference designs and specs drawn from the space) at the proxy budget and at a reference
budget (the ``[confirm]`` one), each at two seeds or more, as Ray tasks on the search's
cluster, and reports each ranking signal's Kendall tau and Spearman rho against the
reference with bootstrap intervals, the seed-to-seed agreement of both budgets and the noise
ceiling the reference's own agreement implies (``docs/calibrate.md``).

Every finished run is a trial of the study ``<study>:calibration`` and the summary its user
attributes (:mod:`nas.calibrate.record`), so a killed calibration resumes where it stopped.
This package imports nothing of ``nas.search``.
"""

from nas.calibrate.plan import Run, calibration_runs, draw_specs
from nas.calibrate.record import calibration_name, load_summary
from nas.calibrate.runner import calibrate
from nas.calibrate.summary import summarise
from nas.calibrate.table import format_summary

__all__ = [
    "Run",
    "calibrate",
    "calibration_name",
    "calibration_runs",
    "draw_specs",
    "format_summary",
    "load_summary",
    "summarise",
]
