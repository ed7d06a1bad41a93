# tests/app.cmake: the topopt program's tests (config, chain gradients, end-to-end, CLI).
# 600 s (the default): under the sanitizers it shares the 2 cores with test_suite_mpi's ranks
# (alone 82 s, beside them 240 s on the CI machine)
topopt_add_test(test_app SOURCES test_app.c LIBS app_core fem nn ncvx app_export app_benchmarks)
target_include_directories(test_app PRIVATE ${PROJECT_SOURCE_DIR}/app)
target_compile_definitions(test_app PRIVATE TOPOPT_EXE="$<TARGET_FILE:topopt>")
add_dependencies(test_app topopt)
find_package(OpenMP QUIET COMPONENTS C) # test_threads checks a num_threads clause stays serial
if(OpenMP_C_FOUND)
  target_link_libraries(test_app PRIVATE OpenMP::OpenMP_C)
endif()
if(NOT TOPOPT_SANITIZE)
  # Hoyer et al.'s CNN end to end on mbb_beam_96x32: about 1-3 minutes in Release (800
  # network evaluations), far longer under the sanitizers, so Release only; label "long" so
  # that a quick CI pass can skip it with `ctest -LE long`.
  topopt_add_test(test_app_hoyer SOURCES app_hoyer.c LIBS app_core fem nn ncvx app_export
    app_benchmarks TIMEOUT 1500)
  target_include_directories(test_app_hoyer PRIVATE ${PROJECT_SOURCE_DIR}/app)
  set_tests_properties(test_app_hoyer PROPERTIES LABELS long)
endif()
# bench_eval: the whole evaluation beside the machine's limit (white-box on the fem model)
topopt_add_bench(bench_eval SOURCES bench/bench_eval.c LIBS app_core fem nn ncvx app_export
  app_benchmarks SuiteSparse::CHOLMOD topopt::blas)
target_include_directories(bench_eval PRIVATE ${PROJECT_SOURCE_DIR}/app ${PROJECT_SOURCE_DIR}/fem/src)
# The suite as an MPI task farm against the serial runner (tests/suite_mpi.sh).
if(TOPOPT_HAVE_MPI AND MPIEXEC_EXECUTABLE)
  add_test(NAME test_suite_mpi
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/suite_mpi.sh ${MPIEXEC_EXECUTABLE} $<TARGET_FILE:topopt>
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(test_suite_mpi PROPERTIES TIMEOUT 600)
endif()
# The suite's forked workers (--jobs) when one dies: only its task is lost (tests/suite_jobs_kill.sh).
add_test(NAME test_suite_jobs_kill COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/suite_jobs_kill.sh
  $<TARGET_FILE:topopt> WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(test_suite_jobs_kill PROPERTIES TIMEOUT 300
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
# A suite task killed mid-solve continues from its periodic checkpoint on --resume, to the
# same result as an uninterrupted run (tests/suite_task_resume.sh).
add_test(NAME test_suite_task_resume COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/suite_task_resume.sh
  $<TARGET_FILE:topopt> WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(test_suite_task_resume PROPERTIES TIMEOUT 300
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
# Two suites on one folder: a task held by a live process is left to it and reported as
# running; one finished meanwhile is not rerun (tests/suite_task_lock.sh).
add_test(NAME test_suite_task_lock COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/suite_task_lock.sh
  $<TARGET_FILE:topopt> WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(test_suite_task_lock PROPERTIES TIMEOUT 300
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
# Tasks finished elsewhere merged with --import (tests/suite_import.sh).
add_test(NAME test_suite_import COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/suite_import.sh
  $<TARGET_FILE:topopt> WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(test_suite_import PROPERTIES TIMEOUT 300
  ENVIRONMENT "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
# The neural-polish strategy (app/strategy.c): its FE solves counted by a wrapper of the fem
# solve itself, so the count does not rely on the strategy's own bookkeeping.
topopt_add_test(test_app_strategy SOURCES test_app_strategy.c LIBS app_core fem nn ncvx
  app_export app_benchmarks TIMEOUT 300)
target_include_directories(test_app_strategy PRIVATE ${PROJECT_SOURCE_DIR}/app)
target_link_options(test_app_strategy PRIVATE "-Wl,--wrap=fem_model_compliance")
# The suite draws with cairo (fontconfig caches) and may start Open MPI: their process-lifetime
# allocations are not ours (tests/lsan.supp).
foreach(t test_app test_suite_mpi test_app_strategy)
  if(TEST ${t})
    set_property(TEST ${t} APPEND PROPERTY ENVIRONMENT
      "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
  endif()
endforeach()
