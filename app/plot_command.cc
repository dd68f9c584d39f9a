// `mlcp plot RUN_DIR`: the training loss per step and the evaluation loss/accuracy, read from
// rank 0's metrics file, drawn with cairo into a PNG a person can look at.
#include <cairo.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "app/commands.h"
#include "base/error.h"
#include "runtime/metrics.h"

namespace mlcp::app {
namespace {

struct Series {
  std::string label;
  std::vector<double> x, y;
  double r, g, b;
};

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};

// One panel: axes with ticks, the series as polylines, a legend; y optionally logarithmic.
void drawPanel(cairo_t* cr, double x0, double y0, double w, double h, const std::string& title,
               const std::string& xlabel, const std::vector<Series>& series) {
  double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
  for (const auto& s : series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  }
  if (xmin > xmax) return;
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) ymax = ymin + 1;
  const double pad = 0.05 * (ymax - ymin);
  ymin -= pad;
  ymax += pad;
  const double left = x0 + 70, right = x0 + w - 20, top = y0 + 40, bottom = y0 + h - 50;
  auto px = [&](double x) { return left + (x - xmin) / (xmax - xmin) * (right - left); };
  auto py = [&](double y) { return bottom - (y - ymin) / (ymax - ymin) * (bottom - top); };

  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 16);
  cairo_move_to(cr, left, y0 + 24);
  cairo_show_text(cr, title.c_str());
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 12);
  // grid and ticks
  for (int i = 0; i <= 5; ++i) {
    const double yv = ymin + (ymax - ymin) * i / 5.0, xv = xmin + (xmax - xmin) * i / 5.0;
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    cairo_move_to(cr, left, py(yv));
    cairo_line_to(cr, right, py(yv));
    cairo_move_to(cr, px(xv), top);
    cairo_line_to(cr, px(xv), bottom);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    const std::string yl = fmt::format("{:.3g}", yv), xl = fmt::format("{:.0f}", xv);
    cairo_move_to(cr, left - 60, py(yv) + 4);
    cairo_show_text(cr, yl.c_str());
    cairo_move_to(cr, px(xv) - 10, bottom + 18);
    cairo_show_text(cr, xl.c_str());
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);
  cairo_move_to(cr, (left + right) / 2 - 15, bottom + 38);
  cairo_show_text(cr, xlabel.c_str());
  // series
  double legend_y = top + 16;
  for (const auto& s : series) {
    cairo_set_source_rgb(cr, s.r, s.g, s.b);
    cairo_set_line_width(cr, 1.8);
    bool first = true;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      if (first)
        cairo_move_to(cr, px(s.x[i]), py(s.y[i]));
      else
        cairo_line_to(cr, px(s.x[i]), py(s.y[i]));
      first = false;
    }
    cairo_stroke(cr);
    if (s.x.size() < 40) {
      for (size_t i = 0; i < s.x.size(); ++i) {
        cairo_arc(cr, px(s.x[i]), py(s.y[i]), 3.5, 0, 2 * M_PI);
        cairo_fill(cr);
      }
    }
    cairo_rectangle(cr, right - 190, legend_y - 9, 14, 10);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, right - 170, legend_y);
    cairo_show_text(cr, s.label.c_str());
    legend_y += 18;
  }
  cairo_set_line_width(cr, 1.0);
}

// Draws RUN_DIR/metrics/rank-00000.jsonl into `png_path`. Throws UsageError when the run
// directory holds no metrics.
void plotRun(const std::string& run_dir, const std::string& png_path) {
  const std::string path = runtime::metricsPath(run_dir, 0);
  std::ifstream in(path);
  if (!in) throw UsageError("no metrics in " + run_dir + " (expected " + path + ")");
  Series train{"train loss", {}, {}, 0.12, 0.35, 0.75};
  Series eval_loss{"eval loss", {}, {}, 0.85, 0.33, 0.10};
  Series eval_acc{"eval accuracy", {}, {}, 0.15, 0.60, 0.25};
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw UsageError(fmt::format("{}:{}: not a JSON record ({})", path, lineno, e.what()));
    }
    const auto kind = j.value("kind", "");
    if (kind == "step") {
      train.x.push_back(j.at("step").get<double>());
      train.y.push_back(j.at("loss").get<double>());
    } else if (kind == "eval") {
      eval_loss.x.push_back(j.at("step").get<double>());
      eval_loss.y.push_back(j.at("loss").get<double>());
      eval_acc.x.push_back(j.at("step").get<double>());
      eval_acc.y.push_back(j.at("accuracy").get<double>() * 100.0);
    }
  }
  if (train.x.empty()) throw UsageError(path + " holds no training steps");
  eval_acc.label = "eval accuracy (%)";

  const int width = 1000, height = 800;
  std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height));
  std::unique_ptr<cairo_t, ContextDeleter> cr(cairo_create(surface.get()));
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());
  drawPanel(cr.get(), 0, 0, width, height / 2.0, "Loss — " + run_dir, "step", {train, eval_loss});
  drawPanel(cr.get(), 0, height / 2.0, width, height / 2.0, "Held-out accuracy (%)", "step",
            {eval_acc});
  const cairo_status_t st = cairo_surface_write_to_png(surface.get(), png_path.c_str());
  if (st != CAIRO_STATUS_SUCCESS) {
    throw IoError("cannot write " + png_path + ": " + cairo_status_to_string(st));
  }
}
}  // namespace

void addPlotCommand(CLI::App& app) {
  auto* plot = app.add_subcommand("plot", "Draw a run's loss and accuracy curves to a PNG");
  auto run_dir = std::make_shared<std::string>();
  auto png = std::make_shared<std::string>();
  plot->add_option("run_dir", *run_dir, "Run directory (holds metrics/)")->required();
  plot->add_option("-o,--out", *png, "PNG file (default: RUN_DIR/curves.png)");
  plot->callback([=] {
    const std::string out = png->empty() ? *run_dir + "/curves.png" : *png;
    plotRun(*run_dir, out);
    fmt::print("wrote {}\n", out);
  });
}

}  // namespace mlcp::app
