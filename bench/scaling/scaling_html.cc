// The scaling page: two charts side by side, the projection chart and the tables (see scaling_html.h).
#include "bench/scaling/scaling_html.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "runtime/io/atomic_file.h"

namespace kachi {
namespace {

constexpr char kStyle[] =
    "body{font-family:sans-serif;margin:16px;color:#222}h1{font-size:20px}h2{font-size:15px;margin:6px 0}"
    "table{border-collapse:collapse;font-size:12px;margin-top:8px}td,th{border:1px solid #ddd;padding:2px 6px;"
    "text-align:right}td:first-child,th:first-child{text-align:left}.charts{display:flex;gap:16px}"
    ".charts section{width:570px}p{font-size:13px}";
constexpr double kWidth = 560, kHeight = 380, kLeft = 56, kRight = 16, kTop = 16, kBottom = 64;

// Series colors (layouts and modes; presets) and breakdown colors.
constexpr const char* kSeriesColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                         "#e377c2", "#17becf"};
constexpr const char* kPartNames[] = {"compute", "exposed comm", "optimizer", "data", "checkpoint"};
constexpr const char* kPartColors[] = {"#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1"};

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// x position of `value` on a log2 axis over [1, max_value].
double LogX(double value, double max_value) {
  const double span = std::max(1.0, std::log2(max_value));
  return kLeft + (kWidth - kLeft - kRight) * std::log2(value) / span;
}

double Y(double value, double max_value) { return kTop + (kHeight - kTop - kBottom) * (1 - value / max_value); }

// Axes, horizontal grid at `ticks` y values, log2 x ticks 1 .. max_x, axis titles.
std::string Axes(double max_x, double max_y, const std::vector<double>& ticks, const std::string& x_title,
                 const std::string& y_title) {
  std::string svg;
  for (double t : ticks) {
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%g</text>",
                          kLeft, Y(t, max_y), kWidth - kRight, Y(t, max_y), kLeft - 4, Y(t, max_y) + 4, t);
  }
  for (double x = 1; x <= max_x; x *= 2) {
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%g</text>",
                          LogX(x, max_x), kHeight - kBottom + 14, x);
  }
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>"
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>"
                        "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%s</text>"
                        "<text x=\"14\" y=\"%.1f\" font-size=\"12\" transform=\"rotate(-90 14 %.1f)\" "
                        "text-anchor=\"middle\">%s</text>",
                        kLeft, kHeight - kBottom, kWidth - kRight, kHeight - kBottom, kLeft, kTop, kLeft,
                        kHeight - kBottom, (kLeft + kWidth) / 2, kHeight - kBottom + 27, Escape(x_title),
                        (kTop + kHeight - kBottom) / 2, (kTop + kHeight - kBottom) / 2, Escape(y_title));
  return svg;
}

std::string OpenSvg(const std::string& label) {
  return absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-label=\"%s\">",
      kWidth, kHeight, Escape(label));
}

// Efficiency vs ranks: one measured line per (mode, layout) from the 1-rank point, the prediction dashed.
std::string EfficiencySvg(const ScalingReport& report) {
  double max_ranks = 2, max_eff = 1.2;
  for (const MeasuredPoint& m : report.points) {
    max_ranks = std::max<double>(max_ranks, m.point.ranks);
    max_eff = std::max(max_eff, std::ceil(m.efficiency * 5 + 0.5) / 5);
  }
  std::string svg = OpenSvg("scaling efficiency vs ranks") +
                    Axes(max_ranks, max_eff, {0, 0.2, 0.4, 0.6, 0.8, 1.0}, "ranks (log2)",
                         "efficiency vs 1 rank");
  int series = 0;
  std::string legend;
  for (ScalingMode mode : {ScalingMode::kWeak, ScalingMode::kStrong}) {
    const MeasuredPoint* base = nullptr;
    size_t base_index = 0;
    for (size_t i = 0; i < report.points.size(); ++i) {
      if (report.points[i].point.ranks == 1 && report.points[i].point.mode == mode) {
        base = &report.points[i];
        base_index = i;
      }
    }
    for (ScalingLayout layout : {ScalingLayout::kDp, ScalingLayout::kTp, ScalingLayout::kDpTp}) {
      std::vector<std::pair<double, double>> measured, predicted;
      if (base != nullptr) {
        measured.emplace_back(1, base->efficiency);
        if (base_index < report.predicted.size()) predicted.emplace_back(1, 1.0);
      }
      for (size_t i = 0; i < report.points.size(); ++i) {
        const MeasuredPoint& m = report.points[i];
        if (m.point.mode != mode || m.point.layout != layout || m.point.ranks == 1) continue;
        measured.emplace_back(m.point.ranks, m.efficiency);
        if (i < report.predicted.size() && base != nullptr && base->median.total_s > 0 &&
            report.predicted[i].total_s > 0) {
          // Predicted efficiency: the 1-rank step over the predicted step, scaled by the batch ratio per rank.
          const double base_rate = base->point.global_batch / base->median.total_s;
          const double rate = m.point.global_batch / report.predicted[i].total_s;
          predicted.emplace_back(m.point.ranks, rate / (m.point.ranks * base_rate));
        }
      }
      if (measured.size() < 2) continue;
      const char* color = kSeriesColors[series % 8];
      std::vector<std::string> xy, pxy;
      for (const auto& [x, y] : measured) xy.push_back(absl::StrFormat("%.1f,%.1f", LogX(x, max_ranks), Y(y, max_eff)));
      for (const auto& [x, y] : predicted) {
        pxy.push_back(absl::StrFormat("%.1f,%.1f", LogX(x, max_ranks), Y(std::min(y, max_eff), max_eff)));
      }
      absl::StrAppendFormat(&svg, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"3\" points=\"%s\"/>", color,
                            absl::StrJoin(xy, " "));
      if (pxy.size() >= 2) {
        absl::StrAppendFormat(&svg,
                              "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\" "
                              "points=\"%s\"/>",
                              color, absl::StrJoin(pxy, " "));
      }
      for (const auto& [x, y] : measured) {
        absl::StrAppendFormat(&svg, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>", LogX(x, max_ranks),
                              Y(y, max_eff), color);
      }
      const double lx = kLeft + 8 + (series % 3) * 165, ly = kHeight - 20 + (series / 3 % 2) * 13;
      absl::StrAppendFormat(&legend,
                            "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"%s\"/>"
                            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s %s</text>",
                            lx, ly - 9, color, lx + 18, ly, ScalingLayoutName(layout), ScalingModeName(mode));
      ++series;
    }
  }
  return svg + legend + "</svg>";
}

// Stacked bars: the slowest rank's median step per point, split into its parts, grouped by mode.
std::string BreakdownSvg(const ScalingReport& report) {
  double max_ms = 0;
  for (const MeasuredPoint& m : report.points) max_ms = std::max(max_ms, m.median.total_s * 1e3);
  max_ms = max_ms > 0 ? max_ms * 1.1 : 1;
  const int bars = std::max<int>(1, report.points.size());
  const double slot = (kWidth - kLeft - kRight) / bars;
  std::string svg = OpenSvg("step breakdown per point");
  for (int t = 0; t <= 4; ++t) {
    const double v = max_ms * t / 4;
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.3g</text>",
                          kLeft, Y(v, max_ms), kWidth - kRight, Y(v, max_ms), kLeft - 4, Y(v, max_ms) + 4, v);
  }
  for (size_t i = 0; i < report.points.size(); ++i) {
    const MeasuredPoint& m = report.points[i];
    const double parts[] = {m.median.compute_s, m.median.comm_s, m.median.optimizer_s, m.median.data_s,
                            m.median.checkpoint_s};
    double stacked = 0;
    const double x = kLeft + slot * i + slot * 0.12;
    for (int k = 0; k < 5; ++k) {
      const double ms = parts[k] * 1e3;
      if (ms <= 0) continue;
      absl::StrAppendFormat(&svg,
                            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s: %.2f "
                            "ms</title></rect>",
                            x, Y(stacked + ms, max_ms), slot * 0.76, Y(stacked, max_ms) - Y(stacked + ms, max_ms),
                            kPartColors[k], kPartNames[k], ms);
      stacked += ms;
    }
    const std::string label =
        m.point.ranks == 1 ? absl::StrFormat("1 %s", ScalingModeName(m.point.mode).substr(0, 1))
                           : absl::StrFormat("%d %s %s", m.point.ranks, ScalingLayoutName(m.point.layout),
                                             ScalingModeName(m.point.mode).substr(0, 1));
    absl::StrAppendFormat(&svg,
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" "
                          "transform=\"rotate(-45 %.1f %.1f)\">%s</text>",
                          x + slot * 0.38, kHeight - kBottom + 12, x + slot * 0.38, kHeight - kBottom + 12,
                          Escape(label));
  }
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#444\"/>"
                        "<text x=\"14\" y=\"%.1f\" font-size=\"12\" transform=\"rotate(-90 14 %.1f)\" "
                        "text-anchor=\"middle\">ms per step (slowest rank)</text>",
                        kLeft, kHeight - kBottom, kWidth - kRight, kHeight - kBottom, (kTop + kHeight - kBottom) / 2,
                        (kTop + kHeight - kBottom) / 2);
  for (int k = 0; k < 5; ++k) {
    const double lx = kLeft + 8 + k * 100;
    absl::StrAppendFormat(&svg,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s</text>",
                          lx, kTop - 12, kPartColors[k], lx + 18, kTop - 3, kPartNames[k]);
  }
  return svg + "</svg>";
}

// Projected efficiency vs GPUs, one line per model.
std::string ProjectionSvg(const ScalingReport& report) {
  double max_gpus = 2;
  std::vector<std::string> presets;
  for (const ProjectedPoint& p : report.projection) {
    max_gpus = std::max<double>(max_gpus, p.gpus);
    if (std::find(presets.begin(), presets.end(), p.preset) == presets.end()) presets.push_back(p.preset);
  }
  std::string svg = OpenSvg("projected efficiency vs GPUs") +
                    Axes(max_gpus, 1.05, {0, 0.2, 0.4, 0.6, 0.8, 1.0}, "GPUs (log2)", "projected efficiency");
  for (size_t s = 0; s < presets.size(); ++s) {
    std::vector<std::string> xy;
    for (const ProjectedPoint& p : report.projection) {
      if (p.preset == presets[s]) xy.push_back(absl::StrFormat("%.1f,%.1f", LogX(p.gpus, max_gpus), Y(p.efficiency, 1.05)));
    }
    const char* color = kSeriesColors[s % 8];
    absl::StrAppendFormat(&svg,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"3\" points=\"%s\"/>"
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"10\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%s</text>",
                          color, absl::StrJoin(xy, " "), kLeft + 8 + s * 120, kHeight - 29.0, color,
                          kLeft + 26 + s * 120, kHeight - 20.0, Escape(presets[s]));
  }
  return svg + "</svg>";
}

// The measured points as a table.
std::string PointsTable(const ScalingReport& report) {
  std::string table =
      "<table><tr><th>mode</th><th>layout</th><th>ranks</th><th>dp</th><th>tp</th><th>hosts</th><th>batch</th>"
      "<th>step ms</th><th>compute</th><th>comm</th><th>optim</th><th>data</th><th>ckpt</th><th>tokens/s</th>"
      "<th>eff</th><th>predicted ms</th><th>error</th></tr>\n";
  for (size_t i = 0; i < report.points.size(); ++i) {
    const MeasuredPoint& m = report.points[i];
    const bool predicted = i < report.predicted.size();
    absl::StrAppendFormat(
        &table,
        "<tr><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%.2f</td>"
        "<td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%.0f</td><td>%.3f</td><td>%s</td>"
        "<td>%s</td></tr>\n",
        ScalingModeName(m.point.mode), ScalingLayoutName(m.point.layout), m.point.ranks, m.point.dp, m.point.tp,
        m.hosts, m.point.global_batch, m.median.total_s * 1e3, m.median.compute_s * 1e3, m.median.comm_s * 1e3,
        m.median.optimizer_s * 1e3, m.median.data_s * 1e3, m.median.checkpoint_s * 1e3, m.tokens_per_s,
        m.efficiency,
        predicted ? absl::StrFormat("%.2f%s", report.predicted[i].total_s * 1e3, report.held_out[i] ? " (held out)" : "")
                  : "-",
        predicted ? absl::StrFormat("%+.1f%%", PredictionError(report, i) * 100) : "-");
  }
  return table + "</table>";
}

}  // namespace

std::string RenderScalingHtml(const ScalingReport& report) {
  double median = 0, worst = 0;
  const std::string held_out =
      HeldOutError(report, &median, &worst)
          ? absl::StrFormat("Held-out prediction error (more than 2 ranks): median %.1f%%, max %.1f%% (goal 15%%).",
                            median * 100, worst * 100)
          : std::string("No held-out point (run on 4 or more ranks).");
  std::string projection;
  if (!report.projection.empty()) {
    projection = absl::StrCat("<h2>Projection: ", Escape(report.cluster.name()), "</h2>\n", ProjectionSvg(report),
                              "\n");
  }
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>kachi bench scaling</title>\n"
      "<style>",
      kStyle, "</style>\n</head>\n<body>\n<h1>", Escape(report.title), "</h1>\n<p>", Escape(report.setup), " ",
      Escape(held_out), "</p>\n<div class=\"charts\">\n<section>\n<h2>Scaling efficiency (solid: measured, dashed: "
      "model)</h2>\n",
      EfficiencySvg(report), "\n</section>\n<section>\n<h2>Where the slowest rank's step goes</h2>\n",
      BreakdownSvg(report), "\n</section>\n</div>\n", projection, "<h2>Measured points</h2>\n", PointsTable(report),
      "\n</body>\n</html>\n");
}

absl::Status WriteScalingHtml(const ScalingReport& report, const std::string& path) {
  return WriteFileAtomically(path, RenderScalingHtml(report));
}

}  // namespace kachi
