"""Pure computation over results: medians, intervals, tests, power. Never imports matplotlib."""
