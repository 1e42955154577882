-- The one import of every spec: runs the built astro binary, makes throw-away config homes,
-- and starts/stops the sandbox API (spec/support/sandbox.py) bound to 127.0.0.1.
local M = {}

M.root = os.getenv("ASTRO_SOURCE_DIR") or "."
M.astro = os.getenv("ASTRO_BIN") or (M.root .. "/build/astro")
M.python = os.getenv("ASTRO_PYTHON") or "/usr/bin/python3"

--- How much slower than a plain build a run may be: 3 under the sanitizer suite (ASAN_OPTIONS
-- is set there), else 1. Time limits in specs are multiplied by it, but never past the value
-- that would no longer tell concurrent from sequential.
M.slack = (os.getenv("ASAN_OPTIONS") or "") ~= "" and 3 or 1

local function shell_quote(s)
  s = tostring(s)
  if s:match("^[%w%._/:=@,+-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
M.shell_quote = shell_quote

--- Reads a whole file, or nil when it does not exist.
function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local data = f:read("a")
  f:close()
  return data
end

--- Writes data to path, creating or truncating it.
function M.write_file(path, data)
  local f = assert(io.open(path, "wb"))
  assert(f:write(data))
  f:close()
end

--- Runs a shell command and returns its exit status (integer).
function M.sh(cmd)
  local ok, how, code = os.execute(cmd)
  if how == "signal" then return 128 + code end
  return code or (ok and 0 or 1)
end

--- Runs a shell command and returns its standard output.
function M.capture(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("a")
  p:close()
  return out
end

local tmp_dirs = {}

--- Makes a fresh temporary directory, removed by M.cleanup().
function M.tmpdir()
  local dir = M.capture("mktemp -d /tmp/astro-spec.XXXXXX"):gsub("%s+$", "")
  tmp_dirs[#tmp_dirs + 1] = dir
  return dir
end

--- Removes every temporary directory made by M.tmpdir().
function M.cleanup()
  for _, dir in ipairs(tmp_dirs) do M.sh("rm -rf " .. shell_quote(dir)) end
  tmp_dirs = {}
end

--- Writes a plugin file into home's plugins folder (home/.astro/plugins/name, name may hold
-- a folder), folders mode 700 and the file `mode` (default 600) as astro asks; returns its path.
function M.install_plugin(home, name, src, mode)
  local dir = home .. "/.astro/plugins"
  local path = dir .. "/" .. name
  local parent = path:match("^(.*)/[^/]+$")
  M.sh("mkdir -p " .. shell_quote(parent) .. " && chmod 700 " .. shell_quote(dir) .. " " .. shell_quote(parent))
  M.write_file(path, src)
  M.sh("chmod " .. (mode or "600") .. " " .. shell_quote(path))
  return path
end

-- PATH without the folders that hold an `astro` (the astro CLI a developer has installed, or a
-- link to this build): a spec that types a command this tool does not have then gets this
-- tool's own answer, not the astro CLI's (passthrough specs set PATH themselves).
local function _path_without_astro()
  local keep = {}
  for dir in ((os.getenv("PATH") or "") .. ":"):gmatch("([^:]*):") do
    local f = dir ~= "" and io.open(dir .. "/astro", "rb")
    if f then f:close() elseif dir ~= "" then keep[#keep + 1] = dir end
  end
  return table.concat(keep, ":")
end
M.path_without_astro = _path_without_astro()

--- Runs the astro binary, with PATH cleared of other astro programs (M.path_without_astro)
-- unless opts.env sets PATH.
-- opts.env: table of environment variables to set (false to unset);
-- opts.stdin: text fed to standard input (default: empty, i.e. /dev/null);
-- opts.pipe: true to feed opts.stdin through a pipe (cat) instead of a file;
-- opts.tty: true to give astro a pseudo-terminal as stdout (and as stdin without opts.stdin),
-- with script(1); stdout is then what the terminal got, its CRLF line endings made LF again;
-- opts.home: an ASTRO_HOME directory. Returns { code, stdout, stderr }.
function M.run(args, opts)
  opts = opts or {}
  local dir = M.tmpdir()
  local parts = { "env", "-u", "ASTRO_API_TOKEN", "-u", "ASTRO_DOMAIN", "-u", "ASTRO_DEBUG",
                  "-u", "ASTRO_LUA_DIR", "-u", "ASTRO_CLI", "-u", "ASTRO_LUA_PASSTHROUGH", "NO_COLOR=" }
  parts[#parts + 1] = "HOME=" .. shell_quote(opts.home or dir)
  if not (opts.env and opts.env.PATH ~= nil) then parts[#parts + 1] = "PATH=" .. shell_quote(M.path_without_astro) end
  if opts.home then parts[#parts + 1] = "ASTRO_HOME=" .. shell_quote(opts.home) end
  for k, v in pairs(opts.env or {}) do
    if v == false then
      table.insert(parts, 2, "-u " .. k)
    else
      parts[#parts + 1] = k .. "=" .. shell_quote(v)
    end
  end
  parts[#parts + 1] = shell_quote(opts.bin or M.astro)
  for _, a in ipairs(args) do parts[#parts + 1] = shell_quote(a) end
  local stdin = "/dev/null"
  if opts.stdin then
    stdin = dir .. "/stdin"
    M.write_file(stdin, opts.stdin)
  end
  if opts.tty then
    local inner = table.concat(parts, " ") .. " 2>" .. dir .. "/stderr"
    if opts.stdin then inner = inner .. " <" .. stdin end
    local code = M.sh("script -qec " .. shell_quote(inner) .. " /dev/null </dev/null >" .. dir .. "/stdout")
    return { code = code, stdout = ((M.read_file(dir .. "/stdout") or ""):gsub("\r\n", "\n")),
             stderr = M.read_file(dir .. "/stderr") }
  end
  local cmd = table.concat(parts, " ") .. " >" .. dir .. "/stdout 2>" .. dir .. "/stderr"
  if opts.pipe then cmd = "cat " .. stdin .. " | " .. cmd else cmd = cmd .. " <" .. stdin end
  local code = M.sh(cmd)
  return { code = code, stdout = M.read_file(dir .. "/stdout"), stderr = M.read_file(dir .. "/stderr") }
end

--- A new table with the fields of each argument in turn (a later one's win).
function M.merged(...)
  local out = {}
  for _, t in ipairs({ ... }) do
    for k, v in pairs(t) do out[k] = v end
  end
  return out
end

--- A copy of astro.http.policy with short backoffs (seconds), so that retries take no time.
function M.quick_policy(base_delay, max_delay)
  return M.merged(require("astro.http").policy, { base_delay = base_delay, max_delay = max_delay })
end

--- Splits a string into lines (without the newlines).
function M.lines(s)
  local out = {}
  for line in (s or ""):gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

-- Sandbox ---------------------------------------------------------------------------------

local Sandbox = {}
Sandbox.__index = Sandbox

--- Sends a control request to the sandbox with curl(1) and returns the decoded JSON answer.
function Sandbox:control(method, path, body)
  local cmd = "curl -s -X " .. method .. " " .. shell_quote(self.url .. path)
  if body then
    cmd = cmd .. " -H 'Content-Type: application/json' --data-binary " ..
          shell_quote(require("astro.json").encode(body))
  end
  local out = M.capture(cmd)
  return require("astro.json").decode(out)
end

--- Every request the sandbox recorded, in arrival order.
function Sandbox:requests() return self:control("GET", "/_sandbox/requests") end
--- Clears the request record.
function Sandbox:reset_requests() return self:control("POST", "/_sandbox/reset-requests") end
--- Changes the fault settings (see docs/sandbox.md).
function Sandbox:faults(t) return self:control("POST", "/_sandbox/faults", t) end
--- The sandbox's whole state (organizations, users, workspaces).
function Sandbox:state() return self:control("GET", "/_sandbox/state") end

--- Writes an ASTRO_HOME whose current context "localhost" points at this sandbox and returns
-- its path. opts: token (default "test-token", written with its "Bearer " prefix),
-- organization (default: the first organization of the sandbox), extra (YAML text appended).
function Sandbox:home(opts)
  opts = opts or {}
  local home = M.tmpdir()
  local org = opts.organization
  if not org then org = self:state().organizations[1].id end
  M.sh("mkdir -p " .. shell_quote(home .. "/.astro") .. " && chmod 700 " .. shell_quote(home .. "/.astro"))
  local text = table.concat({
    "context: localhost",
    "contexts:",
    "  localhost:",
    "    domain: localhost",
    '    expiresin: "' .. (opts.expiresin or "2099-01-01T00:00:00Z") .. '"',
    '    last_used_workspace: ""',
    "    organization: " .. org,
    "    organization_product: HOSTED",
    "    refreshtoken: " .. (opts.refreshtoken or "sandbox-refresh-token"),
    "    token: Bearer " .. (opts.token or "test-token"),
    "    user_email: jane.doe@acme.io",
    '    workspace: ""',
    "local:",
    "  core: " .. self.url,
    "  platform: cloud",
    "",
  }, "\n") .. (opts.extra or "")
  local path = home .. "/.astro/config.yaml"
  M.write_file(path, text)
  M.sh("chmod 600 " .. shell_quote(path))
  return home
end

--- Stops the sandbox process.
function Sandbox:stop()
  if self.pid then M.sh("kill " .. self.pid .. " 2>/dev/null") end
  self.pid = nil
end

--- Starts the sandbox on a free port with the given command-line flags and waits until it
-- is ready. Returns a Sandbox with url, port, log (path) and the methods above.
function M.sandbox(flags)
  local dir = M.tmpdir()
  local port_file = dir .. "/port"
  local cmd = shell_quote(M.python) .. " " .. shell_quote(M.root .. "/spec/support/sandbox.py") ..
              " --port 0 --port-file " .. port_file
  for _, f in ipairs(flags or {}) do cmd = cmd .. " " .. shell_quote(f) end
  local log = dir .. "/sandbox.log"
  local pid = M.capture(cmd .. " >" .. log .. " 2>&1 & echo $!"):gsub("%s+$", "")
  local sys = require("astro.core.sys")
  local deadline = sys.now() + 15
  local port
  repeat
    port = M.read_file(port_file)
    if port and port:match("^%d+") then break end
    sys.sleep(0.02)
  until sys.now() > deadline
  assert(port and port:match("^%d+"), "sandbox did not start: " .. (M.read_file(log) or ""))
  port = port:match("^%d+")
  local sb = setmetatable({ pid = pid, port = tonumber(port), log = log,
                            url = "http://127.0.0.1:" .. port, dir = dir }, Sandbox)
  return sb
end

-- Shared set-up ---------------------------------------------------------------------------

--- Ids of the demo seed (spec/support/seed/demo.json): organizations, workspaces and users.
M.ids = {
  ACME = "clt0acme000010bhys38c6ryb",        -- organization "Acme Data Platform" (the first)
  GLOBEX = "clu7glbx000020j7zc6npf32j",      -- organization "Globex"
  INITECH = "clv2init000030es9qjsmo8nu",     -- organization "Initech Sandbox"
  ANALYTICS = "clwanly000010uxapiyuxv50n",   -- Acme workspace
  MLOPS = "clwmlops000201ra423vdshc4",       -- Acme workspace
  OPERATIONS = "clwgops0000301k2x8f7q9zrb",  -- Globex workspace
  TPS = "clwtps00000401m5n2b8v3xke",         -- Initech workspace
  RAJ = "clrraj0000002019nj9w0ji6b",         -- Acme user raj.patel@acme.io
  MEI = "clrmei00000030v4ds06npq50",         -- Acme user mei.lin@acme.io
}

--- Registers in the current describe block a sandbox started once (lazy_setup), stopped with
-- the temporary directories (lazy_teardown) and reset before each test (before_each).
-- opts.flags: flags for M.sandbox, or a function returning them called at setup;
-- opts.home: options for sb:home, or false for no shared home;
-- opts.reset: "state" (default: the whole sandbox), "requests" (the request record only) or
-- false (no reset). Returns a table whose sb, home and dir (a temporary folder) are filled in
-- at setup, whose run(args, opts) is M.run with that home unless opts.home is given, whose
-- command(words) returns such a runner that puts words before its args, and whose
-- file(name, text) writes a file into dir.
function M.use_sandbox(opts)
  opts = opts or {}
  local busted = require("busted")
  local t = {}
  function t.run(args, run_opts)
    local o = {}
    for k, v in pairs(run_opts or {}) do o[k] = v end
    if o.home == nil then o.home = t.home end
    return M.run(args, o)
  end
  -- file(name, text) writes text to name in the temporary folder t.dir and returns its path.
  function t.file(name, text)
    local path = t.dir .. "/" .. name
    M.write_file(path, text)
    return path
  end
  -- command(words) is a runner like run whose args come after those words.
  function t.command(words)
    return function(args, run_opts)
      local full = {}
      for _, w in ipairs(words) do full[#full + 1] = w end
      for _, a in ipairs(args or {}) do full[#full + 1] = a end
      return t.run(full, run_opts)
    end
  end
  busted.lazy_setup(function()
    local flags = opts.flags
    if type(flags) == "function" then flags = flags() end
    t.sb = M.sandbox(flags)
    t.dir = M.tmpdir()
    if opts.home ~= false then t.home = t.sb:home(opts.home) end
  end)
  busted.lazy_teardown(function()
    if t.sb then t.sb:stop() end
    M.cleanup()
  end)
  if opts.reset == "requests" then
    busted.before_each(function() t.sb:reset_requests() end)
  elseif opts.reset ~= false then
    busted.before_each(function() t.sb:control("POST", "/_sandbox/reset") end)
  end
  return t
end

--- The requests sb recorded, in arrival order, passing every test given in want: method (the
-- method is this), except (the method is not this), path (the path is this), prefix (the path
-- starts with this). With no want, all of them.
function M.recorded(sb, want)
  want = want or {}
  local out = {}
  for _, r in ipairs(sb:requests()) do
    if (want.method == nil or r.method == want.method)
        and (want.except == nil or r.method ~= want.except)
        and (want.path == nil or r.path == want.path)
        and (want.prefix == nil or r.path:sub(1, #want.prefix) == want.prefix) then
      out[#out + 1] = r
    end
  end
  return out
end

--- The recorded requests of sb that change something (any method but GET and HEAD).
function M.writes(sb)
  local out = {}
  for _, r in ipairs(sb:requests()) do
    if r.method ~= "GET" and r.method ~= "HEAD" then out[#out + 1] = r end
  end
  return out
end

--- "METHOD path" of each request in reqs (e.g. from sb:requests() or M.writes), in order.
function M.trace(reqs)
  local out = {}
  for i, r in ipairs(reqs) do out[i] = r.method .. " " .. r.path end
  return out
end

--- The credentials written by sb:home() by default: what no output may show.
M.home_secrets = { "test-token", "sandbox-refresh-token" }

--- Fails when out (a text, or a result of M.run: its stdout and stderr) shows any of secrets
-- (default M.home_secrets); where names the output in the failure message.
function M.no_secret(out, secrets, where)
  local assert = require("luassert")
  local texts = type(out) == "table" and { out.stdout, out.stderr } or { out }
  for _, text in ipairs(texts) do
    for _, s in ipairs(secrets or M.home_secrets) do
      assert.is_nil((text or ""):find(s, 1, true), (where or "output") .. " shows a secret: " .. s)
    end
  end
end

return M
