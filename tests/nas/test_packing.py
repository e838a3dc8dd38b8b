"""``gpus_per_trial = "auto"``: how many trials share one card, from measured peaks.

Real numbers: an H100 80GB reports 81,559 MiB to ``torch.cuda.get_device_properties``; the
peaks are what ``torch.cuda.max_memory_allocated`` would report for small and large proxies.
"""

from __future__ import annotations

import pytest

from nas.packing import (
    CONTEXT_MIB,
    HEADROOM,
    MAX_PER_CARD,
    PEAK_MARGIN,
    START_FRACTION,
    Packing,
    pack,
)

H100_MIB = 81559.0
A10_MIB = 22731.0


def test_until_measured_one_trial_per_card() -> None:
    for peaks, card in (([], H100_MIB), ([900.0], None), ([0.0], H100_MIB)):
        packing = pack(peaks, card, concurrency=8)
        assert packing == Packing(START_FRACTION, 1, card_mb=card)
        assert not packing.measured
    assert pack([], None, concurrency=8).line() == (
        "gpus_per_trial auto: 1 until a trial's peak GPU memory is measured (one trial per "
        "card; the first finished trial sizes the rest)"
    )


def test_a_large_proxy_is_packed_by_its_largest_peak_with_margins() -> None:
    """9.1 GiB and 6 GiB peaks on an H100: 81559 * 0.9 // (9318.4 * 1.5 + 512) = 5 per card."""
    packing = pack([6144.0, 9318.4], H100_MIB, concurrency=8)
    need = 9318.4 * PEAK_MARGIN + CONTEXT_MIB
    assert packing.per_card == 5 == int(H100_MIB * (1 - HEADROOM) // need)
    assert packing.fraction == 0.2 and packing.peak_mb == 9318.4
    assert packing.line() == (
        "gpus_per_trial auto: 0.2 (peak 9.1 GiB of 79.6 GiB per trial, 5 per card)"
    )


def test_fractions_are_rounded_down_so_that_k_of_them_fit() -> None:
    """A 5.1 GiB peak on an A10 fits 2 (22731 * 0.9 // 8345.6); 3 per card on an H100 at
    15 GiB: 0.3333, three of which Ray can place (it keeps 1e-4)."""
    assert pack([5222.4], A10_MIB, concurrency=8).fraction == 0.5
    thirds = pack([15360.0], H100_MIB, concurrency=8)
    assert thirds.per_card == 3 and thirds.fraction == 0.3333 and 3 * thirds.fraction <= 1


def test_small_proxies_are_capped_by_the_card_and_by_concurrency() -> None:
    tiny = [310.0, 295.5]  # the default proxy's size: ~20 fit by memory alone
    assert pack(tiny, H100_MIB, concurrency=16).per_card == MAX_PER_CARD
    assert pack(tiny, H100_MIB, concurrency=16).line().endswith("8 per card, capped by at most 8)")
    two = pack(tiny, H100_MIB, concurrency=2)
    assert (two.fraction, two.capped) == (0.5, "capped by [search] concurrency")


def test_a_trial_larger_than_the_card_gets_a_whole_card() -> None:
    packing = pack([70000.0], H100_MIB, concurrency=4)
    assert (packing.fraction, packing.per_card, packing.capped) == (1.0, 1, None)


def test_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="concurrency 0"):
        pack([100.0], H100_MIB, concurrency=0)
