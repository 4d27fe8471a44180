#!/usr/bin/env sh
# Exceeds the login limit of a running notes app and prints the refusal: status 429, Retry-After and the
# RateLimit headers. Each attempt fetches the login form first, so it carries the session cookie and the
# CSRF token like a browser would, then posts a wrong password for one account.
#
# Usage: scripts/demo-rate-limit.sh [login URL] [attempts]
#   login URL  default http://127.0.0.1:3000/login (start the app with `npm start`)
#   attempts   default 12. The app allows 10 login posts a minute per client.
#              It also allows 10 failures an hour per account.
# Send it only to an app you run yourself.
set -eu

LOGIN_URL="${1:-${LOGIN_URL:-http://127.0.0.1:3000/login}}"
ATTEMPTS="${2:-12}"
ORIGIN=$(printf '%s' "$LOGIN_URL" | sed -E 's#^(https?://[^/]+).*#\1#')
WORK_DIR=$(mktemp -d)
trap 'rm -rf "$WORK_DIR"' EXIT

attempt=1
while [ "$attempt" -le "$ATTEMPTS" ]; do
  # A fresh form gives the cookie and the CSRF token of this attempt.
  curl -sS -c "$WORK_DIR/cookies" -b "$WORK_DIR/cookies" -H 'accept: text/html' -o "$WORK_DIR/form.html" "$LOGIN_URL"
  token=$(sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' "$WORK_DIR/form.html" | head -n 1)

  status=$(curl -sS -o "$WORK_DIR/body" -D "$WORK_DIR/headers" -w '%{http_code}' \
    -c "$WORK_DIR/cookies" -b "$WORK_DIR/cookies" \
    -H "origin: $ORIGIN" -H 'accept: text/html' \
    --data-urlencode "_csrf=$token" \
    --data-urlencode 'email=demo-victim@example.com' \
    --data-urlencode "password=wrong-guess-$attempt" \
    "$LOGIN_URL")
  echo "attempt $attempt: HTTP $status"

  if [ "$status" = 429 ]; then
    echo
    echo 'Refused with these headers:'
    grep -iE '^(HTTP/|retry-after|ratelimit)' "$WORK_DIR/headers"
    echo
    echo 'Message shown on the form:'
    grep -o '<p[^>]*role="alert"[^>]*>[^<]*' "$WORK_DIR/body" | sed 's/<[^>]*>//' || grep -o 'Too many[^<]*' "$WORK_DIR/body"
    exit 0
  fi
  attempt=$((attempt + 1))
done

echo "No 429 after $ATTEMPTS attempts: is the rate limit on?" >&2
exit 1
