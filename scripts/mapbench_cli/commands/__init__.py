"""Subcommands of scripts/mapbench: one module each (its argparse and its run)."""
