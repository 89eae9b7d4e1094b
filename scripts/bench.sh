#!/usr/bin/env bash
# Benchmarks filefleet beside its peers (see docs/BENCHMARKS.md); `make bench` runs it after
# `make services build`, with the environment of `scripts/services.sh env`.
#
#   a. scan: list a MinIO bucket of 100,000 objects with `rclone lsf -R` and with a filefleet
#      scan job (submit → succeeded);
#   b. throughput: 10,000 noop jobs through the filefleet API (POST /jobs/batch) and 10,000
#      no-op tasks through a bare asynq client + server of the same concurrency;
#   c. backends: scan the same 50,000-file tree on a local root, a MinIO bucket and a Samba
#      share, beside `find -type f` on the local tree and `rclone lsf -R` on the bucket and
#      the share.
#
# Each is run BENCH_RUNS times (default 3), alternating the contenders; the table shows
# medians. It uses its own Redis DB indexes, its own PostgreSQL database and a random secret key
# (scripts/bench-lib.sh), so it never touches the dev data. It writes only a temporary
# directory of logs, removed at exit unless the run fails or BENCH_KEEP=1.
#
# Knobs (environment): BENCH_RUNS=3 BENCH_CONCURRENCY=10 BENCH_WORKERS=0 (0: one `filefleet all`;
# N: `filefleet api` + N `filefleet worker`) BENCH_JOBS=10000 BENCH_BATCH=1000
# BENCH_BUCKET=ffbench-scan BENCH_REDIS_DB=N (asynq baseline: N+1; default: the two highest free
# indexes) BENCH_DATABASE=filefleet_bench
# BENCH_LOG_LEVEL=info BENCH_SKIP_SCAN=1 BENCH_SKIP_JOBS=1 BENCH_SKIP_BACKENDS=1
# BENCH_TREE=~/.cache/filefleet/bench-tree (the local copy of the 50,000-file tree).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RUNS="${BENCH_RUNS:-3}"
CONC="${BENCH_CONCURRENCY:-10}"
WORKERS="${BENCH_WORKERS:-0}"
NJOBS="${BENCH_JOBS:-10000}"
BATCH="${BENCH_BATCH:-1000}"
BUCKET="${BENCH_BUCKET:-ffbench-scan}"
NFILES=100000 # 10 × 10 directories × 1000 objects, see benchtool fill
NTREE=50000   # 10 × 10 directories × 500 files, the tree of the backends benchmark
TREE_BUCKET="${BUCKET}-50k"
TREE_DIR="${BENCH_TREE:-$HOME/.cache/filefleet/bench-tree}"
SMB_ADDR="${FILEFLEET_TEST_SMB_ADDR:-127.0.0.1:4445}"
SMB_USER="${FILEFLEET_TEST_SMB_USER:-fftest}"
SMB_PASSWORD="${FILEFLEET_TEST_SMB_PASSWORD:-fftest-pass}"
SMB_SHARE="${FILEFLEET_TEST_SMB_SHARE:-data}"
SMB_DIR="${FILEFLEET_TEST_SMB_DIR:-/var/tmp/filefleet-samba/share}"
BENCH_DB="${BENCH_DATABASE:-filefleet_bench}"
LOG_LEVEL="${BENCH_LOG_LEVEL:-info}"
BENCH_NAME=bench
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

if ! command -v rclone >/dev/null; then
  say "installing rclone (apt-get)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rclone; } >/dev/null 2>&1 \
    || die "could not install rclone; apt-get install rclone, then try again"
fi
S3FLAGS=(-endpoint "$S3_ENDPOINT" -access-key "$S3_ACCESS_KEY" -secret-key "$S3_SECRET_KEY" -bucket "$BUCKET")

# Fresh state: two Redis DBs (filefleet's and the bare asynq baseline's), the database anew.
claim_redis_dbs 2
REDIS_DB="${CLAIMS[0]}" REDIS_DB_ASYNQ="${CLAIMS[1]}"
FF_REDIS_URL="$(redis_url "$REDIS_DB")" ASYNQ_REDIS_URL="$(redis_url "$REDIS_DB_ASYNQ")"
recreate_db

if [ "$WORKERS" = 0 ]; then SETUP="one \`filefleet all\`, concurrency $CONC"
else SETUP="\`filefleet api\` + $WORKERS × \`filefleet worker\`, concurrency $CONC each"; fi
say "filefleet: $SETUP; Redis DBs $REDIS_DB/$REDIS_DB_ASYNQ, database $BENCH_DB; logs in $WORK"
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
start_filefleet "$FF_REDIS_URL"

# rclone is configured from the environment only (remote "bench", used by the scan and the
# backends parts). AWS_CA_BUNDLE (set on some machines) makes rclone's S3 backend fail even for
# http endpoints, so the runs drop it.
export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Minio \
  RCLONE_CONFIG_BENCH_ENDPOINT="http://$S3_ENDPOINT" RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="$S3_ACCESS_KEY" \
  RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="$S3_SECRET_KEY"

ROWS=()
if [ -z "${BENCH_SKIP_SCAN:-}" ]; then
  "$BT" fill "${S3FLAGS[@]}" || die "cannot fill bucket $BUCKET"
  rclone_times=() ff_times=()
  for run in $(seq "$RUNS"); do
    l0=$(load)
    t0=$(date +%s.%N)
    env -u AWS_CA_BUNDLE rclone --config /dev/null lsf -R --files-only "bench:$BUCKET" >"$WORK/rclone.out" \
      2>"$WORK/rclone.err" || die "rclone failed: $(tail -3 "$WORK/rclone.err")"
    t1=$(date +%s.%N)
    lines=$(wc -l <"$WORK/rclone.out")
    [ "$lines" = "$NFILES" ] || die "rclone listed $lines files, want $NFILES"
    rc=$(calc %.3f "$t1 - $t0")
    out=$("$BT" ffscan -api "$API" -root "scan-$run" -expect "$NFILES" "${S3FLAGS[@]}") || die "filefleet scan failed"
    ff=$(field seconds "$out")
    rclone_times+=("$rc") ff_times+=("$ff")
    say "scan run $run/$RUNS: rclone ${rc}s, filefleet ${ff}s (job running $(field server_seconds "$out")s); load $l0 → $(load)"
  done
  rc=$(median "${rclone_times[@]}") ff=$(median "${ff_times[@]}")
  ROWS+=("scan 100,000 objects (s, lower is better)|$(calc %.2f "$ff")|$(calc %.2f "$rc") (rclone lsf -R)|$(calc %.2f "$ff / $rc")|≤ 1.5|$(awk "BEGIN {print ($ff <= 1.5 * $rc) ? \"met\" : \"MISSED\"}")|${ff_times[*]} / ${rclone_times[*]}")
fi

if [ -z "${BENCH_SKIP_JOBS:-}" ]; then
  ff_rates=() aq_rates=()
  for run in $(seq "$RUNS"); do
    l0=$(load)
    out=$("$BT" ffjobs -api "$API" -n "$NJOBS" -batch "$BATCH") || die "filefleet job throughput failed"
    ff=$(field jobs_per_s "$out")
    ffs=$(field seconds "$out") ffsub=$(field submit_seconds "$out")
    redis-cli -u "$ASYNQ_REDIS_URL" FLUSHDB >/dev/null
    out=$("$BT" asynq -redis "$ASYNQ_REDIS_URL" -n "$NJOBS" -concurrency "$CONC" -interval 100ms) || die "asynq baseline failed"
    aq=$(field jobs_per_s "$out")
    ff_rates+=("$ff") aq_rates+=("$aq")
    say "throughput run $run/$RUNS: filefleet $ff jobs/s (${ffs}s, submitted in ${ffsub}s), asynq $aq jobs/s ($(field seconds "$out")s); load $l0 → $(load)"
  done
  ff=$(median "${ff_rates[@]}") aq=$(median "${aq_rates[@]}")
  ROWS+=("$NJOBS noop jobs (jobs/s, higher is better)|$(calc %.0f "$ff")|$(calc %.0f "$aq") (bare asynq)|$(calc %.2f "$ff / $aq")|≥ 0.5|$(awk "BEGIN {print ($ff >= 0.5 * $aq) ? \"met\" : \"MISSED\"}")|${ff_rates[*]} / ${aq_rates[*]}")
fi

if [ -z "${BENCH_SKIP_BACKENDS:-}" ]; then
  "$BT" filltree -dir "$TREE_DIR" || die "cannot write the tree under $TREE_DIR"
  "$BT" filltree -dir "$SMB_DIR/ffbench-50k" || die "cannot write the tree into the Samba share at $SMB_DIR"
  "$BT" fill "${S3FLAGS[@]/#$BUCKET/$TREE_BUCKET}" -per 500 || die "cannot fill bucket $TREE_BUCKET"
  smb_pass=$(rclone obscure "$SMB_PASSWORD") || die "rclone obscure failed"
  export RCLONE_CONFIG_BENCHSMB_TYPE=smb RCLONE_CONFIG_BENCHSMB_HOST="${SMB_ADDR%:*}" \
    RCLONE_CONFIG_BENCHSMB_PORT="${SMB_ADDR##*:}" RCLONE_CONFIG_BENCHSMB_USER="$SMB_USER" \
    RCLONE_CONFIG_BENCHSMB_PASS="$smb_pass"
  # peer_seconds CMD...: runs a listing command, checks it printed NTREE lines, prints seconds.
  peer_seconds() {
    local t0 t1 lines
    t0=$(date +%s.%N)
    env -u AWS_CA_BUNDLE "$@" >"$WORK/peer.out" 2>"$WORK/peer.err" || die "$1 failed: $(tail -3 "$WORK/peer.err")"
    t1=$(date +%s.%N)
    lines=$(wc -l <"$WORK/peer.out")
    [ "$lines" = "$NTREE" ] || die "$* listed $lines files, want $NTREE"
    calc %.3f "$t1 - $t0"
  }
  smb_spec=$(printf '{"kind":"smb","host":"%s","port":%s,"share":"%s","path":"ffbench-50k","username":"%s","password":"%s"}' \
    "${SMB_ADDR%:*}" "${SMB_ADDR##*:}" "$SMB_SHARE" "$SMB_USER" "$SMB_PASSWORD")
  s3_spec=$(printf '{"kind":"s3","endpoint":"%s","bucket":"%s","access_key":"%s","secret_key":"%s"}' \
    "$S3_ENDPOINT" "$TREE_BUCKET" "$S3_ACCESS_KEY" "$S3_SECRET_KEY")
  local_spec=$(printf '{"kind":"local","path":"%s"}' "$TREE_DIR")
  for kind in local s3 smb; do
    case $kind in
      local) spec=$local_spec label="local disk" peer_name="find -type f" ;;
      s3) spec=$s3_spec label="MinIO" peer_name="rclone lsf -R" ;;
      smb) spec=$smb_spec label="Samba" peer_name="rclone lsf -R (smb)" ;;
    esac
    ff_times=() peer_times=()
    for run in $(seq "$RUNS"); do
      case $kind in
        local) pt=$(peer_seconds find "$TREE_DIR" -type f) ;;
        s3) pt=$(peer_seconds rclone --config /dev/null lsf -R --files-only "bench:$TREE_BUCKET") ;;
        smb) pt=$(peer_seconds rclone --config /dev/null lsf -R --files-only "benchsmb:$SMB_SHARE/ffbench-50k") ;;
      esac
      out=$("$BT" ffscan -api "$API" -root "tree-$kind-$run" -spec "$spec" -expect "$NTREE") || die "filefleet scan of the $label tree failed"
      ff=$(field seconds "$out")
      ff_times+=("$ff") peer_times+=("$pt")
      say "$label tree run $run/$RUNS: $peer_name ${pt}s, filefleet ${ff}s"
    done
    ff=$(median "${ff_times[@]}") pt=$(median "${peer_times[@]}")
    ROWS+=("scan 50,000 files, $label (s; files/s)|$(calc %.2f "$ff"); $(calc %.0f "$NTREE / $ff")/s|$(calc %.2f "$pt"); $(calc %.0f "$NTREE / $pt")/s ($peer_name)|$(calc %.2f "$ff / $pt")|—|—|${ff_times[*]} / ${peer_times[*]}")
  done
fi

echo
echo "filefleet $(bin/filefleet version | awk '{print $2}'), $SETUP; medians of $RUNS runs; $(nproc) cores, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| benchmark | filefleet | peer | ratio filefleet/peer | target | verdict | runs (filefleet / peer) |"
echo "|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do echo "| ${row//|/ | } |"; done
FAILED=0
