#!/usr/bin/env bash
# tests/suite_task_lock.sh TOPOPT: two suites on one folder. A task that another live process
# runs is reported as running (not failed or unfinished) and a second suite leaves it to that
# process without touching its row; a task the other process finished meanwhile is not run
# again; once a task's process is killed (kill -9), the task is unfinished, not running; a
# task left to a process that dies during the second suite's pass is taken up at its end.
exe=$1
source "$(dirname "$0")/suite_lib.sh" suite_task_lock
small=pure_bending_moment_32x64_0.15
big=pure_bending_moment_64x128_0.125 # --small --filter pure_bending_moment_ is both
common=(suite --methods cnn-lbfgs --seeds 0 --steps 150 --jobs 1 --set outputs.checkpoint_every=10)
out=$tmp/shared
task=$out/$small/cnn-lbfgs/seed0
status() { awk -F, -v p="$2" '$1 == p { print $NF }' "$1/tasks.csv"; }
# wait_line FILE REGEX: until a line of FILE matches (30 s at most)
wait_line() {
  for ((i = 0; i < 600; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  cat "$1"
  fail "no line $2 in $1 after 30 s"
}
# wait_file FILE: until FILE exists (30 s at most)
wait_file() {
  for ((i = 0; i < 600; i++)); do
    [ -f "$1" ] && return 0
    sleep 0.05
  done
  fail "no $1 after 30 s"
}

# A: the small problem alone; caught while it runs (its first periodic checkpoint is on disk)
"$exe" "${common[@]}" --filter "$small" --quiet --out "$out" >"$tmp/a.log" 2>&1 &
a=$!
wait_file "$task/result.h5"
kill -0 "$a" 2>/dev/null || fail "A ended before its checkpoint was seen"
"$exe" "${common[@]}" --filter "$small" --report --out "$out" >"$tmp/report.log" 2>&1 ||
  { cat "$tmp/report.log"; fail "--report while A runs"; }
[ "$(status "$out" "$small")" = running ] ||
  { cat "$out/tasks.csv"; fail "the task A runs is not reported as running"; }
grep -q "1 interrupted, unfinished or running" "$tmp/report.log" ||
  { cat "$tmp/report.log"; fail "the report's count line"; }

# C: --resume of the same task while A runs: left to A, A's started row untouched
rc=0
timeout 60 "$exe" "${common[@]}" --filter "$small" --resume --out "$out" >"$tmp/c.log" 2>&1 || rc=$?
grep -q "^suite: $task: running in another process; left to it$" "$tmp/c.log" ||
  { cat "$tmp/c.log"; fail "C did not leave the running task to A"; }
[ "$rc" -eq 1 ] || { cat "$tmp/c.log"; fail "C exited $rc, not 1 (its task is not finished)"; }
! task_finished "$task" || fail "C wrote a finished row while A runs"
kill -0 "$a" 2>/dev/null || fail "A ended while C ran: C's check proves nothing"

# B: --resume of both problems while A runs: the big one first (largest first), during which A
# finishes the small one; B then finds it finished and does not run it again
"$exe" "${common[@]}" --small --filter pure_bending_moment_ --resume --out "$out" \
  >"$tmp/b.log" 2>&1 || { cat "$tmp/b.log"; fail "B"; }
grep -q "^suite: 0 of 2 tasks already done in $out, 2 to run$" "$tmp/b.log" ||
  { cat "$tmp/b.log"; fail "B's to-do list (had A finished before B started?)"; }
wait "$a" || { cat "$tmp/a.log"; fail "A"; }
grep -q "^suite: $task: finished by another process$" "$tmp/b.log" ||
  { cat "$tmp/b.log"; fail "B did not see that A had finished the small problem"; }
[ "$(grep -c -- '-> ' "$tmp/b.log")" -eq 1 ] || { cat "$tmp/b.log"; fail "B ran more than one task"; }
[ "$(status "$out" "$small")" = ok ] && [ "$(status "$out" "$big")" = ok ] ||
  { cat "$out/tasks.csv"; fail "not both tasks ok"; }

# D: killed with -9 after its checkpoint: the kernel drops its lock, the task is unfinished
out=$tmp/killed
task=$out/$small/cnn-lbfgs/seed0
"$exe" "${common[@]}" --filter "$small" --quiet --out "$out" >"$tmp/d.log" 2>&1 &
d=$!
wait_file "$task/result.h5"
kill -9 "$d"
wait "$d" 2>/dev/null || true
"$exe" "${common[@]}" --filter "$small" --report --out "$out" >"$tmp/report2.log" 2>&1 ||
  { cat "$tmp/report2.log"; fail "--report after kill -9"; }
[ "$(status "$out" "$small")" = unfinished ] ||
  { cat "$out/tasks.csv"; fail "a killed task is not unfinished"; }
# E: a suite started at once after another was killed (the dying process still holds its task
# when the new suite comes to it): E2 leaves the big task to E1 (dispatched first, largest
# first), runs the small one, meanwhile E1 dies; at the end of its pass E2 takes the big task up
# again from E1's checkpoint and exits 0 with both tasks ok
out=$tmp/restart
task=$out/$big/cnn-lbfgs/seed0
"$exe" "${common[@]}" --filter "$big" --quiet --out "$out" >"$tmp/e1.log" 2>&1 &
e1=$!
wait_file "$task/result.h5"
"$exe" "${common[@]}" --small --filter pure_bending_moment_ --resume --out "$out" \
  >"$tmp/e2.log" 2>&1 &
e2=$!
wait_line "$tmp/e2.log" "^suite: $task: running in another process; left to it$"
kill -9 "$e1"
wait "$e1" 2>/dev/null || true
wait "$e2" || { cat "$tmp/e2.log"; fail "E2 did not finish both tasks"; }
[ "$(grep -c "left to it" "$tmp/e2.log")" -eq 1 ] || { cat "$tmp/e2.log"; fail "E2 left it twice"; }
grep -q "^suite: $task: resuming from its checkpoint" "$tmp/e2.log" ||
  { cat "$tmp/e2.log"; fail "E2 did not resume the big task from E1's checkpoint"; }
[ "$(status "$out" "$small")" = ok ] && [ "$(status "$out" "$big")" = ok ] ||
  { cat "$out/tasks.csv"; fail "E: not both tasks ok"; }

echo "suite_task_lock: ok"
