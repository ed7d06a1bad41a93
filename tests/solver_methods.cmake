# tests/solver_methods.cmake: the classical methods of ncvx (lbfgs, penalty, auglag, projgrad,
# mma, oc) and the projections.
topopt_add_test(test_solver_methods SOURCES test_solver_methods.c LIBS ncvx TIMEOUT 120)
# white-box: the test also exercises the L-BFGS engine of solver/src/classic.h
target_include_directories(test_solver_methods PRIVATE ${PROJECT_SOURCE_DIR}/solver/src)
set_tests_properties(test_solver_methods PROPERTIES LABELS fast) # scripts/kernel_matrix.sh
