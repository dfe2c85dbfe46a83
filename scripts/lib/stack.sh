# Shared by the measurement scripts (sourced, not run): install wrk, start the whole stack as
# one `mock-services serve` process on free loopback ports, and log a user in as a browser would.

# Installs wrk (Debian package) when it is missing.
ensure_wrk() {
  command -v wrk >/dev/null 2>&1 && return 0
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "wrk is missing: install it with apt-get install wrk" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "Installing wrk (Debian package) ..." >&2
  "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq wrk >/dev/null
}

# start_stack BACKEND WORKDIR [SERVE FLAGS...]: starts `target/release/mock-services serve` in the
# background (with any further flags) and sets stack_pid, idp, store and forums. The caller stops
# it (kill "$stack_pid").
start_stack() {
  local backend=$1 work=$2
  shift 2
  target/release/mock-services serve --backend "$backend" \
    --idp-addr 127.0.0.1:0 --store-addr 127.0.0.2:0 --forums-addr 127.0.0.3:0 "$@" >"$work/urls" 2>"$work/log" &
  stack_pid=$!
  for _ in $(seq 100); do grep -q '^forums ' "$work/urls" 2>/dev/null && break; sleep 0.1; done
  grep -q '^forums ' "$work/urls" || { echo "the stack did not start:" >&2; cat "$work/log" >&2; exit 1; }
  idp=$(awk '$1 == "idp" {print $2}' "$work/urls")
  store=$(awk '$1 == "store" {print $2}' "$work/urls")
  forums=$(awk '$1 == "forums" {print $2}' "$work/urls")
}

# login_session WORKDIR: logs user1 in at the store as a browser would, hop by hop (/login → the
# IdP's form → the form's fields as served, its CSRF token among them, with the password →
# callback), and prints the store's session cookie value.
login_session() {
  local jar=$1/jar authorize callback session fields=()
  authorize=$(curl -sf -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "$store/login")
  while IFS= read -r field; do fields+=(--data-urlencode "$field"); done < <(
    curl -sf -c "$jar" -b "$jar" "$authorize" | hidden_fields)
  callback=$(curl -sf -c "$jar" -b "$jar" -o /dev/null -w '%{redirect_url}' "${fields[@]}" \
    --data-urlencode loginId=user1@example.com --data-urlencode password=password "$idp/oauth2/authorize")
  curl -sf -c "$jar" -b "$jar" -o /dev/null "$callback"
  session=$(awk '$6 == "ssobench_store_session" {print $7}' "$jar")
  [ -n "$session" ] || { echo "login failed: no session cookie" >&2; exit 1; }
  echo "$session"
}

# hidden_fields: reads an HTML page, prints each hidden input as name=value (unescaped).
hidden_fields() {
  grep -o '<input type="hidden" name="[^"]*" value="[^"]*"' \
    | sed -E 's/.*name="([^"]*)" value="([^"]*)"/\1=\2/; s/&quot;/"/g; s/&#39;/'"'"'/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'
}
