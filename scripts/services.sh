#!/usr/bin/env bash
# Makes sure Redis, PostgreSQL, MinIO and Samba answer on loopback for filefleet: uses running servers,
# otherwise installs them (Debian packages; MinIO built from its Go module at a pinned version)
# and starts them. Idempotent and quiet on success; says what failed and what to do otherwise.
set -euo pipefail

CACHE="${FILEFLEET_CACHE:-$HOME/.cache/filefleet}"
MINIO_VERSION="v0.0.0-20260212201848-7aac2a2c5b7c" # github.com/minio/minio, 2026-02-12
MINIO_ADDR="${FILEFLEET_MINIO_ADDR:-127.0.0.1:9000}"
MINIO_USER="${FILEFLEET_MINIO_USER:-filefleet}"
MINIO_PASSWORD="${FILEFLEET_MINIO_PASSWORD:-filefleet-secret}"
PG_USER=filefleet PG_PASSWORD=filefleet PG_DB=filefleet
SMB_PORT="${FILEFLEET_SMB_PORT:-4445}"
SMB_USER=fftest SMB_PASSWORD=fftest-pass
# Outside $HOME: the share user must be able to reach its directories.
SMB_STATE="${FILEFLEET_SMB_STATE:-/var/tmp/filefleet-samba}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$CACHE/bin" "$CACHE/log"

die() { echo "services: $*" >&2; exit 1; }
log() { [ -n "${VERBOSE:-}" ] && echo "services: $*" >&2 || true; }

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    $SUDO apt-get update -qq >"$CACHE/log/apt.log" 2>&1 || die "apt-get update failed (see $CACHE/log/apt.log)"
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >>"$CACHE/log/apt.log" 2>&1 \
    || die "apt-get install $* failed (see $CACHE/log/apt.log)"
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  for _ in $(seq $((secs * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$what did not come up within ${secs}s"
}

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
ensure_redis() {
  command -v redis-cli >/dev/null || apt_install redis-server redis-tools
  redis_up && return 0
  log "starting redis"
  mkdir -p "$CACHE/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$CACHE/redis" --logfile "$CACHE/log/redis.log" >/dev/null
  wait_for 15 "redis on 127.0.0.1:6379 (log: $CACHE/log/redis.log)" redis_up
}

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
pg_admin() { # runs psql as a superuser: over TCP when trusted, else as the postgres OS user
  if psql -h 127.0.0.1 -U postgres -d postgres -tAc 'select 1' >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 -tAq "$@"
  else
    (cd / && $SUDO runuser -u postgres -- psql -d postgres -v ON_ERROR_STOP=1 -tAq "$@")
  fi
}
ensure_postgres() {
  command -v pg_isready >/dev/null || apt_install postgresql postgresql-client
  if ! pg_up; then
    log "starting postgresql"
    [ -d /etc/postgresql ] || apt_install postgresql
    local ver; ver=$(ls /etc/postgresql | sort -V | tail -1)
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start >/dev/null 2>&1 || true
    wait_for 30 "postgresql on 127.0.0.1:5432" pg_up
  fi
  # The filefleet role may create databases (each test package makes its own).
  if ! PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -U $PG_USER -d $PG_DB -tAc 'select 1' >/dev/null 2>&1; then
    log "creating role and database $PG_DB"
    pg_admin -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='$PG_USER') THEN CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'; END IF; END\$\$;" \
      || die "could not create the $PG_USER role"
    pg_admin -c "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1 \
      || pg_admin -c "CREATE DATABASE $PG_DB OWNER $PG_USER" || die "could not create database $PG_DB"
    PGPASSWORD=$PG_PASSWORD psql -h 127.0.0.1 -U $PG_USER -d $PG_DB -tAc 'select 1' >/dev/null 2>&1 \
      || die "cannot log in to postgresql as $PG_USER; check pg_hba.conf allows password logins on 127.0.0.1"
  fi
}

minio_up() { curl -fsS -o /dev/null "http://$MINIO_ADDR/minio/health/live" 2>/dev/null; }
ensure_minio() {
  command -v curl >/dev/null || apt_install curl
  minio_up && return 0
  local bin="$CACHE/bin/minio-$MINIO_VERSION"
  if [ ! -x "$bin" ]; then
    echo "services: building MinIO server $MINIO_VERSION once (a few minutes)..." >&2
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && GOBIN="$tmp" GOFLAGS=-mod=mod go install "github.com/minio/minio@$MINIO_VERSION") \
      >"$CACHE/log/minio-build.log" 2>&1 || die "building minio failed (see $CACHE/log/minio-build.log)"
    mv "$tmp/minio" "$bin"; rm -rf "$tmp"
  fi
  log "starting minio"
  mkdir -p "$CACHE/minio-data"
  MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_PASSWORD MINIO_BROWSER=off \
    nohup "$bin" server --quiet --address "$MINIO_ADDR" "$CACHE/minio-data" \
    >"$CACHE/log/minio.log" 2>&1 &
  wait_for 60 "minio on $MINIO_ADDR (log: $CACHE/log/minio.log)" minio_up
}

smb_up() { smbclient -L 127.0.0.1 -p "$SMB_PORT" -U "$SMB_USER%$SMB_PASSWORD" -m SMB3 >/dev/null 2>&1; }
ensure_samba() {
  command -v smbd >/dev/null && command -v smbclient >/dev/null || apt_install samba smbclient
  smb_up && return 0
  local state="$SMB_STATE"
  mkdir -p "$state"/{private,lock,state,cache,run,ncalrpc,share,share-ro}
  sed -e "s#@STATE@#$state#g" -e "s#@PORT@#$SMB_PORT#g" -e "s#@USER@#$SMB_USER#g" \
    "$HERE/samba/smb.conf.in" >"$state/smb.conf"
  id "$SMB_USER" >/dev/null 2>&1 || $SUDO useradd -M -s /usr/sbin/nologin "$SMB_USER"
  chmod 755 "$state"
  chown -R "$SMB_USER" "$state/share"
  printf '%s\n%s\n' "$SMB_PASSWORD" "$SMB_PASSWORD" | $SUDO smbpasswd -c "$state/smb.conf" -a -s "$SMB_USER" >/dev/null \
    || die "could not add the samba user $SMB_USER"
  if [ -f "$state/run/smbd.pid" ]; then kill "$(cat "$state/run/smbd.pid")" 2>/dev/null || true; fi
  log "starting samba"
  $SUDO smbd -D -s "$state/smb.conf" || die "smbd failed to start (logs: $state/log.*)"
  wait_for 30 "samba on 127.0.0.1:$SMB_PORT (logs: $state/log.*)" smb_up
}

# Chromium is only for the web UI's browser test (e2e/ui_test.go); nothing to start.
ensure_chromium() { [ -x /usr/bin/chromium ] || apt_install chromium; }
# Conversions: ffmpeg/ffprobe for media, pdftotext (poppler-utils) for documents.
ensure_media_tools() {
  local missing=()
  command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || missing+=(ffmpeg)
  command -v pdftotext >/dev/null || missing+=(poppler-utils)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

case "${1:-all}" in
  redis) ensure_redis ;;
  postgres) ensure_postgres ;;
  minio) ensure_minio ;;
  samba) ensure_samba ;;
  all) ensure_redis; ensure_postgres; ensure_minio; ensure_samba; ensure_chromium; ensure_media_tools ;;
  env) # prints the environment that points filefleet and its tests at these servers
    echo "export FILEFLEET_REDIS_URL=redis://127.0.0.1:6379/0"
    echo "export FILEFLEET_DATABASE_URL=postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:5432/$PG_DB?sslmode=disable"
    echo "export FILEFLEET_TEST_S3_ENDPOINT=$MINIO_ADDR FILEFLEET_TEST_S3_ACCESS_KEY=$MINIO_USER FILEFLEET_TEST_S3_SECRET_KEY=$MINIO_PASSWORD"
    echo "export FILEFLEET_TEST_SMB_ADDR=127.0.0.1:$SMB_PORT FILEFLEET_TEST_SMB_USER=$SMB_USER FILEFLEET_TEST_SMB_PASSWORD=$SMB_PASSWORD FILEFLEET_TEST_SMB_SHARE=data FILEFLEET_TEST_SMB_DIR=$SMB_STATE/share"
    ;;
  *) die "usage: $0 [all|redis|postgres|minio|samba|env]" ;;
esac
