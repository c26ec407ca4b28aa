// The lanes report page: validation, the HTML around the two charts, the lane table, and the atomic write.
#include "launcher/lanes/report.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "launcher/lanes/report_charts.h"

namespace kachi::lanes {
namespace {

constexpr char kStyle[] =
    "body{font-family:sans-serif;margin:16px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}"
    "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}.swatch{display:inline-block;width:10px;height:10px;"
    "margin-right:6px}.charts{display:flex;flex-wrap:wrap;gap:20px}.charts h2{margin-top:8px}";

// Card-seconds each lane held, from the intervals.
std::vector<double> HeldCardSeconds(const LanesReportData& data) {
  std::vector<double> held(data.lanes.size(), 0.0);
  for (const CardInterval& interval : data.intervals) held[interval.lane] += interval.end_s - interval.begin_s;
  return held;
}

// One row per lane: color, name, status, last step, last finite loss, card-seconds held.
std::string LaneTable(const LanesReportData& data) {
  const std::vector<double> held = HeldCardSeconds(data);
  std::string table =
      "<table class=\"lanes\"><tr><th>lane</th><th>status</th><th>last step</th><th>last loss</th>"
      "<th>card-seconds</th></tr>\n";
  for (size_t i = 0; i < data.lanes.size(); ++i) {
    const LaneSeries& lane = data.lanes[i];
    std::string step = "-", loss = "-";
    for (auto it = lane.points.rbegin(); it != lane.points.rend(); ++it) {
      if (!std::isfinite(it->second)) continue;
      step = absl::StrCat(it->first);
      loss = absl::StrFormat("%.4f", it->second);
      break;
    }
    absl::StrAppendFormat(&table,
                          "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>%s</td><td>%s</td>"
                          "<td>%s</td><td>%s</td><td>%.0f</td></tr>\n",
                          LaneColor(static_cast<int>(i)), HtmlEscape(lane.name), HtmlEscape(lane.status), step,
                          loss, held[i]);
  }
  table += "</table>";
  return table;
}

// The regret view (issue 18): the chosen lane (the finished lane with the lowest final loss) beside every other
// finished or paused lane's last loss (paused lanes at their last rung or their cut, an earlier step) and its
// difference from the chosen lane's; empty when no lane finished.
std::string RegretView(const LanesReportData& data) {
  auto last = [](const LaneSeries& lane, int64_t* step, double* loss) {
    for (auto it = lane.points.rbegin(); it != lane.points.rend(); ++it) {
      if (!std::isfinite(it->second)) continue;
      *step = it->first;
      *loss = it->second;
      return true;
    }
    return false;
  };
  int chosen = -1;
  int64_t chosen_step = 0;
  double chosen_loss = 0;
  for (size_t i = 0; i < data.lanes.size(); ++i) {
    int64_t step = 0;
    double loss = 0;
    if (data.lanes[i].status != "finished" || !last(data.lanes[i], &step, &loss)) continue;
    if (chosen < 0 || loss < chosen_loss) chosen = static_cast<int>(i), chosen_step = step, chosen_loss = loss;
  }
  if (chosen < 0) return "";
  std::string view = absl::StrFormat(
      "<h2>Regret view</h2>\n<p>Chosen: %s, loss %.4f at step %d. Paused lanes are shown at their last rung or, "
      "when cut between rungs by their predicted final loss, at the cut (an earlier step: a lower loss there than "
      "the chosen lane's final one means it may have been the better lane).</p>\n"
      "<table class=\"lanes regret\"><tr><th>lane</th><th>status</th><th>step</th><th>loss</th>"
      "<th>minus chosen</th></tr>\n",
      HtmlEscape(data.lanes[chosen].name), chosen_loss, static_cast<int>(chosen_step));
  for (size_t i = 0; i < data.lanes.size(); ++i) {
    const LaneSeries& lane = data.lanes[i];
    int64_t step = 0;
    double loss = 0;
    if ((lane.status != "finished" && lane.status != "paused") || !last(lane, &step, &loss)) continue;
    absl::StrAppendFormat(&view, "<tr><td>%s</td><td>%s</td><td>%d</td><td>%.4f</td><td>%+.4f</td></tr>\n",
                          HtmlEscape(lane.name), static_cast<int>(i) == chosen ? "chosen" : HtmlEscape(lane.status),
                          static_cast<int>(step), loss, loss - chosen_loss);
  }
  view += "</table>\n";
  return view;
}

}  // namespace

absl::Status ValidateLanesReportData(const LanesReportData& data) {
  if (data.num_cards < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("lanes report: num_cards is ", data.num_cards, "; expected >= 0"));
  }
  if (!std::isfinite(data.total_seconds) || data.total_seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("lanes report: total_seconds is ", data.total_seconds, "; expected a finite value >= 0"));
  }
  const int lanes = static_cast<int>(data.lanes.size());
  for (size_t i = 0; i < data.intervals.size(); ++i) {
    const CardInterval& interval = data.intervals[i];
    if (interval.card < 0 || interval.card >= data.num_cards) {
      return absl::InvalidArgumentError(absl::StrCat("lanes report: interval ", i, " is on card ", interval.card,
                                                     "; expected a card in [0, ", data.num_cards, ")"));
    }
    if (interval.lane < 0 || interval.lane >= lanes) {
      return absl::InvalidArgumentError(absl::StrCat("lanes report: interval ", i, " names lane ", interval.lane,
                                                     "; expected a lane in [0, ", lanes, ")"));
    }
    if (!(interval.begin_s >= 0 && interval.begin_s <= interval.end_s && std::isfinite(interval.end_s))) {
      return absl::InvalidArgumentError(absl::StrCat("lanes report: interval ", i, " spans [", interval.begin_s,
                                                     ", ", interval.end_s,
                                                     "] s; expected finite 0 <= begin_s <= end_s"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RenderLanesReportHtml(const LanesReportData& data) {
  if (absl::Status status = ValidateLanesReportData(data); !status.ok()) return status;
  const std::string title = HtmlEscape(data.title.empty() ? "kachi lanes" : data.title);
  int finished = 0, stopped = 0, paused = 0;
  for (const LaneSeries& lane : data.lanes) {
    finished += lane.status == "finished";
    stopped += lane.status == "stopped";
    paused += lane.status == "paused";
  }
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", title, "</title>\n<style>",
      kStyle, "</style>\n</head>\n<body>\n<h1>", title, "</h1>\n",
      absl::StrFormat("<p class=\"summary\">%d lanes (%d finished, %d stopped, %d paused) on %d cards over %.1f s."
                      "</p>\n",
                      data.lanes.size(), finished, stopped, paused, data.num_cards, data.total_seconds),
      "<div class=\"charts\">\n<section>\n<h2>Loss curves</h2>\n", LossCurvesSvg(data),
      "\n</section>\n<section>\n<h2>Which lane held which card</h2>\n", CardTimelineSvg(data),
      "\n</section>\n</div>\n<h2>Lanes</h2>\n", LaneTable(data), "\n", RegretView(data),
      "</body>\n</html>\n");
}

absl::Status WriteLanesReport(const LanesReportData& data, const std::string& path) {
  absl::StatusOr<std::string> html = RenderLanesReportHtml(data);
  if (!html.ok()) return html.status();
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << *html;
    out.close();
    if (!out) {
      std::remove(temporary.c_str());
      return absl::UnavailableError(absl::StrCat("lanes report: could not write ", temporary));
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return absl::UnavailableError(absl::StrCat("lanes report: could not rename ", temporary, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace kachi::lanes
