"""``searchspace.fields``: one check, its message in the words the user wrote the field in."""

from __future__ import annotations

import pytest

from searchspace.fields import WIDTH_MAX, Names, integer, width

CONFIG = Names("proxy")
FLAGS = Names("budget", flags={"width": "--width"}, nulls={"width": "0 (the spec's)"})


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (CONFIG, r"^proxy\.width: expected a number in \(0, 8\] or null, got -1$"),
        (FLAGS, r"^--width: expected a number in \(0, 8\] or 0 \(the spec's\), got -1$"),
    ],
)
def test_a_field_is_named_as_written(names: Names, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        width(names("width"), -1, null=names.null("width"))


def test_unflagged_fields_keep_their_section_name() -> None:
    assert FLAGS("epochs") == "budget.epochs" and FLAGS.null("epochs") == "null"
    with pytest.raises(ValueError, match=r"^budget\.epochs: expected an integer >= 1, got 0$"):
        integer(FLAGS("epochs"), 0)


def test_width_bound_is_open_below_and_closed_above() -> None:
    assert width("width", WIDTH_MAX) == float(WIDTH_MAX)
    assert width("width", None, null="null") is None
    for bad in (0, WIDTH_MAX + 0.5, float("nan"), True, "1"):
        with pytest.raises(ValueError, match=r"^width: expected a number in \(0, 8\]"):
            width("width", bad)


def test_how_to_set_a_field() -> None:
    data_flags = Names("data", flags={"data_dir": "--data-dir"})
    assert data_flags.set_to("data_dir", "DIR") == "pass --data-dir DIR"
    assert Names("data").set_to("data_dir", "DIR") == 'set [data] data_dir = "DIR"'
    assert data_flags.written("data_dir") == "--data-dir"
    assert Names("data").written("data_dir") == "[data] data_dir"
