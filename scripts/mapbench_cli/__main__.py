"""`python3 -m mapbench_cli ...` (with scripts/ on sys.path); scripts/mapbench is the usual way in."""
import sys

from mapbench_cli.cli import main

sys.exit(main())
