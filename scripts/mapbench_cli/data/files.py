"""The names of a run folder's files and the one error of bad input (no pandas: cheap to import)."""

RESULTS_NAME = "results.csv"
ENVIRONMENT_NAME = "environment.json"


class BadInput(Exception):
    """Input the tool refuses; str() is one line meant for the user."""
