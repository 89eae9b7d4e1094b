#!/usr/bin/env bash
# Scaling benchmark: the same hash jobs run by 1, 2 and 4 worker processes; run it after
# `make services build`, with the environment of `scripts/services.sh env`.
#
# One generated tree (benchtool gentree: BENCH_SCALE_FILES files, BENCH_SCALE_BYTES bytes, no
# duplicates; kept in BENCH_SCALE_TREE) is put under tree/ of the bench's MinIO bucket and
# under ffbench-scale/ of the test Samba share (both untimed, skipped when already there).
# For each worker count W in BENCH_SCALE_WORKERS (default "1 2 4"), filefleet runs as
# `filefleet api` + W `filefleet worker` processes (BENCH_CONCURRENCY tasks each) on a fresh
# database and Redis DB, and times a cold hash job of each root (`benchtool ffhash`: a new root,
# scanned untimed, then hashed; from POST to the poll that sees it succeeded). The table shows
# the medians of BENCH_RUNS runs and the throughput ratio against one worker.
#
# Knobs (environment): BENCH_RUNS=2 BENCH_CONCURRENCY=4 BENCH_SCALE_WORKERS="1 2 4"
# BENCH_SCALE_FILES=2000 BENCH_SCALE_BYTES=1073741824 BENCH_SCALE_TREE=~/.cache/filefleet/bench-scale-tree
# BENCH_SCALE_BUCKET=ffbench-scale BENCH_DATABASE=filefleet_bench_scale BENCH_LOG_LEVEL=info BENCH_KEEP=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RUNS="${BENCH_RUNS:-2}"
CONC="${BENCH_CONCURRENCY:-4}"
COUNTS="${BENCH_SCALE_WORKERS:-1 2 4}"
TREE="${BENCH_SCALE_TREE:-$HOME/.cache/filefleet/bench-scale-tree}"
BUCKET="${BENCH_SCALE_BUCKET:-ffbench-scale}"
BENCH_DB="${BENCH_DATABASE:-filefleet_bench_scale}"
LOG_LEVEL="${BENCH_LOG_LEVEL:-info}"
SMB_ADDR="${FILEFLEET_TEST_SMB_ADDR:-127.0.0.1:4445}"
SMB_DIR="${FILEFLEET_TEST_SMB_DIR:-/var/tmp/filefleet-samba/share}"
BENCH_NAME=bench-scale
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

tree=$("$BT" gentree -dir "$TREE" -files "${BENCH_SCALE_FILES:-2000}" -bytes "${BENCH_SCALE_BYTES:-1073741824}" \
  -dup-percent 0 -seed 5) || die "cannot write the tree under $TREE"
NFILES=$(field files "$tree") NBYTES=$(field bytes "$tree")
say "uploading the tree to $BUCKET/tree/ and copying it to the Samba share (untimed; skipped when there)"
"$BT" fillfromdir -dir "$TREE" -endpoint "$S3_ENDPOINT" -access-key "$S3_ACCESS_KEY" -secret-key "$S3_SECRET_KEY" \
  -bucket "$BUCKET" -prefix tree/ -prune >"$WORK/fill.out" 2>"$WORK/fill.err" ||
  die "cannot upload the tree to $BUCKET/tree/: $(tail -3 "$WORK/fill.err")"
[ -d "$SMB_DIR" ] || die "no Samba share directory $SMB_DIR; run make services"
mkdir -p "$SMB_DIR/ffbench-scale"
cp -a -u "$TREE/." "$SMB_DIR/ffbench-scale/" || die "cannot copy the tree into $SMB_DIR/ffbench-scale"

s3_spec() {
  printf '{"kind":"s3","endpoint":"%s","bucket":"%s","prefix":"tree/","access_key":"%s","secret_key":"%s"}' \
    "$S3_ENDPOINT" "$BUCKET" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
}
smb_spec() {
  printf '{"kind":"smb","host":"%s","port":%s,"share":"%s","path":"ffbench-scale","username":"%s","password":"%s"}' \
    "${SMB_ADDR%:*}" "${SMB_ADDR#*:}" "${FILEFLEET_TEST_SMB_SHARE:-data}" "${FILEFLEET_TEST_SMB_USER:-fftest}" \
    "${FILEFLEET_TEST_SMB_PASSWORD:-fftest-pass}"
}

# stop_filefleet stops the processes start_filefleet started (workers drain for up to 20 s).
stop_filefleet() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

declare -A SECS
say "tree: $NFILES files, $(calc %.2f "$NBYTES / 1073741824") GiB; load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
claim_redis_dbs 1
for w in $COUNTS; do
  WORKERS=$w
  recreate_db
  redis-cli -u "$(redis_url "${CLAIMS[0]}")" FLUSHDB >/dev/null
  start_filefleet "$(redis_url "${CLAIMS[0]}")"
  say "$w worker process(es), concurrency $CONC each"
  for run in $(seq "$RUNS"); do
    for kind in s3 smb; do
      spec=$(${kind}_spec)
      out=$("$BT" ffhash -api "$API" -root "scale-$kind-$w-$run" -spec "$spec" -expect-bytes "$NBYTES" 2>>"$WORK/benchtool.err") ||
        die "hash on $kind with $w workers failed: $(tail -3 "$WORK/benchtool.err")"
      SECS[$kind-$w]="${SECS[$kind-$w]:-} $(field seconds "$out")"
      say "  $kind run $run: $(field seconds "$out") s ($(field mb_per_s "$out") MB/s)"
    done
  done
  stop_filefleet
done

FAILED=0
printf '\n%s files, %s bytes (%.2f GiB); cold hash jobs (scan untimed); medians of %s runs\n' \
  "$NFILES" "$NBYTES" "$(calc %.4f "$NBYTES / 1073741824")" "$RUNS"
printf '| %-8s | %-7s | %9s | %8s | %-18s |\n' root workers seconds "MB/s" "ratio to 1 worker"
printf '|%s|%s|%s|%s|%s|\n' "----------" "---------" "-----------" "----------" "--------------------"
for kind in s3 smb; do
  base=""
  for w in $COUNTS; do
    # shellcheck disable=SC2086 # word splitting of the list is wanted
    m=$(median ${SECS[$kind-$w]})
    [ -n "$base" ] || base=$m
    printf '| %-8s | %-7s | %9s | %8s | %-18s |\n' "$kind" "$w" "$m" "$(calc %.1f "$NBYTES / 1000000 / $m")" \
      "$(calc %.2f "$base / $m")"
  done
done
