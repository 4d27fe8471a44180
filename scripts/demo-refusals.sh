#!/usr/bin/env sh
# Shows, against a running notes app, the four things Harden promises to refuse or send: the security
# headers (and no HSTS over plain HTTP), the CORS refusal of an untrusted origin, the CSRF refusal of a
# cross-site and a token-less request, and the 429 past the login limit (through demo-rate-limit.sh).
# Each step prints PASS or FAIL; the exit status is the number of failed steps.
#
# Usage: scripts/demo-refusals.sh [app URL]
#   app URL  default http://127.0.0.1:3000 (start the app with `npm start`)
# The last step spends the login limit of this client for a minute. Send it only to an app you run yourself.
set -u

APP_URL="${1:-${APP_URL:-http://127.0.0.1:3000}}"
APP_URL="${APP_URL%/}"
EVIL_ORIGIN='https://evil.example'
WORK_DIR=$(mktemp -d)
trap 'rm -rf "$WORK_DIR"' EXIT
failures=0

report() { # report STEP CONDITION-EXIT-STATUS DETAIL
  if [ "$2" -eq 0 ]; then echo "PASS  $1"; else echo "FAIL  $1: $3"; failures=$((failures + 1)); fi
}

has_header() { grep -qi "^$1:" "$WORK_DIR/headers"; }

echo "== security headers of GET $APP_URL/login"
curl -sS -o /dev/null -D "$WORK_DIR/headers" "$APP_URL/login"
grep -iE '^(content-security-policy|x-frame-options|x-content-type-options|referrer-policy|permissions-policy|cross-origin-opener-policy|cross-origin-resource-policy|strict-transport-security|set-cookie):' \
  "$WORK_DIR/headers" | sed -E 's/(__Host-sid=)[^;]*/\1<id>/'
for header in content-security-policy x-frame-options x-content-type-options referrer-policy \
  permissions-policy cross-origin-opener-policy cross-origin-resource-policy; do
  has_header "$header"
  report "$header is sent" $? 'missing'
done
case "$APP_URL" in
  http://*)
    ! has_header strict-transport-security
    report 'no HSTS over plain HTTP' $? 'Strict-Transport-Security was sent over HTTP'
    ;;
esac
! has_header x-powered-by && ! has_header server
report 'no X-Powered-By or Server header' $? 'a version header was sent'

echo
echo "== CORS: preflight and GET /api/me from $EVIL_ORIGIN"
status=$(curl -sS -o /dev/null -D "$WORK_DIR/headers" -w '%{http_code}' -X OPTIONS \
  -H "origin: $EVIL_ORIGIN" -H 'access-control-request-method: POST' "$APP_URL/api/notes")
echo "preflight: HTTP $status"
[ "$status" = 403 ] && ! has_header access-control-allow-origin
report 'untrusted preflight gets 403 and no CORS header' $? "HTTP $status"
curl -sS -o /dev/null -D "$WORK_DIR/headers" -H "origin: $EVIL_ORIGIN" "$APP_URL/api/me"
! has_header access-control-allow-origin && ! has_header access-control-allow-credentials
report 'untrusted GET gets no CORS header' $? 'Access-Control-Allow-* was sent'

echo
echo '== CSRF: POST /api/notes with the session cookie of GET /login'
curl -sS -o /dev/null -c "$WORK_DIR/cookies" "$APP_URL/login"
status=$(curl -sS -o "$WORK_DIR/body" -w '%{http_code}' -b "$WORK_DIR/cookies" \
  -H "origin: $EVIL_ORIGIN" -H 'sec-fetch-site: cross-site' -H 'content-type: application/json' \
  -d '{"body":"planted"}' "$APP_URL/api/notes")
echo "cross-site: HTTP $status $(cat "$WORK_DIR/body")"
[ "$status" = 403 ] && grep -q '"reason":"cross-site"' "$WORK_DIR/body"
report 'cross-site post is refused' $? "HTTP $status"
status=$(curl -sS -o "$WORK_DIR/body" -w '%{http_code}' -b "$WORK_DIR/cookies" \
  -H 'content-type: application/json' -d '{"body":"planted"}' "$APP_URL/api/notes")
echo "no token: HTTP $status $(cat "$WORK_DIR/body")"
[ "$status" = 403 ] && grep -q '"reason":"token-missing"' "$WORK_DIR/body"
report 'post without a CSRF token is refused' $? "HTTP $status"

echo
echo '== rate limit: wrong passwords on POST /login until 429'
sh "$(dirname "$0")/demo-rate-limit.sh" "$APP_URL/login" 15
report 'login limit answers 429 with Retry-After' $? 'no 429'

echo
echo "$failures step(s) failed."
exit "$failures"
