# tests/fem.cmake: the fem test program (white-box: it also sees fem/src) and its benchmark.
topopt_add_test(test_fem SOURCES test_fem.c LIBS fem app_benchmarks SuiteSparse::CHOLMOD
  TIMEOUT 300)
target_include_directories(test_fem PRIVATE ${PROJECT_SOURCE_DIR}/fem/src)
topopt_add_bench(bench_fem SOURCES bench/bench_fem.c LIBS fem SuiteSparse::CHOLMOD)
target_include_directories(bench_fem PRIVATE ${PROJECT_SOURCE_DIR}/fem/src)
# all 116 benchmark c0 values (minutes of factorizations): label "slow", `ctest -LE slow` skips it
add_test(NAME test_fem_c0_all COMMAND test_fem --c0-all)
set_tests_properties(test_fem_c0_all PROPERTIES LABELS slow TIMEOUT 1800
  ENVIRONMENT "OPENBLAS_NUM_THREADS=1;TOPOPT_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
set_tests_properties(test_fem PROPERTIES LABELS fast) # scripts/kernel_matrix.sh
topopt_add_bench(bench_fem_reuse SOURCES bench/bench_fem_reuse.c LIBS fem SuiteSparse::CHOLMOD)
target_include_directories(bench_fem_reuse PRIVATE ${PROJECT_SOURCE_DIR}/fem/src)
