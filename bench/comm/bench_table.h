// The benchmark's text table (nccl-tests style): one header per (collective, dtype) section, one row per size,
// and a summary line. Rows have exactly kBenchRowFields whitespace-separated fields.
#ifndef KACHI_BENCH_COMM_BENCH_TABLE_H_
#define KACHI_BENCH_COMM_BENCH_TABLE_H_

#include <cstddef>
#include <string>

#include "comm/dtype.h"

namespace kachi {

// Fields of a row: size(B) count type redop kachi(us) algbw busbw raw(us) ratio check.
inline constexpr int kBenchRowFields = 10;

// One measured size.
struct BenchRow {
  size_t bytes = 0;         // size column
  size_t count = 0;         // elements of the size column
  DType dtype = DType::kFloat32;
  std::string redop;        // "sum" / "avg" / "max", or "-" for collectives that do not reduce
  double kachi_us = 0;      // median per-call time of kachi (slowest rank)
  double raw_us = -1;       // same for the raw peer; < 0 when the peer has no such call
  double bus_factor = 1;    // busbw / algbw
  std::string check;        // "ok", "FAIL" or "-" (not checked)
};

// GB/s (1e9 bytes per second) for `bytes` moved in `us` microseconds.
double Bandwidth(size_t bytes, double us);

// Column titles (a '#' line), given the raw peer's name ("MPI" or "NCCL").
std::string TableColumns(const char* raw_name);
// One row (no trailing newline).
std::string FormatRow(const BenchRow& row);

}  // namespace kachi

#endif  // KACHI_BENCH_COMM_BENCH_TABLE_H_
