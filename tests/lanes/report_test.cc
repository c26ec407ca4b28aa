// The lanes report: the HTML page (one SVG per chart, every lane named, polylines with the lanes' points, a bar per
// card interval in proportion to its span, escaped names, status styles, no external resources), its validation
// and atomic write, and the data rebuilt from decisions (hand-made ones and a whole simulated run).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "launcher/lanes/report.h"
#include "launcher/lanes/report_charts.h"
#include "launcher/lanes/report_from_decisions.h"
#include "launcher/lanes/sim_setup.h"
#include "launcher/lanes/simulator.h"

namespace kachi::lanes {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Occurrences of `needle` in `haystack`.
int Count(const std::string& haystack, const std::string& needle) {
  int count = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++count;
  return count;
}

// Random report data: `lanes` lanes (statuses cycling finished/stopped/paused/running) with 2..40 points of
// decreasing loss at increasing steps, and `intervals` random spans on `cards` cards.
LanesReportData RandomData(uint64_t seed, int lanes, int cards, int intervals) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  LanesReportData data;
  data.title = "random report " + std::to_string(seed);
  data.num_cards = cards;
  data.total_seconds = 100 + 1000 * unit(gen);
  const char* statuses[] = {"finished", "stopped", "paused", "running"};
  for (int lane = 0; lane < lanes; ++lane) {
    LaneSeries series{"lane_" + std::to_string(lane) + "_lr" + std::to_string(unit(gen)), statuses[lane % 4], {}};
    const int points = 2 + static_cast<int>(unit(gen) * 38);
    int64_t step = 1 + static_cast<int64_t>(unit(gen) * 5);
    double loss = 3 + 2 * unit(gen);
    for (int i = 0; i < points; ++i) {
      series.points.emplace_back(step, loss);
      step += 1 + static_cast<int64_t>(unit(gen) * step);
      loss -= 0.05 * unit(gen);
    }
    data.lanes.push_back(std::move(series));
  }
  for (int i = 0; i < intervals; ++i) {
    const double a = unit(gen) * data.total_seconds, b = unit(gen) * data.total_seconds;
    data.intervals.push_back(CardInterval{static_cast<int>(unit(gen) * cards), static_cast<int>(unit(gen) * lanes),
                                          std::min(a, b), std::max(a, b)});
  }
  return data;
}

// Every element `<tag ...>` (its opening tag text) in `html` with the given class substring.
std::vector<std::string> Elements(const std::string& html, const std::string& tag, const std::string& class_name) {
  std::vector<std::string> found;
  const std::regex pattern("<" + tag + " class=\"" + class_name + "[^\"]*\"[^>]*>");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), pattern); it != std::sregex_iterator(); ++it) {
    found.push_back(it->str());
  }
  return found;
}

// The value of attribute `name` in the element text `element`.
std::string Attribute(const std::string& element, const std::string& name) {
  std::smatch match;
  const std::regex pattern(" " + name + "=\"([^\"]*)\"");
  return std::regex_search(element, match, pattern) ? match[1].str() : "";
}

TEST(LanesReportTest, PageHasOneSvgPerChartEveryLaneAndABarPerInterval) {
  const LanesReportData data = RandomData(/*seed=*/11, /*lanes=*/9, /*cards=*/8, /*intervals=*/40);
  absl::StatusOr<std::string> html = RenderLanesReportHtml(data);
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_EQ(Count(*html, "<svg"), 2);
  EXPECT_EQ(Count(*html, "</svg>"), 2);
  EXPECT_THAT(*html, HasSubstr("id=\"loss-curves\""));
  EXPECT_THAT(*html, HasSubstr("id=\"card-timeline\""));
  EXPECT_THAT(*html, HasSubstr("<title>" + data.title + "</title>"));
  for (const LaneSeries& lane : data.lanes) EXPECT_THAT(*html, HasSubstr(lane.name)) << lane.name;

  // A polyline per lane, carrying exactly that lane's points.
  const std::vector<std::string> curves = Elements(*html, "polyline", "curve");
  ASSERT_EQ(curves.size(), data.lanes.size());
  for (const std::string& curve : curves) {
    const int lane = std::stoi(Attribute(curve, "data-lane"));
    std::istringstream points(Attribute(curve, "points"));
    std::vector<std::pair<double, double>> xy;
    for (std::string pair; points >> pair;) {
      const size_t comma = pair.find(',');
      ASSERT_NE(comma, std::string::npos) << pair;
      xy.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
    }
    ASSERT_EQ(xy.size(), data.lanes[lane].points.size()) << curve;
    for (size_t i = 1; i < xy.size(); ++i) {
      // Steps increase to the right; a loss that fell is drawn lower on the page (larger y), as on a y axis.
      EXPECT_GT(xy[i].first, xy[i - 1].first) << curve;
      if (data.lanes[lane].points[i].second < data.lanes[lane].points[i - 1].second) {
        EXPECT_GE(xy[i].second, xy[i - 1].second) << curve;
      }
    }
  }

  // A bar per interval, on its card's row, its width in proportion to its span.
  const std::vector<std::string> bars = Elements(*html, "rect", "bar");
  ASSERT_EQ(bars.size(), data.intervals.size());
  std::map<int, double> row_y;
  double px_per_second = 0;
  for (size_t i = 0; i < bars.size(); ++i) {
    const CardInterval& interval = data.intervals[i];
    EXPECT_EQ(std::stoi(Attribute(bars[i], "data-card")), interval.card);
    EXPECT_EQ(std::stoi(Attribute(bars[i], "data-lane")), interval.lane);
    EXPECT_EQ(Attribute(bars[i], "fill"), LaneColor(interval.lane));
    const double y = std::stod(Attribute(bars[i], "y"));
    if (row_y.count(interval.card)) {
      EXPECT_DOUBLE_EQ(row_y[interval.card], y);
    }
    row_y[interval.card] = y;
    const double width = std::stod(Attribute(bars[i], "width"));
    if (interval.end_s - interval.begin_s > 0.05 * data.total_seconds) {
      if (px_per_second == 0) px_per_second = width / (interval.end_s - interval.begin_s);
      EXPECT_NEAR(width, px_per_second * (interval.end_s - interval.begin_s), 0.02) << bars[i];
    }
  }
  for (const auto& [card, y] : row_y) {
    if (row_y.count(card + 1)) {
      EXPECT_LT(y, row_y[card + 1]);
    }
  }
  // Self-contained: no scripts, no external resources.
  EXPECT_THAT(*html, Not(HasSubstr("<script")));
  EXPECT_THAT(*html, Not(HasSubstr("href=")));
  EXPECT_THAT(*html, Not(HasSubstr("src=")));
}

TEST(LanesReportTest, StatusesAreStyledApart) {
  const LanesReportData data = RandomData(/*seed=*/12, /*lanes=*/4, /*cards=*/2, /*intervals=*/3);
  absl::StatusOr<std::string> html = RenderLanesReportHtml(data);
  ASSERT_TRUE(html.ok()) << html.status();
  std::map<std::string, std::string> dash_by_status;
  for (const std::string& curve : Elements(*html, "polyline", "curve")) {
    const std::string status = data.lanes[std::stoi(Attribute(curve, "data-lane"))].status;
    dash_by_status[status] = Attribute(curve, "stroke-dasharray") + "/" + Attribute(curve, "stroke-width");
  }
  ASSERT_EQ(dash_by_status.size(), 4u);
  EXPECT_NE(dash_by_status["finished"], dash_by_status["stopped"]);
  EXPECT_NE(dash_by_status["finished"], dash_by_status["paused"]);
  EXPECT_NE(dash_by_status["stopped"], dash_by_status["paused"]);
  EXPECT_EQ(Count(*html, "class=\"stop-mark\""), 1);  // the one stopped lane ends in a cross
}

TEST(LanesReportTest, NamesAndTitleAreEscaped) {
  LanesReportData data = RandomData(/*seed=*/13, /*lanes=*/3, /*cards=*/2, /*intervals=*/4);
  data.title = "sweep <i>&</i>";
  data.lanes[1].name = "<script>alert(\"x&y\")</script>'";
  data.intervals.push_back(CardInterval{1, 1, 0, data.total_seconds / 2});
  absl::StatusOr<std::string> html = RenderLanesReportHtml(data);
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, Not(HasSubstr("<script")));
  EXPECT_THAT(*html, Not(HasSubstr("<i>")));
  EXPECT_THAT(*html, HasSubstr("sweep &lt;i&gt;&amp;&lt;/i&gt;"));
  const std::string escaped = "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;";
  // Named in the curves' legend, the timeline's legend and tooltip, and the table.
  EXPECT_GE(Count(*html, escaped), 4);
  EXPECT_EQ(HtmlEscape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}

TEST(LanesReportTest, EmptyRunStillRendersBothCharts) {
  LanesReportData data;
  data.title = "nothing yet";
  data.lanes.push_back(LaneSeries{"only", "waiting", {}});
  absl::StatusOr<std::string> html = RenderLanesReportHtml(data);
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_EQ(Count(*html, "<svg"), 2);
  EXPECT_THAT(*html, HasSubstr("no loss measurements yet"));
  EXPECT_THAT(*html, HasSubstr("no card was held yet"));
  EXPECT_THAT(*html, HasSubstr("only"));
}

TEST(LanesReportTest, ValidationNamesTheBadInterval) {
  const LanesReportData good = RandomData(/*seed=*/14, /*lanes=*/3, /*cards=*/4, /*intervals=*/5);
  ASSERT_TRUE(ValidateLanesReportData(good).ok());
  struct Case {
    CardInterval interval;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{4, 0, 1, 2}, "interval 5 is on card 4; expected a card in [0, 4)"},
      {{-1, 0, 1, 2}, "is on card -1"},
      {{0, 3, 1, 2}, "interval 5 names lane 3; expected a lane in [0, 3)"},
      {{0, 0, 5, 2}, "spans [5, 2] s"},
      {{0, 0, -1, 2}, "spans [-1, 2] s"},
  };
  for (const Case& c : cases) {
    LanesReportData bad = good;
    bad.intervals.push_back(c.interval);
    const absl::Status status = ValidateLanesReportData(bad);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.expected));
    EXPECT_FALSE(RenderLanesReportHtml(bad).ok());
  }
  LanesReportData bad_total = good;
  bad_total.total_seconds = std::nan("");
  EXPECT_THAT(std::string(ValidateLanesReportData(bad_total).message()), HasSubstr("total_seconds is nan"));
}

TEST(LanesReportTest, WritesThePageAtomically) {
  const LanesReportData data = RandomData(/*seed=*/15, /*lanes=*/5, /*cards=*/4, /*intervals=*/10);
  const std::string path = ::testing::TempDir() + "/lanes_report_test.html";
  ASSERT_TRUE(WriteLanesReport(data, path).ok());
  std::ifstream in(path);
  std::stringstream written;
  written << in.rdbuf();
  EXPECT_EQ(written.str(), *RenderLanesReportHtml(data));
  EXPECT_FALSE(std::ifstream(path + ".tmp").good());
  const absl::Status missing_dir = WriteLanesReport(data, ::testing::TempDir() + "/no/such/dir/report.html");
  EXPECT_FALSE(missing_dir.ok());
  EXPECT_THAT(std::string(missing_dir.message()), HasSubstr("no/such/dir/report.html"));
}

TEST(ReportFromDecisionsTest, SpansStatusesAndSampledCurves) {
  std::mt19937_64 gen(21);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double a0 = 2 + unit(gen), b0 = 1 + unit(gen), a1 = 2 + unit(gen), b1 = 1 + unit(gen);
  auto loss = [&](int lane, int64_t step) {
    return lane == 0 ? a0 + b0 / std::sqrt(step) : a1 + b1 / std::sqrt(step);
  };
  auto decision = [](DecisionKind kind, int lane, double t, int64_t step, double loss, std::vector<int> cards) {
    Decision d;
    d.kind = kind;
    d.lane = lane;
    d.time_s = t;
    d.step = step;
    d.loss = loss;
    d.cards = std::move(cards);
    return d;
  };
  const double nan = std::nan("");
  const std::vector<Decision> decisions = {
      decision(DecisionKind::kStart, 0, 0, 0, nan, {0, 1}),
      decision(DecisionKind::kStart, 1, 0, 0, nan, {2, 3}),
      decision(DecisionKind::kPromote, 0, 10, 100, loss(0, 100), {}),
      decision(DecisionKind::kStart, 0, 10, 100, nan, {0, 1}),
      decision(DecisionKind::kPause, 1, 12, 100, loss(1, 100), {}),
      decision(DecisionKind::kWiden, 0, 12, 150, nan, {0, 1, 2, 3}),
      decision(DecisionKind::kShrink, 0, 20, 250, nan, {0, 1, 2}),
      decision(DecisionKind::kFinish, 0, 30, 300, loss(0, 300), {}),
  };
  ReportRun run;
  run.title = "hand-made";
  run.lane_names = {"a", "b", "never"};
  run.num_cards = 4;
  run.total_seconds = 35;
  run.loss_at = loss;
  const LanesReportData data = ReportFromDecisions(run, decisions);
  ASSERT_EQ(data.lanes.size(), 3u);
  EXPECT_EQ(data.lanes[0].status, "finished");
  EXPECT_EQ(data.lanes[1].status, "paused");
  EXPECT_EQ(data.lanes[2].status, "waiting");
  EXPECT_TRUE(data.lanes[2].points.empty());

  // (card, lane) -> spans; lane 0's restart at t=10 on the same cards continues its spans.
  std::map<std::pair<int, int>, std::vector<std::pair<double, double>>> spans;
  for (const CardInterval& i : data.intervals) spans[{i.card, i.lane}].emplace_back(i.begin_s, i.end_s);
  using Spans = std::vector<std::pair<double, double>>;
  EXPECT_EQ(spans[std::make_pair(0, 0)], (Spans{{0, 30}}));
  EXPECT_EQ(spans[std::make_pair(1, 0)], (Spans{{0, 30}}));
  EXPECT_EQ(spans[std::make_pair(2, 1)], (Spans{{0, 12}}));
  EXPECT_EQ(spans[std::make_pair(3, 1)], (Spans{{0, 12}}));
  EXPECT_EQ(spans[std::make_pair(2, 0)], (Spans{{12, 30}}));
  EXPECT_EQ(spans[std::make_pair(3, 0)], (Spans{{12, 20}}));
  EXPECT_EQ(data.intervals.size(), 6u);

  // Curves: sampled over the trained steps only, exact where sampled, reaching the reported rungs.
  for (int lane : {0, 1}) {
    const auto& points = data.lanes[lane].points;
    ASSERT_GE(points.size(), 10u) << lane;
    EXPECT_EQ(points.front().first, 1);
    EXPECT_EQ(points.back().first, lane == 0 ? 300 : 100);
    for (size_t i = 0; i < points.size(); ++i) {
      EXPECT_DOUBLE_EQ(points[i].second, loss(lane, points[i].first));
      if (i > 0) {
        EXPECT_GT(points[i].first, points[i - 1].first);
      }
    }
  }
  // Without a loss function only the reported losses are plotted.
  run.loss_at = nullptr;
  const LanesReportData sparse = ReportFromDecisions(run, decisions);
  EXPECT_EQ(sparse.lanes[0].points,
            (std::vector<std::pair<int64_t, double>>{{100, loss(0, 100)}, {300, loss(0, 300)}}));
  EXPECT_EQ(sparse.intervals.size(), data.intervals.size());
}

TEST(ReportFromDecisionsTest, SimulatedRunMatchesTheSimulatorsAccounting) {
  config::LanesFile file = DefaultSimulationFile();
  file.mutable_simulator()->set_synthetic_lanes(24);
  file.mutable_simulator()->set_seed(31);
  absl::StatusOr<std::unique_ptr<SimulationSetup>> setup = BuildSimulation(file);
  ASSERT_TRUE(setup.ok()) << setup.status();
  SimulationInput input = (*setup)->input;
  input.keep_decisions = true;
  absl::StatusOr<SimulationResult> result = Simulate(input);
  ASSERT_TRUE(result.ok()) << result.status();
  const LanesReportData data = ReportFromSimulation("simulated", **setup, *result);
  ASSERT_TRUE(ValidateLanesReportData(data).ok()) << ValidateLanesReportData(data);
  EXPECT_EQ(data.num_cards, input.pool.cards);
  EXPECT_EQ(data.lanes.size(), input.lanes.size());

  // The spans add up to the card-time the simulator counted, and no card is held twice at once.
  double held = 0;
  std::map<int, std::vector<std::pair<double, double>>> by_card;
  for (const CardInterval& interval : data.intervals) {
    held += interval.end_s - interval.begin_s;
    EXPECT_LE(interval.end_s, result->makespan_s + 1e-9);
    by_card[interval.card].emplace_back(interval.begin_s, interval.end_s);
  }
  EXPECT_NEAR(held, result->held_card_s, 1e-6 * result->held_card_s);
  for (auto& [card, spans] : by_card) {
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i) EXPECT_LE(spans[i - 1].second, spans[i].first + 1e-9) << card;
  }
  // The best lane finished, with its final loss as its last point.
  ASSERT_TRUE(result->best_lane.has_value());
  const LaneSeries& best = data.lanes[*result->best_lane];
  EXPECT_EQ(best.status, "finished");
  EXPECT_EQ(best.points.back().first, input.options.max_steps);
  EXPECT_DOUBLE_EQ(best.points.back().second, result->best_loss);
  int finished = 0, paused = 0;
  for (const LaneSeries& lane : data.lanes) {
    finished += lane.status == "finished";
    paused += lane.status == "paused";
    EXPECT_FALSE(lane.points.empty()) << lane.name;
  }
  EXPECT_EQ(finished, result->finishes);
  EXPECT_EQ(paused, result->paused_at_end);
}

// Issue 18: the regret view names the chosen lane (the finished lane with the lowest final loss) and shows each
// paused lane's loss at its last rung minus the chosen lane's.
TEST(LanesReportTest, RegretViewShowsChosenAndPausedLanes) {
  LanesReportData data;
  data.num_cards = 1;
  data.total_seconds = 10;
  data.lanes = {LaneSeries{"good", "finished", {{1, 3.0}, {9, 2.0}}},
                LaneSeries{"better", "finished", {{1, 3.0}, {9, 1.5}}},
                LaneSeries{"dropped", "paused", {{1, 2.9}, {3, 1.25}}},
                LaneSeries{"blown", "stopped", {{1, std::nan("")}}}};
  absl::StatusOr<std::string> html = RenderLanesReportHtml(data);
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, ::testing::HasSubstr("Chosen: better, loss 1.5000 at step 9"));
  EXPECT_THAT(*html, ::testing::HasSubstr("<td>dropped</td><td>paused</td><td>3</td><td>1.2500</td><td>-0.2500</td>"));
  EXPECT_THAT(*html, ::testing::HasSubstr("<td>good</td><td>finished</td><td>9</td><td>2.0000</td><td>+0.5000</td>"));
  EXPECT_THAT(*html, ::testing::Not(::testing::HasSubstr("<td>blown</td><td>stopped</td><td>")));
  data.lanes.resize(1);
  data.lanes[0].status = "paused";
  html = RenderLanesReportHtml(data);
  ASSERT_TRUE(html.ok());
  EXPECT_THAT(*html, ::testing::Not(::testing::HasSubstr("Regret view"))) << "no finished lane, no regret view";
}

}  // namespace
}  // namespace kachi::lanes
