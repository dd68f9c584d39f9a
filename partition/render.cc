#include "partition/render.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>

#include "base/error.h"
#include "partition/mesh.h"
#include "partition/partitioner.h"

namespace mlcp::partition {

namespace {

struct Rgb {
  double r, g, b;
};

// 12 well-separated colours (Tableau-like), cycled per micro-batch.
const Rgb kPalette[] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17},
                        {0.84, 0.15, 0.16}, {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29},
                        {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50}, {0.74, 0.74, 0.13},
                        {0.09, 0.75, 0.81}, {0.35, 0.20, 0.60}, {0.60, 0.60, 0.10}};

Rgb colourOf(int mb) {
  return kPalette[static_cast<size_t>(mb) % (sizeof(kPalette) / sizeof(kPalette[0]))];
}
Rgb lighten(Rgb c, double f) {
  return {c.r + (1 - c.r) * f, c.g + (1 - c.g) * f, c.b + (1 - c.b) * f};
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Draws with `draw` on a PNG or SVG surface of the given size and writes `path`.
void withSurface(const std::string& path, int w, int h, const std::function<void(cairo_t*)>& draw) {
  const bool svg = endsWith(path, ".svg");
  cairo_surface_t* surface = svg ? cairo_svg_surface_create(path.c_str(), w, h)
                                 : cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> guard(surface,
                                                                           cairo_surface_destroy);
  if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
    throw IoError(fmt::format("cannot create picture '{}': {}", path,
                              cairo_status_to_string(cairo_surface_status(surface))));
  }
  cairo_t* cr = cairo_create(surface);
  std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr_guard(cr, cairo_destroy);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  draw(cr);
  cairo_status_t st = cairo_status(cr);
  if (st != CAIRO_STATUS_SUCCESS) {
    throw IoError(fmt::format("drawing picture '{}' failed: {}", path, cairo_status_to_string(st)));
  }
  cr_guard.reset();
  if (svg) {
    cairo_surface_finish(surface);
    st = cairo_surface_status(surface);
  } else {
    st = cairo_surface_write_to_png(surface, path.c_str());
  }
  if (st != CAIRO_STATUS_SUCCESS) {
    throw IoError(fmt::format("cannot write picture '{}': {}", path, cairo_status_to_string(st)));
  }
}

void text(cairo_t* cr, double x, double y, const std::string& s, double size, bool bold = false,
          double align = 0.0 /* 0 left, 0.5 centre, 1 right */) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  cairo_move_to(cr, x - align * ext.x_advance, y);
  cairo_show_text(cr, s.c_str());
}

double textWidth(cairo_t* cr, const std::string& s, double size, bool bold) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  return ext.x_advance;
}

// A "nice" tick step (1, 2, 5 x 10^k) giving about `target` ticks over `span`.
double tickStep(double span, int target) {
  double raw = span / target;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

}  // namespace

void renderTimeline(const std::string& path, const Timeline& t, const std::string& title) {
  const double left = 90, right = 30, top = 60, row_h = 46, row_gap = 10;
  const int W = 1600;
  const double plot_w = W - left - right;
  const int H = static_cast<int>(top + t.stages * (row_h + row_gap) + 110);
  const double span = t.step_time > 0 ? t.step_time : 1.0;
  auto xOf = [&](double time) { return left + plot_w * time / span; };

  withSurface(path, W, H, [&](cairo_t* cr) {
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    std::string head =
        title.empty()
            ? fmt::format("{} schedule: pp = {}, m = {}{}", t.schedule, t.stages, t.micro_batches,
                          t.virtual_stages > 1 ? fmt::format(", v = {}", t.virtual_stages) : "")
            : title;
    text(cr, left, 26, head, 18, true);
    text(cr, left, 46,
         fmt::format("step time {:.4g}, bubble {:.1f} % (idle share of stage time)", t.step_time,
                     100 * t.bubble_fraction),
         13);
    // Stage rows.
    for (int s = 0; s < t.stages; ++s) {
      double y = top + s * (row_h + row_gap);
      cairo_set_source_rgb(cr, 0.95, 0.95, 0.95);
      cairo_rectangle(cr, left, y, plot_w, row_h);
      cairo_fill(cr);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text(cr, left - 10, y + row_h / 2 + 5, fmt::format("stage {}", s), 14, true, 1.0);
    }
    // Compute boxes.
    for (const auto& e : t.events) {
      if (!e.action.isCompute() || e.end <= e.start) continue;
      const bool fwd = e.action.kind == ActionKind::kForward;
      double y = top + e.stage * (row_h + row_gap);
      double x0 = xOf(e.start), x1 = xOf(e.end);
      Rgb c = colourOf(e.action.micro_batch);
      Rgb fill = fwd ? lighten(c, 0.55) : c;
      cairo_set_source_rgb(cr, fill.r, fill.g, fill.b);
      cairo_rectangle(cr, x0, y + 3, x1 - x0, row_h - 6);
      cairo_fill_preserve(cr);
      cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
      cairo_set_line_width(cr, 1.0);
      cairo_stroke(cr);
      if (!fwd) {  // backward: also a dark bar along the bottom edge, readable in greyscale
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_rectangle(cr, x0 + 1, y + row_h - 9, x1 - x0 - 2, 3);
        cairo_fill(cr);
      }
      std::string label = toString(e.action, t.virtual_stages > 1);
      double size = 13;
      while (size > 7 && textWidth(cr, label, size, true) > x1 - x0 - 4) size -= 1;
      if (textWidth(cr, label, size, true) <= x1 - x0 - 2) {
        if (fwd)
          cairo_set_source_rgb(cr, 0.05, 0.05, 0.05);
        else
          cairo_set_source_rgb(cr, 1, 1, 1);
        text(cr, (x0 + x1) / 2, y + row_h / 2 + size / 3, label, size, true, 0.5);
      }
    }
    // Time axis.
    double ay = top + t.stages * (row_h + row_gap) + 4;
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_line_width(cr, 1.0);
    cairo_move_to(cr, left, ay);
    cairo_line_to(cr, left + plot_w, ay);
    cairo_stroke(cr);
    double step = tickStep(span, 12);
    for (double tick = 0; tick <= span + 1e-9 * span; tick += step) {
      double x = xOf(tick);
      cairo_move_to(cr, x, ay);
      cairo_line_to(cr, x, ay + 6);
      cairo_stroke(cr);
      text(cr, x, ay + 20, fmt::format("{:g}", tick), 12, false, 0.5);
    }
    text(cr, left + plot_w, ay + 38, "time", 12, false, 1.0);
    // Legend: swatches and their captions laid out by measured text width.
    double lx = left, ly = ay + 50;
    Rgb c = colourOf(0);
    auto swatch = [&](bool fwd, const std::string& caption) {
      Rgb fill = fwd ? lighten(c, 0.55) : c;
      cairo_set_source_rgb(cr, fill.r, fill.g, fill.b);
      cairo_rectangle(cr, lx, ly, 28, 18);
      cairo_fill(cr);
      if (!fwd) {
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_rectangle(cr, lx + 1, ly + 12, 26, 3);
        cairo_fill(cr);
      }
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text(cr, lx + 36, ly + 14, caption, 13);
      lx += 36 + textWidth(cr, caption, 13, false) + 30;
    };
    swatch(true, "Fk = forward of micro-batch k (light)");
    swatch(false, "Bk = backward of micro-batch k (dark, underlined)");
    std::string extra = "colour = micro-batch; grey = idle (bubble)";
    if (t.virtual_stages > 1) extra += "; Fk.c / Bk.c = model chunk c of the stage";
    text(cr, lx, ly + 14, extra, 13);
  });
}

void renderPlan(const std::string& path, const Plan& p) {
  MeshLayout layout(p.mesh);
  const int dp = p.mesh.dp, pp = p.mesh.pp, tp = p.mesh.tp;
  const double cell_w = std::max(190.0, 80.0 * tp + 30), cell_h = 120, left = 110, top = 150;
  const double gap = 14;
  const int W = static_cast<int>(left + pp * (cell_w + gap) + 330);
  const int H = static_cast<int>(top + dp * (cell_h + gap) + 80);
  withSurface(path, W, H, [&](cairo_t* cr) {
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(
        cr, 20, 28,
        fmt::format("plan: mesh {}, schedule {}{}, {} micro-batches", p.mesh.toString(), p.schedule,
                    p.virtual_stages > 1 ? fmt::format(" (v = {})", p.virtual_stages) : "",
                    p.micro_batches),
        18, true);
    text(cr, 20, 50, fmt::format("expected step time {:.4g} ms (simulated)", p.step_time_s * 1e3),
         13);
    // Column headers: stage, its layer ranges (one line per chunk) and planned time.
    for (int s = 0; s < pp; ++s) {
      double x = left + s * (cell_w + gap);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text(cr, x + cell_w / 2, 78, fmt::format("stage {}", s), 15, true, 0.5);
      int line = 0;
      for (const auto& sp : p.stages) {
        if (sp.stage != s) continue;
        text(cr, x + cell_w / 2, 98 + 16 * line++,
             fmt::format("{}layers [{}, {})  {:.3g} ms",
                         p.virtual_stages > 1 ? fmt::format("c{}: ", sp.chunk) : "", sp.first_layer,
                         sp.end_layer, sp.time_s * 1e3),
             12, false, 0.5);
      }
    }
    double slowest = 0;
    for (const auto& d : p.devices) slowest = std::max(slowest, d.slowdown);
    for (int r = 0; r < dp; ++r) {
      double y = top + r * (cell_h + gap);
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text(cr, left - 14, y + cell_h / 2 + 5, fmt::format("dp {}", r), 15, true, 1.0);
      for (int s = 0; s < pp; ++s) {
        double x = left + s * (cell_w + gap);
        Rgb c = lighten(colourOf(s), 0.8);
        cairo_set_source_rgb(cr, c.r, c.g, c.b);
        cairo_rectangle(cr, x, y, cell_w, cell_h);
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        cairo_set_line_width(cr, 1.0);
        cairo_stroke(cr);
        // One box per tp rank.
        double bw = (cell_w - 10 - 6.0 * (tp - 1)) / tp;
        for (int t = 0; t < tp; ++t) {
          int rank = layout.rank({r, s, t});
          const DeviceProfile& d = p.devices[static_cast<size_t>(rank)];
          double bx = x + 5 + t * (bw + 6), by = y + 8;
          bool slow = d.slowdown > 1.0;
          if (slow)
            cairo_set_source_rgb(cr, 1.0, 0.88, 0.85);
          else
            cairo_set_source_rgb(cr, 1, 1, 1);
          cairo_rectangle(cr, bx, by, bw, cell_h - 16);
          cairo_fill_preserve(cr);
          cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
          cairo_stroke(cr);
          cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
          text(cr, bx + bw / 2, by + 24, fmt::format("rank {}", rank), 14, true, 0.5);
          if (tp > 1) text(cr, bx + bw / 2, by + 42, fmt::format("tp {}", t), 11, false, 0.5);
          text(cr, bx + bw / 2, by + 60, d.name, 11, false, 0.5);
          text(cr, bx + bw / 2, by + 76, fmt::format("{:g} GF/s", d.effectiveGflops()), 11, false,
               0.5);
          if (slow)
            text(cr, bx + bw / 2, by + 92, fmt::format("slowdown {:g}x", d.slowdown), 11, false,
                 0.5);
        }
      }
      const auto& rp = p.replicas[static_cast<size_t>(r)];
      double x = left + pp * (cell_w + gap) + 6;
      cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
      text(cr, x, y + 30, fmt::format("share: {} micro-batches", rp.micro_batches), 14, true);
      text(cr, x, y + 52, fmt::format("{:.4g} micro-batches/s", rp.throughput), 12);
      text(cr, x, y + 70,
           fmt::format("step {:.4g} ms, bubble {:.1f} %", rp.step_time_s * 1e3,
                       100 * rp.bubble_fraction),
           12);
    }
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    text(cr, 20, H - 24,
         "rows: data-parallel replicas; columns: pipeline stages; boxes: ranks of a "
         "tensor-parallel group (red = declared slowdown)",
         12);
  });
}

}  // namespace mlcp::partition
