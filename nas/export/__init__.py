"""``nas export``: a trained architecture as one self-contained Python module.

:func:`render_module` turns a validated spec into source; :mod:`nas.export.choose` picks a
trial from a study's Pareto front; :mod:`nas.export.weights` fetches its trained proxy weights.
"""

from __future__ import annotations

from nas.export.origin import Origin
from nas.export.render import Rendered, render_module

__all__ = ["Origin", "Rendered", "render_module"]
