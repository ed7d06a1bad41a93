# tests/nn.cmake: the nn test program (white-box: it also sees nn/src) and its benchmark.
topopt_add_test(test_nn SOURCES test_nn.c LIBS nn TIMEOUT 300)
target_include_directories(test_nn PRIVATE ${PROJECT_SOURCE_DIR}/nn/src)
topopt_add_bench(bench_nn SOURCES bench/bench_nn.c LIBS nn topopt::blas)
set_tests_properties(test_nn PROPERTIES LABELS fast) # scripts/kernel_matrix.sh
