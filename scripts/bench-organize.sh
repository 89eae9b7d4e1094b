#!/usr/bin/env bash
# Benchmarks filefleet's organize execute beside its peers; run it after `make services build`,
# with the environment of `scripts/services.sh env`.
#
# One generated flat tree (benchtool gentree -flat: 20,000 files in one directory, 10 B to 64 KiB
# each, 13 extensions, some names with spaces; kept in BENCH_ORGANIZE_TREE) is organized
# by_extension ("x.jpg" → "jpg/x.jpg") in each run, from a fresh copy each time:
#
#   a. local disk: a filefleet organize scan of a new local root on a copy of the tree (not
#      timed: it catalogs the files and stores the plan), then its execute job, timed from
#      POST /organize/execute to the poll that sees it succeeded; beside a bash loop doing
#      `mkdir -p` + `mv -n` per file (two processes a file, as a script would) on another copy;
#   b. MinIO: the same on a new s3 root over a fresh prefix of the bucket (the upload and the scan
#      are not timed), beside `rclone move --files-from LIST bench:BUCKET/P bench:BUCKET/P/EXT`,
#      once per extension (13 invocations), with --transfers and --checkers equal to filefleet's
#      worker concurrency, and again with 16 of each. One remote for both ends, so rclone copies
#      server-side (HEAD, PUT with x-amz-copy-source, DELETE per file); --files-from looks each
#      file up instead of listing the 20,000 (a listing with --include-from is refused on
#      overlapping paths, and two remote names make rclone download and upload every file).
#      `rclone moveto` per file would start 20,000 processes.
#
# Both peers carry out exactly the moves of filefleet's plan: the list is taken from the plan of
# an untimed filefleet run, and every later plan must equal it. After every run the tree (the
# directory, or the listing of the prefix) must be the original with those moves applied: the
# same paths, as many files. Each contender works on a copy written just before it, so the
# local runs are warm-cache without a warm-up; only filefleet runs once untimed first (on the
# local tree: its plan is the reference). Each is run BENCH_RUNS times, alternating which goes
# first; the table shows medians. filefleet runs one `filefleet all`; each run uses a
# new root (dropped after it, so every run sees a catalog of the same size).
# It uses its own Redis DB index (claimed as the tests claim theirs, see scripts/bench-lib.sh,
# flushed, released at exit), its own PostgreSQL database (dropped and created again) and a
# random secret key. It writes a temporary directory of logs and tree copies, removed at exit
# unless the run fails or BENCH_KEEP=1.
#
# Knobs (environment): BENCH_RUNS=3 BENCH_CONCURRENCY=4 (FILEFLEET_WORKER_CONCURRENCY, and
# rclone's --transfers of the first rclone row) BENCH_ORGANIZE_FILES=20000 BENCH_ORGANIZE_SEED=1
# BENCH_ORGANIZE_TREE=~/.cache/filefleet/bench-organize-tree BENCH_ORGANIZE_BUCKET=ffbench-organize
# (the bench's own: emptied at start) BENCH_DATABASE=filefleet_bench_organize
# BENCH_REDIS_DB=N (default: the highest free index) BENCH_LOG_LEVEL=info BENCH_SKIP_LOCAL=1
# BENCH_SKIP_S3=1 BENCH_KEEP=1.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RUNS="${BENCH_RUNS:-3}"
CONC="${BENCH_CONCURRENCY:-4}"
NGEN="${BENCH_ORGANIZE_FILES:-20000}"
TREE="${BENCH_ORGANIZE_TREE:-$HOME/.cache/filefleet/bench-organize-tree}"
BUCKET="${BENCH_ORGANIZE_BUCKET:-ffbench-organize}"
BENCH_DB="${BENCH_DATABASE:-filefleet_bench_organize}"
LOG_LEVEL="${BENCH_LOG_LEVEL:-info}"
BENCH_NAME=bench-organize
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
[ "$NGEN" -ge 2 ] 2>/dev/null || die "BENCH_ORGANIZE_FILES must be a whole number ≥ 2"
# Small files: ~12 KiB on average (half of them below 8 KiB), none above 64 KiB.
GEN=(-flat -files "$NGEN" -bytes $((NGEN * 12288)) -max-size 65536 -seed "${BENCH_ORGANIZE_SEED:-1}")

if ! command -v rclone >/dev/null; then
  say "installing rclone (apt-get)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rclone; } >/dev/null 2>&1 \
    || die "could not install rclone; apt-get install rclone, then try again"
fi

# The tree (kept between runs; written only when missing or different) and what it must
# become: filled in by the warm-up, from filefleet's plan.
tree=$("$BT" gentree -dir "$TREE" "${GEN[@]}") || die "cannot write the tree under $TREE"
NFILES=$(field files "$tree") NBYTES=$(field bytes "$tree")
[ "$(find "$TREE" -mindepth 1 -type d | wc -l)" = 0 ] || die "$TREE is not flat"
(cd "$TREE" && find . -type f -printf '%P\n' | LC_ALL=C sort) >"$WORK/before.txt"
MOVES="$WORK/moves.tsv" WANT="$WORK/want.txt" TREES="$WORK/trees"
mkdir -p "$TREES" "$WORK/lists"

# rclone is configured from the environment only; AWS_CA_BUNDLE (set on some machines) makes
# its S3 backend fail even for http endpoints, so it is dropped.
export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Minio \
  RCLONE_CONFIG_BENCH_ENDPOINT="http://$S3_ENDPOINT" RCLONE_CONFIG_BENCH_ACCESS_KEY_ID="$S3_ACCESS_KEY" \
  RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY="$S3_SECRET_KEY"
rc() { env -u AWS_CA_BUNDLE rclone --config /dev/null "$@" </dev/null; }
S3FLAGS=(-endpoint "$S3_ENDPOINT" -access-key "$S3_ACCESS_KEY" -secret-key "$S3_SECRET_KEY" -bucket "$BUCKET")
if [ -z "${BENCH_SKIP_S3:-}" ]; then
  rc mkdir "bench:$BUCKET" 2>"$WORK/rclone.err" ||
    die "cannot reach bucket $BUCKET at $S3_ENDPOINT (restart MinIO: setsid scripts/services.sh all): $(tail -3 "$WORK/rclone.err")"
  rc delete "bench:$BUCKET" 2>"$WORK/rclone.err" || die "cannot empty bucket $BUCKET: $(tail -3 "$WORK/rclone.err")"
fi

# Fresh state: one Redis DB claimed and flushed, the bench database created anew.
claim_redis_dbs 1
recreate_db
start_filefleet "$(redis_url "${CLAIMS[0]}")"
NPROC=$(nproc)
say "filefleet all, worker concurrency $CONC; Redis DB ${CLAIMS[0]}, database $BENCH_DB; logs in $WORK"
say "tree: $NFILES files, $(calc %.1f "$NBYTES / 1048576") MiB in one directory; load average $(cut -d' ' -f1-3 /proc/loadavg) on $NPROC cores"

# fresh_local NAME: a new copy of the tree; prints its directory.
fresh_local() { cp -a "$TREE" "$TREES/$1" || die "cannot copy the tree to $TREES/$1"; echo "$TREES/$1"; }
# fresh_s3 PREFIX: the tree under PREFIX/ in the bucket.
fresh_s3() {
  "$BT" fillfromdir -dir "$TREE" "${S3FLAGS[@]}" -prefix "$1/" >"$WORK/fill.out" 2>"$WORK/fill.err" ||
    die "cannot upload the tree to $BUCKET/$1/: $(tail -3 "$WORK/fill.err")"
}
drop_s3() { rc purge "bench:$BUCKET/$1" 2>/dev/null || say "warning: cannot remove $BUCKET/$1/"; }
# check WHAT LISTING: the sorted listing must be the tree with the plan's moves applied.
check() {
  LC_ALL=C sort "$2" >"$2.sorted"
  cmp -s "$2.sorted" "$WANT" ||
    die "$1 left another tree than the plan's: $(wc -l <"$2.sorted") files, want $NFILES; compare $2.sorted with $WANT"
}
check_local() { (cd "$2" && find . -type f -printf '%P\n') >"$WORK/after.txt"; check "$1" "$WORK/after.txt"; }
check_s3() { rc lsf -R --files-only "bench:$BUCKET/$2" >"$WORK/after.txt" || die "cannot list $BUCKET/$2"; check "$1" "$WORK/after.txt"; }

local_spec() { printf '{"kind":"local","path":"%s"}' "$1"; }
s3_spec() {
  printf '{"kind":"s3","endpoint":"%s","bucket":"%s","prefix":"%s/","access_key":"%s","secret_key":"%s"}' \
    "$S3_ENDPOINT" "$BUCKET" "$1" "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
}
# ff KIND NAME: filefleet's organize scan (untimed) and execute (timed) on a fresh copy (a
# directory, or a prefix of the bucket) named NAME, through a new root of that name; checks the
# plan and the tree after it; prints benchtool's line.
ff() {
  local out spec dir=""
  case $1 in
    local) dir=$(fresh_local "$2"); spec=$(local_spec "$dir") ;;
    s3) fresh_s3 "$2"; spec=$(s3_spec "$2") ;;
  esac
  out=$("$BT" fforganize -api "$API" -root "$2" -spec "$spec" -methodology by_extension \
    -moves "$WORK/moves-$2.tsv") || die "filefleet organize on root $2 failed; see $WORK/filefleet-all.log"
  if [ ! -s "$MOVES" ]; then # the first run: its plan is the reference
    mv "$WORK/moves-$2.tsv" "$MOVES"
    awk -F'\t' 'NR == FNR {mv[$1] = $2; next} {print ($0 in mv) ? mv[$0] : $0}' "$MOVES" "$WORK/before.txt" |
      LC_ALL=C sort >"$WANT"
    [ "$(wc -l <"$WANT")" = "$NFILES" ] && [ "$(sort -u "$WANT" | wc -l)" = "$NFILES" ] ||
      die "the plan of root $2 would not keep $NFILES distinct files; see $MOVES"
  else
    cmp -s "$WORK/moves-$2.tsv" "$MOVES" || die "the plan of root $2 differs from the first one: diff $WORK/moves-$2.tsv $MOVES"
    rm -f "$WORK/moves-$2.tsv"
  fi
  case $1 in
    local) check_local "filefleet on $dir" "$dir"; rm -rf "$dir" ;;
    s3) check_s3 "filefleet on $BUCKET/$2" "$2"; drop_s3 "$2" ;;
  esac
  echo "$out"
}
# make_lists splits the plan's moves by destination directory for rclone --files-from: one
# list of source names per directory (the tree is flat and by_extension keeps names, so each
# move is NAME → DIR/NAME; anything else fails here).
make_lists() {
  awk -F'\t' -v lists="$WORK/lists" '
    { n = split($2, p, "/"); if (index($1, "/") || n != 2 || p[2] != $1) { print "cannot map " $1 " -> " $2 > "/dev/stderr"; exit 1 }
      print $1 > (lists "/" p[1]) }' "$MOVES" || die "the plan does not map NAME → DIR/NAME; see $MOVES"
}

# peer NAME RUN: runs a peer on a fresh copy, checks the tree after it, prints seconds. NAME is
# mv (local) or rcloneN (MinIO, --transfers and --checkers N).
peer() {
  local t0 t1 dir="" prefix="" d list dst src
  case $1 in
    mv) dir=$(fresh_local "peer-$2") ;;
    rclone*) prefix="peer-$2-$1"; fresh_s3 "$prefix" ;;
  esac
  t0=$(date +%s.%N)
  case $1 in
    mv) while IFS=$'\t' read -r src dst; do
        d=${dst%/*}; [ "$d" = "$dst" ] && d=.
        mkdir -p -- "$dir/$d" && mv -n -- "$dir/$src" "$dir/$dst" || die "mv $src $dst failed"
      done <"$MOVES" ;;
    rclone*) for list in "$WORK/lists"/*; do
        rc move --files-from "$list" "bench:$BUCKET/$prefix" "bench:$BUCKET/$prefix/${list##*/}" \
          --transfers "${1#rclone}" --checkers "${1#rclone}" 2>>"$WORK/peer.err" || die "rclone move failed: $(tail -3 "$WORK/peer.err")"
      done ;;
  esac
  t1=$(date +%s.%N)
  case $1 in
    mv) check_local "the mv loop on $dir" "$dir"; rm -rf "$dir" ;;
    rclone*) check_s3 "$1 on $BUCKET/$prefix" "$prefix"; drop_s3 "$prefix" ;;
  esac
  calc %.3f "$t1 - $t0"
}

# Warm-up, untimed: filefleet's first plan gives the moves every peer makes.
say "warm-up: filefleet once on the local tree, untimed"
ff local warm-local >/dev/null
make_lists
NMOVES=$(wc -l <"$MOVES") NLISTS=$(find "$WORK/lists" -type f | wc -l)
say "the plan moves $NMOVES files into $NLISTS directories"

ROWS=() NOTES=()
fps() { calc %.0f "$NMOVES / $1"; }
LABEL="$NMOVES moves, $(calc %.1f "$NBYTES / 1048576") MiB"

if [ -z "${BENCH_SKIP_LOCAL:-}" ]; then
  ff_t=() mv_t=()
  for run in $(seq "$RUNS"); do
    l0=$(load)
    if [ $((run % 2)) = 1 ]; then out=$(ff local "org-local-$run"); pm=$(peer mv "$run")
    else pm=$(peer mv "$run"); out=$(ff local "org-local-$run"); fi
    ff_t+=("$(field seconds "$out")") mv_t+=("$pm")
    say "local run $run/$RUNS: filefleet $(field seconds "$out")s ($(field files_per_s "$out") files/s; job $(field server_seconds "$out")s, the untimed scan $(field scan_seconds "$out")s), mv loop ${pm}s; load $l0 → $(load)"
  done
  f=$(median "${ff_t[@]}") p=$(median "${mv_t[@]}")
  ROWS+=("organize execute, local disk, $LABEL|filefleet execute job (concurrency $CONC)|$(calc %.2f "$f")|$(fps "$f")|—|${ff_t[*]}")
  ROWS+=("organize execute, local disk, $LABEL|bash loop: mkdir -p + mv -n per file|$(calc %.2f "$p")|$(fps "$p")|$(calc %.2f "$f / $p")|${mv_t[*]}")
  NOTES+=("local: filefleet's last execute job ran $(field server_seconds "$out")s of its $(field seconds "$out")s (started → finished); the untimed organize scan before it took $(field scan_seconds "$out")s.")
fi

if [ -z "${BENCH_SKIP_S3:-}" ]; then
  ff_t=() r1_t=() r16_t=()
  for run in $(seq "$RUNS"); do
    l0=$(load)
    if [ $((run % 2)) = 1 ]; then
      out=$(ff s3 "org-s3-$run"); r1=$(peer "rclone$CONC" "$run"); r16=$(peer rclone16 "$run")
    else
      r16=$(peer rclone16 "$run"); r1=$(peer "rclone$CONC" "$run"); out=$(ff s3 "org-s3-$run")
    fi
    ff_t+=("$(field seconds "$out")") r1_t+=("$r1") r16_t+=("$r16")
    say "MinIO run $run/$RUNS: filefleet $(field seconds "$out")s ($(field files_per_s "$out") files/s; job $(field server_seconds "$out")s, the untimed scan $(field scan_seconds "$out")s), rclone --transfers $CONC ${r1}s, --transfers 16 ${r16}s; load $l0 → $(load)"
  done
  f=$(median "${ff_t[@]}") r1=$(median "${r1_t[@]}") r16=$(median "${r16_t[@]}")
  ROWS+=("organize execute, MinIO, $LABEL|filefleet execute job (concurrency $CONC)|$(calc %.2f "$f")|$(fps "$f")|—|${ff_t[*]}")
  ROWS+=("organize execute, MinIO, $LABEL|rclone move --files-from, --transfers $CONC --checkers $CONC|$(calc %.2f "$r1")|$(fps "$r1")|$(calc %.2f "$f / $r1")|${r1_t[*]}")
  ROWS+=("organize execute, MinIO, $LABEL|rclone move --files-from, --transfers 16 --checkers 16|$(calc %.2f "$r16")|$(fps "$r16")|$(calc %.2f "$f / $r16")|${r16_t[*]}")
  NOTES+=("MinIO: rclone runs once per destination directory ($NLISTS); filefleet's last execute job ran $(field server_seconds "$out")s of its $(field seconds "$out")s; the untimed organize scan before it took $(field scan_seconds "$out")s.")
fi

echo
echo "filefleet $(bin/filefleet version | awk '{print $2}'), one \`filefleet all\`, worker concurrency $CONC; medians of $RUNS runs; $NPROC cores, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Tree: $NFILES files, $NBYTES bytes, flat, organized by_extension into $NLISTS directories (benchtool gentree ${GEN[*]}). Every contender makes the same $NMOVES moves, each on a fresh copy; the tree after it is checked."
echo
echo "| benchmark | contender | seconds | files/s | filefleet's time ÷ this peer's | runs (s) |"
echo "|---|---|---|---|---|---|"
for r in "${ROWS[@]}"; do echo "| ${r//|/ | } |"; done
echo
for note in "${NOTES[@]}"; do echo "- $note"; done
FAILED=0
