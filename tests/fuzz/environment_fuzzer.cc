// Fuzzes the parsers behind environment.json: /proc/cpuinfo (ParseCpuInfo),
// /proc/self/mountinfo (FindMount), the kernel command line (CmdlineValue), and the JSON
// text they end up in (JsonText). Invariants: any text gives JSON that reads back, even
// when it is not UTF-8; what FindMount and CmdlineValue return are single words found in
// the text; and files written the way the kernel writes them, from the input, read back
// as what was written.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "harness/run/environment.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using nlohmann::json;

constexpr char kBlank[] = " \t\n\v\f\r";

// A word without blanks or NUL, never empty.
std::string WordFrom(FuzzedDataProvider& in) {
  std::string word;
  for (char c : in.ConsumeRandomLengthString(12)) {
    if (c != '\0' && std::string(kBlank).find(c) == std::string::npos) word += c;
  }
  return word.empty() ? "w" : word;
}

// Whatever went in, the text written is JSON that reads back with the same shape.
void CheckJsonReadsBack(const json& value) {
  std::string text = mapbench::JsonText(value);
  json back = json::parse(text, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(!back.is_discarded());
  FUZZ_CHECK(back.size() == value.size());
  FUZZ_CHECK(back["cpus"] == value["cpus"] && back["hypervisor"] == value["hypervisor"]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string cpuinfo = in.ConsumeRandomLengthString(1024);
  const std::string mountinfo = in.ConsumeRandomLengthString(1024);
  const std::string cmdline = in.ConsumeRandomLengthString(256);
  const std::string key = in.ConsumeRandomLengthString(16);
  const std::string device = in.ConsumeRandomLengthString(8);

  const mapbench::CpuInfoSummary cpu = mapbench::ParseCpuInfo(cpuinfo);
  FUZZ_CHECK(cpu.logical_cpus >= 0 &&
             cpu.logical_cpus <= std::count(cpuinfo.begin(), cpuinfo.end(), ':'));
  json env = {{"cpus", cpu.logical_cpus}, {"hypervisor", cpu.hypervisor}, {"raw", cmdline}};
  if (cpu.model) {
    FUZZ_CHECK(cpu.model->find('\n') == std::string::npos);
    env["model"] = *cpu.model;
  }
  if (auto mount = mapbench::FindMount(mountinfo, device)) {
    for (const std::string* word : {&mount->filesystem, &mount->source, &mount->options}) {
      FUZZ_CHECK(word->find_first_of(kBlank) == std::string::npos);
      FUZZ_CHECK(mountinfo.find(*word) != std::string::npos);
    }
    env["mount"] = {mount->filesystem, mount->source, mount->options};
  }
  if (auto value = mapbench::CmdlineValue(cmdline, key)) {
    FUZZ_CHECK(value->find_first_of(" \t\n") == std::string::npos);
    FUZZ_CHECK(cmdline.find(key + "=" + *value) != std::string::npos);
    env["order"] = *value;
  }
  CheckJsonReadsBack(env);

  // /proc/cpuinfo as the kernel writes it: one block per processor.
  const int processors = in.ConsumeIntegralInRange<int>(0, 16);
  const std::string model = WordFrom(in) + " CPU @ " + WordFrom(in);
  bool hypervisor = false;
  std::string text;
  for (int p = 0; p < processors; ++p) {
    std::string flag = in.ConsumeBool() ? "hypervisor" : WordFrom(in);
    hypervisor = hypervisor || flag == "hypervisor";
    text += "processor\t: " + std::to_string(p) + "\nvendor_id\t: " + WordFrom(in) +
            "\nmodel name\t: " + (p == 0 ? model : WordFrom(in)) + "\nflags\t\t: fpu " + flag +
            " sse2\n\n";
  }
  const mapbench::CpuInfoSummary written = mapbench::ParseCpuInfo(text);
  FUZZ_CHECK(written.logical_cpus == processors);
  FUZZ_CHECK(processors == 0 ? !written.model : written.model == model);
  FUZZ_CHECK(written.hypervisor == hypervisor);

  // mountinfo lines, the last one for the device wins.
  std::string mounts;
  std::optional<mapbench::MountSummary> expected;
  const std::string wanted = std::to_string(in.ConsumeIntegralInRange<int>(0, 3)) + ":1";
  const int lines = in.ConsumeIntegralInRange<int>(0, 8);
  for (int i = 0; i < lines; ++i) {
    const std::string majmin = std::to_string(in.ConsumeIntegralInRange<int>(0, 3)) + ":1";
    mapbench::MountSummary m{WordFrom(in), WordFrom(in), WordFrom(in)};
    std::string optional_fields;
    for (int f = in.ConsumeIntegralInRange<int>(0, 2); f > 0; --f) {
      optional_fields += "shared:" + std::to_string(f) + " ";
    }
    mounts += std::to_string(20 + i) + " 1 " + majmin + " / /mnt/" + WordFrom(in) + " " +
              m.options + " " + optional_fields + "- " + m.filesystem + " " + m.source + " rw\n";
    if (majmin == wanted) expected = m;
  }
  const auto found = mapbench::FindMount(mounts, wanted);
  FUZZ_CHECK(found.has_value() == expected.has_value());
  if (found) {
    FUZZ_CHECK(found->filesystem == expected->filesystem && found->source == expected->source &&
               found->options == expected->options);
  }

  // A command line of words; the first whole "name=" word gives the value.
  const std::string name = "page_reporting.page_reporting_order";
  std::string line;
  std::optional<std::string> first;
  for (int i = in.ConsumeIntegralInRange<int>(0, 8); i > 0; --i) {
    std::string word = WordFrom(in);
    if (in.ConsumeBool()) word = name + "=" + word;
    if (!first && word.rfind(name + "=", 0) == 0) first = word.substr(name.size() + 1);
    line += (line.empty() ? "" : " ") + word;
  }
  FUZZ_CHECK(mapbench::CmdlineValue(line, name) == first);
  return 0;
}
