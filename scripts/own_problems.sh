#!/bin/bash
# Our own problems (configs/own/*.yaml, outside the Hoyer et al. 2019 suite) with the design
# strategy each config names and with our three single methods at the same budget: CNN + L-BFGS
# (seeds as the strategy), pixel + MMA and pixel + OC (deterministic: one run each), and pixel
# MMA with filter-radius continuation (r = 4, 3, 2; deterministic). Prints a Markdown table: the
# median over the seeds of the strategy and of the CNN, the pixel runs, and the ratios of the
# strategy and of the filter continuation to the best of the three single methods.
#
#   scripts/own_problems.sh [--seeds "0 1 2"] [--jobs N] [--out DIR] [--topopt PATH] [CONFIG...]
#
# Each run writes DIR/<problem>/<method>/seed<k>/ and its summary line to run.log there; a run
# whose run.log holds a finished summary is not repeated (rerun the same command to resume).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
seeds="0 1 2" jobs=2 out="$here/results/own" topopt="$here/build/topopt"
cfgs=()
while [ $# -gt 0 ]; do
    case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --topopt) topopt=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "own_problems.sh: unknown option $1" >&2; exit 2 ;;
    *) cfgs+=("$1"); shift ;;
    esac
done
[ ${#cfgs[@]} -gt 0 ] || cfgs=("$here"/configs/own/*.yaml)
[ -x "$topopt" ] || { echo "own_problems.sh: $topopt not found (build first)" >&2; exit 2; }

# method name -> overrides of the config
declare -A SETS=(
    [strategy]=""
    [cnn-lbfgs]="--set strategy.kind=single"
    [pixel-mma]="--set strategy.kind=single --set parameterization.kind=pixel --set density_map=pixel --set constraints.volume=le --set method.name=mma"
    [pixel-oc]="--set strategy.kind=single --set parameterization.kind=pixel --set density_map=pixel --set constraints.volume=le --set method.name=oc"
    [pixel-mma-filter]="--set strategy.kind=continuation --set strategy.pixel_share=0 --set strategy.r_start=4 --set strategy.p_levels=3"
)
tasks=$(mktemp)
trap 'rm -f "$tasks"' EXIT
for cfg in "${cfgs[@]}"; do
    name=$(basename "$cfg" .yaml)
    for m in strategy cnn-lbfgs pixel-mma pixel-oc pixel-mma-filter; do
        ss=$seeds
        case $m in pixel-*) ss=${seeds%% *} ;; esac
        for s in $ss; do
            d="$out/$name/$m/seed$s"
            grep -q ": compliance " "$d/run.log" 2>/dev/null && continue
            echo "mkdir -p '$d' && '$topopt' run '$cfg' ${SETS[$m]} --seed $s --quiet --out '$d' > '$d/run.log.tmp' 2>&1 && mv '$d/run.log.tmp' '$d/run.log'" >>"$tasks"
        done
    done
done
n=$(wc -l <"$tasks")
echo "own_problems.sh: $n runs to do, $jobs at a time, results in $out" >&2
xargs -P "$jobs" -I{} -d '\n' bash -c {} <"$tasks" || echo "own_problems.sh: some runs failed" >&2

# the table
median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
# the run's own summary line: the last one (a strategy with a pixel branch prints each branch's first)
value() { sed -n 's/.*: compliance \([0-9.eE+-]*\) .*/\1/p' "$1" 2>/dev/null | tail -n 1; }
echo "| problem | strategy (median) | CNN + L-BFGS (median) | pixel + MMA | pixel + OC | strategy / best of the three | pixel + MMA, filter radius 4 -> 2 | its ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for cfg in "${cfgs[@]}"; do
    name=$(basename "$cfg" .yaml)
    st=$(for s in $seeds; do value "$out/$name/strategy/seed$s/run.log"; done | median)
    cn=$(for s in $seeds; do value "$out/$name/cnn-lbfgs/seed$s/run.log"; done | median)
    s0=${seeds%% *}
    mm=$(value "$out/$name/pixel-mma/seed$s0/run.log"); mm=${mm:-nan}
    oc=$(value "$out/$name/pixel-oc/seed$s0/run.log"); oc=${oc:-nan}
    fc=$(value "$out/$name/pixel-mma-filter/seed$s0/run.log"); fc=${fc:-nan}
    awk -v n="$name" -v st="$st" -v cn="$cn" -v mm="$mm" -v oc="$oc" -v fc="$fc" 'BEGIN {
        b = cn + 0; if (mm + 0 < b) b = mm + 0; if (oc + 0 < b) b = oc + 0;
        printf "| %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f |\n", n, st, cn, mm, oc,
               st / b, fc, fc / b }'
done
