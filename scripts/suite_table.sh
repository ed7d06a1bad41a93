#!/bin/bash
# Keep the table of a long suite run: its report (tasks.csv, summary.md) and the design.png of
# every finished task, in the suite's layout, copied from the run's folder into a table folder
# (results/tables/<run>/ for the runs the README quotes). `topopt suite ... --resume --import
# TABLE/tasks.csv` continues the run from such a table on another machine, designs included.
#
#   scripts/suite_table.sh --out RUN_DIR --table TABLE_DIR [--topopt PATH] -- SUITE_ARGS...
#
# SUITE_ARGS select the tasks as for the run itself (e.g. --large --seeds 0-2 --methods
# cnn-polish-pixel); the report is written with `topopt suite SUITE_ARGS --out RUN_DIR
# --report`, which runs nothing and reads the task folders only, so it may be called while the
# run goes on. Prints the report's last lines.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
topopt="$here/build/topopt" out="" table=""
while [ $# -gt 0 ]; do
    case "$1" in
    --out) out=$2; shift 2 ;;
    --table) table=$2; shift 2 ;;
    --topopt) topopt=$2; shift 2 ;;
    --) shift; break ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "suite_table.sh: unknown option $1 (suite arguments go after --)" >&2; exit 2 ;;
    esac
done
[ -n "$out" ] && [ -n "$table" ] || { echo "suite_table.sh: --out and --table are required" >&2; exit 2; }
[ -d "$out" ] || { echo "suite_table.sh: no run folder $out" >&2; exit 2; }
[ -x "$topopt" ] || { echo "suite_table.sh: $topopt not found (build first)" >&2; exit 2; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# --report exits 1 while tasks are missing: that is what a table of a running suite is
"$topopt" suite "$@" --out "$out" --report >"$log" 2>&1 || true
[ -f "$out/tasks.csv" ] && [ -f "$out/summary.md" ] || { cat "$log"; echo "suite_table.sh: no report written" >&2; exit 1; }
mkdir -p "$table"
cp "$out/tasks.csv" "$out/summary.md" "$table/"
# the designs of the rows with status ok (the last column): <problem>/<method>/seed<k>
n=0
while read -r t; do
    if [ -f "$out/$t/design.png" ]; then
        mkdir -p "$table/$t"
        cp "$out/$t/design.png" "$table/$t/design.png"
        n=$((n + 1))
    fi
done < <(awk -F, 'NR > 1 && $NF == "ok" { print $1 "/" $2 "/seed" $3 }' "$out/tasks.csv")
tail -3 "$log"
echo "suite_table.sh: $table: tasks.csv, summary.md and $n designs"
