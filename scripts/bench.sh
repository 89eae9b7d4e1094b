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
# Each is run BENCH_RUNS times (default 3), alternating the two contenders; the table shows
# medians. It uses its own Redis DB indexes (flushed), its own PostgreSQL database (dropped and
# created again) and a random secret key. Redis DB indexes are claimed the way the tests claim
# theirs (internal/testenv: key filefleet:test:db:N in the main DB), so a concurrent `make test`
# never flushes the bench's DB nor the bench a test's; the claims are released at exit, so it never touches the dev data. It writes only a
# temporary directory of logs, removed at exit unless the run fails or BENCH_KEEP=1.
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
S3_ENDPOINT="${FILEFLEET_TEST_S3_ENDPOINT:-127.0.0.1:9000}"
S3_ACCESS_KEY="${FILEFLEET_TEST_S3_ACCESS_KEY:-filefleet}"
S3_SECRET_KEY="${FILEFLEET_TEST_S3_SECRET_KEY:-filefleet-secret}"
: "${FILEFLEET_DATABASE_URL:?run through make bench, or export the output of scripts/services.sh env}"
: "${FILEFLEET_REDIS_URL:=redis://127.0.0.1:6379/0}"

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

[[ "$BENCH_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DATABASE must be a plain lower-case name"
[ "$BENCH_DB" != "$(basename "${FILEFLEET_DATABASE_URL%%\?*}")" ] || die "BENCH_DATABASE must not be the dev database"
if [ -n "${BENCH_REDIS_DB:-}" ]; then
  [ "$BENCH_REDIS_DB" -ge 1 ] 2>/dev/null && [ "$BENCH_REDIS_DB" -le 14 ] || die "BENCH_REDIS_DB must be 1 to 14"
fi

# URLs of the bench's own Redis DBs and PostgreSQL database, from the dev ones.
redis_base="${FILEFLEET_REDIS_URL%%\?*}"
redis_scheme="${redis_base%%://*}"
redis_hostpart="${redis_base#*://}"
redis_hostpart="${redis_hostpart%%/*}"
LOCK_REDIS_URL="$FILEFLEET_REDIS_URL" # where the tests keep their claims of DB indexes
redis_url() { echo "$redis_scheme://$redis_hostpart/$1"; }
pg_base="${FILEFLEET_DATABASE_URL%%\?*}"
pg_query="${FILEFLEET_DATABASE_URL#"$pg_base"}"
FF_DATABASE_URL="${pg_base%/*}/$BENCH_DB$pg_query"

[ -x bin/filefleet ] || die "bin/filefleet is missing; run make bench (it builds first)"
for tool in curl psql redis-cli; do
  command -v "$tool" >/dev/null || die "$tool is missing; run make services"
done
if ! command -v rclone >/dev/null; then
  say "installing rclone (apt-get)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rclone; } >/dev/null 2>&1 \
    || die "could not install rclone; apt-get install rclone, then try again"
fi

WORK="$(mktemp -d /tmp/ffbench.XXXXXX)"
PIDS=()
FAILED=1
CLAIMS=() OWNER="bench-$$-$RANDOM$RANDOM"
claim_redis_db() { # claim_redis_db N: claims DB index N for this run, or fails
  [ "$(redis-cli -u "$LOCK_REDIS_URL" SET "filefleet:test:db:$1" "$OWNER" NX EX 3600)" = OK ] || return 1
  CLAIMS+=("$1")
}
release_redis_dbs() {
  local i
  for i in "${CLAIMS[@]}"; do
    redis-cli -u "$(redis_url "$i")" FLUSHDB >/dev/null
    redis-cli -u "$LOCK_REDIS_URL" EVAL "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0" \
      1 "filefleet:test:db:$i" "$OWNER" >/dev/null
  done
  CLAIMS=()
}
cleanup() {
  set +e
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do # a worker drains for up to 20 s; wait a little, then insist
    local alive=0
    for pid in "${PIDS[@]}"; do if kill -0 "$pid" 2>/dev/null; then alive=1; fi; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  PIDS=()
  release_redis_dbs
  if [ "$FAILED" = 1 ] || [ -n "${BENCH_KEEP:-}" ]; then
    echo "bench: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building scripts/benchtool"
go build -o "$WORK/benchtool" ./scripts/benchtool || die "cannot build scripts/benchtool"
BT="$WORK/benchtool"
S3FLAGS=(-endpoint "$S3_ENDPOINT" -access-key "$S3_ACCESS_KEY" -secret-key "$S3_SECRET_KEY" -bucket "$BUCKET")

# Fresh state: two Redis DBs claimed and flushed, the bench database created anew.
redis-cli -u "$LOCK_REDIS_URL" PING >/dev/null || die "Redis does not answer at $FILEFLEET_REDIS_URL; run make services"
if [ -n "${BENCH_REDIS_DB:-}" ]; then
  claim_redis_db "$BENCH_REDIS_DB" && claim_redis_db $((BENCH_REDIS_DB + 1)) \
    || die "Redis DB $BENCH_REDIS_DB or $((BENCH_REDIS_DB + 1)) is in use by a test or another bench"
else
  for i in $(seq 15 -1 1); do
    [ ${#CLAIMS[@]} = 2 ] && break
    claim_redis_db "$i" || true
  done
  [ ${#CLAIMS[@]} = 2 ] || die "no two free Redis DB indexes (tests hold them); try again later"
fi
REDIS_DB="${CLAIMS[0]}" REDIS_DB_ASYNQ="${CLAIMS[1]}"
FF_REDIS_URL="$(redis_url "$REDIS_DB")" ASYNQ_REDIS_URL="$(redis_url "$REDIS_DB_ASYNQ")"
redis-cli -u "$FF_REDIS_URL" FLUSHDB >/dev/null || die "cannot flush Redis DB $REDIS_DB"
redis-cli -u "$ASYNQ_REDIS_URL" FLUSHDB >/dev/null || die "cannot flush Redis DB $REDIS_DB_ASYNQ"
pg() { PGOPTIONS="-c client_min_messages=warning" psql "$FILEFLEET_DATABASE_URL" -v ON_ERROR_STOP=1 -qc "$1" >/dev/null; }
pg "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" && pg "CREATE DATABASE $BENCH_DB" \
  || die "cannot recreate database $BENCH_DB (the filefleet role needs CREATEDB)"

median() { # median of the arguments
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'
}
field() { # field KEY LINE: the value of KEY=value in LINE
  local kv; for kv in $2; do [ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return; }; done
  die "no $1 in: $2"
}
calc() { awk "BEGIN {printf \"$1\n\", $2}"; }
load() { cut -d' ' -f1 /proc/loadavg; }

# start_filefleet starts `filefleet all` (or api + BENCH_WORKERS workers) on a free port with
# the bench's Redis DB, database and a random key, and waits until it is ready.
API=""
start_filefleet() {
  local port; port="$("$BT" freeport)"
  local key; key="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  local -a envs=(FILEFLEET_REDIS_URL="$FF_REDIS_URL" FILEFLEET_DATABASE_URL="$FF_DATABASE_URL"
    FILEFLEET_SECRET_KEY="$key" FILEFLEET_HTTP_ADDR="127.0.0.1:$port"
    FILEFLEET_WORKER_CONCURRENCY="$CONC" FILEFLEET_LOG_LEVEL="$LOG_LEVEL")
  if [ "$WORKERS" = 0 ]; then
    env "${envs[@]}" bin/filefleet all >"$WORK/filefleet-all.log" 2>&1 &
    PIDS+=($!)
  else
    env "${envs[@]}" bin/filefleet api >"$WORK/filefleet-api.log" 2>&1 &
    PIDS+=($!)
    for i in $(seq "$WORKERS"); do
      env "${envs[@]}" bin/filefleet worker >"$WORK/filefleet-worker$i.log" 2>&1 &
      PIDS+=($!)
    done
  fi
  API="http://127.0.0.1:$port/api/v1"
  for _ in $(seq 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/ready" 2>/dev/null && return 0
    local pid; for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || die "filefleet exited; see $WORK/filefleet-*.log"; done
    sleep 0.2
  done
  die "filefleet was not ready within 30 s; see $WORK/filefleet-*.log"
}

if [ "$WORKERS" = 0 ]; then SETUP="one \`filefleet all\`, concurrency $CONC"
else SETUP="\`filefleet api\` + $WORKERS × \`filefleet worker\`, concurrency $CONC each"; fi
say "filefleet: $SETUP; Redis DBs $REDIS_DB/$REDIS_DB_ASYNQ, database $BENCH_DB; logs in $WORK"
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
start_filefleet

ROWS=()
if [ -z "${BENCH_SKIP_SCAN:-}" ]; then
  "$BT" fill "${S3FLAGS[@]}" || die "cannot fill bucket $BUCKET"
  # rclone is configured from the environment only. AWS_CA_BUNDLE (set on some machines) makes
  # rclone's S3 backend fail even for http endpoints, so it is dropped.
  export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Minio \
    RCLONE_CONFIG_BENCH_ENDPOINT="http://$S3_ENDPOINT" RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="$S3_ACCESS_KEY" \
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="$S3_SECRET_KEY"
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
  export RCLONE_CONFIG_BENCHSMB_TYPE=smb RCLONE_CONFIG_BENCHSMB_HOST="${SMB_ADDR%:*}" \
    RCLONE_CONFIG_BENCHSMB_PORT="${SMB_ADDR##*:}" RCLONE_CONFIG_BENCHSMB_USER="$SMB_USER" \
    RCLONE_CONFIG_BENCHSMB_PASS="$(rclone obscure "$SMB_PASSWORD")"
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
