"""``nas.wording.counted``: the CLI's counts agree with their number."""

from __future__ import annotations

from nas.wording import counted


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert counted(1, "front member") == "1 front member"
    assert [counted(n, "run") for n in (0, 2)] == ["0 runs", "2 runs"]
    assert counted(2, "replica", "replicas kept") == "2 replicas kept"
