// The lanes report: one self-contained HTML page (inline SVG and CSS, no scripts, no external resources) with the
// loss curves of all lanes, the timeline of which lane held which card, and a table of the lanes. Written next to
// the journal by the lane executor and by `kachi lanes --simulate --lanes_report PATH`.
#ifndef KACHI_LAUNCHER_LANES_REPORT_H_
#define KACHI_LAUNCHER_LANES_REPORT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "launcher/lanes/report_data.h"

namespace kachi::lanes {

// Checks `data`: num_cards >= 0, total_seconds finite and >= 0, and every interval's card in [0, num_cards), lane
// an index into lanes and 0 <= begin_s <= end_s. Errors name the interval and the value found and expected.
absl::Status ValidateLanesReportData(const LanesReportData& data);

// The page for `data` (validated first).
absl::StatusOr<std::string> RenderLanesReportHtml(const LanesReportData& data);

// Renders `data` and writes the page to `path` atomically (a temporary file beside it, then a rename). Errors: the
// data's (see ValidateLanesReportData) or the file's, naming the path.
absl::Status WriteLanesReport(const LanesReportData& data, const std::string& path);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_REPORT_H_
