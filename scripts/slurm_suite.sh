#!/usr/bin/env bash
# scripts/slurm_suite.sh: the whole benchmark (116 problems x 4 methods x 10 seeds) as an MPI
# task farm under Slurm. Submit from the repository root after building with MPI:
#
#   sbatch scripts/slurm_suite.sh                 # or: sbatch --nodes=8 scripts/slurm_suite.sh
#   sbatch scripts/slurm_suite.sh --steps 100     # extra arguments go to `topopt suite`
#
# Rank 0 only hands out tasks (largest grids first) and writes the summary; every other rank
# runs one task at a time with (cores of its node / worker ranks on the node) BLAS/OpenMP
# threads. Each task writes its own files under OUT, so a job that is cut off or loses a node
# is continued by submitting the same script again: --resume runs only the unfinished tasks.
# At the time limit (or scancel) Slurm sends SIGTERM and, KillWait seconds later (30 by
# default), SIGKILL: the running tasks stop with a checkpoint in between and continue from it.
#SBATCH --job-name=topopt-suite
#SBATCH --nodes=4
#SBATCH --ntasks-per-node=8
#SBATCH --cpus-per-task=4
#SBATCH --time=24:00:00
#SBATCH --output=topopt-suite-%j.log
set -euo pipefail

out=${TOPOPT_SUITE_OUT:-results/suite-full}
# one thread per core of the rank's allocation; the suite divides the node's cores among the
# ranks on it and never goes above these
export OPENBLAS_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}

# srun starts the ranks through PMIx/PMI2 (Open MPI and MPICH both understand it); --no-kill
# keeps the job when a node fails, and rank 0 hands that node's tasks to the others (see
# --rank-timeout). With a Slurm without MPI plugin use:
#   mpirun --bind-to none --mca orte_enable_recovery 1 build/topopt suite ...
srun --cpu-bind=cores --no-kill build/topopt suite \
  --methods cnn-lbfgs,pixel-lbfgs,pixel-mma,pixel-oc --seeds 0-9 \
  --out "$out" --resume "$@"
