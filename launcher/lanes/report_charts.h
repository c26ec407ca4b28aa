// The two charts of the lanes report as inline SVG: every lane's loss curve (log-x steps, linear loss, styled by
// the lane's status, with a legend) and the card timeline (one row per card, a colored bar per span a lane held
// it, with a legend). Pure string building; report.cc assembles the page.
#ifndef KACHI_LAUNCHER_LANES_REPORT_CHARTS_H_
#define KACHI_LAUNCHER_LANES_REPORT_CHARTS_H_

#include <string>

#include "launcher/lanes/report_data.h"

namespace kachi::lanes {

// `text` with &, <, >, " and ' replaced by their HTML entities (safe in element text and quoted attributes).
std::string HtmlEscape(const std::string& text);

// Lane `lane`'s color as "#rrggbb": hues spread by the golden angle so neighbouring lanes differ.
std::string LaneColor(int lane);

// The loss chart: one <svg> with a <polyline class="curve"> per lane that has two or more finite points (a
// <circle> for a single point), axes with ticks, and a legend naming every lane and its status. Finished lanes are
// drawn solid, stopped lanes dashed with a cross at their last point, paused lanes dotted and faded.
std::string LossCurvesSvg(const LanesReportData& data);

// The card timeline: one <svg> with a row per card and a <rect class="bar"> per interval in its lane's color
// (with a <title> naming the lane and the span), a time axis, and a legend of the lanes that held cards.
std::string CardTimelineSvg(const LanesReportData& data);

}  // namespace kachi::lanes

#endif  // KACHI_LAUNCHER_LANES_REPORT_CHARTS_H_
