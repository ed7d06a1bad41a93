# tests/suite_lib.sh NAME: sourced by the suite's shell tests: strict mode, a temporary folder
# $tmp removed on exit, one BLAS/OpenMP thread per process, and fail MESSAGE.
set -euo pipefail
tmp=$(mktemp -d "/tmp/test_$1.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
fail() { echo "FAIL: $*" >&2; exit 1; }
