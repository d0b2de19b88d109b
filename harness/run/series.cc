#include "harness/run/series.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "harness/kernel/resources.h"
#include "harness/run/csv_reporter.h"

namespace mapbench {
namespace {

struct CurrentCase {
  std::string path, run_id, family, name;
  int process = 0;
  int arm = -1;  // the --interleave value's index; -1 when the run does not interleave
  int repetition = -1;
};
CurrentCase current;

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", value);
  return text;
}

}  // namespace

std::vector<std::string> SeriesColumns(bool interleaved) {
  std::vector<std::string> columns = {"schema_version", "run_id", "family", "name", "process",
                                      "repetition", "t_s", "series", "value"};
  if (interleaved) columns.push_back("arm");
  return columns;
}

std::string SeriesLines(const std::string& run_id, const std::string& family, const std::string& name,
                        int process, int repetition, const std::vector<SeriesPoint>& points, int arm) {
  std::string lines;
  for (const SeriesPoint& p : points) {
    std::vector<std::string> cells = {std::to_string(kSchemaVersion), run_id, family, name, std::to_string(process),
                                      std::to_string(repetition), Number(p.t_s), p.series, Number(p.value)};
    if (arm >= 0) cells.push_back(std::to_string(arm));
    lines += CsvLine(cells);
  }
  return lines;
}

void BeginCaseSeries(const std::string& path, const std::string& run_id, const std::string& family,
                     const std::string& name, int process, int arm) {
  current = CurrentCase{path, run_id, family, name, process, arm, -1};
}

void NextSeriesRepetition() { ++current.repetition; }

std::string ReportSeries(const std::vector<SeriesPoint>& points) {
  if (current.path.empty()) return "no series file for this case";
  UniqueFd fd(open(current.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  struct stat status;
  if (!fd.valid() || fstat(fd.get(), &status) != 0) return SysError("open(" + current.path + ")");
  std::string text = status.st_size == 0 ? CsvLine(SeriesColumns(current.arm >= 0)) : "";
  text += SeriesLines(current.run_id, current.family, current.name, current.process,
                      std::max(current.repetition, 0), points, current.arm);
  for (size_t done = 0; done < text.size();) {
    ssize_t wrote = write(fd.get(), text.data() + done, text.size() - done);
    if (wrote <= 0) return SysError("write(" + current.path + ")");
    done += static_cast<size_t>(wrote);
  }
  if (fdatasync(fd.get()) != 0) return SysError("fdatasync(" + current.path + ")");
  return "";
}

}  // namespace mapbench
