#!/usr/bin/env bash
# tests/suite_import.sh TOPOPT: --import, tasks finished elsewhere. Two suite runs split the
# seeds (two machines, or a folder since gone); the second imports the first's tasks.csv: it runs
# nothing, reports the imported rows as they were, keeps them in its folder for later calls
# without --import, prefers its own finished rows, leaves out rows of another budget, overrides
# or status, and refuses a malformed file with its line and column, writing nothing.
exe=$1
source "$(dirname "$0")/suite_lib.sh" suite_import
p=pure_bending_moment_32x64_0.15
common=(suite --filter "$p" --small --methods cnn-lbfgs --steps 20)
# row DIR SEED: the tasks.csv line of seed SEED in DIR
row() { awk -F, -v s="$2" '$3 == s' "$1/tasks.csv"; }
expect_refusal() { # expect_refusal MESSAGE ARGS...: exit 2, MESSAGE on stderr, nothing written
  local msg=$1
  shift
  rm -rf "$tmp/x"
  local rc=0
  "$exe" "${common[@]}" --seeds 0-1 --out "$tmp/x" "$@" >"$tmp/x.log" 2>&1 || rc=$?
  [ "$rc" -eq 2 ] || { cat "$tmp/x.log"; fail "exit $rc, not 2, for $*"; }
  grep -qF -- "$msg" "$tmp/x.log" || { cat "$tmp/x.log"; fail "no '$msg' for $*"; }
  [ ! -e "$tmp/x/tasks.csv" ] || fail "tasks.csv written despite the refusal ($*)"
}

"$exe" "${common[@]}" --seeds 0 --out "$tmp/a" --quiet >"$tmp/a.log" 2>&1 || { cat "$tmp/a.log"; fail "A"; }
"$exe" "${common[@]}" --seeds 1 --out "$tmp/b" --quiet >"$tmp/b.log" 2>&1 || { cat "$tmp/b.log"; fail "B"; }
[ "$(row "$tmp/a" 0 | cut -d, -f12-)" = 20,0,ok ] || { cat "$tmp/a/tasks.csv"; fail "A's row: steps, sets, status"; }
own1=$(row "$tmp/b" 1)

# B takes A's seed 0 and runs nothing; the imported row is A's, digit for digit
"$exe" "${common[@]}" --seeds 0-1 --out "$tmp/b" --resume --import "$tmp/a/tasks.csv" >"$tmp/m.log" 2>&1 ||
  { cat "$tmp/m.log"; fail "the merge"; }
grep -q "^suite: $tmp/a/tasks.csv: 1 finished task of this suite imported, 0 kept from $tmp/b (its own finished rows come first); 0 other finished rows" "$tmp/m.log" ||
  { cat "$tmp/m.log"; fail "the import line"; }
grep -q "^suite: 2 of 2 tasks already done in $tmp/b, 0 to run$" "$tmp/m.log" || { cat "$tmp/m.log"; fail "B ran a task"; }
! grep -q -- '-> ' "$tmp/m.log" || { cat "$tmp/m.log"; fail "B ran a task"; }
[ "$(row "$tmp/b" 0)" = "$(row "$tmp/a" 0)" ] || { cat "$tmp/a/tasks.csv" "$tmp/b/tasks.csv"; fail "imported row differs"; }
[ "$(row "$tmp/b" 1)" = "$own1" ] || fail "B's own row changed"
grep -q "Tasks: 2 ok (1 of them imported" "$tmp/b/summary.md" || { cat "$tmp/b/summary.md"; fail "summary.md"; }
# the design beside the imported table (the suite's layout) comes along: in the gallery too
cmp "$tmp/a/$p/cnn-lbfgs/seed0/design.png" "$tmp/b/$p/cnn-lbfgs/seed0/design.png" || fail "the imported design"
# the typical of two seeds is their mean
c0=$(row "$tmp/a" 0 | cut -d, -f4) c1=$(echo "$own1" | cut -d, -f4)
typ=$(awk -F, -v p="$p" '$1 == p { print $9 }' "$tmp/b/summary.csv")
awk -v a="$c0" -v b="$c1" -v t="$typ" 'BEGIN { d = t - (a + b) / 2; exit !(d < 1e-12 * t && d > -1e-12 * t) }' ||
  fail "typical $typ is not the mean of $c0 and $c1"

# kept in B's folder: a later report without --import still has it
"$exe" "${common[@]}" --seeds 0-1 --out "$tmp/b" --report >"$tmp/r.log" 2>&1 || { cat "$tmp/r.log"; fail "report"; }
[ "$(row "$tmp/b" 0)" = "$(row "$tmp/a" 0)" ] || { cat "$tmp/b/tasks.csv"; fail "the imported row is gone without --import"; }

# B's own finished row comes first; rows not ok are not imported
sed -e "s/^\($p,cnn-lbfgs,1\),[^,]*,/\1,1.5,/" "$tmp/b/tasks.csv" >"$tmp/other.csv"
grep -q ",1,1.5," "$tmp/other.csv" || fail "the test's edit of the row"
"$exe" "${common[@]}" --seeds 0-1 --out "$tmp/b" --resume --import "$tmp/other.csv" >"$tmp/m2.log" 2>&1 ||
  { cat "$tmp/m2.log"; fail "second merge"; }
[ "$(row "$tmp/b" 1)" = "$own1" ] || { cat "$tmp/b/tasks.csv"; fail "an import replaced B's own row"; }
grep -q "imported, 1 kept from $tmp/b" "$tmp/m2.log" || { cat "$tmp/m2.log"; fail "the count of rows kept"; }
sed -e "s/,20,0,ok$/,20,0,failed/" "$tmp/a/tasks.csv" >"$tmp/failed.csv"
"$exe" "${common[@]}" --seeds 0 --out "$tmp/c" --report --import "$tmp/failed.csv" >"$tmp/c.log" 2>&1 ||
  { cat "$tmp/c.log"; fail "report with a failed row"; }
[ "$(row "$tmp/c" 0 | cut -d, -f14)" = "not run" ] || { cat "$tmp/c/tasks.csv"; fail "a failed row was imported"; }

# another budget or other overrides: left out (reported as not run, nothing runs with --report)
for extra in "--steps 21" "--set outputs.checkpoint_every=10"; do
  rm -rf "$tmp/d"
  # shellcheck disable=SC2086 # two words on purpose
  "$exe" "${common[@]}" $extra --seeds 0 --out "$tmp/d" --report --import "$tmp/a/tasks.csv" >"$tmp/d.log" 2>&1 ||
    { cat "$tmp/d.log"; fail "report with $extra"; }
  grep -q "0 finished tasks of this suite imported, 0 kept .*; 1 other finished row " "$tmp/d.log" ||
    { cat "$tmp/d.log"; fail "a row of other settings was imported ($extra)"; }
  [ "$(row "$tmp/d" 0 | cut -d, -f14)" = "not run" ] || { cat "$tmp/d/tasks.csv"; fail "status ($extra)"; }
done

# scripts/suite_table.sh keeps B's table (report and designs) in a folder of its own; a fresh
# folder imports both tasks from it, runs nothing and has B's rows and designs
table=$(dirname "$0")/../scripts/suite_table.sh
"$table" --topopt "$exe" --out "$tmp/b" --table "$tmp/table" -- "${common[@]:1}" --seeds 0-1 \
  >"$tmp/t.log" 2>&1 || { cat "$tmp/t.log"; fail "suite_table.sh"; }
grep -q "^suite_table.sh: $tmp/table: tasks.csv, summary.md and 2 designs$" "$tmp/t.log" ||
  { cat "$tmp/t.log"; fail "suite_table.sh's count (the second import took a design away?)"; }
"$exe" "${common[@]}" --seeds 0-1 --out "$tmp/t" --import "$tmp/table/tasks.csv" >"$tmp/t2.log" 2>&1 ||
  { cat "$tmp/t2.log"; fail "the import of the kept table"; }
! grep -q -- '-> ' "$tmp/t2.log" || { cat "$tmp/t2.log"; fail "a task ran despite the kept table"; }
for s in 0 1; do
  [ "$(row "$tmp/t" $s)" = "$(row "$tmp/b" $s)" ] || fail "seed $s's row differs from the kept table's"
  cmp "$tmp/b/$p/cnn-lbfgs/seed$s/design.png" "$tmp/t/$p/cnn-lbfgs/seed$s/design.png" ||
    fail "seed $s's design did not come along"
done

# refusals: exit 2, the file (and line and column) named, no tables written
expect_refusal "--import $tmp/none.csv: No such file or directory" --import "$tmp/none.csv"
cut -d, -f1-11,14 "$tmp/a/tasks.csv" >"$tmp/old.csv" # a tasks.csv of a version before --import
expect_refusal "$tmp/old.csv:1: no column 'steps'" --import "$tmp/old.csv"
awk -F, -v OFS=, 'NR == 2 { $11 = "grey?" } 1' "$tmp/a/tasks.csv" >"$tmp/bad.csv"
expect_refusal "$tmp/bad.csv:2: column 'grey': 'grey?' is not a valid number" --import "$tmp/bad.csv"
{ cat "$tmp/a/tasks.csv"; echo "$p,cnn-lbfgs,1,2.5,ok"; } >"$tmp/short.csv"
expect_refusal "$tmp/short.csv:3: 5 fields, the header has 14" --import "$tmp/short.csv"
echo "suite_import: ok"
