# Every third-party dependency is found here, once, and exposed as an imported target.
# All come from Debian packages (scripts/install-deps.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# LibTorch (libtorch-dev). Its config adds -D_GLIBCXX_USE_CXX11_ABI and friends to TORCH_CXX_FLAGS.
find_package(Torch REQUIRED)
add_library(mlcp_torch INTERFACE)
target_link_libraries(mlcp_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(mlcp_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
find_package(OpenMP REQUIRED)

find_package(MPI REQUIRED COMPONENTS C)
# mpi.h must not drag in Open MPI's deprecated C++ bindings (they need libmpi_cxx).
add_compile_definitions(OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(ZLIB REQUIRED)
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)  # volunteer/aead: the record layer's cipher
find_package(CLI11 CONFIG REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(tomlplusplus CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(UCX REQUIRED IMPORTED_TARGET ucx)
pkg_check_modules(SECP256K1 REQUIRED IMPORTED_TARGET libsecp256k1)
pkg_check_modules(CRYPTOPP REQUIRED IMPORTED_TARGET libcrypto++)
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)
# SentencePiece (libsentencepiece-dev): the tokenizer of `mlcp data prepare` (data/), which
# trains vocabularies (libsentencepiece_train) and encodes with them (libsentencepiece). Only the
# module libmlcp-sentencepiece.so links it (data/sentencepiece_module.h says why).
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)

add_library(mlcp_hdf5 INTERFACE)
target_include_directories(mlcp_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS})
target_link_libraries(mlcp_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(mlcp_hdf5 INTERFACE ${HDF5_C_DEFINITIONS})

install(TARGETS mlcp_torch mlcp_hdf5 EXPORT mlcpTargets)

# Optional: NCCL/CUDA. Only compiled where both are found; never required for the CPU build.
set(MLCP_HAVE_NCCL 0)
if(MLCP_WITH_NCCL)
  find_package(CUDAToolkit QUIET)
  find_path(NCCL_INCLUDE_DIR nccl.h)
  find_library(NCCL_LIBRARY nccl)
  if(CUDAToolkit_FOUND AND NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(MLCP_HAVE_NCCL 1)
  endif()
endif()
message(STATUS "mlcp: NCCL backend ${MLCP_HAVE_NCCL} (CUDA ${CUDAToolkit_FOUND})")

# mpiexec used by tests and examples. Root and more ranks than cores are normal here.
set(MLCP_MPIEXEC ${MPIEXEC_EXECUTABLE})
set(MLCP_MPIEXEC_FLAGS --allow-run-as-root --oversubscribe --bind-to none)

# Environment every MPI test and example runs with: the UCX PML loads on machines without RDMA
# devices only when told it may use any transport and device (docs/troubleshooting.md).
set(MLCP_TEST_ENV
  "OMPI_MCA_pml_ucx_tls=any"
  "OMPI_MCA_pml_ucx_devices=any"
  "OMPI_ALLOW_RUN_AS_ROOT=1"
  "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
# odls_base_sigkill_timeout stays at Open MPI's 1 s, as in scripts/mpi-env.sh: with 60 s, mpirun
# 4.1 did not forward SIGTERM to the ranks, and each failing multi-rank test waited 2 x 60 s.
