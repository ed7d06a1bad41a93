#!/usr/bin/env bash
# scripts/kernel_matrix.sh: rerun the fast tests (ctest label "fast": the solver, nn and fem
# unit tests and the solver examples) under every OpenBLAS kernel this CPU can run, so that a
# result depending on the last bits of one BLAS kernel shows up on any CI machine.
#
#   scripts/kernel_matrix.sh [BUILD_DIR]     (default: build)
#
# Kernels, oldest first: Prescott (always), Sandybridge (cpu flag avx), Haswell (avx2),
# SkylakeX (avx512f). If OPENBLAS_CORETYPE is set in the environment (done on processors
# where newer kernels misbehave), it caps the list: no kernel newer than the pinned one runs.
# The default kernel (what OpenBLAS picks itself) is the one of the ordinary ctest run.
# Prints which kernels ran; exits non-zero if any kernel failed a test.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
[ -d "$build" ] || { echo "kernel_matrix: no build directory '$build'" >&2; exit 2; }

# generation of a kernel name (OpenBLAS names, case-insensitive); 0 = unknown
rank() {
  case "${1,,}" in
    prescott|core2|penryn|dunnington|nehalem|atom|opteron|opteron_sse3|barcelona|bobcat) echo 1 ;;
    sandybridge|bulldozer|piledriver) echo 2 ;;
    haswell|zen|steamroller|excavator) echo 3 ;;
    skylakex|cooperlake|sapphirerapids) echo 4 ;;
    *) echo 0 ;;
  esac
}

flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
has() { [[ " $flags " == *" $1 "* ]]; }
kernels=(Prescott)
has avx && kernels+=(Sandybridge)
has avx2 && kernels+=(Haswell)
has avx512f && kernels+=(SkylakeX)

pin=${OPENBLAS_CORETYPE:-}
if [ -n "$pin" ]; then
  cap=$(rank "$pin")
  if [ "$cap" -eq 0 ]; then
    echo "kernel_matrix: OPENBLAS_CORETYPE=$pin is not a kernel this script knows; running" \
      "Prescott only" >&2
    cap=1
  fi
  capped=()
  for k in "${kernels[@]}"; do
    [ "$(rank "$k")" -le "$cap" ] && capped+=("$k")
  done
  kernels=("${capped[@]}")
fi

jobs=$(nproc 2>/dev/null || echo 2)
ran=()
failed=()
for k in "${kernels[@]}"; do
  echo "kernel_matrix: OPENBLAS_CORETYPE=$k"
  t0=$(date +%s)
  if OPENBLAS_CORETYPE=$k OPENBLAS_NUM_THREADS=1 \
      ctest --test-dir "$build" -L fast --output-on-failure -j "$jobs"; then
    ran+=("$k ($(($(date +%s) - t0)) s)")
  else
    ran+=("$k (FAILED)")
    failed+=("$k")
  fi
done
echo "kernel_matrix: kernels run${pin:+ (capped by OPENBLAS_CORETYPE=$pin)}: ${ran[*]}"
if ((${#failed[@]})); then
  echo "kernel_matrix: failures under: ${failed[*]}" >&2
  exit 1
fi
