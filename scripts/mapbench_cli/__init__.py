"""mapbench analysis: load and validate run folders, summarise repetitions, draw figures.

Modules:
  schema   one description of the results columns (labels, units, direction, types)
  runs     load and validate run folders / results CSVs (no drawing, no matplotlib)
  stats    medians and confidence intervals of the median over repetitions
  figures  matplotlib drawing of summaries (no validation, no statistics)
  plot     the `plot` subcommand: runs -> stats -> figures
  compare  the statistics of a comparison (no printing)
  compare_report  the `compare` subcommand: load both sides, present the comparison
  environment  settings of environment.json and how runs differ
  power    the `power` subcommand: A/A false alarms and power of compare, by resampling
  regress  the `regress` subcommand (ci/regress): run, compare with a baseline
  matrix   the `matrix` subcommand: one run per kernel-tuning combination, then compare
  tables   Markdown and LaTeX tables (escaping)
  report   the `report` subcommand: paper figures, tables, environment appendix
  cli      argparse front end and exit statuses
"""

__all__ = ["schema", "runs", "stats", "figures", "plot", "compare", "compare_report", "environment", "power",
           "regress", "matrix", "tables", "report", "cli"]
