#!/usr/bin/env bash
# scripts/setup.sh: install the missing Debian packages, configure and build (Release).
#
#   scripts/setup.sh            install what is missing, build build/ (Release)
#   scripts/setup.sh --test     ... then run every test (the "fast" ones also under every
#                               OpenBLAS kernel the CPU runs: scripts/kernel_matrix.sh), then
#                               build build-asan/ with
#                               AddressSanitizer + UndefinedBehaviorSanitizer and run them again
#                               (except the "slow" check of all 116 benchmark c0 values and the
#                               "long" end-to-end CNN runs, which run in the Release build only),
#                               then build the libFuzzer targets (build-fuzz/, clang-14) and
#                               fuzz the config parser and the result reader 20 s each
#
# Warnings are errors in both builds when --test is given (what CI runs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

run_tests=0
for arg in "$@"; do
  case "$arg" in
    --test) run_tests=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (allowed: --test, --help)" >&2; exit 2 ;;
  esac
done

packages=(build-essential cmake pkg-config libsuitesparse-dev libopenblas-dev libpng-dev
          libhdf5-dev libcmocka-dev libyaml-dev)
packages+=(libdnnl-dev) # oneDNN: the network's float32 convolutions (optional in CMake)
packages+=(libcairo2-dev libopenmpi-dev openmpi-bin) # the suite's pictures and MPI task farm
packages+=(clang libclang-rt-14-dev) # libFuzzer targets (tests/fuzz/)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup.sh: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

jobs=$(nproc 2>/dev/null || echo 2)
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

build() { # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

if ((run_tests)); then
  build build -DTOPOPT_WERROR=ON
  ctest --test-dir build --output-on-failure -j "$jobs"
  scripts/kernel_matrix.sh build # the fast tests under every OpenBLAS kernel the CPU runs
  build build-asan -DTOPOPT_WERROR=ON -DTOPOPT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE slow
  # libFuzzer smoke runs (20 s each) of the config parser and the result-file reader
  CC=clang-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOPOPT_FUZZ=ON \
    -DTOPOPT_WERROR=ON >/dev/null
  cmake --build build-fuzz -j "$jobs" --target fuzz_config fuzz_result fuzz_make_seeds
  ctest --test-dir build-fuzz --output-on-failure -L fuzz
else
  build build
fi
