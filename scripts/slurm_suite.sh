#!/usr/bin/env bash
# scripts/slurm_suite.sh: the whole benchmark (116 problems x 4 methods x 10 seeds) as an MPI
# task farm under Slurm. Submit from the repository root after building with MPI:
#
#   sbatch scripts/slurm_suite.sh                 # or: sbatch --nodes=8 scripts/slurm_suite.sh
#   sbatch scripts/slurm_suite.sh --steps 100     # extra arguments go to `topopt suite`, and
#   sbatch scripts/slurm_suite.sh --small --filter 64x64 --methods pixel-mma --seeds 0
#                                                 # override the ones below (the last one wins)
#
# Rank 0 only hands out tasks (largest grids first) and writes the summary; every other rank
# runs one task at a time with (cores of its node / worker ranks on the node) BLAS/OpenMP
# threads. Each task writes its own files under OUT, so a job that is cut off is continued by
# submitting the same script again: --resume runs only the unfinished tasks, each from its last
# checkpoint.
#
# Stopping: 5 minutes before the time limit Slurm sends this script SIGUSR1 (--signal below); it
# passes SIGTERM on to the launcher, the running tasks write a checkpoint and stop, no other task
# starts, rank 0 writes the summary (tasks.csv: `interrupted`), and the script requeues the job
# (`scontrol requeue`), which then continues with --resume: a benchmark longer than the time
# limit runs to its end by itself (set TOPOPT_REQUEUE=0 to stop there instead). scancel sends
# SIGTERM: the same stop, without the requeue. Slurm sends SIGKILL KillWait seconds after its
# SIGTERM (30 by default); the minutes before the limit leave room for the checkpoint of a large
# grid (1.3 GB at 256x256).
#
# A rank or node that dies: under srun, Slurm's PMIx plugin ends the whole job step (the farm
# cannot go on) and, for a node failure, Slurm requeues the job (--requeue), which then continues
# every task from its checkpoint; the log is appended to. To have the other ranks take over a
# dead rank's task instead, launch with Open MPI's mpirun inside the allocation
# (TOPOPT_LAUNCH=mpirun: `mpirun --mca orte_enable_recovery 1`). On scancel, Slurm's own
# SIGTERM reaches every rank and stops the tasks with a checkpoint, but mpirun then passes no more
# output on (the tasks' last lines are missing from the log; their files are written) and does
# not end by itself: the script ends it once the ranks on this node have ended and prints the
# status counts of tasks.csv.
#
# Tested on one machine with Slurm 22.05 and Debian's Open MPI 4.1: srun --mpi=pmix (pmi2 fails
# in MPI_Init with that Open MPI; --mpi=none starts ranks that would each run the whole suite,
# which the suite refuses); under srun the stop before the time limit (SIGTERM to the steps),
# the requeue and the resumption from the checkpoints, scancel, resubmission with --resume; with
# mpirun the same stop before the time limit (SIGUSR2, checkpoints 4-5 s after the signal), the
# requeue, scancel (three times: no task lost), and a worker rank killed (its task went to
# another rank). Not tested: several nodes.
#SBATCH --job-name=topopt-suite
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=8
#SBATCH --cpus-per-task=4
#SBATCH --time=24:00:00
#SBATCH --signal=B:USR1@300
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=topopt-suite-%j.log
set -euo pipefail

out=${TOPOPT_SUITE_OUT:-results/suite-full}
launch=${TOPOPT_LAUNCH:-srun}
# one thread per core of the rank's allocation; the suite divides the node's cores among the
# ranks on it and never goes above these
export OPENBLAS_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
# srun does not pass sbatch's --cpus-per-task on to the step in every Slurm version
export SRUN_CPUS_PER_TASK=${SLURM_CPUS_PER_TASK:-1}
args=(suite --methods cnn-lbfgs,pixel-lbfgs,pixel-mma,pixel-oc --seeds 0-9 --out "$out" --resume
      "$@")

case "$launch" in
srun)
  # Open MPI as Debian builds it understands Slurm's PMIx plugin (not PMI2); with another MPI
  # set TOPOPT_SRUN_MPI (or SLURM_MPI_TYPE) to what `srun --mpi=list` and that MPI agree on
  cmd=(srun --mpi="${TOPOPT_SRUN_MPI:-${SLURM_MPI_TYPE:-pmix}}" --cpu-bind=cores build/topopt
       "${args[@]}")
  ;;
mpirun)
  cmd=(mpirun --bind-to none --mca orte_enable_recovery 1 --mca odls_base_sigkill_timeout 30
       build/topopt "${args[@]}")
  ;;
*)
  echo "slurm_suite.sh: TOPOPT_LAUNCH must be srun or mpirun, not '$launch'" >&2
  exit 2
  ;;
esac

# The launcher runs in the background so that the signals reach this shell's traps at once
# (bash runs a trap only between commands). The stop goes to the ranks of every node: under srun
# as SIGTERM to the job's steps (srun itself answers SIGTERM with SIGKILL to its tasks), under
# mpirun as SIGUSR2, which mpirun passes on to every rank at once (SIGTERM only after
# odls_base_sigkill_timeout, and a second SIGTERM ends mpirun and its ranks at once).
requeue=0 cancelled=0 pid=""
stop() {
  [ -n "$pid" ] || return 0
  if [ "$launch" = srun ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    scancel --signal=TERM "$SLURM_JOB_ID" 2>/dev/null || true
  else
    kill -USR2 "$pid" 2>/dev/null || true
  fi
}
trap 'requeue=1; echo "slurm_suite.sh: time limit near: stopping the tasks with a checkpoint"; stop' USR1
trap 'cancelled=1; stop' TERM INT
"${cmd[@]}" &
pid=$!
rc=0
while :; do
  wait "$pid" && rc=0 || rc=$?
  kill -0 "$pid" 2>/dev/null || break # a trap interrupted the wait: the launcher still runs
  # scancel: after Slurm's own SIGTERM mpirun ("Abort is in progress") passes no more output on
  # and does not end, not even once its ranks have (it leaves them as zombies), until Slurm
  # kills it and this shell after KillWait: end it once no rank on this node runs
  if [ "$launch" = mpirun ] && [ "$cancelled" = 1 ]; then
    while ps -o stat= --ppid "$pid" 2>/dev/null | grep -qv '^Z'; do sleep 1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rc=1
    break
  fi
done
if [ -f "$out/tasks.csv" ]; then
  echo "slurm_suite.sh: tasks.csv: $(tail -n +2 "$out/tasks.csv" | awk -F, '{n[$NF]++} END {for (s in n) {printf "%s%d %s", sep, n[s], s; sep = ", "}}')"
fi
# under orte_enable_recovery mpirun exits 0 whatever the ranks return: tasks.csv tells
if [ "$rc" -eq 0 ] && [ -f "$out/tasks.csv" ] &&
  grep -qE ',(interrupted|unfinished|not run|failed)$' "$out/tasks.csv"; then
  rc=1
fi
if [ "$requeue" = 1 ] && [ "$rc" -ne 0 ] && [ "${TOPOPT_REQUEUE:-1}" != 0 ] &&
   [ -n "${SLURM_JOB_ID:-}" ]; then
  echo "slurm_suite.sh: requeueing job $SLURM_JOB_ID; it continues with --resume"
  scontrol requeue "$SLURM_JOB_ID"
fi
exit "$rc"
