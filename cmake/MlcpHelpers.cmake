# mlcp_add_library(NAME SOURCES ... [DEPS ...] [TORCH])
#   A static, position-independent library for one subsystem, exported as mlcp::NAME.
#   TORCH: the library uses LibTorch (adds its flags and the precompiled torch header).
function(mlcp_add_library name)
  cmake_parse_arguments(A "TORCH" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  add_library(mlcp::${name} ALIAS ${name})
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/mlcp>)
  target_link_libraries(${name} PUBLIC ${A_DEPS})
  mlcp_warnings(${name})
  if(A_TORCH)
    mlcp_use_torch(${name})
  endif()
  install(TARGETS ${name} EXPORT mlcpTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  # Every header of the folder installs next to it: include/mlcp/<subsystem>/<file>.h (headers
  # without a .cc, such as runtime/executor.h, included).
  file(GLOB_RECURSE headers RELATIVE ${PROJECT_SOURCE_DIR} CONFIGURE_DEPENDS
       ${CMAKE_CURRENT_SOURCE_DIR}/*.h)
  foreach(hdr ${headers})
    get_filename_component(dir ${hdr} DIRECTORY)
    install(FILES ${PROJECT_SOURCE_DIR}/${hdr} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/mlcp/${dir})
  endforeach()
endfunction()

function(mlcp_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(MLCP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# LibTorch headers are heavy (tens of seconds per file on 2 cores): every torch-using target
# reuses one precompiled header.
function(mlcp_use_torch target)
  target_link_libraries(${target} PUBLIC mlcp_torch)
  target_compile_options(${target} PRIVATE ${TORCH_CXX_FLAGS})
  if(NOT TARGET mlcp_torch_pch)
    add_library(mlcp_torch_pch STATIC ${PROJECT_SOURCE_DIR}/cmake/torch_pch.cc)
    target_link_libraries(mlcp_torch_pch PUBLIC mlcp_torch)
    target_precompile_headers(mlcp_torch_pch PUBLIC <torch/torch.h>)
    install(TARGETS mlcp_torch_pch EXPORT mlcpTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
  endif()
  target_precompile_headers(${target} REUSE_FROM mlcp_torch_pch)
  mlcp_match_pch_flags(${target})
endfunction()

# The shared torch PCH is built as position-independent library code (-fPIC); an executable
# compiled with -fPIE could not use it (-Winvalid-pch), so executables build with -fPIC too.
function(mlcp_match_pch_flags target)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
endfunction()

# mlcp_add_test(NAME SOURCES ... [DEPS ...] [RANKS n...] [TORCH] [TIMEOUT s] [LABELS ...])
#   One GoogleTest binary. Without RANKS it runs as a plain process. With RANKS it is
#   registered once per rank count as `mpiexec -n N NAME` (ctest name NAME.npN); those
#   binaries link tests/common's MPI-aware gtest main.
function(mlcp_add_test name)
  cmake_parse_arguments(A "TORCH" "TIMEOUT" "SOURCES;DEPS;RANKS;LABELS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE ${A_DEPS} mlcp_test_common)
  mlcp_warnings(${name})
  if(A_TORCH)
    target_link_libraries(${name} PRIVATE mlcp_torch)
    target_compile_options(${name} PRIVATE ${TORCH_CXX_FLAGS})
    target_precompile_headers(${name} REUSE_FROM mlcp_torch_pch)
    mlcp_match_pch_flags(${name})
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  # Label "sanitize": quick unit tests that CI also runs under ASan + UBSan; label "tsan": the
  # threaded ones it runs under TSan (scripts/sanitize.sh builds them through the targets
  # sanitize_tests and tsan_tests).
  if("sanitize" IN_LIST A_LABELS)
    set_property(GLOBAL APPEND PROPERTY MLCP_SANITIZE_TARGETS ${name})
  endif()
  if("tsan" IN_LIST A_LABELS)
    set_property(GLOBAL APPEND PROPERTY MLCP_TSAN_TARGETS ${name})
  endif()
  if(A_RANKS)
    foreach(n ${A_RANKS})
      add_test(NAME ${name}.np${n}
        COMMAND ${MLCP_MPIEXEC} ${MLCP_MPIEXEC_FLAGS} -n ${n} $<TARGET_FILE:${name}>)
      set_tests_properties(${name}.np${n} PROPERTIES TIMEOUT ${A_TIMEOUT} PROCESSORS ${n}
        LABELS "mpi;${A_LABELS}" ENVIRONMENT "${MLCP_TEST_ENV}")
    endforeach()
  else()
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES TIMEOUT ${A_TIMEOUT} LABELS "${A_LABELS}"
      ENVIRONMENT "${MLCP_TEST_ENV}")
  endif()
endfunction()
