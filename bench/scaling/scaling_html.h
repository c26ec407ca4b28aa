// The self-contained HTML/SVG page of `kachi bench scaling` (the `report` path of --bench_scaling): scaling
// efficiency vs ranks per layout and mode (measured, and the model's prediction dashed), the stacked breakdown of
// the slowest rank's median step per point, the projected efficiency on the named cluster, and the tables.
#ifndef KACHI_BENCH_SCALING_SCALING_HTML_H_
#define KACHI_BENCH_SCALING_SCALING_HTML_H_

#include <string>

#include "absl/status/status.h"
#include "bench/scaling/scaling_report.h"

namespace kachi {

// The page (inline SVG and CSS, no scripts or external resources).
std::string RenderScalingHtml(const ScalingReport& report);
// Writes the page to `path` atomically (runtime/io/atomic_file.h).
absl::Status WriteScalingHtml(const ScalingReport& report, const std::string& path);

}  // namespace kachi

#endif  // KACHI_BENCH_SCALING_SCALING_HTML_H_
