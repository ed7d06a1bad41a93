# tests/solver.cmake: the BFGS-SQP core tests (white-box: they also see solver/src), the
# solver examples' checks, and the solver benchmark.
topopt_add_test(test_solver SOURCES test_solver.c LIBS ncvx topopt::blas TIMEOUT 120)
target_include_directories(test_solver PRIVATE ${PROJECT_SOURCE_DIR}/solver/src)
# the public test set (Hock-Schittkowski and nonsmooth problems) and its benchmark table
topopt_add_bench(bench_hs SOURCES bench/bench_hs.c hs_collection.c LIBS ncvx)
topopt_add_bench(bench_qp SOURCES bench/bench_qp.c LIBS ncvx)
topopt_add_test(test_solver_set SOURCES test_solver_set.c hs_collection.c LIBS ncvx TIMEOUT 300)
set_tests_properties(test_solver_set PROPERTIES LABELS fast)
foreach(ex heat_source eigvec)
  add_test(NAME solver_example_${ex} COMMAND ncvx_example_${ex} --check)
  set_tests_properties(solver_example_${ex} PROPERTIES TIMEOUT 60
    ENVIRONMENT "OPENBLAS_NUM_THREADS=1")
endforeach()
topopt_add_bench(bench_solver SOURCES bench/bench_solver.c LIBS ncvx topopt::blas)
target_include_directories(bench_solver PRIVATE ${PROJECT_SOURCE_DIR}/solver/src)
# label "fast": rerun under every OpenBLAS kernel by scripts/kernel_matrix.sh
set_tests_properties(test_solver solver_example_heat_source solver_example_eigvec
  PROPERTIES LABELS fast)
