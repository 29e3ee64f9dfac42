# shellcheck shell=bash
# Shared by the drills (sourced): logging with the drill's clock, free loopback ports, waiting for
# an HTTP endpoint. The caller sets $started (date +%s) before using log.
# shellcheck disable=SC2154  # $started: the caller's
log() { echo "[drill $(($(date +%s) - started))s] $*" >&2; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_http() { # url, seconds: until it answers 200
  for _ in $(seq 1 $(($2 * 10))); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}
