# Run with cmake -P: install BUILD_DIR into WORK_DIR/prefix, build the consumer project in
# CONSUMER_DIR against it (find_package(mlcp)), and run what it built:
# - consumer: the deterministic sample order from the installed data library;
# - residual_mlcp: mlcp's command line plus a model the project registers (residual_mlp, with a
#   layer of its own). Its job validates, trains on 1 process and on 2 pipeline stages under
#   MPIEXEC to the same bits, and its checkpoint verifies; a misspelt option, more pipeline
#   stages than its layers and the stock `mlcp` (which does not have the model) each get one
#   sentence and exit 2.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
  message("${out}")
endfunction()
# Runs a command that must fail with exit status 2 and say `expected` on stderr.
function(run_refused expected)
  list(REMOVE_AT ARGV 0)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(FIND "${err}" "${expected}" at)
  if(NOT rc EQUAL 2 OR at EQUAL -1)
    message(FATAL_ERROR "expected exit 2 and '${expected}' from ${ARGV}, got ${rc}:\n${out}\n${err}")
  endif()
  message("refused as expected: ${err}")
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/build -G Ninja
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)

run(${WORK_DIR}/build/consumer)
if(NOT last_output STREQUAL "1 7 0 6 8 9 5 2 3 4 \n")
  message(FATAL_ERROR "consumer printed '${last_output}', not the sample order 1 7 0 6 8 9 5 2 3 4")
endif()

set(mlcp ${WORK_DIR}/build/residual_mlcp)
set(job ${WORK_DIR}/residual_mlp.toml)
file(READ ${CONSUMER_DIR}/residual_mlp.toml text)
file(WRITE ${job} "${text}")
file(WRITE ${WORK_DIR}/residual_mlp_pp2.toml "${text}\n[parallel]\npp = 2\n")
run(${mlcp} validate ${job})
string(FIND "${last_output}" "model residual_mlp" at)
if(at EQUAL -1)
  message(FATAL_ERROR "validate did not name the registered model:\n${last_output}")
endif()
run(${mlcp} run ${job} --no-progress --output ${WORK_DIR}/one)
run(${MPIEXEC} --allow-run-as-root --oversubscribe --bind-to none -n 2
    ${mlcp} run ${WORK_DIR}/residual_mlp_pp2.toml --no-progress --output ${WORK_DIR}/two)
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK_DIR}/one/final_state.bin
                        ${WORK_DIR}/two/final_state.bin RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "residual_mlp: the parameters after 1 process and after 2 pipeline stages "
                      "differ (final_state.bin)")
endif()
run(${mlcp} verify checkpoint ${WORK_DIR}/one/checkpoints/step-00000006)

string(REPLACE "width = 48" "widht = 48" typo "${text}")
file(WRITE ${WORK_DIR}/typo.toml "${typo}")
run_refused("model.options.widht: expected a key model \"residual_mlp\" reads (width, blocks), got unknown key 'widht' (did you mean 'width'?)"
            ${mlcp} validate ${WORK_DIR}/typo.toml)
string(REPLACE "micro_batches = 4" "micro_batches = 8" eight "${text}")
file(WRITE ${WORK_DIR}/pp8.toml "${eight}\n[parallel]\npp = 8\n")
run_refused("parallel.pp: must be at most the model's pipeline layer count 4 (model \"residual_mlp\"), got 8"
            ${mlcp} validate ${WORK_DIR}/pp8.toml)
run_refused("or one this program registered (it registers none), got \"residual_mlp\""
            ${BUILD_DIR}/mlcp validate ${job})
message("find_package(mlcp) consumer: every check passed")
