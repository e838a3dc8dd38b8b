"""How many trials share one GPU under ``[resources] gpus_per_trial = "auto"``: a pure decision.

Ray Tune shares a GPU by fractions (``gpus_per_trial = 1/k`` lets ``k`` trials onto a card)
but never looks at memory: ``k`` too large and trials fail with out-of-memory, too small and
most of the card idles. ``auto`` sizes ``k`` from what the trials of this search measured
(``device_memory_mb``, each trial's peak allocated memory, :func:`workers.train.device_memory_mb`)
against the card's total memory. Until a trial has been measured the search starts with
:data:`START_FRACTION`, one trial per card: it cannot run out of memory by packing, and the
first finished trial measures the rest.

The margins below are engineering guesses, not measurements (no GPU has run this yet; issue
26): each is documented where it is defined, and ``bench/gpu.py``'s peak-memory table is
what checks them. This module imports no torch or Ray: its tests use real numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

AUTO = "auto"
"""The ``[resources] gpus_per_trial`` value that sizes the fraction from measured memory."""
START_FRACTION = 1.0
"""Until a trial is measured: one trial per card (never out of memory by packing)."""
HEADROOM = 0.1
"""Share of the card never planned for: the driver, other processes, fragmentation."""
PEAK_MARGIN = 1.5
"""Multiplies the largest measured peak: later trials draw other architectures (a block at more
positions needs more activations) and the caching allocator reserves more than it allocates."""
CONTEXT_MIB = 512.0
"""Per process, outside ``max_memory_allocated``: the CUDA context, cuDNN/cuBLAS workspaces."""
MAX_PER_CARD = 8
"""Past 8 trials per card the card's compute, not its memory, is the limit (``bench/gpu.py``
measures 1, 2, 4 and 8 trials per GPU)."""
PRECISION = 10_000
"""Ray keeps resource amounts to 1e-4: a fraction is rounded down so ``k`` of them fit."""


@dataclass(frozen=True)
class Packing:
    """One decision: ``fraction`` of a GPU per trial, ``per_card`` trials on one card.

    ``peak_mb`` / ``card_mb`` are what it was decided from (``None``: not measured yet / no
    card known); ``capped`` names what bounded ``per_card`` below what memory allows.
    """

    fraction: float
    per_card: int
    peak_mb: float | None = None
    card_mb: float | None = None
    capped: str | None = None

    @property
    def measured(self) -> bool:
        return self.peak_mb is not None and self.card_mb is not None

    def line(self) -> str:
        """``gpus_per_trial auto: 0.25 (peak 9.1 GiB of 80 GiB per trial, 4 per card)``."""
        head = f"gpus_per_trial auto: {self.fraction:g}"
        if self.peak_mb is None or self.card_mb is None:
            return (
                f"{head} until a trial's peak GPU memory is measured (one trial per card; "
                "the first finished trial sizes the rest)"
            )
        cap = f", {self.capped}" if self.capped else ""
        return (
            f"{head} (peak {_gib(self.peak_mb)} of {_gib(self.card_mb)} per trial, "
            f"{self.per_card} per card{cap})"
        )


def pack(peaks_mb: Iterable[float], card_mb: float | None, *, concurrency: int) -> Packing:
    """The GPU fraction per trial for measured peaks ``peaks_mb`` (MiB) on a ``card_mb`` card.

    ``k = floor(card * (1 - HEADROOM) / (max(peaks) * PEAK_MARGIN + CONTEXT_MIB))`` trials per
    card, at least 1 (a trial larger than the card gets a whole one and may still run out of
    memory: no packing can help it) and at most :data:`MAX_PER_CARD` and ``concurrency`` (more
    per card than trials at once would crowd one card while another idles). No peak or no card
    known: :data:`START_FRACTION`.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency {concurrency}: at least 1 trial runs at once")
    peaks = [float(p) for p in peaks_mb if p is not None and math.isfinite(p) and p > 0]
    if not peaks or card_mb is None or not card_mb > 0:
        return Packing(START_FRACTION, 1, card_mb=card_mb)
    peak = max(peaks)
    fits = int(card_mb * (1 - HEADROOM) // (peak * PEAK_MARGIN + CONTEXT_MIB))
    per_card, capped = max(1, fits), None
    for limit, why in ((MAX_PER_CARD, "at most 8"), (concurrency, "[search] concurrency")):
        if per_card > limit:
            per_card, capped = limit, f"capped by {why}"
    fraction = math.floor(PRECISION / per_card) / PRECISION
    return Packing(fraction, per_card, peak_mb=peak, card_mb=float(card_mb), capped=capped)


def _gib(mib: float) -> str:
    """``9.1 GiB``, ``80 GiB``: one decimal, none when whole."""
    text = f"{mib / 1024:.1f}".removesuffix(".0")
    return f"{text} GiB"
