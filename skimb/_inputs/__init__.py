"""The inputs of the estimator, in one place: their kinds, their checks, their preparation.

* :mod:`~skimb._inputs.kinds`: the input kinds networks and augmentations
  declare, and :func:`~skimb._inputs.kinds.input_kind`, the one detector;
* :mod:`~skimb._inputs.tables`, :mod:`~skimb._inputs.arrays`,
  :mod:`~skimb._inputs.datasets`, :mod:`~skimb._inputs.labels`: the checks at
  the edge (2-D tables, N-D arrays and dicts, torch Datasets, labels and
  sample weights), each a clear ``ValueError`` saying what and where;
* :mod:`~skimb._inputs.prepare`: what ``fit``, ``partial_fit`` and
  ``predict`` turn the user's input into.

A new input kind is a constant and a branch of ``input_kind`` in ``kinds``, its
check, and its preparation in ``prepare``; networks and augmentations then
declare whether they accept it.
"""
