#include "harness/kernel/system_files.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

namespace mapbench {

std::string SystemFiles::Resolve(std::string_view path) const {
  if (root_.empty() || root_ == "/") return std::string(path);
  std::string out = root_;
  if (out.back() == '/') out.pop_back();
  out += path;
  return out;
}

std::optional<std::string> SystemFiles::Read(std::string_view path) const {
  std::ifstream in(Resolve(path), std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return buffer.str();
}

std::optional<std::string> SystemFiles::ReadLine(std::string_view path) const {
  auto text = Read(path);
  if (!text) return std::nullopt;
  return Trim(std::string_view(*text).substr(0, text->find('\n')));
}

std::vector<std::string> SystemFiles::List(std::string_view dir) const {
  std::vector<std::string> names;
  DIR* d = opendir(Resolve(dir).c_str());
  if (d == nullptr) return names;
  while (dirent* entry = readdir(d)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string Trim(std::string_view text) {
  const char* kSpace = " \t\r\n";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(kSpace);
  return std::string(text.substr(begin, end - begin + 1));
}

std::string SelectedChoice(std::string_view sysfs_text) {
  size_t open = sysfs_text.find('[');
  size_t close = sysfs_text.find(']', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos) return Trim(sysfs_text);
  return std::string(sysfs_text.substr(open + 1, close - open - 1));
}

std::optional<uint64_t> ParseUnsigned(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::map<std::string, uint64_t> ParseKeyValues(std::string_view text) {
  std::map<std::string, uint64_t> values;
  std::istringstream in{std::string(text)};
  // Line by line: a line with one word must not take the next line's name as its value.
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key, value;
    if (!(fields >> key >> value)) continue;
    if (auto parsed = ParseUnsigned(value)) values[key] = *parsed;
  }
  return values;
}

std::map<std::string, uint64_t> ParseMeminfo(std::string_view text) {
  std::map<std::string, uint64_t> values;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::istringstream fields(line.substr(colon + 1));
    std::string number, unit;
    fields >> number >> unit;
    auto parsed = ParseUnsigned(number);
    if (!parsed) continue;
    if (unit == "kB" && *parsed > std::numeric_limits<uint64_t>::max() / 1024) continue;  // no wrap
    values[line.substr(0, colon)] = unit == "kB" ? *parsed * 1024 : *parsed;
  }
  return values;
}

uint64_t PageSize() {
  static const uint64_t page = [] {
    const long bytes = sysconf(_SC_PAGESIZE);
    return bytes > 0 ? static_cast<uint64_t>(bytes) : uint64_t{4096};  // sysconf cannot fail here
  }();
  return page;
}

}  // namespace mapbench
