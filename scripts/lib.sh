# Shared by the scripts and benchmarks that run the tool against the sandbox API; source it
# from the repository root:  . scripts/lib.sh

# ensure_built: builds build/astro (installing missing Debian packages first) when it is absent.
ensure_built() {
  [ -x build/astro ] && return 0
  scripts/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j"$(nproc)" >/dev/null
}

# start_sandbox [SANDBOX FLAGS...]: makes a throw-away folder $work, starts
# spec/support/sandbox.py on a free port with a config home written into $work, waits until it
# listens, exports ASTRO_HOME=$work, sets $sandbox_url, and stops the sandbox and removes $work
# when the script exits.
start_sandbox() {
  work=$(mktemp -d /tmp/astro-sandbox.XXXXXX)
  local python=/usr/bin/python3
  [ -x "$python" ] || python=python3
  "$python" spec/support/sandbox.py --port 0 --port-file "$work/port" --write-config "$work" "$@" \
    >"$work/sandbox.log" 2>&1 &
  sandbox_pid=$!
  trap 'kill "$sandbox_pid" 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 1 400); do [ -s "$work/port" ] && break; sleep 0.05; done
  [ -s "$work/port" ] || { cat "$work/sandbox.log" >&2; exit 1; }
  sandbox_url="http://127.0.0.1:$(cat "$work/port")"
  export ASTRO_HOME="$work"
}
