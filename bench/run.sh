#!/usr/bin/env bash
# Load benchmark of the participation hot path against the database's own ceiling (issue 8). Loopback only.
#
#   bench/run.sh [--quick | --focus] [--no-doc] [--label TEXT]
#
#   (default)  full run, about 16 min (quiet machine): pgbench ceiling at 8/16/32 clients, cold start, every scenario
#              (new participants at 8/32/64 connections, returning, over-limit, replay storm, mix) for HS256 and
#              RS256 on one API process, then the key scenarios on three API processes sharing the database, then
#              the ceiling and the headline (new participants, 32 connections) again
#   --quick    about 5 min: shorter ceiling and runs, one API process, the key scenarios at 32 connections
#   --focus    the ceiling and "new participants" at 32 connections (HS256, RS256) only: for A/B of a setting
#   --cap      the cost of the campaign-wide cap: new participants on an uncapped campaign, on a capped one (the cap
#              far away) and racing for the last 2,000 places, HS256 at 32 connections, each twice, interleaved
#   --no-doc   leave docs/benchmarks.md alone (results still go to bench/results/)
#   --label    a note stored with the results (e.g. the setting under test)
#
# Environment (for experiments; the documented figures use none of them):
#   BENCH_API_ENV    extra environment of the API processes, e.g. "DOTNET_TieredPGO=0 DOTNET_gcServer=0"
#   BENCH_NPGSQL     appended to the API's connection string, e.g. "Maximum Pool Size=40;No Reset On Close=true"
#   BENCH_PG_SETTINGS  extra PostgreSQL settings, space-separated, e.g. "autovacuum=off"
#   BENCH_PG_BIN     PostgreSQL server binaries (default: highest /usr/lib/postgresql/*/bin)
#   BENCH_SKIP_BUILD=1  use the Release build already in artifacts/
#   BENCH_FOCUS_ALGS  the runs of --focus, in order (default "hs256 rs256"), e.g. "rs256 hs256 rs256 hs256" to see
#                    whether a figure depends on the algorithm or on how many runs came before it
#
# It starts its own throwaway PostgreSQL cluster (same settings for every figure), builds and starts the API in
# Release, creates accounts and campaigns through the management API, mints every token before the measured windows
# (bench/Participation.Bench.Tokens), drives load with wrk and bench/participations.lua, and checks after each run
# that the database holds exactly what the load generator was told (MISMATCH and a non-zero exit otherwise).
# Results: bench/results/<stamp>/ (git-ignored) and the generated part of docs/benchmarks.md.
set -Eeuo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

MODE=full
WRITE_DOC=1
LABEL=""
ORIGINAL_ARGS="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) MODE=quick ;;
    --focus) MODE=focus ;;
    --cap) MODE=cap ;;
    --no-doc) WRITE_DOC=0 ;;
    --label) LABEL="${2:-}"; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

case "$MODE" in
  full) PGBENCH_SECONDS=15; RUN_SECONDS=15; WARMUP_SECONDS=30 ;;
  quick) PGBENCH_SECONDS=8; RUN_SECONDS=8; WARMUP_SECONDS=8 ;;
  focus|cap) PGBENCH_SECONDS=15; RUN_SECONDS=15; WARMUP_SECONDS=30 ;;
esac
CAPFULL_PLACES=2000

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RESULTS="$ROOT/bench/results/$STAMP-$MODE"
mkdir -p "$RESULTS/runs" "$RESULTS/logs"
WORK="$(mktemp -d /tmp/participation-bench.XXXXXX)"
chmod 755 "$WORK"
echo "$$" > "$WORK/owner.pid"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---- cleanup: every process this script started, by PID, and the cluster ----------------------------------------
API_PIDS=()
API_PORTS=()
PG_KEEPALIVE=""
PG_PID=""
cleanup() {
  local status=$?
  set +e
  for pid in "${API_PIDS[@]}"; do stop_pid "$pid" TERM 20; done
  if [ -n "$PG_KEEPALIVE" ]; then
    # The wrapper around postgres stops it (fast shutdown) when this pipe closes.
    eval "exec $PG_KEEPALIVE>&-"
    PG_KEEPALIVE=""
  fi
  if [ -n "$PG_PID" ]; then
    for _ in $(seq 1 150); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PG_PID" 2>/dev/null && kill -QUIT "$PG_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

stop_pid() { # pid signal seconds
  local pid=$1 signal=$2 seconds=$3
  kill -0 "$pid" 2>/dev/null || return 0
  kill "-$signal" "$pid" 2>/dev/null
  for _ in $(seq 1 $((seconds * 10))); do kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

# Clusters and API processes left by a run that was killed (SIGKILL skips the trap): the wrapper already stopped
# their postgres when our pipe closed; API processes recorded in api.pids are stopped if they still run our build.
sweep_stale() {
  local dir owner pid
  for dir in /tmp/participation-bench.*; do
    [ -d "$dir" ] && [ "$dir" != "$WORK" ] || continue
    owner="$(cat "$dir/owner.pid" 2>/dev/null || echo)"
    if [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null; then continue; fi
    while read -r pid; do
      [ -n "$pid" ] && grep -q 'Participation.Api.dll' "/proc/$pid/cmdline" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
    done < <(cat "$dir/api.pids" 2>/dev/null)
    log "removing the stale bench folder $dir"
    rm -rf "$dir"
  done
}

# ---- prerequisites -------------------------------------------------------------------------------------------
need_package() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (Debian package)"
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

find_pg_bin() {
  if [ -n "${BENCH_PG_BIN:-}" ]; then echo "$BENCH_PG_BIN"; return; fi
  local best="" dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    [ -x "$dir/postgres" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pgbench" ] && best="$dir"
  done
  [ -n "$best" ] || die "no PostgreSQL server binaries (apt-get install postgresql), or set BENCH_PG_BIN"
  echo "$best"
}

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  die "no free port"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- CPU accounting from /proc (clock ticks, USER_HZ) ------------------------------------------------------------
HZ="$(getconf CLK_TCK)"
proc_ticks() { # pid [with_children]: utime+stime (+cutime+cstime)
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }
  stat="${stat##*) }"
  # shellcheck disable=SC2086
  set -- $stat
  if [ "${2:-}" = children ]; then echo $((${12} + ${13} + ${14} + ${15})); else echo $((${12} + ${13})); fi
}
proc_ticks_c() { local stat; stat="$(cat "/proc/$1/stat" 2>/dev/null)" || { echo 0; return; }; stat="${stat##*) }"; set -- $stat; echo $((${12} + ${13} + ${14} + ${15})); }
# PostgreSQL's CPU between two snapshots: the postmaster's own ticks and those of its reaped children (cutime, a
# backend's whole life once it exited), plus each live backend's ticks keyed by pid and start time. A backend seen in
# the first snapshot that is gone in the second contributes its final ticks through cutime, minus what it had at the
# first snapshot.
pg_snapshot() { # file
  local child stat
  {
    echo "postmaster $(proc_ticks_c "$PG_PID")"
    for child in $(ps -o pid= --ppid "$PG_PID"); do
      stat="$(cat "/proc/$child/stat" 2>/dev/null)" || continue
      stat="${stat##*) }"
      # shellcheck disable=SC2086
      set -- $stat
      echo "$child:${20} $((${12} + ${13}))"
    done
  } > "$1"
}
pg_ticks_between() { # snapshot1 snapshot2
  awk 'FNR == NR { first[$1] = $2; next }
       { second[$1] = $2 }
       END {
         total = second["postmaster"] - first["postmaster"]
         for (k in second) if (k != "postmaster") total += second[k] - ((k in first) ? first[k] : 0)
         for (k in first) if (k != "postmaster" && !(k in second)) total -= first[k]
         print total }' "$1" "$2"
}
api_ticks() { local total=0 pid; for pid in "${API_PIDS[@]}"; do total=$((total + $(proc_ticks_c "$pid"))); done; echo "$total"; }
api_rss_kb() { local total=0 pid kb; for pid in "${API_PIDS[@]}"; do kb="$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"; total=$((total + ${kb:-0})); done; echo "$total"; }
api_hwm_kb() { local total=0 pid kb; for pid in "${API_PIDS[@]}"; do kb="$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"; total=$((total + ${kb:-0})); done; echo "$total"; }
machine_ticks() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $5+$6; exit}' /proc/stat; } # "busy idle"
# User+sys of this shell's reaped children (wrk), in ticks, into the named variable: `times` must run in this shell,
# not in a $(...) subshell, which has children of its own.
children_ticks() { # variable
  times > "$WORK/times"
  printf -v "$1" '%s' "$(awk -v hz="$HZ" 'NR == 2 {
    split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d\n", ((u[1] * 60 + u[2]) + (s[1] * 60 + s[2])) * hz }' "$WORK/times")"
}

# ---- PostgreSQL: a throwaway cluster, the same settings for every figure -----------------------------------------
PG_BIN="$(find_pg_bin)"
PG_SETTINGS=(
  -c listen_addresses=127.0.0.1
  -c max_connections=400
  -c shared_buffers=256MB
  -c shared_preload_libraries=pg_stat_statements
  -c pg_stat_statements.track=all
  -c log_min_messages=warning
)
# Experiments only (documented figures use none): extra server settings, e.g. BENCH_PG_SETTINGS="autovacuum=off".
for setting in ${BENCH_PG_SETTINGS:-}; do PG_SETTINGS+=(-c "$setting"); done
# Durability: PostgreSQL's defaults (fsync, synchronous_commit and full_page_writes on), as in production.

start_postgres() {
  local as_pg=() pgdir="$WORK/pg"
  mkdir -p "$pgdir"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "as root the server runs as the postgres OS user, which does not exist"
    chown postgres:postgres "$pgdir"
    as_pg=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  fi
  (cd "$pgdir" && "${as_pg[@]}" "$PG_BIN/initdb" -D "$pgdir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync --no-instructions >"$pgdir/initdb.log" 2>&1) || { cat "$pgdir/initdb.log" >&2; die "initdb failed"; }
  for attempt in 1 2 3 4 5; do
    PG_PORT="$(free_port)"
    # The server's wrapper holds our pipe: when this script ends, even by SIGKILL, cat sees end-of-file and the
    # wrapper stops the server (fast shutdown).
    exec {PG_KEEPALIVE}> >(cd "$pgdir" && exec "${as_pg[@]}" /bin/sh -c \
      '"$@" </dev/null >>server.log 2>&1 & pid=$!; cat >/dev/null; kill -INT $pid; wait $pid' sh \
      "$PG_BIN/postgres" -D "$pgdir/data" -p "$PG_PORT" -k "" "${PG_SETTINGS[@]}")
    for _ in $(seq 1 300); do
      if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; then
        PG_PID="$(head -1 "$pgdir/data/postmaster.pid")"
        return 0
      fi
      sleep 0.05
    done
    log "postgres did not start on port $PG_PORT (attempt $attempt): $(tail -3 "$pgdir/server.log" 2>/dev/null)"
    eval "exec $PG_KEEPALIVE>&-"
    PG_KEEPALIVE=""
    sleep 1
  done
  die "postgres did not start"
}

psql_db() { # database sql
  "$PG_BIN/psql" -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$1" -Atq -v ON_ERROR_STOP=1 -c "$2"
}
sql() { psql_db participation "$1"; }

# ---- the ceiling: pgbench, one-row insert per transaction -------------------------------------------------------
measure_ceiling() { # label (start, end)
  psql_db postgres "create database ceiling"
  psql_db ceiling "create table ceiling_rows (id bigserial primary key, a text not null, b text not null)"
  cat > "$WORK/ceiling.sql" <<'SQL'
insert into ceiling_rows (a, b) values (md5(random()::text), md5(random()::text));
SQL
  local clients tps best=0 rows="[]"
  for clients in 8 16 32; do
    tps="$("$PG_BIN/pgbench" -h 127.0.0.1 -p "$PG_PORT" -U postgres -n -j 2 -c "$clients" -T "$PGBENCH_SECONDS" \
      -f "$WORK/ceiling.sql" ceiling 2>"$RESULTS/logs/pgbench-$1-$clients.err" | tee "$RESULTS/logs/pgbench-$1-$clients.log" |
      awk '/^tps = / {print $3; exit}')"
    [ -n "$tps" ] || die "pgbench gave no tps (see $RESULTS/logs/pgbench-$1-$clients.*)"
    log "pgbench $clients clients: $tps tps"
    rows="$(jq -c --argjson c "$clients" --argjson t "$tps" '. + [{clients: $c, tps: $t}]' <<<"$rows")"
    best="$(awk -v a="$best" -v b="$tps" 'BEGIN {print (b > a) ? b : a}')"
  done
  CEILING="$best"
  jq -n --argjson rows "$rows" --argjson best "$best" --argjson seconds "$PGBENCH_SECONDS" --arg at "$(date -u +%H:%M)" \
    '{runs: $rows, ceiling: $best, seconds: $seconds, at: $at}' > "$RESULTS/ceiling-$1.json"
  psql_db postgres "drop database ceiling"
}

# ---- the API ------------------------------------------------------------------------------------------------
API_DIR="$ROOT/artifacts/bin/Participation.Api/release"
TOKENS_DLL="$ROOT/artifacts/bin/Participation.Bench.Tokens/release/Participation.Bench.Tokens.dll"
ADMIN_KEY="bench-admin-$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
API_SEQ=0

start_api() { # port -> appends to API_PIDS/API_PORTS
  local port=$1 connection="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=participation"
  [ -n "${BENCH_NPGSQL:-}" ] && connection="$connection;$BENCH_NPGSQL"
  API_SEQ=$((API_SEQ + 1))
  # shellcheck disable=SC2086
  (cd "$API_DIR" && exec env ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="http://127.0.0.1:$port" \
    ConnectionStrings__Marten="$connection" Participation__AdminApiKey="$ADMIN_KEY" Participation__MasterKey="$MASTER_KEY" \
    ${BENCH_API_ENV:-} dotnet Participation.Api.dll) >"$RESULTS/logs/api-$API_SEQ-$port.log" 2>&1 {PG_KEEPALIVE}>&- &
  API_PIDS+=("$!")
  API_PORTS+=("$port")
  echo "$!" >> "$WORK/api.pids"
}

wait_ready() { # port timeout_s -> prints ms waited
  local port=$1 deadline=$(($(now_ms) + $2 * 1000)) start
  start="$(now_ms)"
  while [ "$(now_ms)" -lt "$deadline" ]; do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/health/ready" 2>/dev/null; then
      echo $(($(now_ms) - start)); return 0
    fi
    sleep 0.02
  done
  return 1
}

stop_apis() {
  local pid
  for pid in "${API_PIDS[@]}"; do stop_pid "$pid" TERM 20; done
  API_PIDS=(); API_PORTS=()
}

admin() { # method path json
  curl -fsS -X "$1" "http://127.0.0.1:${API_PORTS[0]}$2" -H "Authorization: Bearer $ADMIN_KEY" \
    -H 'Content-Type: application/json' --data-binary "$3" -o /dev/null
}

HMAC_SECRET="$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 48)"
configure_accounts() {
  printf '%s' "$HMAC_SECRET" > "$WORK/hmac.secret"
  dotnet "$TOKENS_DLL" keygen --private "$WORK/rs256.pem" --public "$WORK/rs256.pub.pem"
  admin PUT /v1/accounts/bench-hs256 '{"name": "Bench HS256"}'
  admin PUT /v1/accounts/bench-hs256/secure-token \
    "$(jq -nc --arg s "$HMAC_SECRET" '{method: "hmac", algorithms: ["HS256"], secret: $s}')"
  admin PUT /v1/accounts/bench-rs256 '{"name": "Bench RS256"}'
  admin PUT /v1/accounts/bench-rs256/secure-token \
    "$(jq -nc --rawfile pem "$WORK/rs256.pub.pem" '{method: "publicKey", algorithms: ["RS256"], publicKeys: [{kid: "bench-1", pem: $pem}]}')"
}

create_campaign() { # id alg limit [campaign-wide cap]
  admin PUT "/v1/campaigns/$1" "$(jq -nc --arg a "bench-$2" --arg n "$1" --argjson l "$3" --argjson cap "${4:-null}" \
    '{accountId: $a, name: $n, limits: ({perParticipant: $l} + (if $cap == null then {} else {maxParticipations: $cap} end))}')"
}

mint() { # alg campaign plan count prefix out [extra args...]
  local alg=$1 campaign=$2 plan=$3 count=$4 prefix=$5 out=$6 key=()
  shift 6
  if [ "$alg" = hs256 ]; then key=(--alg HS256 --secret-file "$WORK/hmac.secret"); else key=(--alg RS256 --private-key "$WORK/rs256.pem"); fi
  dotnet "$TOKENS_DLL" mint "${key[@]}" --campaign "$campaign" --plan "$plan" --count "$count" --prefix "$prefix" \
    --out "$out" "$@" 2>>"$RESULTS/logs/mint.log"
}

# wrk over the API processes: one thread per process when there are several (the Lua script points each thread at
# its own process), -t2 for one. Prints the JSON summary written by the Lua script.
WRK_TIMEOUT=10s
run_wrk() { # tokens path mode connections seconds result
  local tokens=$1 path=$2 mode=$3 connections=$4 seconds=$5 result=$6 threads=2 addrs=""
  if [ "${#API_PORTS[@]}" -gt 1 ]; then
    threads="${#API_PORTS[@]}"
    addrs="$(printf '127.0.0.1:%s,' "${API_PORTS[@]}")"
  fi
  BENCH_TOKENS="$tokens" BENCH_PATH="$path" BENCH_THREADS="$threads" BENCH_MODE="$mode" BENCH_ADDRS="${addrs%,}" \
    BENCH_RESULT="$result" wrk -t "$threads" -c "$connections" -d "${seconds}s" --timeout "$WRK_TIMEOUT" \
    -s "$ROOT/bench/participations.lua" "http://127.0.0.1:${API_PORTS[0]}" >"$result.txt" 2>&1 {PG_KEEPALIVE}>&- ||
    die "wrk failed: $(cat "$result.txt")"
  [ -s "$result" ] || die "wrk wrote no summary: $(cat "$result.txt")"
}

# Brings state in place outside the measured window (the first participation of each participant) with curl, 16
# requests at a time, every one answered before the run starts; then checks it.
seed() { # campaign tokens expected_accepted
  awk -v url="http://127.0.0.1:${API_PORTS[0]}/v1/campaigns/$1/participations" 'NF {
    if (n++) print "next"
    printf "url = \"%s\"\ndata = \"qual_token=%s\"\noutput = \"/dev/null\"\nwrite-out = \"%%{http_code}\\n\"\n", url, $0 }' \
    "$2" > "$WORK/seed.curl"
  local statuses accepted
  statuses="$(curl -sS --no-progress-meter --parallel --parallel-max 16 -K "$WORK/seed.curl" 2>>"$RESULTS/logs/seed.log" |
    sort | uniq -c | awk '{printf "%s x %s ", $1, $2}')" || true
  accepted="$(campaign_counts "$1" 1 | cut -d'|' -f1)"
  if [ "$accepted" != "$3" ]; then
    MISMATCHES=$((MISMATCHES + 1))
    log "MISMATCH: seeding $1 accepted $accepted, expected $3 (statuses: $statuses)"
  fi
}

# accepted|rejected|accepted tokens accepted twice|participants over the limit
campaign_counts() { # campaign limit
  sql "with e as (select type, data from participation.mt_events
                  where type in ('participation_accepted', 'participation_rejected') and data->>'campaignId' = '$1')
       select (select count(*) from e where type = 'participation_accepted'),
              (select count(*) from e where type = 'participation_rejected'),
              (select count(*) from (select 1 from e where type = 'participation_accepted'
                                     group by data->>'replayKey' having count(*) > 1) d),
              (select count(*) from (select 1 from e where type = 'participation_accepted'
                                     group by data->>'sub' having count(*) > $2) o)" | tr -d ' '
}

# ---- one measured run ---------------------------------------------------------------------------------------
MISMATCHES=0
RUN_SEQ=0
declare -A BEST_RATE=([hs256]=0 [rs256]=0)

# Tokens for a run: 2.5 times what the best rate seen so far with this alg would use, and at least enough for 30 % of
# the ceiling (above the target), so that a slow warm-up cannot starve a fast run.
token_budget() { # alg seconds
  local rate="${BEST_RATE[$1]}" floor
  floor="$(awk -v c="$CEILING" -v s="$2" 'BEGIN {printf "%d", c * s * 0.3}')"
  local n=$((rate * $2 * 5 / 2))
  [ "$n" -ge "$floor" ] || n=$floor
  [ "$n" -ge 3000 ] || n=3000
  echo "$n"
}

# scenario alg connections: creates the campaign, mints and seeds outside the window, measures, checks.
measure() {
  local scenario=$1 alg=$2 connections=$3 seconds=$RUN_SECONDS apis=${#API_PORTS[@]}
  local campaign="$scenario-$alg-c$connections-a$apis-r$RUN_SEQ" limit=1 mode=once plan tokens="$WORK/tokens-$RUN_SEQ.txt"
  local count prefix="p$RUN_SEQ" cap=""
  RUN_SEQ=$((RUN_SEQ + 1))
  count="$(token_budget "$alg" "$seconds")"
  case "$scenario" in
    new) plan=(new) ;;
    capped) cap=1000000000; plan=(new) ;;
    capfull) cap=$CAPFULL_PLACES; plan=(new) ;;
    returning) limit=10; plan=(returning --limit "$limit") ;;
    overlimit) plan=(overlimit --participants 2000) ;;
    replay) mode=cycle; count=16; plan=(new) ;;
    mix) limit=3; plan=(mix --limit "$limit") ;;
    *) die "unknown scenario $scenario" ;;
  esac
  create_campaign "$campaign" "$alg" "$limit" "$cap"
  mint "$alg" "$campaign" "${plan[0]}" "$count" "$prefix" "$tokens" "${plan[@]:1}"
  case "$scenario" in
    overlimit)
      mint "$alg" "$campaign" new 2000 "$prefix" "$WORK/seed.txt"
      seed "$campaign" "$WORK/seed.txt" 2000 ;;
    replay)
      seed "$campaign" "$tokens" 16 ;;
  esac

  local before after_counts
  before="$(campaign_counts "$campaign" "$limit")"
  sql "select pg_stat_statements_reset()" >/dev/null
  local xacts0 xacts1 stmts
  xacts0="$(sql "select xact_commit + xact_rollback from pg_stat_database where datname = 'participation'")"

  log "run $campaign: $count tokens, $connections connections, ${seconds}s"
  local result="$WORK/wrk-$RUN_SEQ.json" load0 load1
  local api0 gen0 m0 api1 gen1 m1
  load0="$(cut -d' ' -f1 /proc/loadavg)"
  local wall0 wall1
  api0="$(api_ticks)"; pg_snapshot "$WORK/pg0"; m0="$(machine_ticks)"; children_ticks gen0; wall0="$(now_ms)"
  run_wrk "$tokens" "/v1/campaigns/$campaign/participations" "$mode" "$connections" "$seconds" "$result"
  wall1="$(now_ms)"; children_ticks gen1; api1="$(api_ticks)"; pg_snapshot "$WORK/pg1"; m1="$(machine_ticks)"
  local pg_delta
  pg_delta="$(pg_ticks_between "$WORK/pg0" "$WORK/pg1")"
  load1="$(cut -d' ' -f1 /proc/loadavg)"
  local rss hwm
  rss="$(api_rss_kb)"; hwm="$(api_hwm_kb)"

  # Requests in flight when wrk stopped are still decided by the API: let them land before counting.
  sleep 1
  xacts1="$(sql "select xact_commit + xact_rollback from pg_stat_database where datname = 'participation'")"
  stmts="$(sql "select coalesce(sum(calls), 0) from pg_stat_statements s join pg_database d on d.oid = s.dbid
                where d.datname = 'participation' and s.toplevel")"
  # What those statements are, most frequent first (nested ones, inside functions, included: toplevel f).
  sql "select s.calls, s.toplevel, round(s.total_exec_time::numeric, 1) as ms,
              left(regexp_replace(s.query, '\s+', ' ', 'g'), 180)
       from pg_stat_statements s join pg_database d on d.oid = s.dbid
       where d.datname = 'participation' order by s.calls desc limit 40" \
    > "$RESULTS/runs/$(printf '%03d' "$RUN_SEQ")-$campaign.statements.txt" 2>&1 || true
  after_counts="$(campaign_counts "$campaign" "$limit")"

  local verdict
  verdict="$(check "$scenario" "$result" "$before" "$after_counts")"
  case "$verdict" in
    MISMATCH*) MISMATCHES=$((MISMATCHES + 1)); log "$verdict" ;;
  esac

  local rate
  rate="$(jq -r '(.answered / (.duration_us / 1e6)) | floor' "$result")"
  [ "$rate" -gt "${BEST_RATE[$alg]}" ] && BEST_RATE[$alg]=$rate

  jq -c \
    --arg scenario "$scenario" --arg alg "$alg" --arg campaign "$campaign" --argjson apis "$apis" \
    --argjson connections "$connections" --argjson seconds "$seconds" --argjson tokens "$count" \
    --argjson ceiling "$CEILING" --arg verdict "$verdict" --arg before "$before" --arg after "$after_counts" \
    --argjson api_ticks $((api1 - api0)) --argjson pg_ticks "$pg_delta" --argjson gen_ticks $((gen1 - gen0)) \
    --argjson busy_ticks $(( ${m1% *} - ${m0% *} )) --argjson idle_ticks $(( ${m1#* } - ${m0#* } )) --argjson hz "$HZ" \
    --argjson rss_kb "$rss" --argjson hwm_kb "$hwm" --argjson statements "$stmts" --argjson xacts $((xacts1 - xacts0)) \
    --arg load0 "$load0" --arg load1 "$load1" --argjson wall_ms $((wall1 - wall0)) \
    '. as $w | ($w.duration_us / 1e6) as $d | ($wall_ms / 1000) as $wall | {
      scenario: $scenario, alg: $alg, campaign: $campaign, apis: $apis, connections: $connections, seconds: $seconds,
      tokens: $tokens, wrk: $w, rps: ($w.answered / $d), ceiling: $ceiling, ratio: (($w.answered / $d) / $ceiling),
      cpu: { hz: $hz, window_s: $wall, api: ($api_ticks / $hz / $wall), postgres: ($pg_ticks / $hz / $wall),
             generator: ($gen_ticks / $hz / $wall), machine: ($busy_ticks / $hz / $wall), idle: ($idle_ticks / $hz / $wall),
             api_us_per_request: (if $w.answered > 0 then $api_ticks / $hz * 1e6 / $w.answered else null end),
             postgres_us_per_request: (if $w.answered > 0 then $pg_ticks / $hz * 1e6 / $w.answered else null end) },
      rss_mb: ($rss_kb / 1024), peak_rss_mb: ($hwm_kb / 1024),
      statements_per_request: (if $w.answered > 0 then $statements / $w.answered else null end),
      transactions_per_request: (if $w.answered > 0 then $xacts / $w.answered else null end),
      db: {before: $before, after: $after}, verdict: $verdict, loadavg: [$load0, $load1] }' \
    "$result" > "$RESULTS/runs/$(printf '%03d' "$RUN_SEQ")-$campaign.json"
  jq -r '"  \(.rps | floor) req/s (\(.ratio * 100 | . * 10 | round / 10)% of ceiling), p50 \(.wrk.latency_us.p50 / 1000) ms, p99 \(.wrk.latency_us.p99 / 1000) ms, statuses \(.wrk.statuses | tostring), cpu api \(.cpu.api * 100 | round)% pg \(.cpu.postgres * 100 | round)% wrk \(.cpu.generator * 100 | round)% of a core; \(.verdict)"' \
    "$RESULTS/runs/$(printf '%03d' "$RUN_SEQ")-$campaign.json" >&2
}

# What the generator saw against what the database holds. Requests still in flight when wrk stopped (sent but never
# answered, at most one per connection) may have been decided: that is the only slack allowed.
check() { # scenario result before after
  local scenario=$1 result=$2
  local a0 r0 a1 r1 dup over s201 s403 s409 unanswered exhausted other errors
  IFS='|' read -r a0 r0 _ _ <<<"$3"
  IFS='|' read -r a1 r1 dup over <<<"$4"
  read -r s201 s403 s409 other unanswered exhausted errors < <(jq -r '[
      (.statuses["201"] // 0), (.statuses["403"] // 0), (.statuses["409"] // 0),
      ([.statuses | to_entries[] | select(.key != "201" and .key != "403" and .key != "409") | .value] | add // 0),
      (.sent - .answered), .exhausted,
      (.errors.connect + .errors.read + .errors.write + .errors.timeout)] | @tsv' "$result")
  local accepted=$((a1 - a0)) rejected=$((r1 - r0)) problems=()
  [ "$dup" = 0 ] || problems+=("$dup tokens accepted twice")
  [ "$over" = 0 ] || problems+=("$over participants over their limit")
  if [ "$accepted" -lt "$s201" ] || [ "$accepted" -gt $((s201 + unanswered)) ]; then
    problems+=("database accepted $accepted, generator saw $s201 x 201 (+$unanswered unanswered)")
  fi
  case "$scenario" in
    capfull)
      # Every participant is new and within its own limit: never more than the cap, and a 403 (campaign_full) only
      # once every place is taken.
      [ "$a1" -le "$CAPFULL_PLACES" ] || problems+=("the campaign accepted $a1 participations for $CAPFULL_PLACES places")
      [ "$s403" = 0 ] || [ "$a1" = "$CAPFULL_PLACES" ] || problems+=("$s403 x 403 with $a1 of $CAPFULL_PLACES places taken")
      [ "$s409" = 0 ] || problems+=("$s409 x 409 where no token is sent twice") ;;
    new|returning|capped)
      [ "$s403" = 0 ] && [ "$s409" = 0 ] || problems+=("$s403 x 403 and $s409 x 409 where every participation is within the limit") ;;
    overlimit)
      [ "$s201" = 0 ] || problems+=("$s201 x 201 for participants at their limit")
      if [ "$rejected" -lt "$s403" ] || [ "$rejected" -gt $((s403 + unanswered)) ]; then
        problems+=("database recorded $rejected refusals, generator saw $s403 x 403 (+$unanswered unanswered)")
      fi ;;
    replay)
      [ "$s201" = 0 ] && [ "$accepted" = 0 ] && [ "$rejected" = 0 ] || problems+=("replays changed state: $accepted accepted, $rejected refused, $s201 x 201") ;;
  esac
  if [ "${#problems[@]}" -gt 0 ]; then
    local IFS=';'
    echo "MISMATCH: ${problems[*]}"
  elif [ "$exhausted" != 0 ]; then
    echo "INVALID: tokens ran out ($exhausted health checks sent instead; counts exact, throughput and latency meaningless)"
  elif [ "$other" != 0 ] || [ "$errors" != 0 ]; then
    echo "ok (counts exact; $other unexpected statuses, $errors socket errors/timeouts)"
  else
    echo "ok"
  fi
}

# Warm-up outside the measurements: JIT, Wolverine's handler compilation, key rings, pools. Also sets the token
# budget of the first runs from the rate it reaches.
WARMUP_SEQ=0
warm_up() {
  local alg campaign port
  for alg in hs256 rs256; do
    WARMUP_SEQ=$((WARMUP_SEQ + 1))
    campaign="warmup-$alg-a${#API_PORTS[@]}-w$WARMUP_SEQ"
    local seconds=$WARMUP_SECONDS count
    [ "$alg" = rs256 ] && seconds=$((WARMUP_SECONDS / 2))
    count=$((4000 * seconds))
    [ "$alg" = rs256 ] && count=$((2500 * seconds))
    create_campaign "$campaign" "$alg" 1
    mint "$alg" "$campaign" new "$count" "w$WARMUP_SEQ" "$WORK/warmup.txt"
    # One request per process first: its first participation compiles Wolverine's handler (seconds), which would
    # otherwise time out under load.
    mint "$alg" "$campaign" new "${#API_PORTS[@]}" "w$WARMUP_SEQ-prime" "$WORK/prime.txt"
    for port in "${API_PORTS[@]}"; do
      curl -sS -o /dev/null --max-time 120 -X POST "http://127.0.0.1:$port/v1/campaigns/$campaign/participations" \
        --data-urlencode "qual_token=$(head -1 "$WORK/prime.txt")" || true
      sed -i 1d "$WORK/prime.txt"
    done
    log "warm-up $campaign (${seconds}s)"
    run_wrk "$WORK/warmup.txt" "/v1/campaigns/$campaign/participations" once 32 "$seconds" "$WORK/warmup.json"
    local rate
    rate="$(jq -r '(.answered / (.duration_us / 1e6)) | floor' "$WORK/warmup.json")"
    [ "$rate" -gt "${BEST_RATE[$alg]}" ] && BEST_RATE[$alg]=$rate
    log "  warm-up: $rate req/s, statuses $(jq -c .statuses "$WORK/warmup.json")"
  done
}

# ---- cold start -----------------------------------------------------------------------------------------------
cold_start() {
  local port first_ready
  # 1. First start on an empty database: creates the schema.
  port="$(free_port)"
  local t0; t0="$(now_ms)"
  start_api "$port"
  wait_ready "$port" 180 >/dev/null || die "the API did not become ready (see $RESULTS/logs)"
  first_ready=$(($(now_ms) - t0))
  log "API ready in $first_ready ms (empty database: schema created)"
  configure_accounts
  create_campaign cold-hs256 hs256 5
  create_campaign cold-rs256 rs256 5
  mint hs256 cold-hs256 new 2 cold "$WORK/cold-hs256.txt"
  mint rs256 cold-rs256 new 2 cold "$WORK/cold-rs256.txt"
  stop_apis

  # 2. Restart on the existing schema: process start to ready, then the first requests of the hot path.
  port="$(free_port)"
  t0="$(now_ms)"
  start_api "$port"
  wait_ready "$port" 180 >/dev/null || die "the API did not restart"
  local ready=$(($(now_ms) - t0)) times=() alg n token
  for alg in hs256 rs256; do
    for n in 1 2; do
      token="$(sed -n "${n}p" "$WORK/cold-$alg.txt")"
      times+=("$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' -X POST \
        "http://127.0.0.1:$port/v1/campaigns/cold-$alg/participations" --data-urlencode "qual_token=$token")")
    done
  done
  local total=$(($(now_ms) - t0))
  jq -n --argjson first "$first_ready" --argjson ready "$ready" --argjson total "$total" \
    --arg h1 "${times[0]}" --arg h2 "${times[1]}" --arg r1 "${times[2]}" --arg r2 "${times[3]}" \
    'def ms: split(" ") | {status: (.[0] | tonumber), ms: ((.[1] | tonumber) * 1000)};
     {first_start_ready_ms: $first, restart_ready_ms: $ready, restart_to_four_answers_ms: $total,
      hs256_first: ($h1 | ms), hs256_second: ($h2 | ms), rs256_first: ($r1 | ms), rs256_second: ($r2 | ms)}' \
    > "$RESULTS/coldstart.json"
  log "cold start: $(jq -c . "$RESULTS/coldstart.json")"
}

# ---- main -----------------------------------------------------------------------------------------------------
sweep_stale
need_package wrk wrk
need_package jq jq
need_package curl curl

log "mode $MODE; results in ${RESULTS#"$ROOT/"}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
START_MS="$(now_ms)"

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  log "building the API and the token minter (Release)"
  dotnet build -c Release -nologo -v q src/Participation.Api/Participation.Api.csproj >"$RESULTS/logs/build.log" 2>&1 ||
    { tail -30 "$RESULTS/logs/build.log" >&2; die "Release build of the API failed"; }
  dotnet build -c Release -nologo -v q bench/Participation.Bench.Tokens/Participation.Bench.Tokens.csproj >>"$RESULTS/logs/build.log" 2>&1 ||
    { tail -30 "$RESULTS/logs/build.log" >&2; die "Release build of the token minter failed"; }
fi
[ -f "$API_DIR/Participation.Api.dll" ] && [ -f "$TOKENS_DLL" ] || die "no Release build in artifacts/ (drop BENCH_SKIP_BUILD)"

start_postgres
log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on port $PG_PORT (pid $PG_PID)"
measure_ceiling start
log "ceiling: $CEILING tps"
psql_db postgres "create database participation"
sql "create extension if not exists pg_stat_statements"

cold_start
warm_up

case "$MODE" in
  full)
    for alg in hs256 rs256; do
      for c in 8 32 64; do measure new "$alg" "$c"; done
      for s in returning overlimit replay mix; do measure "$s" "$alg" 32; done
    done
    for s in capped capfull; do measure "$s" hs256 32; done
    stop_apis
    for _ in 1 2 3; do start_api "$(free_port)"; done
    for port in "${API_PORTS[@]}"; do wait_ready "$port" 180 >/dev/null || die "an API process did not become ready"; done
    log "three API processes ready"
    warm_up
    for alg in hs256 rs256; do measure new "$alg" 33; done
    measure mix hs256 33
    measure returning hs256 33
    stop_apis
    # The ceiling and the headline again at the end, on one process, after everything else: other work on the machine
    # changes over 20 minutes, and these two figures are compared with each other.
    measure_ceiling end
    log "ceiling at the end: $CEILING tps"
    start_api "$(free_port)"
    wait_ready "${API_PORTS[0]}" 180 >/dev/null || die "the API did not restart"
    warm_up
    for alg in hs256 rs256; do measure new "$alg" 32; done
    ;;
  quick)
    for alg in hs256 rs256; do measure new "$alg" 32; done
    measure returning hs256 32
    measure overlimit hs256 32
    measure replay hs256 32
    measure mix hs256 32
    ;;
  focus)
    for alg in ${BENCH_FOCUS_ALGS:-hs256 rs256}; do measure new "$alg" 32; done
    ;;
  cap)
    for _ in 1 2; do for s in new capped capfull; do measure "$s" hs256 32; done; done
    ;;
esac

ELAPSED_S=$((($(now_ms) - START_MS) / 1000))
jq -n --arg mode "$MODE" --arg stamp "$STAMP" --arg note "$LABEL" --arg command "bench/run.sh $ORIGINAL_ARGS" \
  --arg commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --arg dirty "$(git status --porcelain --untracked-files=no 2>/dev/null | wc -l | tr -d ' ')" \
  --arg pg "$("$PG_BIN/postgres" --version)" --arg settings "${PG_SETTINGS[*]}" \
  --arg nproc "$(nproc)" --arg cpu "$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)" \
  --arg mem "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)" \
  --arg dotnet "$(dotnet --version)" --arg wrk "$(wrk -v 2>&1 | head -1 | awk '{print $2}')" \
  --arg load_start "$LOAD_START" --arg load_end "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson elapsed "$ELAPSED_S" \
  --arg api_env "${BENCH_API_ENV:-}" --arg npgsql "${BENCH_NPGSQL:-}" --argjson mismatches "$MISMATCHES" \
  --arg date "$(date -u '+%Y-%m-%d %H:%M UTC')" \
  '{mode: $mode, stamp: $stamp, date: $date, label: $note, command: $command, commit: $commit,
    dirty_files: ($dirty | tonumber), postgres: $pg, postgres_settings: $settings,
    machine: {nproc: ($nproc | tonumber), cpu: $cpu, memory: $mem}, dotnet: $dotnet, wrk: $wrk,
    loadavg_start: $load_start, loadavg_end: $load_end, elapsed_s: $elapsed, api_env: $api_env, npgsql: $npgsql,
    mismatches: $mismatches}' > "$RESULTS/meta.json"

"$ROOT/bench/report.sh" "$RESULTS" > "$RESULTS/report.md"
if [ "$WRITE_DOC" = 1 ]; then
  "$ROOT/bench/report.sh" --doc "$RESULTS" "$ROOT/docs/benchmarks.md"
  log "docs/benchmarks.md updated"
fi
log "done in ${ELAPSED_S}s; report: ${RESULTS#"$ROOT/"}/report.md"
if [ "$MISMATCHES" -gt 0 ]; then
  log "MISMATCH: $MISMATCHES run(s) where the database disagrees with what the generator saw"
  exit 1
fi
