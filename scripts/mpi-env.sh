# mpi-env.sh — source this before running mlcp under mpirun on a machine without RDMA devices:
# the UCX PML then loads over TCP/shared memory instead of being refused (docs/troubleshooting.md).
# Existing values win.
export OMPI_MCA_pml_ucx_tls=${OMPI_MCA_pml_ucx_tls:-any}
export OMPI_MCA_pml_ucx_devices=${OMPI_MCA_pml_ucx_devices:-any}
# mpirun refuses to run as root unless told; containers and CI machines often are root.
if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
