// Time series a case records beside its rows: series.csv in the run folder, long
// format (one line per point and series), keyed like results.csv rows by name,
// process and repetition. For cases with a fixed iteration count, where every call of
// the body is one repetition. Schema: docs/results-schema.md.
#pragma once

#include <string>
#include <vector>

namespace mapbench {

struct SeriesPoint {
  double t_s = 0;      // end of the bucket, seconds since the measured phase began
  std::string series;  // snake_case with its unit, e.g. "bytes_per_second"
  double value = 0;
};

// The header of series.csv; an interleaved run's ends with "arm", as its results.csv
// rows carry one: the arms of one case and process are told apart.
std::vector<std::string> SeriesColumns(bool interleaved = false);

// The CSV lines (no header) of one repetition's points; `arm` < 0: no arm cell.
std::string SeriesLines(const std::string& run_id, const std::string& family, const std::string& name,
                        int process, int repetition, const std::vector<SeriesPoint>& points, int arm = -1);

// Set by the harness in each case's process before the case runs (`arm` < 0 when the
// run does not interleave).
void BeginCaseSeries(const std::string& path, const std::string& run_id, const std::string& family,
                     const std::string& name, int process, int arm = -1);
// Called by the harness before each call of a body (thread 0): one repetition more.
void NextSeriesRepetition();

// Appends the current repetition's points to series.csv (creating it with its header).
// Error text, or empty when written and synced.
std::string ReportSeries(const std::vector<SeriesPoint>& points);

}  // namespace mapbench
