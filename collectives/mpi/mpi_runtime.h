// Process-wide MPI set-up (RAII): chooses the point-to-point layer, initialises MPI and
// finalises it. Safe when MPI is already initialised by someone else (test mains): then it
// neither initialises nor finalises.
//
// Point-to-point layer (PML), chosen before MPI_Init and reported:
//  1. A PML the user forced (mpirun --mca pml X, or OMPI_MCA_pml=X) is kept as is.
//  2. Otherwise the UCX PML is used where UCX can open a context and a worker here, ob1
//     otherwise. On machines without RDMA devices the UCX PML only loads when allowed to use
//     any transport and device, so OMPI_MCA_pml_ucx_tls/devices default to "any" (a user's
//     values win).
#pragma once

#include <string>

namespace mlcp::collectives {

class MpiRuntime {
 public:
  MpiRuntime();
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  // "ucx" or "ob1" (or whatever the user forced), and why it was chosen.
  const std::string& pmlName() const { return pml_; }
  const std::string& pmlReason() const { return pml_reason_; }
  // MPI_Get_library_version, first line.
  std::string libraryVersion() const;

 private:
  bool owns_ = false;
  std::string pml_, pml_reason_;
};

// True when UCX can create a context and a worker on this machine (the probe behind step 2).
bool ucxUsable(std::string* why);

}  // namespace mlcp::collectives
