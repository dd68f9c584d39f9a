#include "collectives/mpi/mpi_runtime.h"

#include <mpi.h>
#include <ucp/api/ucp.h>

#include <cstdlib>

#include "base/error.h"
#include "collectives/mpi/mpi_check.h"

namespace mlcp::collectives {

bool ucxUsable(std::string* why) {
  ucp_config_t* config = nullptr;
  ucs_status_t st = ucp_config_read(nullptr, nullptr, &config);
  if (st != UCS_OK) {
    *why = std::string("UCX configuration: ") + ucs_status_string(st);
    return false;
  }
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES;
  params.features = UCP_FEATURE_TAG;
  ucp_context_h context = nullptr;
  st = ucp_init(&params, config, &context);
  ucp_config_release(config);
  if (st != UCS_OK) {
    *why = std::string("UCX context: ") + ucs_status_string(st);
    return false;
  }
  ucp_worker_params_t wparams{};
  wparams.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wparams.thread_mode = UCS_THREAD_MODE_SINGLE;
  ucp_worker_h worker = nullptr;
  st = ucp_worker_create(context, &wparams, &worker);
  if (st == UCS_OK) ucp_worker_destroy(worker);
  ucp_cleanup(context);
  if (st != UCS_OK) {
    *why = std::string("UCX worker: ") + ucs_status_string(st);
    return false;
  }
  *why = "UCX opens a context and a worker here";
  return true;
}

MpiRuntime::MpiRuntime() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (const char* forced = std::getenv("OMPI_MCA_pml"); forced != nullptr && *forced != '\0') {
    pml_ = forced;
    pml_reason_ = "forced by OMPI_MCA_pml / --mca pml";
  } else if (initialized) {
    pml_ = "default";
    pml_reason_ = "MPI was initialised before mlcp chose";
  } else {
    setenv("OMPI_MCA_pml_ucx_tls", "any", 0);
    setenv("OMPI_MCA_pml_ucx_devices", "any", 0);
    std::string why;
    pml_ = ucxUsable(&why) ? "ucx" : "ob1";
    pml_reason_ = why;
    setenv("OMPI_MCA_pml", pml_.c_str(), 1);
  }
  if (!initialized) {
    int provided = 0;
    const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) throw CommError("MPI_Init_thread failed: " + mpiErrorString(rc));
    owns_ = true;
  }
}

MpiRuntime::~MpiRuntime() {
  if (!owns_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::string MpiRuntime::libraryVersion() const {
  char buf[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(buf, &len);
  std::string v(buf, static_cast<size_t>(len));
  const auto nl = v.find_first_of("\n,");
  return nl == std::string::npos ? v : v.substr(0, nl);
}

}  // namespace mlcp::collectives
