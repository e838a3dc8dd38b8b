"""Each block's paper is cited once, in its catalog declaration; its module only links to it.

The module docstring of every implementation opens with ``Paper: <link> (citation: <entry>)``:
the link must be the declaration's, and the named entry must be the block's declaration, so a
citation cannot drift between the two places a reader meets it.
"""

from __future__ import annotations

import importlib
import re
import sys

import pytest

from searchspace.blocks import registered_blocks
from searchspace.catalog import BlockInfo, block_info

PAPER = re.compile(r"^Paper: (?P<url>\S+)\s+\(citation: :data:`(?P<entry>[\w.]+)`\)", re.M)
BLOCKS = [name for name in registered_blocks() if name != "none"]


def _entry(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("name", BLOCKS)
def test_module_links_the_paper_its_declaration_cites(name: str) -> None:
    doc = sys.modules[registered_blocks()[name].__module__].__doc__ or ""
    found = PAPER.findall(doc)
    assert len(found) == 1, f"{name}: no single 'Paper: <link> (citation: ...)' line in {doc!r}"
    url, entry = found[0]
    info = block_info(name)
    assert url == info.paper_url
    assert entry.startswith("searchspace.catalog.") and _entry(entry) is info


@pytest.mark.parametrize("name", BLOCKS)
def test_module_does_not_cite_the_paper_again(name: str) -> None:
    """The declaration's title (its text between the authors and the venue) is not repeated."""
    doc = sys.modules[registered_blocks()[name].__module__].__doc__ or ""
    authors, _, rest = block_info(name).paper.partition(", ")
    title = rest.rsplit(", ", 2)[0]
    assert authors.split()[0] not in doc.split("\n\n")[1], f"{name}: authors cited twice"
    assert title not in doc, f"{name}: title cited twice"


def test_paper_url_is_the_link_that_ends_the_citation() -> None:
    info = BlockInfo(name="x", family="channel", paper="A et al., T, Venue 2020, https://a.b/c")
    assert info.paper_url == "https://a.b/c"
    with pytest.raises(AssertionError, match="does not end in a link"):
        BlockInfo(name="y", family="channel", paper="A et al., T, Venue 2020")
