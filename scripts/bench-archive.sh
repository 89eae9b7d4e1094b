#!/usr/bin/env bash
# Benchmarks filefleet's archive jobs beside their peers; run it after `make services build`,
# with the environment of `scripts/services.sh env`.
#
# One generated tree (benchtool gentree: BENCH_ARCHIVE_FILES files, 2 GiB of incompressible
# content, files up to 12 MiB, no duplicates; kept in BENCH_ARCHIVE_TREE) is archived:
#
#   a. local disk: a filefleet archive job (tar.gz) of a local root on the tree, written into
#      the same root, timed from POST /archive to the poll that sees it succeeded; beside
#      `tar czf` of the same tree (GNU tar with gzip, one core); the same again as plain tar
#      (filefleet's tar beside `tar cf`: what reading and writing cost without compression);
#   b. MinIO: the tree uploaded once under tree/ of the bench's bucket (not timed); a filefleet
#      archive job of that prefix into the same bucket (tar and tar.gz: a streamed multipart
#      upload of unknown size); beside `rclone cat` of the prefix to /dev/null (read
#      throughput of every object, in listing order, as the archive reads them), and
#      `rclone cat | rclone rcat` into one new object of the bucket (the same bytes read and
#      written back as one streamed upload: what a plain tar job does, without the headers).
#
# filefleet runs as `filefleet api` + one `filefleet worker`, so that the worker's memory is
# its own: its peak RSS (VmHWM, reset through /proc/PID/clear_refs before each run) is reported
# per run. Each contender runs BENCH_RUNS times; the table shows medians of MB/s (10^6 bytes of
# content per second) and the largest peak RSS. Uses its own Redis DB index, PostgreSQL
# database and a random secret key, like the other benches (scripts/bench-lib.sh).
#
# Knobs (environment): BENCH_RUNS=3 BENCH_CONCURRENCY=4 BENCH_ARCHIVE_FILES=400
# BENCH_ARCHIVE_BYTES=2147483648 BENCH_ARCHIVE_TREE=~/.cache/filefleet/bench-archive-tree
# BENCH_ARCHIVE_BUCKET=ffbench-archive BENCH_DATABASE=filefleet_bench_archive BENCH_REDIS_DB=N
# BENCH_LOG_LEVEL=info BENCH_SKIP_LOCAL=1 BENCH_SKIP_S3=1 BENCH_KEEP=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RUNS="${BENCH_RUNS:-3}"
CONC="${BENCH_CONCURRENCY:-4}"
NGEN="${BENCH_ARCHIVE_FILES:-400}"
GBYTES="${BENCH_ARCHIVE_BYTES:-2147483648}"
TREE="${BENCH_ARCHIVE_TREE:-$HOME/.cache/filefleet/bench-archive-tree}"
BUCKET="${BENCH_ARCHIVE_BUCKET:-ffbench-archive}"
BENCH_DB="${BENCH_DATABASE:-filefleet_bench_archive}"
LOG_LEVEL="${BENCH_LOG_LEVEL:-info}"
WORKERS=1
BENCH_NAME=bench-archive
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

if ! command -v rclone >/dev/null && [ -z "${BENCH_SKIP_S3:-}" ]; then
  say "installing rclone (apt-get)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rclone; } >/dev/null 2>&1 \
    || die "could not install rclone; apt-get install rclone, then try again"
fi

tree=$("$BT" gentree -dir "$TREE" -files "$NGEN" -bytes "$GBYTES" -dup-percent 0 -seed 3) ||
  die "cannot write the tree under $TREE"
NFILES=$(field files "$tree") NBYTES=$(field bytes "$tree")

export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Minio \
  RCLONE_CONFIG_BENCH_ENDPOINT="http://$S3_ENDPOINT" RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="$S3_ACCESS_KEY" \
  RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="$S3_SECRET_KEY"
rc() { env -u AWS_CA_BUNDLE rclone --config /dev/null "$@" </dev/null; }
S3FLAGS=(-endpoint "$S3_ENDPOINT" -access-key "$S3_ACCESS_KEY" -secret-key "$S3_SECRET_KEY" -bucket "$BUCKET")
if [ -z "${BENCH_SKIP_S3:-}" ]; then
  say "uploading the tree to $BUCKET/tree/ (not timed; skipped when it is there already)"
  "$BT" fillfromdir -dir "$TREE" "${S3FLAGS[@]}" -prefix tree/ -prune >"$WORK/fill.out" 2>"$WORK/fill.err" ||
    die "cannot upload the tree to $BUCKET/tree/: $(tail -3 "$WORK/fill.err")"
fi

claim_redis_dbs 1
recreate_db
start_filefleet "$(redis_url "${CLAIMS[0]}")"
WORKER_PID="${PIDS[1]}"
say "filefleet api + 1 worker (pid $WORKER_PID), concurrency $CONC; logs in $WORK"
say "tree: $NFILES files, $(calc %.2f "$NBYTES / 1073741824") GiB; load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

OUT="$WORK/out"
mkdir -p "$OUT"
local_spec() { printf '{"kind":"local","path":"%s"}' "$1"; }
s3_spec() {
  printf '{"kind":"s3","endpoint":"%s","bucket":"%s","access_key":"%s","secret_key":"%s"}' \
    "$S3_ENDPOINT" "$BUCKET" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
}
# The local root is the parent of the tree, so the archive is written beside it, not in it.
TREE_PARENT="$(dirname "$TREE")" TREE_NAME="$(basename "$TREE")"

peak_reset() { echo 5 >"/proc/$WORKER_PID/clear_refs"; }
peak_mb() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$WORKER_PID/status"; }
mbps() { calc %.1f "$NBYTES / 1000000 / $1"; }
timed() { # timed CMD...: runs CMD, prints its seconds
  local start end; start=$(date +%s.%N); "$@" || die "$* failed"; end=$(date +%s.%N)
  calc %.3f "$end - $start"
}

declare -A SECS PEAK
add() { SECS[$1]="${SECS[$1]:-} $2"; }
addpeak() { local p=$2; [ "${PEAK[$1]:-0}" -ge "$p" ] || PEAK[$1]=$p; }

# ff ROW ROOT SPEC PREFIX FORMAT TARGET: one filefleet archive run.
ff() {
  peak_reset
  local out
  out=$("$BT" ffarchive -api "$API" -root "$2" -spec "$3" -prefix "$4" -format "$5" -target "$6" \
    -keep-root -expect-bytes "$NBYTES" 2>>"$WORK/benchtool.err") || die "filefleet $1 failed: $(tail -3 "$WORK/benchtool.err")"
  add "$1" "$(field seconds "$out")"
  addpeak "$1" "$(peak_mb)"
  say "  $1: $(field seconds "$out") s, archive $(field size "$out") bytes, $(field entries "$out") entries, worker peak RSS $(peak_mb) MB"
}

for run in $(seq "$RUNS"); do
  say "run $run of $RUNS"
  if [ -z "${BENCH_SKIP_LOCAL:-}" ]; then
    ff "filefleet local tar.gz" disk "$(local_spec "$TREE_PARENT")" "$TREE_NAME" tar.gz "ffbench-archive-out/tree.tar.gz"
    ff "filefleet local tar" disk "$(local_spec "$TREE_PARENT")" "$TREE_NAME" tar "ffbench-archive-out/tree.tar"
    s=$(timed tar czf "$OUT/tree.tar.gz" -C "$TREE_PARENT" "$TREE_NAME"); add "tar czf (local)" "$s"
    say "  tar czf: $s s"
    s=$(timed tar cf "$OUT/tree.tar" -C "$TREE_PARENT" "$TREE_NAME"); add "tar cf (local)" "$s"
    say "  tar cf: $s s"
    rm -f "$OUT/tree.tar.gz" "$OUT/tree.tar"
  fi
  if [ -z "${BENCH_SKIP_S3:-}" ]; then
    ff "filefleet MinIO tar" s3 "$(s3_spec)" tree tar "archives/tree.tar"
    ff "filefleet MinIO tar.gz" s3 "$(s3_spec)" tree tar.gz "archives/tree.tar.gz"
    s=$(timed bash -c "env -u AWS_CA_BUNDLE rclone --config /dev/null cat bench:$BUCKET/tree >/dev/null </dev/null")
    add "rclone cat (MinIO read)" "$s"
    say "  rclone cat: $s s"
    s=$(timed bash -c "env -u AWS_CA_BUNDLE rclone --config /dev/null cat bench:$BUCKET/tree </dev/null |
      env -u AWS_CA_BUNDLE rclone --config /dev/null rcat bench:$BUCKET/archives/rcat.bin")
    add "rclone cat | rclone rcat" "$s"
    say "  rclone cat | rclone rcat: $s s"
  fi
done
rm -rf "${TREE_PARENT:?}/ffbench-archive-out"

FAILED=0
printf '\n%s files, %s bytes (%.2f GiB); medians of %s runs\n' "$NFILES" "$NBYTES" "$(calc %.4f "$NBYTES / 1073741824")" "$RUNS"
printf '| %-26s | %9s | %8s | %14s |\n' contender seconds "MB/s" "worker peak RSS"
printf '|%s|%s|%s|%s|\n' "----------------------------" "-----------" "----------" "-----------------"
for row in "filefleet local tar.gz" "tar czf (local)" "filefleet local tar" "tar cf (local)" \
  "filefleet MinIO tar.gz" "filefleet MinIO tar" "rclone cat (MinIO read)" "rclone cat | rclone rcat"; do
  [ -n "${SECS[$row]:-}" ] || continue
  # shellcheck disable=SC2086 # word splitting of the list is wanted
  m=$(median ${SECS[$row]})
  peak="-"; [ -n "${PEAK[$row]:-}" ] && peak="${PEAK[$row]} MB"
  printf '| %-26s | %9s | %8s | %15s |\n' "$row" "$m" "$(mbps "$m")" "$peak"
done
