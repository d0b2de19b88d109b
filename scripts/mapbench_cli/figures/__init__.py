"""Figures: shared drawing (matplotlib, imported late) and one module per workload family."""
