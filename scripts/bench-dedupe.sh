#!/usr/bin/env bash
# Benchmarks filefleet's dedupe scan and hashing beside their peers; run it after
# `make services build`, with the environment of `scripts/services.sh env`.
#
# On one generated tree (benchtool gentree: 20,000 files, 2 GiB, 20% of them copies of
# another file, some of the same size but other content, a few differing only in one middle
# byte), kept in BENCH_DEDUPE_TREE and copied into the bucket BENCH_DEDUPE_BUCKET:
#
#   a. local disk: a filefleet dedupe scan (POST /dedupe/scan on a new local root: the scan
#      into the catalog, then the hashing stages) beside `jdupes -r -q` and
#      `rdfind -dryrun true`;
#   b. MinIO: a filefleet dedupe scan of an s3 root beside
#      `rclone dedupe --dry-run --by-hash --dedupe-mode list` (rclone takes the MD5s from the
#      listing's ETags and reads no content, but reads each duplicate's modification time with
#      a HEAD request) and beside the same with --use-server-modtime (no HEAD: the listing only);
#   c. hashing: a filefleet hash job on a local root (the scan before it is not timed) beside
#      `b3sum --num-threads 1` over every file, and beside the same with --no-mmap (b3sum's
#      default memory-maps each file, which costs more in page faults than it saves here);
#      filefleet's figure per core is its MB/s divided by min(worker concurrency, cores).
#
# Each contender must find the tree's duplicate groups (known by construction), else the
# script fails. Every filefleet run uses a new root, so nothing is hashed already (roots are
# dropped after their run, so each run sees a catalog of the same size). The page cache cannot
# be dropped reliably here: every tool is run once untimed first, and all timed runs are
# warm-cache. Each is run BENCH_RUNS times, alternating the contenders; the table shows medians.
# It uses its own Redis DB index (claimed as the tests claim theirs, see scripts/bench.sh,
# flushed, released at exit), its own PostgreSQL database (dropped and created again) and a
# random secret key. It writes a temporary directory of logs, removed at exit unless the run
# fails or BENCH_KEEP=1.
#
# Knobs (environment): BENCH_RUNS=3 BENCH_CONCURRENCY=4 (FILEFLEET_WORKER_CONCURRENCY)
# BENCH_DEDUPE_TREE=~/.cache/filefleet/bench-dedupe-tree BENCH_DEDUPE_BUCKET=ffbench-dedupe
# (the bench's own: objects not in the tree are deleted) BENCH_DEDUPE_FILES=20000
# BENCH_DEDUPE_BYTES=2147483648 BENCH_DEDUPE_DUP_PERCENT=20 BENCH_DEDUPE_SEED=1
# BENCH_DATABASE=filefleet_bench_dedupe BENCH_REDIS_DB=N (default: the highest free index)
# BENCH_LOG_LEVEL=info BENCH_SKIP_LOCAL=1 BENCH_SKIP_S3=1 BENCH_SKIP_HASH=1 BENCH_KEEP=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RUNS="${BENCH_RUNS:-3}"
CONC="${BENCH_CONCURRENCY:-4}"
TREE="${BENCH_DEDUPE_TREE:-$HOME/.cache/filefleet/bench-dedupe-tree}"
BUCKET="${BENCH_DEDUPE_BUCKET:-ffbench-dedupe}"
GEN=(-files "${BENCH_DEDUPE_FILES:-20000}" -bytes "${BENCH_DEDUPE_BYTES:-2147483648}"
  -dup-percent "${BENCH_DEDUPE_DUP_PERCENT:-20}" -seed "${BENCH_DEDUPE_SEED:-1}")
BENCH_DB="${BENCH_DATABASE:-filefleet_bench_dedupe}"
LOG_LEVEL="${BENCH_LOG_LEVEL:-info}"
BENCH_NAME=bench-dedupe
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

# The peers, from Debian's packages. b3sum may be missing from a distribution: then the hashing
# row says so instead of failing the run.
missing=()
for pkg in jdupes rdfind rclone b3sum; do command -v "$pkg" >/dev/null || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (apt-get)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed; trying the package lists there are"
  for pkg in "${missing[@]}"; do
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$pkg" >/dev/null 2>&1 || true
  done
  for pkg in jdupes rdfind rclone; do
    command -v "$pkg" >/dev/null || die "could not install $pkg; apt-get install $pkg, then try again"
  done
fi
HAVE_B3SUM=1
command -v b3sum >/dev/null || { HAVE_B3SUM=0; say "b3sum could not be installed (apt-get install b3sum): the hashing row is skipped"; }

# The tree and the bucket (both kept between runs; written only when missing or different).
tree=$("$BT" gentree -dir "$TREE" "${GEN[@]}") || die "cannot write the tree under $TREE"
NFILES=$(field files "$tree") NBYTES=$(field bytes "$tree") NGROUPS=$(field groups "$tree") WASTED=$(field wasted "$tree")
S3FLAGS=(-endpoint "$S3_ENDPOINT" -access-key "$S3_ACCESS_KEY" -secret-key "$S3_SECRET_KEY" -bucket "$BUCKET")
if [ -z "${BENCH_SKIP_S3:-}" ]; then
  "$BT" fillfromdir -dir "$TREE" -prune "${S3FLAGS[@]}" >/dev/null || die "cannot copy the tree into bucket $BUCKET"
fi

# Fresh state: one Redis DB claimed and flushed, the bench database created anew.
claim_redis_dbs 1
recreate_db
start_filefleet "$(redis_url "${CLAIMS[0]}")"
NPROC=$(nproc)
PER_CORE=$((CONC < NPROC ? CONC : NPROC))
say "filefleet all, worker concurrency $CONC; Redis DB ${CLAIMS[0]}, database $BENCH_DB; logs in $WORK"
say "tree: $NFILES files, $(calc %.2f "$NBYTES / 1073741824") GiB, $NGROUPS duplicate groups; load average $(cut -d' ' -f1-3 /proc/loadavg) on $NPROC cores"

# rclone is configured from the environment only; AWS_CA_BUNDLE (set on some machines) makes
# its S3 backend fail even for http endpoints, so it is dropped.
export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Minio \
  RCLONE_CONFIG_BENCH_ENDPOINT="http://$S3_ENDPOINT" RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="$S3_ACCESS_KEY" \
  RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="$S3_SECRET_KEY"
local_spec=$(printf '{"kind":"local","path":"%s"}' "$TREE")
s3_spec=$(printf '{"kind":"s3","endpoint":"%s","bucket":"%s","access_key":"%s","secret_key":"%s"}' \
  "$S3_ENDPOINT" "$BUCKET" "$S3_ACCESS_KEY" "$S3_SECRET_KEY")

# peer NAME: runs one peer over the tree or the bucket, checks what it found, prints seconds.
# NAME is jdupes, rdfind, b3sum or rclone, the last two optionally followed by one more flag.
peer() {
  local t0 t1 got want=$NGROUPS
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086 # ${1#rclone}, ${1#b3sum}: one flag or nothing
  case $1 in
    jdupes) jdupes -r -q "$TREE" >"$WORK/peer.out" 2>"$WORK/peer.err" ;;
    rdfind) rdfind -dryrun true -outputname "$WORK/rdfind.txt" "$TREE" >"$WORK/peer.out" 2>"$WORK/peer.err" ;;
    rclone*) env -u AWS_CA_BUNDLE rclone --config /dev/null dedupe --dry-run --by-hash --dedupe-mode list \
      ${1#rclone} "bench:$BUCKET" </dev/null >"$WORK/peer.out" 2>"$WORK/peer.err" ;;
    b3sum*) find "$TREE" -type f -print0 | xargs -0 b3sum --num-threads 1 ${1#b3sum} >"$WORK/peer.out" 2>"$WORK/peer.err" ;;
  esac || die "$1 failed: $(tail -3 "$WORK/peer.err")"
  t1=$(date +%s.%N)
  case $1 in
    jdupes) got=$(awk 'NF == 0 {g++} END {print g + 0}' "$WORK/peer.out") ;; # groups end with a blank line
    rdfind) got=$(grep -c '^DUPTYPE_FIRST_OCCURRENCE ' "$WORK/rdfind.txt" || true) ;;
    rclone*) got=$(grep -Ec '^[0-9a-f]{32}: [0-9]+ duplicates$' "$WORK/peer.out" || true) ;;
    b3sum*) got=$(wc -l <"$WORK/peer.out") want=$NFILES ;;
  esac
  [ "$got" = "$want" ] || die "$1 found $got (duplicate groups, or files hashed for b3sum), want $want; see $WORK/peer.out"
  calc %.3f "$t1 - $t0"
}
# ff KIND NAME: runs a filefleet contender on a new root NAME; prints benchtool's line.
ff() {
  case $1 in
    local) "$BT" ffdedupe -api "$API" -root "$2" -spec "$local_spec" -expect-groups "$NGROUPS" -expect-wasted "$WASTED" ;;
    s3) "$BT" ffdedupe -api "$API" -root "$2" -spec "$s3_spec" -expect-groups "$NGROUPS" -expect-wasted "$WASTED" ;;
    hash) "$BT" ffhash -api "$API" -root "$2" -spec "$local_spec" -expect-bytes "$NBYTES" ;;
  esac || die "filefleet $1 run on root $2 failed; see $WORK/filefleet-all.log"
}

# Warm-up: every contender once, untimed.
say "warm-up: each tool once, untimed"
if [ -z "${BENCH_SKIP_LOCAL:-}" ]; then peer jdupes >/dev/null; peer rdfind >/dev/null; ff local warm-local >/dev/null; fi
if [ -z "${BENCH_SKIP_S3:-}" ]; then peer rclone >/dev/null; ff s3 warm-s3 >/dev/null; fi
if [ -z "${BENCH_SKIP_HASH:-}" ]; then
  if [ "$HAVE_B3SUM" = 1 ]; then peer b3sum >/dev/null; peer b3sum--no-mmap >/dev/null; fi
  ff hash warm-hash >/dev/null
fi

ROWS=() NOTES=()
verdict() { awk "BEGIN {print ($1) ? \"met\" : \"MISSED\"}"; }
mib() { calc %.0f "$1 / 1048576"; }
LABEL="$NFILES files, $(calc %.2f "$NBYTES / 1073741824") GiB"

if [ -z "${BENCH_SKIP_LOCAL:-}" ]; then
  ff_t=() jd_t=() rd_t=()
  for run in $(seq "$RUNS"); do
    l0=$(load)
    jd=$(peer jdupes)
    rd=$(peer rdfind)
    out=$(ff local "dedupe-local-$run")
    ff_t+=("$(field seconds "$out")") jd_t+=("$jd") rd_t+=("$rd")
    say "local run $run/$RUNS: jdupes ${jd}s, rdfind ${rd}s, filefleet $(field seconds "$out")s (job $(field server_seconds "$out")s; read $(mib "$(field bytes_read_partial "$out")") MiB partial + $(mib "$(field bytes_read_full "$out")") MiB full); load $l0 → $(load)"
  done
  f=$(median "${ff_t[@]}") j=$(median "${jd_t[@]}") r=$(median "${rd_t[@]}")
  ROWS+=("dedupe scan, local disk, $LABEL (s)|$(calc %.2f "$f")|$(calc %.2f "$j") (jdupes -r)|$(calc %.2f "$f / $j")|< 1|$(verdict "$f < $j")|${ff_t[*]} / ${jd_t[*]}")
  ROWS+=("dedupe scan, local disk, $LABEL (s)|$(calc %.2f "$f")|$(calc %.2f "$r") (rdfind -dryrun true)|$(calc %.2f "$f / $r")|< 1|$(verdict "$f < $r")|${ff_t[*]} / ${rd_t[*]}")
  NOTES+=("local: filefleet's last run read $(mib "$(field bytes_read_partial "$out")") MiB in the partial stage ($(field files_read_partial "$out") files) and $(mib "$(field bytes_read_full "$out")") MiB in the full stage ($(field files_read_full "$out") files), of $(mib "$NBYTES") MiB; $(field candidates "$out") size candidates.")
fi

if [ -z "${BENCH_SKIP_S3:-}" ]; then
  ff_t=() rc_t=() rs_t=()
  for run in $(seq "$RUNS"); do
    l0=$(load)
    rc=$(peer rclone)
    rs=$(peer "rclone--use-server-modtime")
    out=$(ff s3 "dedupe-s3-$run")
    ff_t+=("$(field seconds "$out")") rc_t+=("$rc") rs_t+=("$rs")
    say "MinIO run $run/$RUNS: rclone ${rc}s, rclone --use-server-modtime ${rs}s, filefleet $(field seconds "$out")s (job $(field server_seconds "$out")s; read $(mib "$(field bytes_read_partial "$out")") MiB partial + $(mib "$(field bytes_read_full "$out")") MiB full); load $l0 → $(load)"
  done
  f=$(median "${ff_t[@]}") r=$(median "${rc_t[@]}") rs=$(median "${rs_t[@]}")
  ROWS+=("dedupe scan, MinIO, $LABEL (s)|$(calc %.2f "$f")|$(calc %.2f "$r") (rclone dedupe --by-hash)|$(calc %.2f "$f / $r")|< 1|$(verdict "$f < $r")|${ff_t[*]} / ${rc_t[*]}")
  ROWS+=("dedupe scan, MinIO, $LABEL (s)|$(calc %.2f "$f")|$(calc %.2f "$rs") (rclone dedupe --by-hash --use-server-modtime)|$(calc %.2f "$f / $rs")|< 1 (stricter)|$(verdict "$f < $rs")|${ff_t[*]} / ${rs_t[*]}")
  NOTES+=("MinIO: rclone groups by the MD5 ETags of its listing and reads no object; by default it then sends a HEAD per duplicate for its modification time, which --use-server-modtime skips. filefleet's last run read $(mib "$(field bytes_read_partial "$out")") MiB partial + $(mib "$(field bytes_read_full "$out")") MiB full.")
fi

if [ -z "${BENCH_SKIP_HASH:-}" ]; then
  ff_r=() b3_r=() bn_r=()
  for run in $(seq "$RUNS"); do
    l0=$(load) b3="not run" bn="not run"
    if [ "$HAVE_B3SUM" = 1 ]; then
      b3=$(peer b3sum) bn=$(peer b3sum--no-mmap)
      b3="$(calc %.1f "$NBYTES / 1e6 / $b3") MB/s (${b3}s)" bn="$(calc %.1f "$NBYTES / 1e6 / $bn") MB/s (${bn}s)"
      b3_r+=("${b3%% *}") bn_r+=("${bn%% *}")
    fi
    out=$(ff hash "hash-local-$run")
    ff_r+=("$(field mb_per_s "$out")")
    say "hash run $run/$RUNS: b3sum $b3, b3sum --no-mmap $bn, filefleet $(field mb_per_s "$out") MB/s ($(field seconds "$out")s, job $(field server_seconds "$out")s; the untimed scan before it $(field scan_seconds "$out")s); load $l0 → $(load)"
  done
  f=$(median "${ff_r[@]}") fc=$(calc %.1f "$(median "${ff_r[@]}") / $PER_CORE")
  if [ "$HAVE_B3SUM" = 1 ]; then
    b=$(median "${b3_r[@]}") bn=$(median "${bn_r[@]}")
    ROWS+=("hashing (BLAKE3), local disk (MB/s per core, higher is better)|$fc ($(calc %.0f "$f") MB/s ÷ $PER_CORE)|$(calc %.1f "$b") (b3sum --num-threads 1)|$(calc %.2f "$fc / $b")|≥ 0.9|$(verdict "$fc >= 0.9 * $b")|${ff_r[*]} / ${b3_r[*]}")
    ROWS+=("hashing (BLAKE3), local disk (MB/s per core, higher is better)|$fc ($(calc %.0f "$f") MB/s ÷ $PER_CORE)|$(calc %.1f "$bn") (b3sum --num-threads 1 --no-mmap)|$(calc %.2f "$fc / $bn")|≥ 0.9 (stricter)|$(verdict "$fc >= 0.9 * $bn")|${ff_r[*]} / ${bn_r[*]}")
  else
    ROWS+=("hashing (BLAKE3), local disk (MB/s per core, higher is better)|$fc ($(calc %.0f "$f") MB/s ÷ $PER_CORE)|— (b3sum not installable here)|—|≥ 0.9|not measured|${ff_r[*]}")
  fi
  NOTES+=("hashing: filefleet's MB/s (bytes read by the hash job ÷ submit-to-succeeded time) per core is divided by min(worker concurrency $CONC, $NPROC cores) = $PER_CORE; b3sum runs on one thread over all $NFILES files (find -print0 | xargs -0); by default it memory-maps each file, --no-mmap reads it. The scan job before filefleet's last hash job (not timed; part of every dedupe scan) took $(field scan_seconds "$out")s.")
fi

echo
echo "filefleet $(bin/filefleet version | awk '{print $2}'), one \`filefleet all\`, worker concurrency $CONC; medians of $RUNS runs; $NPROC cores, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Tree: $NFILES files, $NBYTES bytes, $NGROUPS duplicate groups, $WASTED bytes wasted (benchtool gentree ${GEN[*]}). All runs are warm-cache: the page cache is not dropped, and each tool ran once untimed first."
echo
echo "| benchmark | filefleet | peer | ratio filefleet/peer | target | verdict | runs (filefleet / peer) |"
echo "|---|---|---|---|---|---|---|"
for row in "${ROWS[@]}"; do echo "| ${row//|/ | } |"; done
echo
for note in "${NOTES[@]}"; do echo "- $note"; done
FAILED=0
