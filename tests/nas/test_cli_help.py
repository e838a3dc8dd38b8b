"""Every ``nas`` option's ``--help`` names the default the command really uses.

The docs send a user to ``nas <command> --help`` for the defaults; an option whose help is
silent about its default (``--port``, ``--study`` of the readers) leaves them to guess.
"""

from __future__ import annotations

import argparse

import pytest

from nas.cli import build_parser


def _options() -> list[tuple[str, argparse.Action]]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [
        (name, action)
        for name, sub in commands.choices.items()
        for action in sub._actions
        if action.option_strings and action.default not in (None, False, [], argparse.SUPPRESS)
    ]


@pytest.mark.parametrize(
    ("command", "action"),
    _options(),
    ids=[f"{name}-{action.dest}" for name, action in _options()],
)
def test_help_names_the_default(command: str, action: argparse.Action) -> None:
    assert f"default {action.default}" in (action.help or ""), (
        f"nas {command} {action.option_strings[0]}: help {action.help!r} does not name "
        f"its default {action.default!r}"
    )


def test_options_with_defaults_exist() -> None:
    """The test above has something to check (a parser change could leave it empty)."""
    checked = {(name, action.dest) for name, action in _options()}
    assert checked >= {("dashboard", "port"), ("pareto", "study")}
