#!/usr/bin/env bash
# Postgres extract benchmark (prints figures; not a test). Generates ROWS transactions (default
# 1,000,000) for ROWS/10 users in a throwaway server (scripts/with-postgres), then times in the same run:
#   (a) the Swift extractor (etl-bench postgres-extract: binary COPY TO STDOUT, JSON written in Swift,
#       staged through ExtractSink), peak RSS from getrusage and /usr/bin/time -v;
#   (b) psql \copy (select row_to_json(t) from (<same query>) t) to file;
#   (c) psql \copy (<same query>) to file csv.
# Each method: RUNS timed runs (default 3) after one warm-up, median wall clock.
# Targets (issue 4): (a) >= 2.0x (b) rows/s, >= 0.8x (c), peak RSS < 64 MB.
#
#   benchmarks/postgres-extract.sh [ROWS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--inner" ]; then
  rows="${1:-1000000}"; runs="${2:-3}"
  scratch="${ETL_BENCH_SCRATCH:-.build-bench}"
  echo "building etl-bench (release, scratch $scratch)…" >&2
  swift build -c release --scratch-path "$scratch" --product etl-bench >&2
  export ETL_BENCH_BIN="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/etl-bench"
  exec scripts/with-postgres "$0" --inner "$rows" "$runs"
fi

rows="$2"; runs="$3"
bench="$ETL_BENCH_BIN"
psql_bin="$ETL_TEST_PG_BIN/psql"; command -v "$psql_bin" >/dev/null || psql_bin=psql
admin="$ETL_TEST_DATABASE_URL"
url="${admin%/*}/bench"
# Scratch on tmpfs when there is one (or ETL_BENCH_SCRATCH): keeps the disk out of the figures, and
# deleting gigabytes from the discard-mounted disk slowed whatever was timed next.
scratch_root=/tmp
[ -d /dev/shm ] && [ -w /dev/shm ] && scratch_root=/dev/shm
work="$(mktemp -d "${ETL_BENCH_SCRATCH:-$scratch_root}/etl-pg-bench.XXXXXX")"
chmod 777 "$work"
trap 'rm -rf "$work"' EXIT
users=$(( rows / 10 > 0 ? rows / 10 : 1 ))

"$psql_bin" "$admin" -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE bench"
echo "loading schema and generating $rows transactions for $users users…" >&2
t0=$(date +%s.%N)
"$psql_bin" "$url" -q -v ON_ERROR_STOP=1 -f fixtures/app/seed.sql
"$psql_bin" "$url" -q -v ON_ERROR_STOP=1 <<SQL
SET TimeZone = 'UTC';
INSERT INTO users (id, email, name, country, created_at, last_login_at, login_count, preferred_gateway, acquisition_channel, is_test)
SELECT md5('bench-user:' || g)::uuid, 'user' || g || '@example.com',
       CASE g % 4 WHEN 0 THEN 'Zoë O''Brien ' || g WHEN 1 THEN 'Back\slash "' || g || '"' WHEN 2 THEN 'محمد ' || g ELSE 'User ' || g END,
       (ARRAY['US','EG','DE','FR','BR'])[g % 5 + 1], timestamptz '2025-01-01 00:00:00+00' + g * interval '61 seconds',
       timestamptz '2026-10-01 00:00:00+00' + g * interval '7 seconds', g % 300,
       (ARRAY['stripe','cashier','paypal'])[g % 3 + 1], CASE WHEN g % 3 = 0 THEN NULL ELSE 'google' END, g % 97 = 0
FROM generate_series(1, $users) g;
INSERT INTO subscriptions (id, user_id, gateway, gateway_subscription_id, plan_name, status, started_at)
SELECT md5('bench-sub:' || g)::uuid, md5('bench-user:' || g)::uuid, 'stripe', 'sub_bench_' || g, 'price_growth_usd', 'active',
       timestamptz '2025-01-02 00:00:00+00' + g * interval '61 seconds'
FROM generate_series(1, $users) g;
INSERT INTO transactions (id, user_id, subscription_id, gateway, gateway_transaction_id, product_type, plan_name,
  amount_cents, discount_amount_cents, tax_amount_cents, currency, country, status, transaction_date, period_start, period_end,
  refunded_amount_cents, refunded_at, utm_source, utm_medium, utm_campaign, metadata, created_at)
SELECT md5('bench-txn:' || g)::uuid, md5('bench-user:' || (g % $users + 1))::uuid, md5('bench-sub:' || (g % $users + 1))::uuid,
       'stripe', 'ch_bench_' || g, 'subscription', 'price_growth_usd', 4900 - (g % 5) * 100, (g % 5) * 100, (g % 7) * 10,
       'USD', 'US', CASE WHEN g % 50 = 0 THEN 'refunded' ELSE 'completed' END,
       timestamptz '2025-01-03 00:00:00+00' + g * interval '29.37 seconds',
       timestamptz '2025-01-03 00:00:00+00' + g * interval '29.37 seconds',
       timestamptz '2025-02-03 00:00:00+00' + g * interval '29.37 seconds',
       CASE WHEN g % 50 = 0 THEN 4900 ELSE 0 END, CASE WHEN g % 50 = 0 THEN timestamptz '2026-06-01 00:00:00+00' END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE 'newsletter' END, CASE WHEN g % 3 = 0 THEN NULL ELSE 'email' END, NULL,
       jsonb_build_object('invoice_id', 'in_' || g, 'attempt', g % 3, 'coupon', CASE WHEN g % 5 = 0 THEN 'SPRING' END),
       timestamptz '2025-01-03 00:00:02+00' + g * interval '29.37 seconds'
FROM generate_series(1, $rows) g;
VACUUM ANALYZE;
SQL
t1=$(date +%s.%N)
echo "generated in $(echo "$t1 - $t0" | bc) s; transactions table $("$psql_bin" "$url" -Atc "select pg_size_pretty(pg_total_relation_size('transactions'))")" >&2

# Migrate once outside the timings (the extractor also checks it).
"$bench" postgres-extract --url "$url" --runs 1 --dir "$work/warm" >/dev/null
query="$("$bench" postgres-extract --print-query)"
expected=$("$psql_bin" "$url" -Atc "select count(*) from ($query) q")

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_cmd() {  # time_cmd N cmd… → prints median seconds
  local n="$1"; shift
  "$@" >/dev/null 2>&1   # warm-up
  for _ in $(seq "$n"); do
    local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc
  done | median
}

echo "== (a) Swift extractor ==" >&2
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v "$bench" postgres-extract --url "$url" --runs "$runs" --dir "$work/a" 2>"$work/time.txt" | tee "$work/a.txt" >&2
  rss_time_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /,"",$2); print $2}' "$work/time.txt")
else
  "$bench" postgres-extract --url "$url" --runs "$runs" --dir "$work/a" | tee "$work/a.txt" >&2
  rss_time_kb=""
fi
a_line=$(grep '^RESULT' "$work/a.txt")
a_wall=$(echo "$a_line" | sed -E 's/.*median_wall=([0-9.]+).*/\1/')
a_rows=$(echo "$a_line" | sed -E 's/.* rows=([0-9]+).*/\1/')
a_rss=$(echo "$a_line" | sed -E 's/.*peak_rss_mib=([0-9.]+).*/\1/')

echo "== (b) psql \\copy row_to_json ==" >&2
b_wall=$(time_cmd "$runs" "$psql_bin" "$url" -c "\\copy (select row_to_json(t) from ($query) t) to '$work/rtj.ndjson'")
echo "== (c) psql \\copy csv ==" >&2
c_wall=$(time_cmd "$runs" "$psql_bin" "$url" -c "\\copy ($query) to '$work/plain.csv' csv")
b_lines=$(wc -l < "$work/rtj.ndjson")

echo
echo "Postgres extract benchmark: $expected rows of the default transactions query (joined with users and subscriptions), median of $runs runs"
printf '%-46s %10s %12s %10s\n' "method" "wall s" "rows/s" "vs (a)"
a_rate=$(echo "$a_rows / $a_wall" | bc)
b_rate=$(echo "$b_lines / $b_wall" | bc)
c_rate=$(echo "$expected / $c_wall" | bc)
printf '%-46s %10.3f %12d %10s\n' "(a) etl-bench (binary COPY, Swift JSON)" "$a_wall" "$a_rate" "1.00x"
printf '%-46s %10.3f %12d %10s\n' "(b) psql \\copy row_to_json" "$b_wall" "$b_rate" "$(echo "scale=2; $a_rate / $b_rate" | bc)x"
printf '%-46s %10.3f %12d %10s\n' "(c) psql \\copy csv" "$c_wall" "$c_rate" "$(echo "scale=2; $a_rate / $c_rate" | bc)x"
echo "(a) peak RSS: ${a_rss} MiB (getrusage)${rss_time_kb:+, $(echo "scale=1; $rss_time_kb / 1024" | bc) MiB (/usr/bin/time -v)}"
echo "targets: (a)/(b) >= 2.0 → $(echo "scale=2; $a_rate / $b_rate" | bc); (a)/(c) >= 0.8 → $(echo "scale=2; $a_rate / $c_rate" | bc); RSS < 64 MB"
[ "$a_rows" = "$expected" ] || echo "WARNING: the extractor wrote $a_rows rows, the query returns $expected" >&2
