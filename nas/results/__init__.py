"""What a search found: a study's Pareto front, read, ranked and shown.

- :mod:`nas.results.pareto`: the maths on an ``(n, m)`` array of objective values (dominance,
  non-dominated ranks, crowding, hypervolume, the knee); knows nothing of studies.
- :mod:`nas.results.front`: :class:`~nas.results.front.StudyFront`, the one reader of a study's
  front (members, columns, merged equal specs, confirmed accuracies, the knee, the order);
  :mod:`nas.results.member`: one member of it.
- :mod:`nas.results.table` and :mod:`nas.results.plot`: the front as text and as a figure.

``nas search`` (its summary), ``nas pareto``, ``nas confirm`` and ``nas export`` read fronts
here; nothing in this package imports :mod:`nas.search`, :mod:`nas.confirm` or
:mod:`nas.export`. Submodules are imported where used (numpy and matplotlib stay unloaded).
"""
