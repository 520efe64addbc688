#!/usr/bin/env bash
# The publish benchmark (docs/benchmarks.md, "Publish"): a broker started by `kafka up` in another process, then
# `publish` of FOLDER under /usr/bin/time -v. Prints one JSON line: peak RSS, wall time, the command's own
# throughput line, load averages before and after.
#   bench/publish/measure.sh CLI_DLL FOLDER NAME > result.json
set -euo pipefail
cli="$1"; folder="$2"; name="$3"
log="$(mktemp -d)"
dotnet "$cli" kafka up > "$log/kafka.out" 2> "$log/kafka.err" &
kafka=$!
trap 'kill $kafka 2>/dev/null; wait $kafka 2>/dev/null; rm -rf "$log"' EXIT
for _ in $(seq 1 120); do grep -q '^bootstrap=' "$log/kafka.out" && break; sleep 0.5; done
bootstrap="$(grep -m1 '^bootstrap=' "$log/kafka.out" | cut -d= -f2)"
load_before="$(cut -d' ' -f1 /proc/loadavg)"
/usr/bin/time -v dotnet "$cli" publish --dataset "$name" --format imagefolder --source "$folder" --bootstrap-servers "$bootstrap" \
  > "$log/publish.out" 2> "$log/publish.err"
load_after="$(cut -d' ' -f1 /proc/loadavg)"
rss_kb="$(grep 'Maximum resident set size' "$log/publish.err" | awk '{print $NF}')"
wall="$(grep 'Elapsed (wall clock)' "$log/publish.err" | awk '{print $NF}')"
cpu="$(grep 'Percent of CPU' "$log/publish.err" | awk '{print $NF}')"
throughput="$(grep -m1 '^throughput:' "$log/publish.out" || true)"
partitions="$(grep -m1 "bit.data.$name.train" "$log/publish.out" | tr -d '│|' | awk '{print $3}' || true)"
/usr/bin/python3 -c 'import json,sys; print(json.dumps(dict(zip(["cli","dataset","peak_rss_kb","wall","cpu","throughput","partitions","load_before","load_after"], sys.argv[1:]))))' \
  "$cli" "$name" "$rss_kb" "$wall" "$cpu" "$throughput" "$partitions" "$load_before" "$load_after"
