# tests/suite_lib.sh NAME: sourced by the suite's shell tests: strict mode, a temporary folder
# $tmp removed on exit, one BLAS/OpenMP thread per process, and fail MESSAGE.
set -euo pipefail
tmp=$(mktemp -d "/tmp/test_$1.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
fail() { echo "FAIL: $*" >&2; exit 1; }
# finished_rows DIR: the tasks of the suite folder DIR that finished (a task writes its row
# with code 131 as it starts and overwrites it when it ends)
finished_rows() { cat "$1"/*/*/seed*/suite_row.txt 2>/dev/null | awk '$1 != 131' | wc -l; }
# task_finished DIR: the task folder DIR holds the row of a finished task
task_finished() { [ -f "$1/suite_row.txt" ] && [ "$(cut -d' ' -f1 "$1/suite_row.txt")" != 131 ]; }
