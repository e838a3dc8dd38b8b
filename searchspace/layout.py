"""Which residual blocks of a stage receive attention (pure; shared by spec and builder)."""

from __future__ import annotations


def selected_blocks(selector: str, depth: int) -> tuple[int, ...]:
    """Indices of the residual blocks that ``selector`` picks in a ``depth``-block stage.

    ``all`` every block, ``first`` block 0, ``last`` the final block, ``alternate`` blocks
    0, 2, 4, ... (the "every other block" placement of the SE and CBAM ablations).
    """
    if selector == "first":
        return (0,)
    if selector == "last":
        return (depth - 1,)
    if selector == "alternate":
        return tuple(range(0, depth, 2))
    assert selector == "all", f"unknown selector {selector!r}"
    return tuple(range(depth))
