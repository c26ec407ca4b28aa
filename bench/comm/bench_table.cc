// Table formatting of `kachi bench comm` (see bench_table.h).
#include "bench/comm/bench_table.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kachi {

double Bandwidth(size_t bytes, double us) { return us > 0 ? static_cast<double>(bytes) / (us * 1e3) : 0.0; }

std::string TableColumns(const char* raw_name) {
  return absl::StrFormat("#%13s %11s %6s %6s %11s %11s %11s %11s %7s %6s", "size(B)", "count", "type", "redop",
                         "kachi(us)", "algbw(GB/s)", "busbw(GB/s)", absl::StrCat(raw_name, "(us)"), "ratio",
                         "check");
}

std::string FormatRow(const BenchRow& row) {
  const double algbw = Bandwidth(row.bytes, row.kachi_us);
  const std::string raw = row.raw_us >= 0 ? absl::StrFormat("%.2f", row.raw_us) : "n/a";
  const std::string ratio = row.raw_us > 0 ? absl::StrFormat("%.3g", row.kachi_us / row.raw_us) : "n/a";
  return absl::StrFormat(" %13u %11u %6s %6s %11.2f %11.4g %11.4g %11s %7s %6s", row.bytes, row.count,
                         DTypeName(row.dtype), row.redop, row.kachi_us, algbw, algbw * row.bus_factor, raw, ratio,
                         row.check);
}

}  // namespace kachi
