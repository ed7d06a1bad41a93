#!/usr/bin/env bash
# tests/suite_mpi.sh MPIEXEC TOPOPT: `topopt suite` as an MPI task farm (3 ranks: rank 0 hands
# out, two run) against the serial runner on tiny problems: the same tasks, bit-identical
# compliances; a lost task is rerun by --resume, and only it.
set -euo pipefail
mpiexec=$1
exe=$2
tmp=$(mktemp -d /tmp/test_suite_mpi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
args=(suite --filter 32x64_0.1 --methods cnn-lbfgs,pixel-oc --seeds 0-1 --steps 4)
fail() { echo "FAIL: $*" >&2; exit 1; }
# In the sanitizer build: Open MPI's components are dlopen'd and unloaded at MPI_Finalize, so
# LeakSanitizer reports their process-lifetime allocations from "<unknown module>", which no
# suppression can name; the ranks run without leak checking (the serial run keeps it).
mpi_env=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")

"$exe" "${args[@]}" --quiet --out "$tmp/serial" >"$tmp/serial.log" 2>&1 || fail "serial run"
"${mpi_env[@]}" "$mpiexec" -n 3 --oversubscribe "$exe" "${args[@]}" --quiet --out "$tmp/mpi" >"$tmp/mpi.log" 2>&1 ||
  { cat "$tmp/mpi.log"; fail "mpirun -n 3"; }
grep -q "MPI, 2 worker ranks" "$tmp/mpi/summary.md" || fail "the run was not an MPI farm"
# 2 problems x 2 methods x 2 seeds, every one ok, with the serial run's compliances to the bit
# (name, method, seed, compliance, volume, violation, evaluations, iterations)
[ "$(grep -c ',ok$' "$tmp/mpi/tasks.csv")" -eq 8 ] || fail "not 8 tasks ok"
diff <(cut -d, -f1-8 "$tmp/serial/tasks.csv") <(cut -d, -f1-8 "$tmp/mpi/tasks.csv") ||
  fail "MPI and serial results differ"
diff <(cut -d, -f1-16 "$tmp/serial/summary.csv") <(cut -d, -f1-16 "$tmp/mpi/summary.csv") ||
  fail "MPI and serial summaries differ"
for f in summary.png gallery.png; do
  [ "$(head -c 8 "$tmp/mpi/$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$f"
done
# both worker ranks ran tasks (each task's line names its directory; ranks share the log, so
# count the tasks instead: all 8 directories hold a result)
[ "$(ls "$tmp"/mpi/*/*/seed*/result.h5 | wc -l)" -eq 8 ] || fail "result files"
# a task whose result is lost (as if its rank died) is the only one --resume runs again
row="$tmp/mpi/pure_bending_moment_32x64_0.15/cnn-lbfgs/seed1/suite_row.txt"
rm "$row"
"${mpi_env[@]}" "$mpiexec" -n 3 --oversubscribe "$exe" "${args[@]}" --resume --out "$tmp/mpi" \
  >"$tmp/resume.log" 2>&1 || { cat "$tmp/resume.log"; fail "mpirun --resume"; }
grep -q "7 of 8 tasks already done" "$tmp/resume.log" || { cat "$tmp/resume.log"; fail "resume count"; }
[ "$(grep -c -- '-> ' "$tmp/resume.log")" -eq 1 ] || fail "resume ran more than the lost task"
[ -f "$row" ] || fail "the lost task's row is not back"
diff <(cut -d, -f1-8 "$tmp/serial/tasks.csv") <(cut -d, -f1-8 "$tmp/mpi/tasks.csv") ||
  fail "resumed results differ"
# threads per rank: the node's cores divided by the worker ranks on it (rank 0 only hands out),
# when the environment sets no cap
cores=$(getconf _NPROCESSORS_ONLN) # what the suite counts (nproc would obey OMP_NUM_THREADS)
for n in 2 3; do
  workers=$((n - 1))
  want=$((cores / workers))
  ((want >= 1)) || want=1
  env -u OPENBLAS_NUM_THREADS -u OMP_NUM_THREADS "${mpi_env[@]:1}" "$mpiexec" -n $n --oversubscribe \
    "$exe" suite --filter mbb_beam_96x32 --methods pixel-oc --steps 2 --quiet \
    --out "$tmp/threads$n" >"$tmp/threads$n.log" 2>&1 || { cat "$tmp/threads$n.log"; fail "threads run"; }
  grep -q "MPI, $workers worker ranks x $want thread" "$tmp/threads$n/summary.md" ||
    { grep "wall" "$tmp/threads$n/summary.md"; fail "$n ranks on $cores cores: not $want threads each"; }
done
echo "suite_mpi: ok"
