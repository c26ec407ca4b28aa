// ProfilingOps' report (see profiling_ops.h).
#include "runtime/model/profiling_ops.h"

#include <algorithm>

namespace kachi {

std::vector<ProfilingOps::OpTime> ProfilingOps::Report() const {
  std::vector<OpTime> report;
  for (const auto& [op, time] : times_) report.push_back(time);
  std::sort(report.begin(), report.end(), [](const OpTime& a, const OpTime& b) { return a.seconds > b.seconds; });
  return report;
}

}  // namespace kachi
