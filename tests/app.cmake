# tests/app.cmake: the topopt program's tests (config, chain gradients, end-to-end, CLI).
if(TARGET app_core AND TARGET topopt)
  topopt_add_test(test_app SOURCES test_app.c LIBS app_core fem nn ncvx app_export app_benchmarks
    TIMEOUT 300)
  target_include_directories(test_app PRIVATE ${PROJECT_SOURCE_DIR}/app)
  target_compile_definitions(test_app PRIVATE TOPOPT_EXE="$<TARGET_FILE:topopt>")
  add_dependencies(test_app topopt)
endif()
