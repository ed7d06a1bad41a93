# tests/nn.cmake: the nn test program (white-box: it also sees nn/src) and its benchmark.
topopt_add_test(test_nn SOURCES test_nn.c LIBS nn TIMEOUT 300)
target_include_directories(test_nn PRIVATE ${PROJECT_SOURCE_DIR}/nn/src)
topopt_add_bench(bench_nn SOURCES bench/bench_nn.c LIBS nn topopt::blas)
# OpenMP: bench_nn --threads sets oneDNN's threads (Debian's libdnnl runs on libgomp);
# test_nn runs oneDNN under the program's OpenMP settings.
find_package(OpenMP COMPONENTS C QUIET)
if(OpenMP_C_FOUND)
  target_link_libraries(bench_nn PRIVATE OpenMP::OpenMP_C)
  target_compile_definitions(bench_nn PRIVATE BENCH_HAVE_OPENMP)
  target_link_libraries(test_nn PRIVATE OpenMP::OpenMP_C)
  target_compile_definitions(test_nn PRIVATE TEST_HAVE_OPENMP)
endif()
if(TOPOPT_HAVE_DNNL)
  # oneDNN's own SGEMM beside OpenBLAS's for the peak.
  target_link_libraries(bench_nn PRIVATE topopt::dnnl)
  target_compile_definitions(bench_nn PRIVATE TOPOPT_HAVE_DNNL)
endif()
set_tests_properties(test_nn PROPERTIES LABELS fast) # scripts/kernel_matrix.sh
