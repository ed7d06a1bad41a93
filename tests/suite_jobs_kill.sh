#!/usr/bin/env bash
# tests/suite_jobs_kill.sh TOPOPT: `topopt suite --jobs 2` (forked workers, no MPI) when a worker
# dies (kill -9, as the OOM killer would): only its running task is lost, the other worker runs
# the rest, the run ends non-zero saying so, and --resume reruns exactly the lost task; a
# suite that is killed leaves no worker running.
exe=$1
source "$(dirname "$0")/suite_lib.sh" suite_jobs_kill
# 4 tasks of a few seconds each
args=(suite --filter 32x64_0.1 --methods cnn-lbfgs --seeds 0-1 --steps 12 --jobs 2)
done_rows() { finished_rows "$tmp/out"; }
ok=""
for attempt in 1 2 3; do
  rm -rf "$tmp/out"
  timeout 120 "$exe" "${args[@]}" --quiet --out "$tmp/out" >"$tmp/run.log" 2>&1 &
  job=$!
  worker=""
  for ((i = 0; i < 300; i++)); do # up to 30 s for the workers to start
    main=$(pgrep -P "$job" || true)
    [ -n "$main" ] && worker=$(pgrep -P "$main" | head -n 1 || true)
    [ -n "$worker" ] && break
    sleep 0.1
  done
  [ -n "$worker" ] || fail "no worker process found"
  sleep 0.5 # the worker has taken its first task: a task lasts seconds
  kill -9 "$worker" 2>/dev/null || true
  rc=0
  wait "$job" || rc=$?
  [ "$rc" -ne 124 ] || { cat "$tmp/run.log"; fail "the run with a killed worker did not end in 120 s"; }
  # a worker killed between two tasks loses none: try again
  if [ "$(done_rows)" -eq 3 ]; then
    ok=1
    break
  fi
  echo "attempt $attempt: $(done_rows) rows after killing worker $worker, again" >&2
done
[ -n "$ok" ] || { cat "$tmp/run.log"; fail "killing a worker did not lose exactly one task in 3 attempts"; }
[ "$rc" -ne 0 ] || fail "a run that lost a task exited 0"
grep -q "^topopt: suite: worker $worker died (signal 9) with its running task$" "$tmp/run.log" ||
  { cat "$tmp/run.log"; fail "no line on the dead worker"; }
grep -q "^suite: 1 task lost (process died, see above); --resume reruns it$" "$tmp/run.log" ||
  { cat "$tmp/run.log"; fail "no summary line of the lost task"; }
[ "$(grep -c ',ok$' "$tmp/out/tasks.csv")" -eq 3 ] || fail "tasks.csv: not 3 ok"
timeout 120 "$exe" "${args[@]}" --resume --out "$tmp/out" >"$tmp/resume.log" 2>&1 ||
  { cat "$tmp/resume.log"; fail "--resume"; }
grep -q "3 of 4 tasks already done" "$tmp/resume.log" || { cat "$tmp/resume.log"; fail "resume count"; }
[ "$(grep -c -- '-> ' "$tmp/resume.log")" -eq 1 ] || fail "resume ran more than the lost task"
grep -q "^suite: 1 of 1 tasks done in [0-9]* s$" "$tmp/resume.log" || { cat "$tmp/resume.log"; fail "progress line"; }
[ "$(grep -c ',ok$' "$tmp/out/tasks.csv")" -eq 4 ] || fail "tasks.csv after --resume: not 4 ok"
# a suite that is killed takes its workers with it: none is left running as an orphan
rm -rf "$tmp/out2"
"$exe" "${args[@]}" --quiet --out "$tmp/out2" >"$tmp/run2.log" 2>&1 &
job=$!
workers=""
for ((i = 0; i < 300; i++)); do
  workers=$(pgrep -P "$job" || true)
  [ "$(echo "$workers" | grep -c .)" -eq 2 ] && break
  sleep 0.1
done
[ "$(echo "$workers" | grep -c .)" -eq 2 ] || fail "the second run's two workers did not start"
kill -9 "$job"
wait "$job" 2>/dev/null || true
for ((i = 0; i < 50; i++)); do # the kernel delivers the parent-death signal at once
  alive=0
  for w in $workers; do kill -0 "$w" 2>/dev/null && alive=1; done
  [ "$alive" -eq 0 ] && break
  sleep 0.1
done
[ "$alive" -eq 0 ] || { for w in $workers; do kill -9 "$w" 2>/dev/null; done; fail "workers left running after the suite was killed"; }
echo "suite_jobs_kill: ok"
