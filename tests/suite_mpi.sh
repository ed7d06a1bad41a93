#!/usr/bin/env bash
# tests/suite_mpi.sh MPIEXEC TOPOPT: `topopt suite` as an MPI task farm (3 ranks: rank 0 hands
# out, two run) against the serial runner on tiny problems: the same tasks, bit-identical
# compliances; a task whose process is killed is the only one lost, and --resume reruns it; the
# tasks of a rank that dies continue from their checkpoints on --resume, or at once on another
# rank when the launcher keeps the other ranks running; Ctrl-C stops the tasks with a checkpoint.
mpiexec=$1
exe=$2
source "$(dirname "$0")/suite_lib.sh" suite_mpi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
args=(suite --filter 32x64_0.1 --methods cnn-lbfgs,pixel-oc --seeds 0-1 --steps 4)
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
for f in summary.png summary_best4.png gallery.png; do
  [ "$(head -c 8 "$tmp/mpi/$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$f"
done
# both worker ranks ran tasks (each task's line names its directory; ranks share the log, so
# count the tasks instead: all 8 directories hold a result)
[ "$(ls "$tmp"/mpi/*/*/seed*/result.h5 | wc -l)" -eq 8 ] || fail "result files"
# A task whose process dies (kill -9 of the child a worker rank forked for it, as the OOM killer
# would) is the only one lost: the job goes on, ends non-zero with one line naming the task, and
# --resume reruns exactly that one, to the serial run's results. Tasks of a few seconds, so that
# the child is killed long before it could finish.
kargs=(suite --filter 32x64_0.1 --methods cnn-lbfgs --seeds 0-1 --steps 12)
"$exe" "${kargs[@]}" --quiet --out "$tmp/kserial" >"$tmp/kserial.log" 2>&1 || fail "serial run (kill)"
prog=$(readlink -f "$exe")
# the processes below $1 that run topopt and whose parent runs topopt too: a rank's task children
task_children() {
  local todo=("$1") p q
  while ((${#todo[@]})); do
    p=${todo[0]}
    todo=("${todo[@]:1}")
    for q in $(pgrep -P "$p"); do
      todo+=("$q")
      [ "$(readlink -f /proc/$q/exe 2>/dev/null)" = "$prog" ] &&
        [ "$(readlink -f /proc/$p/exe 2>/dev/null)" = "$prog" ] && echo "$q"
    done
  done
  return 0
}
# wait (up to 60 s) until $2 tasks under $1 wrote a checkpoint (their result.h5)
wait_checkpoints() {
  local i
  for ((i = 0; i < 600; i++)); do
    [ "$(ls "$1"/*/*/seed*/result.h5 2>/dev/null | wc -l)" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
# kill -9 the worker rank of a running task of the farm $1 once $3 tasks wrote a checkpoint
# under $2; prints that task's process id
kill_rank() {
  local child rank
  wait_checkpoints "$2" "$3" || fail "no checkpoint under $2"
  child=$(task_children "$1")
  child=${child%%$'\n'*}
  [ -n "$child" ] || fail "no task process found under $2"
  rank=$(ps -o ppid= -p "$child" | tr -d ' ')
  [ -n "$rank" ] && [ "$rank" -gt 1 ] || fail "the rank of task process $child"
  kill -9 "$rank"
  echo "$child"
}
killed=""
for attempt in 1 2 3; do
  rm -rf "$tmp/kill"
  timeout 120 "${mpi_env[@]}" "$mpiexec" -n 3 --oversubscribe "$exe" "${kargs[@]}" --quiet \
    --out "$tmp/kill" >"$tmp/kill.log" 2>&1 &
  job=$!
  victim=""
  for ((i = 0; i < 300; i++)); do # up to 30 s for the first task to start
    victim=$(task_children "$job")
    victim=${victim%%$'\n'*} # the first (no pipe into head: pipefail)
    [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null && break
    victim=""
    sleep 0.1
  done
  rc=0
  wait "$job" || rc=$?
  [ "$rc" -ne 124 ] || { cat "$tmp/kill.log"; fail "the farm with a killed task did not end in 120 s"; }
  [ -n "$victim" ] || { cat "$tmp/kill.log"; fail "no task process found to kill"; }
  # a child killed as it was ending leaves no lost task: try again
  if grep -q "lost task .*its process $victim on rank" "$tmp/kill.log"; then
    killed=$victim
    break
  fi
  echo "attempt $attempt: process $victim was not reported lost, again" >&2
done
[ -n "$killed" ] || { cat "$tmp/kill.log"; fail "no killed task was reported lost in 3 attempts"; }
[ "$rc" -ne 0 ] || fail "a farm that lost a task exited 0"
[ "$(grep -c "lost task" "$tmp/kill.log")" -eq 1 ] || { cat "$tmp/kill.log"; fail "not one lost task"; }
grep -q "its process $killed on rank [12] was killed by signal 9" "$tmp/kill.log" ||
  { cat "$tmp/kill.log"; fail "the lost-task line does not say how"; }
grep -q "^suite: 1 task lost (process died, see above); --resume reruns it$" "$tmp/kill.log" ||
  { cat "$tmp/kill.log"; fail "no summary line of the lost task"; }
lostdir=$(sed -n 's/.*lost task [0-9]* (\([^)]*\)).*/\1/p' "$tmp/kill.log")
[ -d "$lostdir" ] || fail "the lost task's directory '$lostdir'"
! task_finished "$lostdir" || fail "the lost task has a finished row"
[ "$(finished_rows "$tmp/kill")" -eq 3 ] || fail "not the 3 other rows"
# the summary of what finished is written all the same
[ "$(grep -c ',ok$' "$tmp/kill/tasks.csv")" -eq 3 ] || fail "tasks.csv: not 3 ok"
[ "$(grep -cE ',(failed|unfinished)$' "$tmp/kill/tasks.csv")" -eq 1 ] || fail "tasks.csv: not 1 failed or unfinished"
"${mpi_env[@]}" timeout 120 "$mpiexec" -n 3 --oversubscribe "$exe" "${kargs[@]}" --resume \
  --out "$tmp/kill" >"$tmp/resume.log" 2>&1 || { cat "$tmp/resume.log"; fail "mpirun --resume"; }
grep -q "3 of 4 tasks already done" "$tmp/resume.log" || { cat "$tmp/resume.log"; fail "resume count"; }
[ "$(grep -c -- '-> ' "$tmp/resume.log")" -eq 1 ] || fail "resume ran more than the lost task"
grep -q -- "-> $lostdir\$" "$tmp/resume.log" || fail "resume did not run the lost task"
task_finished "$lostdir" || fail "the lost task's row is not back"
diff <(cut -d, -f1-8 "$tmp/kserial/tasks.csv") <(cut -d, -f1-8 "$tmp/kill/tasks.csv") ||
  fail "resumed results differ from the serial run"
# A worker rank that dies (kill -9 of the rank itself): Open MPI ends the job, and the task
# process the rank had forked dies with it instead of running on as an orphan (tasks of many
# seconds, so that an orphan would still run when checked; the job ends long before). The tasks
# that were running keep their periodic checkpoints (every 5 iterations here), and --resume
# continues them to the serial run's results.
rargs=(suite --filter 32x64_0.1 --methods cnn-lbfgs --seeds 0 --steps 100 --set outputs.checkpoint_every=5)
rm -rf "$tmp/rank"
timeout 120 "${mpi_env[@]}" "$mpiexec" -n 3 --oversubscribe "$exe" "${rargs[@]}" \
  --out "$tmp/rank" >"$tmp/rank.log" 2>&1 &
job=$!
child=$(kill_rank "$job" "$tmp/rank" 1) || fail "rank kill"
rc=0
wait "$job" || rc=$?
[ "$rc" -ne 124 ] || { cat "$tmp/rank.log"; fail "the farm with a killed rank did not end in 120 s"; }
[ "$rc" -ne 0 ] || fail "a farm that lost a rank exited 0"
for ((i = 0; i < 20; i++)); do # gone, or a zombie not yet reaped by its new parent
  st=$(sed 's/.*) //' "/proc/$child/stat" 2>/dev/null | cut -d' ' -f1) || st=""
  [ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ] && break
  sleep 0.1
done
[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ] ||
  { kill -9 "$child"; fail "task process $child outlived its rank"; }
[ "$(finished_rows "$tmp/rank")" -lt 2 ] ||
  fail "both tasks finished before the rank was killed"
"$exe" "${rargs[@]}" --quiet --out "$tmp/rserial" >"$tmp/rserial.log" 2>&1 || fail "serial run (rank)"
"${mpi_env[@]}" timeout 120 "$mpiexec" -n 3 --oversubscribe "$exe" "${rargs[@]}" --resume \
  --out "$tmp/rank" >"$tmp/rresume.log" 2>&1 || { cat "$tmp/rresume.log"; fail "mpirun --resume (rank)"; }
grep -q "^suite: $tmp/rank/.*: resuming from its checkpoint ([1-9][0-9]* evaluations done)$" \
  "$tmp/rresume.log" || { cat "$tmp/rresume.log"; fail "no task resumed from its checkpoint"; }
diff <(cut -d, -f1-8 "$tmp/rserial/tasks.csv") <(cut -d, -f1-8 "$tmp/rank/tasks.csv") ||
  fail "tasks resumed after the rank died differ from the serial run"
grep -q "^suite: a rank that dies ends this Open MPI job" "$tmp/rank.log" ||
  { cat "$tmp/rank.log"; fail "no notice that a rank's death ends the job"; }
# The same with a launcher that lets the other ranks go on (Open MPI's orte_enable_recovery):
# rank 0 takes the silent rank for dead after --rank-timeout, hands its task to the other
# worker, which continues it from its checkpoint, and the suite ends complete, exit 0, with the
# serial run's results.
rm -rf "$tmp/surv"
timeout 300 "${mpi_env[@]}" "$mpiexec" --mca orte_enable_recovery 1 -n 3 --oversubscribe "$exe" \
  "${rargs[@]}" --rank-timeout 3 --out "$tmp/surv" >"$tmp/surv.log" 2>&1 &
job=$!
kill_rank "$job" "$tmp/surv" 2 >/dev/null || fail "rank kill (recovery)" # both wrote a checkpoint
rc=0
wait "$job" || rc=$?
[ "$rc" -eq 0 ] || { cat "$tmp/surv.log"; fail "the farm that outlived a rank exited $rc"; }
grep -q "^topopt: suite: rank [12] sent nothing for [0-9]* s (its process or node died?): its task" \
  "$tmp/surv.log" || { cat "$tmp/surv.log"; fail "the dead rank was not reported"; }
grep -q "^topopt: suite: 1 worker rank died; the other ranks ran all tasks$" "$tmp/surv.log" ||
  { cat "$tmp/surv.log"; fail "no line on the dead rank at the end"; }
grep -q "^suite: $tmp/surv/.*: resuming from its checkpoint ([1-9][0-9]* evaluations done)$" \
  "$tmp/surv.log" || { cat "$tmp/surv.log"; fail "the dead rank's task did not continue from its checkpoint"; }
diff <(cut -d, -f1-8 "$tmp/rserial/tasks.csv") <(cut -d, -f1-8 "$tmp/surv/tasks.csv") ||
  fail "tasks of a farm that outlived a rank differ from the serial run"
# Rank 0 dies under recovery: the workers finish their running tasks (rows on disk) and stop
# once rank 0 has been silent for --rank-timeout, instead of waiting for it forever.
rm -rf "$tmp/r0"
timeout 300 "${mpi_env[@]}" "$mpiexec" --mca orte_enable_recovery 1 -n 3 --oversubscribe "$exe" \
  "${rargs[@]}" --rank-timeout 3 --out "$tmp/r0" >"$tmp/r0.log" 2>&1 &
job=$!
wait_checkpoints "$tmp/r0" 2 || fail "no checkpoints (rank 0 kill)"
mpirun_pid=$(pgrep -P "$job") || fail "no mpirun under timeout"
for r in $(pgrep -P "$mpirun_pid"); do # rank 0: the rank with no task process
  if [ "$(readlink -f "/proc/$r/exe")" = "$prog" ] && ! pgrep -P "$r" >/dev/null; then
    kill -9 "$r"
  fi
done
rc=0
wait "$job" || rc=$?
[ "$rc" -ne 124 ] || { cat "$tmp/r0.log"; fail "the workers waited for a dead rank 0"; }
[ "$(grep -c "^topopt: suite: rank 0 sent nothing for 3 s (its process or node died?); this rank stops$" \
  "$tmp/r0.log")" -eq 2 ] || { cat "$tmp/r0.log"; fail "not both workers stopped on rank 0's silence"; }
[ "$(finished_rows "$tmp/r0")" -eq 2 ] || fail "the running tasks did not finish"
# SIGTERM as Slurm sends it at the time limit: twice within milliseconds, to every rank and to
# every task process (mpirun passes Ctrl-C on to the ranks after odls_base_sigkill_timeout; that
# delay is Open MPI's, not tested here): each worker passes one more SIGTERM to its task's
# process, which stops with a checkpoint however many it gets; no other task starts;
# rank 0 writes the summary (rows `interrupted`) and says how to go on; --resume continues both
# tasks from their checkpoints to the serial run's results.
rm -rf "$tmp/int"
"${mpi_env[@]}" "$mpiexec" -n 3 --oversubscribe "$exe" "${rargs[@]}" --out "$tmp/int" \
  >"$tmp/int.log" 2>&1 &
job=$!
(sleep 240 && kill -9 "$job") >/dev/null 2>&1 & # the output closed: ctest waits for no sleep
watchdog=$!
wait_checkpoints "$tmp/int" 2 || fail "no checkpoints (SIGTERM)"
ranks=$(pgrep -P "$job") || fail "no ranks under mpirun"
procs=$(task_children "$job")
for r in $ranks; do
  if [ "$(readlink -f "/proc/$r/exe")" = "$prog" ]; then procs="$procs $r"; fi
done
for twice in 1 2; do
  for p in $procs; do kill -TERM "$p" 2>/dev/null || true; done
done
rc=0
wait "$job" || rc=$?
pkill -P "$watchdog" sleep 2>/dev/null || true
[ "$rc" -ne 137 ] || { cat "$tmp/int.log"; fail "the interrupted farm did not end in 240 s"; }
[ "$rc" -ne 0 ] || { cat "$tmp/int.log"; fail "an interrupted farm exited 0"; }
grep -q "^suite: interrupted; --resume runs the unfinished tasks, each from its checkpoint$" \
  "$tmp/int.log" || { cat "$tmp/int.log"; fail "no line on the interruption"; }
[ "$(grep -c ',interrupted$' "$tmp/int/tasks.csv")" -eq 2 ] ||
  { cat "$tmp/int.log" "$tmp/int/tasks.csv"; fail "tasks.csv: not 2 interrupted"; }
"${mpi_env[@]}" timeout 300 "$mpiexec" -n 3 --oversubscribe "$exe" "${rargs[@]}" --resume \
  --out "$tmp/int" >"$tmp/iresume.log" 2>&1 || { cat "$tmp/iresume.log"; fail "mpirun --resume (interrupted)"; }
[ "$(grep -c "^suite: $tmp/int/.*: resuming from its checkpoint ([1-9][0-9]* evaluations done)$" \
  "$tmp/iresume.log")" -eq 2 ] || { cat "$tmp/iresume.log"; fail "not both tasks resumed from their checkpoints"; }
diff <(cut -d, -f1-8 "$tmp/rserial/tasks.csv") <(cut -d, -f1-8 "$tmp/int/tasks.csv") ||
  fail "tasks resumed after SIGTERM differ from the serial run"
# SIGUSR2 to mpirun, as the Slurm batch script stops a farm: mpirun passes it on to every rank
# at once (SIGTERM only after odls_base_sigkill_timeout), and it stops the farm as SIGTERM does.
# Tasks of 1000 evaluations, signalled after their first checkpoints.
rm -rf "$tmp/usr2"
"${mpi_env[@]}" "$mpiexec" -n 3 --oversubscribe "$exe" suite --filter 32x64_0.1 \
  --methods cnn-lbfgs --seeds 0 --steps 1000 --set outputs.checkpoint_every=5 --out "$tmp/usr2" \
  >"$tmp/usr2.log" 2>&1 &
job=$!
(sleep 240 && kill -9 "$job") >/dev/null 2>&1 &
watchdog=$!
wait_checkpoints "$tmp/usr2" 2 || fail "no checkpoints (SIGUSR2)"
kill -USR2 "$job"
rc=0
wait "$job" || rc=$?
pkill -P "$watchdog" sleep 2>/dev/null || true
[ "$rc" -ne 137 ] || { cat "$tmp/usr2.log"; fail "the farm sent SIGUSR2 did not end in 240 s"; }
grep -q "^suite: interrupted; --resume runs the unfinished tasks, each from its checkpoint$" \
  "$tmp/usr2.log" || { cat "$tmp/usr2.log"; fail "no line on the interruption (SIGUSR2)"; }
[ "$(grep -c ',interrupted$' "$tmp/usr2/tasks.csv")" -eq 2 ] ||
  { cat "$tmp/usr2.log" "$tmp/usr2/tasks.csv"; fail "tasks.csv: not 2 interrupted (SIGUSR2)"; }
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
