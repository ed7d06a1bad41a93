# cmake/deps.cmake: find the system libraries; each missing one names its Debian package.
find_package(PkgConfig)

# Stop configuring with a message that names the package to install.
function(topopt_missing what package)
  message(FATAL_ERROR
    "${what} not found. Install it with:  sudo apt-get install ${package}\n"
    "(or run scripts/setup.sh, which installs every missing package)")
endfunction()

if(NOT PKG_CONFIG_FOUND)
  topopt_missing("pkg-config" "pkg-config")
endif()

# CHOLMOD: SuiteSparse >= 7 ships a CMake config; Debian 12 (SuiteSparse 5.12) ships only
# headers under include/suitesparse/ and the library.
find_package(CHOLMOD CONFIG QUIET)
if(NOT TARGET SuiteSparse::CHOLMOD)
  find_path(CHOLMOD_INCLUDE_DIR cholmod.h PATH_SUFFIXES suitesparse)
  find_library(CHOLMOD_LIBRARY cholmod)
  find_library(SUITESPARSECONFIG_LIBRARY suitesparseconfig)
  if(NOT CHOLMOD_INCLUDE_DIR OR NOT CHOLMOD_LIBRARY OR NOT SUITESPARSECONFIG_LIBRARY)
    topopt_missing("SuiteSparse CHOLMOD" "libsuitesparse-dev")
  endif()
  add_library(SuiteSparse::CHOLMOD INTERFACE IMPORTED)
  target_include_directories(SuiteSparse::CHOLMOD INTERFACE ${CHOLMOD_INCLUDE_DIR})
  target_link_libraries(SuiteSparse::CHOLMOD INTERFACE ${CHOLMOD_LIBRARY} ${SUITESPARSECONFIG_LIBRARY})
endif()

# OpenBLAS (BLAS + LAPACK in one library on Debian), through its pkg-config module so that a
# second BLAS installed beside it is never picked up by accident.
pkg_check_modules(OPENBLAS QUIET IMPORTED_TARGET openblas)
if(NOT OPENBLAS_FOUND)
  topopt_missing("OpenBLAS" "libopenblas-dev")
endif()
add_library(topopt::blas ALIAS PkgConfig::OPENBLAS)

find_package(PNG QUIET)
if(NOT PNG_FOUND)
  topopt_missing("libpng" "libpng-dev")
endif()

set(HDF5_PREFER_PARALLEL OFF)
find_package(HDF5 QUIET COMPONENTS C)
if(NOT HDF5_FOUND)
  topopt_missing("HDF5 (serial, C API)" "libhdf5-dev")
endif()
if(NOT TARGET hdf5::hdf5)
  add_library(hdf5::hdf5 INTERFACE IMPORTED)
  target_include_directories(hdf5::hdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
  target_link_libraries(hdf5::hdf5 INTERFACE ${HDF5_C_LIBRARIES})
  target_compile_definitions(hdf5::hdf5 INTERFACE ${HDF5_C_DEFINITIONS} ${HDF5_DEFINITIONS})
endif()

pkg_check_modules(YAML QUIET IMPORTED_TARGET yaml-0.1)
if(NOT YAML_FOUND)
  topopt_missing("libyaml" "libyaml-dev")
endif()

if(BUILD_TESTING OR NOT DEFINED BUILD_TESTING)
  # cmocka 1.1.5's CMake config exports no target: use pkg-config.
  pkg_check_modules(CMOCKA QUIET IMPORTED_TARGET cmocka)
  if(NOT CMOCKA_FOUND)
    topopt_missing("CMocka" "libcmocka-dev")
  endif()
endif()

# oneDNN (optional, libdnnl-dev): the float32 convolutions of nn/ run on its JIT kernels.
# TOPOPT_DNNL=OFF, or no oneDNN found, leaves the library's own im2col + SGEMM path.
option(TOPOPT_DNNL "Use oneDNN for the network's float32 convolutions when it is installed" ON)
set(TOPOPT_HAVE_DNNL OFF)
if(TOPOPT_DNNL)
  find_path(DNNL_INCLUDE_DIR dnnl.h)
  find_library(DNNL_LIBRARY dnnl)
  if(DNNL_INCLUDE_DIR AND DNNL_LIBRARY)
    add_library(topopt::dnnl INTERFACE IMPORTED)
    target_include_directories(topopt::dnnl INTERFACE ${DNNL_INCLUDE_DIR})
    target_link_libraries(topopt::dnnl INTERFACE ${DNNL_LIBRARY})
    set(TOPOPT_HAVE_DNNL ON)
    message(STATUS "oneDNN: ${DNNL_LIBRARY}")
  else()
    message(STATUS "oneDNN not found (sudo apt-get install libdnnl-dev): "
                   "the network uses its own SGEMM path")
  endif()
endif()
# cairo: the suite's charts and contact sheets (app/charts.c).
pkg_check_modules(CAIRO QUIET IMPORTED_TARGET cairo)
if(NOT CAIRO_FOUND)
  topopt_missing("cairo" "libcairo2-dev")
endif()

# MPI (optional): the suite's task farm over many processes or machines. AUTO uses it when
# found, ON requires it, OFF leaves it out (the suite then has its forked workers only).
set(TOPOPT_MPI AUTO CACHE STRING "Build the MPI task farm of `topopt suite` (AUTO, ON, OFF)")
set_property(CACHE TOPOPT_MPI PROPERTY STRINGS AUTO ON OFF)
set(TOPOPT_HAVE_MPI OFF)
if(NOT TOPOPT_MPI STREQUAL "OFF")
  find_package(MPI QUIET COMPONENTS C)
  if(MPI_C_FOUND)
    set(TOPOPT_HAVE_MPI ON)
  elseif(TOPOPT_MPI STREQUAL "ON")
    topopt_missing("MPI (TOPOPT_MPI=ON)" "libopenmpi-dev openmpi-bin")
  endif()
endif()
message(STATUS "topopt: MPI task farm ${TOPOPT_HAVE_MPI}")
