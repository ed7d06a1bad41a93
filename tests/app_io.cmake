# tests/app_io.cmake: the app's file-output layer (app_export) on its own. The test also talks
# to libpng/HDF5 directly to check the files independently of the code under test.
topopt_add_test(test_app_io SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_app_io.c
  LIBS app_export hdf5::hdf5 PNG::PNG TIMEOUT 60)
# The suite's pictures (app_charts, cairo), read back with libpng through app_export.
topopt_add_test(test_app_charts SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_app_charts.c
  LIBS app_charts app_export TIMEOUT 60)
set_property(TEST test_app_charts APPEND PROPERTY ENVIRONMENT
  "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/lsan.supp")
