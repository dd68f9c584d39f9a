#include "jobs/volunteer_job_text.h"

#include <toml++/toml.h>

#include <sstream>

#include "base/error.h"

namespace mlcp::jobs {

std::string volunteerJobText(const JobSpec& spec) {
  toml::table root;
  try {
    root = toml::parse(std::string_view(spec.source_text), std::string_view(spec.source_path));
  } catch (const toml::parse_error& e) {
    throw UsageError(spec.source_path + ": " + std::string(e.description()));
  }
  for (const char* table : {"volunteers", "bridge", "slurm"}) root.erase(table);
  if (auto* t = root["checkpoint"].as_table()) t->erase("key_file");
  if (auto* t = root["runtime"].as_table()) t->erase("devices_file");
  if (auto* t = root["job"].as_table()) t->erase("output_dir");
  if (auto* data = root["data"].as_table()) {
    if (!spec.data.path.empty() && data->contains("path"))
      data->insert_or_assign("path", spec.data.path);
    if (auto* sources = (*data)["sources"].as_array()) {
      for (size_t i = 0; i < sources->size() && i < spec.data.sources.size(); ++i) {
        if (auto* s = (*sources)[i].as_table())
          s->insert_or_assign("path", spec.data.sources[i].path);
      }
    }
  }
  std::ostringstream out;
  out << toml::toml_formatter(root) << '\n';
  return out.str();
}

}  // namespace mlcp::jobs
