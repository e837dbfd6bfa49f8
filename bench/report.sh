#!/usr/bin/env bash
# Renders the results of one bench/run.sh run as Markdown.
#   bench/report.sh RESULTS_DIR                 prints the report
#   bench/report.sh --doc RESULTS_DIR FILE      replaces the generated part of FILE (docs/benchmarks.md), keeping the
#                                               hand-written rest; creates FILE with empty hand-written sections if missing
set -euo pipefail

BEGIN_MARK='<!-- bench:generated:begin — bench/run.sh rewrites everything down to the end mark; write outside it -->'
END_MARK='<!-- bench:generated:end -->'

render() {
  local dir=$1
  local runs
  runs="$(jq -s '.' "$dir"/runs/*.json 2>/dev/null || echo '[]')"
  local start="$dir/ceiling-start.json" end="$dir/ceiling-end.json"
  [ -f "$start" ] || start="$dir/ceiling.json"
  [ -f "$end" ] || end="$start"
  jq -r -n --slurpfile meta "$dir/meta.json" --slurpfile ceiling "$start" --slurpfile ceiling_end "$end" \
    --slurpfile cold "$dir/coldstart.json" --argjson runs "$runs" '
    def r1: . * 10 | round / 10;
    def r2: . * 100 | round / 100;
    def ms: . / 1000 | r1;
    def pct: . * 100 | r1 | tostring + " %";
    def statuses: [.wrk.statuses | to_entries | sort_by(.key)[] | "\(.value) × \(.key)"] | join(", ");
    def errors: .wrk.errors | [to_entries[] | select(.key != "status" and .value > 0) | "\(.value) \(.key)"] | if length == 0 then "0" else join(", ") end;
    def cpu: .cpu | "\(.api | r2) / \(.postgres | r2) / \(.generator | r2) / \((.machine - .api - .postgres - .generator) | if . < 0 then 0 else . end | r2)";
    def row: "| \(.alg | ascii_upcase) | \(.apis) | \(.connections) | \(.rps | round) | \(.ratio | pct) | \(.wrk.latency_us.p50 | ms) | \(.wrk.latency_us.p95 | ms) | \(.wrk.latency_us.p99 | ms) | \(.wrk.latency_us.max | ms) | \(statuses) | \(errors) | \(cpu) | \(.cpu.api_us_per_request | round) / \(.cpu.postgres_us_per_request | round) | \(.statements_per_request | r1) | \(.transactions_per_request | r2) | \(.rss_mb | round) | \(.verdict) |";
    def header: "| token | API processes | connections | req/s | of ceiling | p50 ms | p95 ms | p99 ms | max ms | statuses | socket errors | CPU cores: API / PostgreSQL / wrk / other | CPU µs per request: API / PostgreSQL | SQL statements per request | transactions per request | API RSS MB | check |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";
    def titles: {
      new: "New participants (every request a new participant: a new stream)",
      returning: "Returning participants up to their limit (limit 10: one stream creation, then appends)",
      overlimit: "Over-limit traffic (2,000 participants at their limit of 1: every request 403, a refusal appended once per token)",
      replay: "Replay storm (the same 16 accepted tokens again and again: every request 409, nothing written)",
      mix: "Mix (limit 3: 50% new participants, 30% returning under the limit, 10% over it, 10% copies of earlier tokens)",
      capped: "New participants on a capped campaign (limits.maxParticipations far above what the run reaches: every acceptance takes a place on the campaign counter)",
      capfull: "New participants racing for the last places (limits.maxParticipations 2,000: exactly 2,000 accepted, then 403 campaign_full)"
    };
    $meta[0] as $m | $ceiling[0] as $c | $ceiling_end[0] as $e | $cold[0] as $k | ($e != $c) as $has_end |
    ($runs | map(select(.scenario == "new" and .connections == 32 and .apis == 1 and (.verdict | startswith("INVALID") | not)))) as $headline |
    [
      "## Latest run",
      "",
      "`\($m.command | sub(" +$"; ""))` (\($m.mode) mode) on \($m.date), commit `\($m.commit)`\(if $m.dirty_files > 0 then " with \($m.dirty_files) modified tracked files" else "" end)\(if $m.label != "" then ", label: \($m.label)" else "" end); \($m.elapsed_s / 60 | r1) min in all.",
      "",
      "Machine: \($m.machine.nproc) cores (\($m.machine.cpu)), \($m.machine.memory); load average \($m.loadavg_start) at the start, \($m.loadavg_end) at the end (other work shares these cores: compare figures of one run only). \($m.postgres), throwaway cluster, default durability (fsync, synchronous_commit on), `\($m.postgres_settings)`. .NET SDK \($m.dotnet), wrk \($m.wrk).\(if $m.api_env != "" then " API environment: `\($m.api_env)`." else "" end)\(if $m.npgsql != "" then " Connection string extra: `\($m.npgsql)`." else "" end)",
      "",
      "**Headline** (new participants, 32 connections, one API process; ratio to the pgbench ceiling measured in the same run\(if $has_end then ", at its start for the first measurement and at its end for the repeat" else "" end)): " +
        ([$headline[] | "\(.alg | ascii_upcase) \(.rps | round) req/s = **\(.ratio | pct)** of \((.ceiling // $c.ceiling) | round) TPS, p99 \(.wrk.latency_us.p99 | ms) ms" +
          (if .ratio >= 0.20 and .wrk.latency_us.p99 <= 40000 then " (target met)" else " (target not met)" end)] | join("; ")) +
        ". Target: ≥ 20 % of the ceiling with p99 ≤ 40 ms.",
      "",
      "Every run: \($runs | length) measured, \($m.mismatches) count mismatches between the database and the load generator.",
      "",
      "### Ceiling: pgbench, one-row insert per transaction",
      "",
      "`pgbench -n -j 2 -T \($c.seconds) -c N -f ceiling.sql` with `insert into ceiling_rows (a, b) values (md5(random()::text), md5(random()::text))` (bigserial key).",
      "",
      (if $has_end then
        ("| clients | TPS at the start (\($c.at // "") UTC) | TPS at the end (\($e.at // "") UTC) |", "|---|---|---|",
         ($c.runs | to_entries[] | "| \(.value.clients) | \(.value.tps | round) | \($e.runs[.key].tps | round) |"), "",
         "**Ceiling: \($c.ceiling | round) TPS at the start, \($e.ceiling | round) TPS at the end** (the best of the three each time; each row'\''s ratio uses the ceiling measured nearest to it).")
      else
        ("| clients | TPS |", "|---|---|", ($c.runs[] | "| \(.clients) | \(.tps | round) |"), "",
         "**Ceiling: \($c.ceiling | round) TPS** (the best of the three).")
      end),
      "",
      "### Cold start (one API process, Release, Production environment)",
      "",
      "| | |",
      "|---|---|",
      "| process start to `/health/ready`, empty database (creates the schema) | \($k.first_start_ready_ms) ms |",
      "| process start to `/health/ready`, existing schema | \($k.restart_ready_ms) ms |",
      "| first participation after ready, HS256 | \($k.hs256_first.ms | r1) ms (\($k.hs256_first.status)) |",
      "| second participation, HS256 | \($k.hs256_second.ms | r1) ms (\($k.hs256_second.status)) |",
      "| first participation, RS256 | \($k.rs256_first.ms | r1) ms (\($k.rs256_first.status)) |",
      "| second participation, RS256 | \($k.rs256_second.ms | r1) ms (\($k.rs256_second.status)) |",
      "| process start to those four answers | \($k.restart_to_four_answers_ms) ms |",
      "",
      "### Scenarios",
      "",
      "Closed loop (`wrk -t2`; with three API processes `-t3 -c33`, one thread and 11 connections per process), each request a distinct pre-minted token unless said otherwise, \($runs[0].seconds // 0) s per run after a warm-up. Latency is wrk'\''s, from the client. CPU in cores from /proc (API processes; postmaster and every backend; wrk; the rest of the machine), so 2.0 is the whole machine. Statements and transactions per request come from `pg_stat_statements` and `pg_stat_database` over the run (the async projection daemon'\''s work included). The check compares the events in the database with the statuses wrk counted.",
      "",
      ($runs | group_by(.scenario) | sort_by(.[0].scenario | {new: 0, capped: 1, capfull: 2, returning: 3, overlimit: 4, replay: 5, mix: 6}[.]) | .[] |
        "#### \(titles[.[0].scenario])", "", header, (.[] | row), "")
    ] | .[]'
}

if [ "${1:-}" = "--doc" ]; then
  dir=$2 file=$3
  generated="$(render "$dir")"
  if [ ! -f "$file" ]; then
    printf '# Benchmarks\n\n%s\n%s\n\n## Round trips per request\n\n## What stands in the way\n' "$BEGIN_MARK" "$END_MARK" > "$file"
  fi
  grep -qF "$END_MARK" "$file" || { echo "report: $file has no generated section marks" >&2; exit 1; }
  tmp="$(mktemp)"
  awk -v begin="$BEGIN_MARK" -v end="$END_MARK" -v body="$generated" '
    $0 == begin { print; print ""; print body; skipping = 1; next }
    $0 == end { skipping = 0; print; next }
    !skipping { print }' "$file" > "$tmp"
  mv "$tmp" "$file"
else
  render "$1"
fi
