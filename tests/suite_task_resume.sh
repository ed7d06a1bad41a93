#!/usr/bin/env bash
# tests/suite_task_resume.sh TOPOPT: a suite task that is killed mid-solve leaves its periodic
# checkpoint, and `suite --resume` continues it from there (not from the start) to the same
# result as a run that was never killed, bit for bit (same machine, same kernels: resume is
# exact). A checkpoint that belongs to another config is not resumed: the task starts over.
# SIGINT stops a suite's tasks with checkpoints that --resume continues.
exe=$1
source "$(dirname "$0")/suite_lib.sh" suite_task_resume
prob=pure_bending_moment_32x64_0.15
# compliance of the task's row in tasks.csv
comp() { awk -F, -v p="$prob" '$1 == p && $NF == "ok" { print $4 }' "$1/tasks.csv"; }
# has_checkpoint DIR: a result file in the task folder DIR or (a strategy with a pixel branch,
# which checkpoints in its branch folders neural/ and pixel/) in one of its folders
has_checkpoint() { [ -f "$1/result.h5" ] || compgen -G "$1/*/result.h5" >/dev/null; }
# run_killed OUT WHAT [ARGS...]: the suite of args (plus ARGS) into OUT, killed with -9 as soon
# as the task's first checkpoint is on disk (and before the task finishes)
run_killed() {
  local out=$1 what=$2
  shift 2
  "$exe" "${args[@]}" "$@" --quiet --out "$out" >"$tmp/killed.log" 2>&1 & # killed below
  local job=$!
  for ((i = 0; i < 600; i++)); do
    has_checkpoint "$out/$task" && break
    sleep 0.05
  done
  kill -9 "$job" 2>/dev/null || true
  wait "$job" 2>/dev/null || true
  has_checkpoint "$out/$task" || fail "$what: no checkpoint written in 30 s"
  ! task_finished "$out/$task" || fail "$what: the task finished before it was killed"
}
for method in cnn-lbfgs cnn-polish cnn-polish-pixel; do
  args=(suite --filter "$prob" --methods "$method" --seeds 0 --steps 80 --jobs 1
        --set outputs.checkpoint_every=10)
  task=$prob/$method/seed0
  timeout 120 "$exe" "${args[@]}" --quiet --out "$tmp/ref-$method" >"$tmp/ref.log" 2>&1 ||
    { cat "$tmp/ref.log"; fail "$method: reference run"; }
  want=$(comp "$tmp/ref-$method")
  [ -n "$want" ] || fail "$method: no row in the reference run"
  # kill -9 (no chance to write anything) once the first periodic checkpoint is on disk
  out=$tmp/int-$method
  run_killed "$out" "$method"
  timeout 120 "$exe" "${args[@]}" --resume --out "$out" >"$tmp/res.log" 2>&1 ||
    { cat "$tmp/res.log"; fail "$method: --resume"; }
  grep -q "^suite: $out/$task: resuming from its checkpoint ([1-9][0-9]* evaluations done)$" \
    "$tmp/res.log" || { cat "$tmp/res.log"; fail "$method: the task was not resumed"; }
  got=$(comp "$out")
  [ "$got" = "$want" ] || fail "$method: resumed compliance $got, uninterrupted $want"
  # the interrupted run's checkpoint under another config (material.p 3.5 instead of 3):
  # --resume without that setting must not continue it, but start the task over
  out=$tmp/other-$method
  run_killed "$out" "$method (other config)" --set material.p=3.5
  timeout 120 "$exe" "${args[@]}" --resume --out "$out" >"$tmp/res2.log" 2>&1 ||
    { cat "$tmp/res2.log"; fail "$method: --resume over another config's checkpoint"; }
  grep -q "^topopt: suite: $out/$task: starting the task over$" "$tmp/res2.log" ||
    { cat "$tmp/res2.log"; fail "$method: no line on starting over"; }
  got=$(comp "$out")
  [ "$got" = "$want" ] || fail "$method: started over to $got, uninterrupted $want"
done
# Ctrl-C (SIGINT to the suite's own process, as a terminal or a batch system would send it):
# the forked workers' running tasks stop with a checkpoint, no task is started after it, the
# suite ends non-zero saying how to go on, and --resume continues both tasks from their
# checkpoints to the uninterrupted results
args=(suite --filter 32x64_0.1 --methods cnn-lbfgs --seeds 0 --steps 80 --jobs 2
      --set outputs.checkpoint_every=10)
timeout 120 "$exe" "${args[@]}" --quiet --out "$tmp/ref2" >"$tmp/ref2.log" 2>&1 ||
  { cat "$tmp/ref2.log"; fail "reference run (two tasks)"; }
out=$tmp/sigint
"$exe" "${args[@]}" --quiet --out "$out" >"$tmp/sigint.log" 2>&1 &
job=$!
for ((i = 0; i < 600; i++)); do
  compgen -G "$out/*/cnn-lbfgs/seed0/result.h5" >/dev/null && break
  sleep 0.05
done
kill -INT "$job"
rc=0
wait "$job" || rc=$?
[ "$rc" -eq 1 ] || { cat "$tmp/sigint.log"; fail "an interrupted suite exited $rc, not 1"; }
grep -q "^suite: interrupted; --resume runs the unfinished tasks, each from its checkpoint$" \
  "$tmp/sigint.log" || { cat "$tmp/sigint.log"; fail "no line on the interruption"; }
! grep -q "topopt run" "$tmp/sigint.log" || fail "a task printed the hint of a single run"
[ "$(grep -c ',ok$' "$out/tasks.csv")" -lt 2 ] || fail "both tasks finished before SIGINT"
grep -q ',interrupted$' "$out/tasks.csv" || { cat "$out/tasks.csv"; fail "no task says interrupted"; }
timeout 120 "$exe" "${args[@]}" --resume --out "$out" >"$tmp/sigres.log" 2>&1 ||
  { cat "$tmp/sigres.log"; fail "--resume after SIGINT"; }
grep -q "resuming from its checkpoint" "$tmp/sigres.log" ||
  { cat "$tmp/sigres.log"; fail "no task resumed from the checkpoint of SIGINT"; }
diff <(cut -d, -f1-8 "$tmp/ref2/tasks.csv") <(cut -d, -f1-8 "$out/tasks.csv") ||
  fail "tasks resumed after SIGINT differ from the uninterrupted run"
echo "suite_task_resume: ok"
