# The layers of mlcp (docs/architecture.md), checked on every #include "folder/..." of the tree:
#
#   app -> runtime -> models -> {partition, collectives, verify, jobs, data, bridge, slurm, ops} -> base
#   volunteer (the volunteer channel) -> {collectives, verify, jobs} -> base; runtime and app use it
#
# A file may include its own folder and the folders its own folder may use (ALLOWED below);
# nothing points up or sideways outside the table. Run as
#   cmake -DSOURCE_DIR=<repo> [-DPLANT=<folder/file.cc>:<included path>] -P check_layering.cmake
# PLANT adds one virtual file with one include (the mutation check: a planted upward include
# must make this script fail). Exit status 0 = the layering holds.
cmake_minimum_required(VERSION 3.25)

set(FOLDERS base ops jobs data partition collectives verify bridge slurm volunteer models runtime app)
set(ALLOWED_base "")
set(ALLOWED_ops base)
set(ALLOWED_jobs base)
set(ALLOWED_data base)
set(ALLOWED_partition base)
set(ALLOWED_collectives base)
set(ALLOWED_verify base)
set(ALLOWED_bridge base)
set(ALLOWED_slurm base jobs)
set(ALLOWED_volunteer base collectives verify jobs)
set(ALLOWED_models base ops jobs partition collectives)
set(ALLOWED_runtime base ops jobs data partition collectives verify bridge volunteer models)
set(ALLOWED_app base ops jobs data partition collectives verify bridge slurm volunteer models runtime)

set(violations "")
set(checked 0)
function(check_include file folder included)
  string(REGEX MATCH "^([a-z_]+)/" _ "${included}")
  set(target "${CMAKE_MATCH_1}")
  if(NOT target OR NOT target IN_LIST FOLDERS OR target STREQUAL folder)
    return()
  endif()
  if(NOT target IN_LIST ALLOWED_${folder})
    set(violations "${violations}\n  ${file}: #include \"${included}\" (${folder}/ may include: ${ALLOWED_${folder}})" PARENT_SCOPE)
  endif()
endfunction()

foreach(folder ${FOLDERS})
  file(GLOB_RECURSE sources RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/${folder}/*.h
       ${SOURCE_DIR}/${folder}/*.cc ${SOURCE_DIR}/${folder}/*.cc.in)
  foreach(file ${sources})
    file(STRINGS ${SOURCE_DIR}/${file} lines REGEX "^#include \"[a-z_]+/")
    foreach(line ${lines})
      string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" included "${line}")
      check_include(${file} ${folder} ${included})
    endforeach()
    math(EXPR checked "${checked} + 1")
  endforeach()
endforeach()

if(PLANT)
  string(REPLACE ":" ";" plant "${PLANT}")
  list(GET plant 0 file)
  list(GET plant 1 included)
  string(REGEX MATCH "^([a-z_]+)/" _ "${file}")
  check_include(${file} ${CMAKE_MATCH_1} ${included})
endif()

if(violations)
  message(FATAL_ERROR "includes that point up or across the layers:${violations}")
endif()
message(STATUS "layering holds: ${checked} files checked")
