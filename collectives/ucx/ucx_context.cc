#include "collectives/ucx/ucx_context.h"

#include <fmt/format.h>
#include <ucp/api/ucp.h>

#include "collectives/ucx/ucx_check.h"
#include "collectives/ucx/ucx_core.h"

namespace mlcp::collectives::ucx {
namespace {

struct ConfigDeleter {
  void operator()(ucp_config_t* c) const { ucp_config_release(c); }
};

std::string describe(const ContextOptions& o) {
  return fmt::format("UCX context (transports '{}', devices '{}', environment {}_UCX_* / UCX_*)",
                     o.transports.empty() ? "from the environment" : o.transports,
                     o.net_devices.empty() ? "from the environment" : o.net_devices,
                     o.env_prefix.empty() ? "UCX" : o.env_prefix);
}

}  // namespace

Context::Context(const ContextOptions& options) : core_(std::make_shared<detail::ContextCore>()) {
  core_->options = options;
  ucp_config_t* raw = nullptr;
  MLCP_UCS_CHECK(ucp_config_read(options.env_prefix.empty() ? nullptr : options.env_prefix.c_str(),
                                 nullptr, &raw),
                 describe(options) + ": reading the configuration");
  std::unique_ptr<ucp_config_t, ConfigDeleter> config(raw);
  if (!options.transports.empty()) {
    MLCP_UCS_CHECK(ucp_config_modify(config.get(), "TLS", options.transports.c_str()),
                   describe(options) + ": transports");
  }
  if (!options.net_devices.empty()) {
    MLCP_UCS_CHECK(ucp_config_modify(config.get(), "NET_DEVICES", options.net_devices.c_str()),
                   describe(options) + ": devices");
  }
  ucp_params_t params{};
  params.field_mask =
      UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED | UCP_PARAM_FIELD_NAME;
  params.features = UCP_FEATURE_AM | (options.wakeup ? UCP_FEATURE_WAKEUP : 0);
  params.mt_workers_shared = 0;
  params.name = "mlcp";
  MLCP_UCS_CHECK(ucp_init(&params, config.get(), &core_->handle), describe(options));
}

Context::~Context() = default;
Context::Context(Context&&) noexcept = default;
Context& Context::operator=(Context&&) noexcept = default;

const ContextOptions& Context::options() const { return core_->options; }

}  // namespace mlcp::collectives::ucx
