// Inline SVG for the lanes report: the loss chart and the card timeline.
#include "launcher/lanes/report_charts.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace kachi::lanes {
namespace {

// Geometry shared by both charts (pixels): two fit side by side in a 1200-pixel window.
constexpr double kWidth = 550;
constexpr double kLeft = 70;
constexpr double kRight = 20;
constexpr double kPlotWidth = kWidth - kLeft - kRight;
constexpr double kLegendRow = 16;

// How a lane's curve is drawn, by its status.
struct CurveStyle {
  double width;
  double opacity;
  const char* dash;  // SVG stroke-dasharray, "" for solid
};

CurveStyle StyleOf(const std::string& status) {
  if (status == "finished") return {2.2, 1.0, ""};
  if (status == "stopped") return {1.5, 0.9, "7 4"};
  if (status == "paused") return {1.2, 0.55, "2 3"};
  return {1.5, 0.9, ""};
}

// `style` at full opacity, for legends.
CurveStyle Opaque(CurveStyle style) {
  style.opacity = 1;
  return style;
}

// Stroke attributes for `style` in `color`.
std::string StrokeAttrs(const CurveStyle& style, const std::string& color) {
  std::string attrs = absl::StrFormat(R"(fill="none" stroke="%s" stroke-width="%.1f" stroke-opacity="%.2f")", color,
                                      style.width, style.opacity);
  if (*style.dash) absl::StrAppend(&attrs, R"( stroke-dasharray=")", style.dash, "\"");
  return attrs;
}

// About `count` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart).
std::vector<double> NiceTicks(double lo, double hi, int count) {
  std::vector<double> ticks;
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double factor : {1.0, 2.0, 5.0, 10.0}) {
    step = factor * magnitude;
    if (step >= raw) break;
  }
  for (double tick = std::ceil(lo / step) * step; tick <= hi + step * 1e-9; tick += step) {
    ticks.push_back(std::abs(tick) < step * 1e-9 ? 0.0 : tick);
  }
  return ticks;
}

// Ticks of a log axis over [lo, hi] (both >= 1): powers of ten, with 2x and 5x when the range spans few decades.
std::vector<double> LogTicks(double lo, double hi) {
  std::vector<double> ticks;
  const bool fine = std::log10(hi / lo) < 3;
  for (double decade = std::pow(10.0, std::floor(std::log10(lo))); decade <= hi; decade *= 10) {
    for (double factor : {1.0, 2.0, 5.0}) {
      if (factor != 1.0 && !fine) continue;
      const double tick = decade * factor;
      if (tick >= lo * (1 - 1e-9) && tick <= hi * (1 + 1e-9)) ticks.push_back(tick);
    }
  }
  return ticks;
}

// A step count for an axis label: 300, 2.7k, 1.2M.
std::string StepLabel(double step) {
  if (step >= 1e6) return absl::StrFormat("%gM", step / 1e6);
  if (step >= 1e3) return absl::StrFormat("%gk", step / 1e3);
  return absl::StrFormat("%g", step);
}

// Seconds on the timeline axis in the unit `unit_s` ("s", "min" or "h" by the run's length).
struct TimeUnit {
  double seconds;
  const char* name;
};
TimeUnit TimeUnitFor(double total_s) {
  if (total_s >= 3 * 3600) return {3600, "h"};
  if (total_s >= 3 * 60) return {60, "min"};
  return {1, "s"};
}

// The legend text of a lane: its name and status.
std::string LegendText(const LaneSeries& lane) {
  return HtmlEscape(lane.status.empty() ? lane.name : absl::StrCat(lane.name, " (", lane.status, ")"));
}

// A centered message inside an otherwise empty chart.
std::string EmptyChart(const std::string& label, const std::string& message) {
  return absl::StrFormat(
      R"(<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="%s" width="%.0f" )"
      R"(height="80" viewBox="0 0 %.0f 80"><text x="%.0f" y="45" text-anchor="middle" fill="#666">%s</text></svg>)",
      label, kWidth, kWidth, kWidth / 2, message);
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string LaneColor(int lane) {
  // Golden-angle hues at fixed saturation and lightness, converted from HSL to RGB.
  const double hue = std::fmod(lane * 137.508, 360.0) / 60.0;
  const double saturation = 0.70, lightness = lane % 2 == 0 ? 0.42 : 0.55;
  const double chroma = (1 - std::abs(2 * lightness - 1)) * saturation;
  const double x = chroma * (1 - std::abs(std::fmod(hue, 2.0) - 1));
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(hue)) {
    case 0: r = chroma, g = x; break;
    case 1: r = x, g = chroma; break;
    case 2: g = chroma, b = x; break;
    case 3: g = x, b = chroma; break;
    case 4: r = x, b = chroma; break;
    default: r = chroma, b = x; break;
  }
  const double m = lightness - chroma / 2;
  auto byte = [m](double v) { return static_cast<int>(std::lround(255 * (v + m))); };
  return absl::StrFormat("#%02x%02x%02x", byte(r), byte(g), byte(b));
}

std::string LossCurvesSvg(const LanesReportData& data) {
  // Domain: every finite point with a step >= 1.
  double min_step = std::numeric_limits<double>::infinity(), max_step = 0;
  double min_loss = std::numeric_limits<double>::infinity(), max_loss = -min_loss;
  for (const LaneSeries& lane : data.lanes) {
    for (const auto& [step, loss] : lane.points) {
      if (step < 1 || !std::isfinite(loss)) continue;
      min_step = std::min<double>(min_step, step);
      max_step = std::max<double>(max_step, step);
      min_loss = std::min(min_loss, loss);
      max_loss = std::max(max_loss, loss);
    }
  }
  if (!(max_step >= 1)) return EmptyChart("loss curves", "no loss measurements yet");
  if (max_step <= min_step) max_step = min_step * 10;
  if (max_loss <= min_loss) max_loss = min_loss + 1;
  const double pad = 0.04 * (max_loss - min_loss);
  min_loss -= pad;
  max_loss += pad;

  constexpr double kTop = 20, kPlotHeight = 340, kLegendColumns = 2;
  const double plot_bottom = kTop + kPlotHeight;
  const double legend_top = plot_bottom + 60;
  const int legend_rows = static_cast<int>(std::ceil(data.lanes.size() / kLegendColumns)) + 1;
  const double height = legend_top + legend_rows * kLegendRow + 10;
  const double log_lo = std::log10(min_step), log_span = std::log10(max_step) - log_lo;
  auto x_of = [&](double step) { return kLeft + (std::log10(step) - log_lo) / log_span * kPlotWidth; };
  auto y_of = [&](double loss) { return plot_bottom - (loss - min_loss) / (max_loss - min_loss) * kPlotHeight; };

  std::string svg = absl::StrFormat(
      R"(<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="loss-curves" role="img" )"
      R"(aria-label="loss curves" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-size="11">)"
      "\n",
      kWidth, height, kWidth, height);
  // Grid, ticks and axis labels.
  for (double tick : LogTicks(min_step, max_step)) {
    const double x = x_of(tick);
    absl::StrAppendFormat(&svg,
                          R"(<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e4e4"/>)"
                          R"(<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>)"
                          "\n",
                          x, kTop, x, plot_bottom, x, plot_bottom + 16, StepLabel(tick));
  }
  for (double tick : NiceTicks(min_loss, max_loss, 6)) {
    const double y = y_of(tick);
    absl::StrAppendFormat(&svg,
                          R"(<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e4e4"/>)"
                          R"(<text x="%.1f" y="%.1f" text-anchor="end">%g</text>)"
                          "\n",
                          kLeft, y, kLeft + kPlotWidth, y, kLeft - 6, y + 4, tick);
  }
  absl::StrAppendFormat(&svg,
                        R"(<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>)"
                        R"(<text x="%.1f" y="%.1f" text-anchor="middle">step (log scale)</text>)"
                        R"svg(<text x="14" y="%.1f" text-anchor="middle" transform="rotate(-90 14 %.1f)">)svg"
                        "loss</text>"
                        "\n",
                        kLeft, kTop, kPlotWidth, kPlotHeight, kLeft + kPlotWidth / 2, plot_bottom + 36,
                        kTop + kPlotHeight / 2, kTop + kPlotHeight / 2);
  // Curves: paused lanes first so finished ones are drawn on top.
  std::vector<int> order(data.lanes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  auto rank = [&](int lane) {
    const std::string& status = data.lanes[lane].status;
    return status == "paused" ? 0 : status == "finished" ? 2 : 1;
  };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return rank(a) < rank(b); });
  for (int index : order) {
    const LaneSeries& lane = data.lanes[index];
    const std::string color = LaneColor(index);
    const CurveStyle style = StyleOf(lane.status);
    std::string points;
    int count = 0;
    double last_x = 0, last_y = 0;
    for (const auto& [step, loss] : lane.points) {
      if (step < 1 || !std::isfinite(loss)) continue;
      last_x = x_of(static_cast<double>(step));
      last_y = y_of(loss);
      absl::StrAppendFormat(&points, "%s%.1f,%.1f", count == 0 ? "" : " ", last_x, last_y);
      ++count;
    }
    if (count == 0) continue;
    const std::string title = absl::StrCat("<title>", LegendText(lane), "</title>");
    if (count == 1) {
      absl::StrAppendFormat(&svg, R"(<circle class="point" cx="%.1f" cy="%.1f" r="3" fill="%s">%s</circle>)", last_x,
                            last_y, color, title);
    } else {
      absl::StrAppendFormat(&svg, R"(<polyline class="curve %s" data-lane="%d" points="%s" %s>%s</polyline>)",
                            HtmlEscape(lane.status), index, points, StrokeAttrs(style, color), title);
    }
    if (lane.status == "stopped") {
      absl::StrAppendFormat(&svg,
                            R"(<path class="stop-mark" d="M%.1f %.1fl8 8m0 -8l-8 8" stroke="%s" )"
                            R"(stroke-width="2"/>)",
                            last_x - 4, last_y - 4, color);
    }
    svg += "\n";
  }
  // Legend: the line styles, then every lane.
  double y = legend_top;
  double x = kLeft;
  for (const char* status : {"finished", "stopped", "paused", "running"}) {
    absl::StrAppendFormat(&svg,
                          R"(<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" %s/><text x="%.1f" y="%.1f">%s</text>)",
                          x, y - 4, x + 24, y - 4, StrokeAttrs(StyleOf(status), "#333"), x + 30, y, status);
    x += 115;
  }
  svg += "\n";
  for (size_t i = 0; i < data.lanes.size(); ++i) {
    const int column = static_cast<int>(i % static_cast<size_t>(kLegendColumns));
    const int row = static_cast<int>(i / static_cast<size_t>(kLegendColumns)) + 1;
    x = kLeft + column * (kPlotWidth / kLegendColumns);
    y = legend_top + row * kLegendRow;
    absl::StrAppendFormat(&svg,
                          R"(<g class="legend-entry"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" %s/>)"
                          R"(<text x="%.1f" y="%.1f">%s</text></g>)"
                          "\n",
                          x, y - 4, x + 24, y - 4,
                          StrokeAttrs(Opaque(StyleOf(data.lanes[i].status)), LaneColor(static_cast<int>(i))), x + 30, y,
                          LegendText(data.lanes[i]));
  }
  svg += "</svg>";
  return svg;
}

std::string CardTimelineSvg(const LanesReportData& data) {
  if (data.num_cards <= 0 || !(data.total_seconds > 0)) {
    return EmptyChart("card timeline", "no card was held yet");
  }
  constexpr double kTop = 10, kLegendColumns = 3;
  const double row_height = std::clamp(std::floor(400.0 / data.num_cards), 3.0, 22.0);
  const double plot_height = row_height * data.num_cards;
  const double plot_bottom = kTop + plot_height;
  // The legend lists the lanes that held cards, in lane order.
  std::vector<bool> held(data.lanes.size(), false);
  for (const CardInterval& interval : data.intervals) {
    if (interval.lane >= 0 && interval.lane < static_cast<int>(held.size())) held[interval.lane] = true;
  }
  std::vector<int> legend;
  for (size_t i = 0; i < held.size(); ++i) {
    if (held[i]) legend.push_back(static_cast<int>(i));
  }
  const double legend_top = plot_bottom + 56;
  const int legend_rows = static_cast<int>(std::ceil(legend.size() / kLegendColumns));
  const double height = legend_top + legend_rows * kLegendRow + 10;
  auto x_of = [&](double seconds) {
    return kLeft + std::clamp(seconds / data.total_seconds, 0.0, 1.0) * kPlotWidth;
  };

  std::string svg = absl::StrFormat(
      R"(<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="card-timeline" role="img" )"
      R"(aria-label="card timeline" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-size="11">)"
      "\n",
      kWidth, height, kWidth, height);
  // Rows (labelled when tall enough, else every few cards) and the time axis.
  const int label_every = row_height >= 10 ? 1 : static_cast<int>(std::ceil(10 / row_height));
  for (int card = 0; card < data.num_cards; ++card) {
    const double y = kTop + card * row_height;
    if (card % 2 == 1) {
      absl::StrAppendFormat(&svg, R"(<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f5f5f5"/>)", kLeft,
                            y, kPlotWidth, row_height);
    }
    if (card % label_every == 0) {
      absl::StrAppendFormat(&svg, R"(<text x="%.1f" y="%.1f" text-anchor="end">card %d</text>)", kLeft - 6,
                            y + std::min(row_height, 12.0) - 2, card);
    }
  }
  const TimeUnit unit = TimeUnitFor(data.total_seconds);
  for (double tick : NiceTicks(0, data.total_seconds / unit.seconds, 8)) {
    const double x = x_of(tick * unit.seconds);
    absl::StrAppendFormat(&svg,
                          R"(<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ccc"/>)"
                          R"(<text x="%.1f" y="%.1f" text-anchor="middle">%g</text>)"
                          "\n",
                          x, kTop, x, plot_bottom + 4, x, plot_bottom + 16, tick);
  }
  absl::StrAppendFormat(&svg, R"(<text x="%.1f" y="%.1f" text-anchor="middle">time (%s)</text>)" "\n",
                        kLeft + kPlotWidth / 2, plot_bottom + 34, unit.name);
  // The bars.
  for (const CardInterval& interval : data.intervals) {
    const double x = x_of(interval.begin_s);
    const double width = std::max(0.5, x_of(interval.end_s) - x);
    const std::string name =
        interval.lane >= 0 && interval.lane < static_cast<int>(data.lanes.size()) ? data.lanes[interval.lane].name
                                                                                   : "?";
    absl::StrAppendFormat(&svg,
                          R"(<rect class="bar" data-lane="%d" data-card="%d" x="%.2f" y="%.1f" width="%.2f" )"
                          R"(height="%.1f" fill="%s"><title>%s on card %d: %.1fs to %.1fs</title></rect>)"
                          "\n",
                          interval.lane, interval.card, x, kTop + interval.card * row_height + 0.5, width,
                          std::max(1.0, row_height - 1), LaneColor(interval.lane), HtmlEscape(name), interval.card,
                          interval.begin_s, interval.end_s);
  }
  absl::StrAppendFormat(&svg, R"(<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#888"/>)",
                        kLeft, kTop, kPlotWidth, plot_height);
  svg += "\n";
  for (size_t i = 0; i < legend.size(); ++i) {
    const double x = kLeft + (i % static_cast<size_t>(kLegendColumns)) * (kPlotWidth / kLegendColumns);
    const double y = legend_top + (i / static_cast<size_t>(kLegendColumns)) * kLegendRow;
    absl::StrAppendFormat(&svg,
                          R"(<g class="legend-entry"><rect x="%.1f" y="%.1f" width="12" height="10" fill="%s"/>)"
                          R"(<text x="%.1f" y="%.1f">%s</text></g>)"
                          "\n",
                          x, y - 9, LaneColor(legend[i]), x + 18, y, HtmlEscape(data.lanes[legend[i]].name));
  }
  svg += "</svg>";
  return svg;
}

}  // namespace kachi::lanes
