"""One module per ``nas`` sub-command (see :mod:`nas.cli`)."""
