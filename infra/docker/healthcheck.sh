#!/usr/bin/env bash
# The container's health check: GET /livez on the admin listener of the binary that runs in it
# (KURA_HEALTH_PORT: 9464 for the fulfillment service, 9465 for the SLO controller).
# The runtime image has no curl; bash's /dev/tcp speaks just enough HTTP/1.0 for a 200.
set -euo pipefail
port="${KURA_HEALTH_PORT:-9464}"
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET /livez HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
read -r -t 3 _ status _ <&3
exec 3<&-
[ "${status}" = "200" ]
