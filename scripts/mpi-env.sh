# mpi-env.sh — source this before running mlcp under mpirun on a machine without RDMA devices:
# the UCX PML then loads over TCP/shared memory instead of being refused (docs/troubleshooting.md).
# Existing values win.
export OMPI_MCA_pml_ucx_tls=${OMPI_MCA_pml_ucx_tls:-any}
export OMPI_MCA_pml_ucx_devices=${OMPI_MCA_pml_ucx_devices:-any}
# mpirun refuses to run as root unless told; containers and CI machines often are root.
if [[ $(id -u) -eq 0 ]]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# A stop signal (SIGTERM, Ctrl-C) to mpirun is forwarded to the ranks, which finish the step and
# write a checkpoint; mpirun kills them odls_base_sigkill_timeout seconds later (1 by default).
# The same wait is paid when a job ends in an error: Open MPI 4.1's mpirun then waits the full
# timeout twice before it returns, although the ranks have exited (measured on 2 ranks: 5 -> 10 s,
# 60 -> 120 s). 10 s lets a step and a checkpoint of the example jobs finish and keeps a failed
# job's exit at about 20 s; raise it for models whose checkpoint takes longer.
export OMPI_MCA_odls_base_sigkill_timeout=${OMPI_MCA_odls_base_sigkill_timeout:-10}
