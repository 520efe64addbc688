#!/usr/bin/env bash
# Container health check. A `node` is healthy while its management endpoint says it is alive (Akka.Management's
# /alive on port 8558, or on BITACTORS_HEALTH_PORT for a node given another --management-port); any other command (run, publish, kafka up) is healthy while
# its process runs, which Docker already knows.
set -euo pipefail
if tr '\0' ' ' < /proc/1/cmdline | grep -qw node; then
  exec curl -fsS -o /dev/null --max-time 4 "http://127.0.0.1:${BITACTORS_HEALTH_PORT:-8558}/alive"
fi
exit 0
