// Pictures for people: a pipeline timeline (stage rows, time axis, one box per forward /
// backward, coloured by micro-batch, forwards light and backwards dark) and the plan picture
// (declared in partitioner.h). PNG, or SVG when the path ends in ".svg"; cairo does the drawing.
#pragma once

#include <string>

#include "partition/simulator.h"

namespace mlcp::partition {

// Throws IoError naming the path when cairo cannot write it.
void renderTimeline(const std::string& path, const Timeline& t, const std::string& title = "");

}  // namespace mlcp::partition
