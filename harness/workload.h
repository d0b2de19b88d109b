// The one header a workload family includes: how to declare cases, measure the timed
// loop under counters, and report what was verified. Nothing here knows about CSV.
// A facade above the rooms: the declarations live in run/family.h (cases and
// registration), measure/measurement.h (the timed loop and the outcome),
// measure/report_keys.h ("{counter}") and measure/run_context.h.
#pragma once

#include "harness/measure/measurement.h"
#include "harness/measure/report_keys.h"
#include "harness/measure/run_context.h"
#include "harness/run/family.h"
