# shellcheck shell=bash disable=SC2034 # sourced: its variables are for the sourcing script
# Shared by scripts/bench.sh and scripts/bench-dedupe.sh (sourced, not run): the bench's own
# Redis DB indexes and PostgreSQL database, starting filefleet, cleanup, and small helpers.
#
# The sourcing script sets BENCH_NAME (message prefix), BENCH_DB (database name), RUNS, CONC and
# LOG_LEVEL, and may set WORKERS (0: one `filefleet all`; N: `filefleet api` + N workers).
# Redis DB indexes are claimed the way the tests claim theirs (internal/testenv: key
# filefleet:test:db:N in the main DB), so a concurrent `make test` never flushes the bench's DB
# nor the bench a test's; claims are released and the DBs flushed at exit.

S3_ENDPOINT="${FILEFLEET_TEST_S3_ENDPOINT:-127.0.0.1:9000}"
S3_ACCESS_KEY="${FILEFLEET_TEST_S3_ACCESS_KEY:-filefleet}"
S3_SECRET_KEY="${FILEFLEET_TEST_S3_SECRET_KEY:-filefleet-secret}"
: "${FILEFLEET_DATABASE_URL:?run through make, or export the output of scripts/services.sh env}"
: "${FILEFLEET_REDIS_URL:=redis://127.0.0.1:6379/0}"

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
say() { echo "$BENCH_NAME: $*" >&2; }

[ "$RUNS" -ge 1 ] 2>/dev/null || die "BENCH_RUNS must be a whole number ≥ 1"
[ "$CONC" -ge 1 ] 2>/dev/null || die "BENCH_CONCURRENCY must be a whole number ≥ 1"
[[ "$BENCH_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DATABASE must be a plain lower-case name"
[ "$BENCH_DB" != "$(basename "${FILEFLEET_DATABASE_URL%%\?*}")" ] || die "BENCH_DATABASE must not be the dev database"
[ -x bin/filefleet ] || die "bin/filefleet is missing; run make build"
for tool in curl psql redis-cli; do
  command -v "$tool" >/dev/null || die "$tool is missing; run make services"
done

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

WORK="$(mktemp -d "/tmp/ffbench-$BENCH_NAME.XXXXXX")"
PIDS=()
FAILED=1 # set to 0 by the script once it has printed its results
CLAIMS=() OWNER="$BENCH_NAME-$$-$RANDOM$RANDOM"
claim_redis_db() { # claim_redis_db N: claims DB index N for this run, or fails
  [ "$(redis-cli -u "$LOCK_REDIS_URL" SET "filefleet:test:db:$1" "$OWNER" NX EX 7200)" = OK ] || return 1
  CLAIMS+=("$1")
}
# claim_redis_dbs N: claims N DB indexes (BENCH_REDIS_DB and the ones after it, or the highest
# free ones) and flushes them; they are in CLAIMS.
claim_redis_dbs() {
  local n=$1 i
  redis-cli -u "$LOCK_REDIS_URL" PING >/dev/null || die "Redis does not answer at $FILEFLEET_REDIS_URL; run make services"
  if [ -n "${BENCH_REDIS_DB:-}" ]; then
    [ "$BENCH_REDIS_DB" -ge 1 ] 2>/dev/null && [ "$BENCH_REDIS_DB" -le $((16 - n)) ] ||
      die "BENCH_REDIS_DB must be 1 to $((16 - n))"
    for i in $(seq "$BENCH_REDIS_DB" $((BENCH_REDIS_DB + n - 1))); do
      claim_redis_db "$i" || die "Redis DB $i is in use by a test or another bench"
    done
  else
    for i in $(seq 15 -1 1); do
      [ ${#CLAIMS[@]} = "$n" ] && break
      claim_redis_db "$i" || true
    done
    [ ${#CLAIMS[@]} = "$n" ] || die "no $n free Redis DB indexes (tests hold them); try again later"
  fi
  for i in "${CLAIMS[@]}"; do
    redis-cli -u "$(redis_url "$i")" FLUSHDB >/dev/null || die "cannot flush Redis DB $i"
  done
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
    echo "$BENCH_NAME: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg() { PGOPTIONS="-c client_min_messages=warning" psql "$FILEFLEET_DATABASE_URL" -v ON_ERROR_STOP=1 -qc "$1" >/dev/null; }
# recreate_db drops and creates the bench database.
recreate_db() {
  pg "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" && pg "CREATE DATABASE $BENCH_DB" ||
    die "cannot recreate database $BENCH_DB (the filefleet role needs CREATEDB)"
}

say "building scripts/benchtool"
go build -o "$WORK/benchtool" ./scripts/benchtool || die "cannot build scripts/benchtool"
BT="$WORK/benchtool"

median() { # median of the arguments
  printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'
}
field() { # field KEY LINE: the value of KEY=value in LINE
  local kv; for kv in $2; do [ "${kv%%=*}" = "$1" ] && { echo "${kv#*=}"; return; }; done
  die "no $1 in: $2"
}
calc() { awk "BEGIN {printf \"$1\n\", $2}"; }
load() { cut -d' ' -f1 /proc/loadavg; }

# api_key PASSWORD logs in as the bench's admin (made by the API from FILEFLEET_ADMIN_PASSWORD
# on its empty database) and exports FILEFLEET_API_KEY, which benchtool sends.
api_key() {
  local token key
  token="$(curl -fsS -XPOST "$API/auth/login" -d "{\"username\":\"admin\",\"password\":\"$1\"}" \
    | grep -o '"access_token":"[^"]*"' | cut -d'"' -f4)" || die "cannot log in to filefleet"
  key="$(curl -fsS -XPOST "$API/keys" -H "Authorization: Bearer $token" -d '{"name":"bench"}' \
    | grep -o '"key":"fo_[^"]*"' | cut -d'"' -f4)" || die "cannot create an API key"
  [ -n "$key" ] || die "no API key in the answer of POST /keys"
  export FILEFLEET_API_KEY="$key"
}

# start_filefleet REDIS_URL starts `filefleet all` (or api + WORKERS workers) on a free port
# with that Redis, the bench database and a random key, sets API and waits until it is ready.
API=""
ADMIN_PASSWORD="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" # one per run: the database may outlive a start
start_filefleet() {
  local port; port="$("$BT" freeport)"
  local key; key="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  local -a envs=(FILEFLEET_REDIS_URL="$1" FILEFLEET_DATABASE_URL="$FF_DATABASE_URL"
    FILEFLEET_SECRET_KEY="$key" FILEFLEET_HTTP_ADDR="127.0.0.1:$port"
    FILEFLEET_WORKER_CONCURRENCY="$CONC" FILEFLEET_LOG_LEVEL="$LOG_LEVEL"
    FILEFLEET_ADMIN_PASSWORD="$ADMIN_PASSWORD" FILEFLEET_RATE_LIMIT_API=0 FILEFLEET_RATE_LIMIT_SUBMIT=0)
  if [ "${WORKERS:-0}" = 0 ]; then
    env "${envs[@]}" bin/filefleet all >"$WORK/filefleet-all.log" 2>&1 &
    PIDS+=($!)
  else
    env "${envs[@]}" bin/filefleet api >"$WORK/filefleet-api.log" 2>&1 &
    PIDS+=($!)
    local i
    for i in $(seq "$WORKERS"); do
      env "${envs[@]}" bin/filefleet worker >"$WORK/filefleet-worker$i.log" 2>&1 &
      PIDS+=($!)
    done
  fi
  API="http://127.0.0.1:$port/api/v1"
  for _ in $(seq 150); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/ready" 2>/dev/null; then
      api_key "$ADMIN_PASSWORD"
      return 0
    fi
    local pid; for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null || die "filefleet exited; see $WORK/filefleet-*.log"; done
    sleep 0.2
  done
  die "filefleet was not ready within 30 s; see $WORK/filefleet-*.log"
}
