"""mapbench analysis: load and validate run folders, summarise repetitions, draw figures.

Modules:
  schema   one description of the results columns (labels, units, direction, types)
  runs     load and validate run folders / results CSVs (no drawing, no matplotlib)
  stats    medians and confidence intervals of the median over repetitions
  figures  matplotlib drawing of summaries (no validation, no statistics)
  plot     the `plot` subcommand: runs -> stats -> figures
  cli      argparse front end and exit statuses
"""

__all__ = ["schema", "runs", "stats", "figures", "plot", "cli"]
