"""mapbench analysis: load and validate run folders, summarise repetitions, draw figures.

Sub-packages (docs/architecture-python.md says what each owns and what may import what):
  data      run folders: results and series CSVs, environment.json, the schema of the columns
  stats     pure computation: medians and intervals, the tests of compare, power (no matplotlib)
  text      words, numbers and Markdown/LaTeX tables
  figures   matplotlib drawing (imported late) and one module per workload family
  commands  one module per subcommand: its argparse and its run
  cli       the front end: builds the parser from commands/, dispatches, exit statuses
"""

__all__ = ["data", "stats", "text", "figures", "commands", "cli"]
