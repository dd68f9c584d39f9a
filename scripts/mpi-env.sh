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
# write a checkpoint; mpirun SIGKILLs them odls_base_sigkill_timeout seconds later (1 by default).
# Left at Open MPI's default on purpose: measured with Open MPI 4.1 here, any larger value (10,
# 60) makes mpirun not forward SIGTERM to the ranks at all (the run trains on to its end), and a
# job that ends in an error then waits that timeout twice before mpirun returns (60 -> 120 s).
# With 1 s, `kill -TERM` to mpirun 6 s into a 2-rank run of jobs/quick_mlp.toml stopped it at the
# next step with a checkpoint (measured; test_runtime_bad_input's earlier signal is flaky); a model
# whose step and checkpoint take longer than 1 s should be stopped with SIGUSR1 to the ranks, or
# run under srun, which forwards signals itself (docs/operations.md, "Stopping a run").
