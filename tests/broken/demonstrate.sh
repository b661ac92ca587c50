#!/usr/bin/env bash
# Shows that the "nothing lost" set test catches a real mistake: applies a
# deliberately broken change (the change-log row written after the commit,
# outside the write transaction), runs the set test, which must fail, and
# puts the code back. Usage: bash tests/broken/demonstrate.sh [runs]
# (CITYDASH_TEST_BACKEND=postgres for the PostgreSQL run).
set -uo pipefail
cd "$(dirname "$0")/../.."
patch=tests/broken/outbox-outside-transaction.patch
git apply "$patch" || exit 1
trap 'git apply -R "$patch" && cargo build -q -p citydash' EXIT
cargo build -q -p citydash || exit 1
runs=${1:-3}
caught=0
for i in $(seq "$runs"); do
  out=$(cargo test -q -p citydash-e2e --test faults 2>&1)
  if grep -E "acknowledged pushes have|no gap" <<<"$out"; then
    caught=$((caught + 1))
  else
    echo "run $i: the broken build passed the set test"
  fi
done
echo "the set test failed the broken build in $caught of $runs runs"
[ "$caught" -gt 0 ]
