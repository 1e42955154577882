--- The transport under every API client: the process's HTTP session (astro.core.http), one
-- request with the retry rules (astro._core.retry), raw concurrent batches for the engine, the
-- debug trace, and transport failures as astro errors. Nothing outside astro._core uses it: a
-- request reaches the network only through a client (astro._core.client).
--
-- Two rules hold here, below every client, whatever a caller did above:
-- * the credential (req.auth = { header, origin }) becomes the Authorization header only when
--   the request's URL is of that origin; a request for any other origin is refused unsent;
-- * while --dry-run is on (astro._core.dryrun), a request that changes something is refused
--   unsent; only the token refresh (req.token_refresh, set by astro._core.auth) may go;
-- * while a plugin's top-level code runs, nothing is sent at all.
local core = require("astro.core.http")
local env = require("astro.core.env")
local sys = require("astro.core.sys")
local errors = require("astro.errors")
local dryrun = require("astro._core.dryrun")
local policy_defaults = require("astro._core.policy")
local retry = require("astro._core.retry")
local trace = require("astro._core.trace")

local M = {}

local session

-- The process's shared HTTP session (one connection pool), created on first use.
local function _session()
  if not session then session = core.session() end
  return session
end

--- The origin of an http(s) URL as "scheme://host:port" (lower case, default port filled in),
-- or nil for anything else (another scheme, user info, no host).
---@param url string
---@return string|nil
function M.origin(url)
  if type(url) ~= "string" then return nil end
  local scheme, authority = url:match("^(%a[%w+.-]*)://([^/?#]*)")
  if not scheme then return nil end
  scheme = scheme:lower()
  if (scheme ~= "http" and scheme ~= "https") or authority:find("@", 1, true) then return nil end
  local host, port = authority:match("^(%[[%x:.]+%]):?(%d*)$")
  if not host then host, port = authority:match("^([^:%[%]]+):?(%d*)$") end
  if not host or host == "" then return nil end
  if port == "" then port = scheme == "https" and "443" or "80" end
  return scheme .. "://" .. host:lower() .. ":" .. tonumber(port)
end

local _origin = M.origin

-- Why req may not be sent, or nil: a credential for another origin, or a change under
-- --dry-run. Checked on every request, single or in a run.
local function _refusal(req)
  local method = req.method or "GET"
  -- A plugin's top-level code runs for every command, before the command line's flags apply:
  -- it may send nothing (astro._core.userenv counts the plugins loading; loaded only when
  -- there are plugins).
  local userenv = package.loaded["astro._core.userenv"]
  if userenv and userenv.loading > 0 then
    return errors.new("a plugin cannot send requests while it loads: send them from its command's run",
      { code = "plugin" })
  end
  if dryrun.is_on() and dryrun.is_mutating(method) and not req.token_refresh then
    return errors.new(string.format("%s %s was held back: --dry-run is on, nothing that changes something is sent",
      method, (req.url or ""):gsub("%?.*$", "")), { code = "dry_run" })
  end
  if req.auth ~= nil then
    local origin = _origin(req.url)
    if type(req.auth) ~= "table" or origin == nil or origin ~= req.auth.origin then
      return errors.new(string.format("refused to send the credential to %s: it is sent only to its API, %s",
        tostring(origin or "an invalid URL"), tostring(type(req.auth) == "table" and req.auth.origin)),
        { code = "credential" })
    end
  end
  for name in pairs(req.headers or {}) do
    if type(name) == "string" and name:lower() == "authorization" then
      return errors.new("refused to send a request with an Authorization header of its own: the credential " ..
        "is the client's", { code = "credential" })
    end
  end
end

-- A copy of req ready for the C session, and whether it may be repeated (req.idempotent, a
-- field the C layer does not take, or an idempotent method). The credential becomes the
-- Authorization header here (the caller checked _refusal first).
local function _prepare(req, policy)
  local r = {}
  for k, v in pairs(req) do r[k] = v end
  r.method = r.method or "GET"
  if r.auth then
    local headers = {}
    for k, v in pairs(r.headers or {}) do headers[k] = v end
    headers.Authorization = r.auth.header
    r.headers = headers
  end
  r.auth, r.token_refresh = nil, nil
  local idempotent = r.idempotent or policy.idempotent[r.method] or false
  r.idempotent = nil
  -- A write never goes out on a reused connection: libcurl resends silently when a reused
  -- connection dies before the answer, behind the retry rules' back.
  if r.fresh_connect == nil then r.fresh_connect = not policy.idempotent[r.method] end
  if r.timeout == nil then r.timeout = policy.timeout end
  if r.connect_timeout == nil then r.connect_timeout = policy.connect_timeout end
  return r, idempotent
end

-- The name of the first proxy variable of names that is set, or nil.
local function _set_variable(names)
  for _, n in ipairs(names) do
    if env.get(n) then return n end
  end
end

--- The name of the proxy variable libcurl takes for this URL, as curl(1) does: the scheme's own
-- variable (only the lower-case http_proxy for http://, for safety), else ALL_PROXY; none when
-- NO_PROXY lists the host (or is "*"). Returns the variable's name, never its value (it may
-- hold a password), or nil. An approximation of libcurl's rules for messages, not for routing.
---@param url string
---@return string|nil
function M.proxy_variable(url)
  local scheme, host = url:match("^(%a[%w+.-]*)://([^/?#]*)")
  if not scheme then return nil end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then return nil end
  host = host:gsub("^.*@", ""):gsub(":%d*$", ""):gsub("^%[(.*)%]$", "%1"):lower()
  local own = scheme == "http" and { "http_proxy" } or { "https_proxy", "HTTPS_PROXY" }
  local name = _set_variable(own) or _set_variable({ "all_proxy", "ALL_PROXY" })
  if not name then return nil end
  local no_proxy = env.get("no_proxy") or env.get("NO_PROXY")
  for entry in (no_proxy or ""):gmatch("[^,%s]+") do
    entry = entry:gsub("^%.", ""):lower()
    if entry == "*" or host == entry or host:sub(-(#entry + 1)) == "." .. entry then return nil end
  end
  return name
end

-- An astro error for a transport failure. A write that failed after its request left says
-- that its outcome is unknown (err.unknown), idempotent or not: the change may have been made.
-- When the request went through a proxy, the message says which variable set it.
local function _transport_error(req, msg, code)
  local text = msg
  local proxy = code ~= "interrupted" and M.proxy_variable(req.url or "") or nil
  if proxy then
    text = text .. " (through the proxy set in " .. proxy .. "; check the proxy, or list the API's host in NO_PROXY)"
  end
  local unknown = (code == "recv" or code == "send" or code == "timeout")
    and not (req.method == "GET" or req.method == "HEAD" or req.method == "OPTIONS")
  if unknown then text = text .. " (the request was sent; whether it took effect is unknown)" end
  return errors.new(text, { code = code == "interrupted" and "interrupted" or "transport",
                            transport = code, unknown = unknown or nil })
end

--- Sends one request with the retry rules (astro._core.retry), paced by `pacer` when given
-- (astro._core.pacer: the request starts when the pacer allows, and its answer teaches it).
-- Returns the response table ({status, headers, body, time, attempts}) or nil, err (an astro
-- error with code "transport" or "interrupted", or "api" when the server asked for a longer
-- wait than the policy allows). HTTP error statuses are responses, not errors.
---@param req table {method, url, headers, body, timeout, connect_timeout, idempotent}
---@param policy? table overrides astro.http.policy
---@param pacer? table
function M.request(req, policy, pacer)
  policy = policy or policy_defaults
  local refused = _refusal(req)
  if refused then return nil, refused end
  local r, idempotent = _prepare(req, policy)
  local attempt, throttled = 0, 0
  while true do
    attempt = attempt + 1
    local entry
    if pacer then
      local wait = pacer:due(r.method) - sys.now()
      if wait > 0 and not sys.sleep(wait) then return nil, errors.new("interrupted", { code = "interrupted" }) end
      entry = pacer:sent(r.method)
    end
    trace.request(r)
    local res, msg, code = _session():request(r)
    trace.response(r, res, msg)
    if entry then pacer:answered(entry, res) end
    local d = retry.decide(r.method, res, code, { attempt = attempt, throttled = throttled, idempotent = idempotent },
      policy)
    if d.action == "give_up" then return nil, d.err end
    if d.action ~= "retry" then
      if not res then return nil, _transport_error(r, msg, code) end
      res.attempts = attempt
      return res
    end
    if d.throttled then throttled = throttled + 1 end
    trace.note(string.format("  retrying in %.2f s (attempt %d)", d.delay, attempt + 1))
    if not sys.sleep(d.delay) then return nil, errors.new("interrupted", { code = "interrupted" }) end
  end
end

--- Runs requests concurrently as they are asked for, once each (no retries: the caller
-- decides): opts.next() returns `key, req` to start req now, `nil, t` for nothing before
-- monotonic time t, or nil for nothing until a transfer ends (with nothing running, the run
-- ends); opts.on_done(key, out) receives each outcome as it comes: the response table, or
-- { error = err } with err an astro error (err.transport = the failure code). Returns true,
-- or false, message when a signal or a failure of the transfer machinery ended it.
---@param opts {concurrency?: integer, next: fun(): any, on_done: fun(key: any, out: table)}
function M.run(opts)
  local running = {}
  local next_fn, on_done = opts.next, opts.on_done
  return _session():run({
    concurrency = opts.concurrency or policy_defaults.concurrency,
    next = function()
      local key, req = next_fn()
      if key == nil then return nil, req end
      local refused = _refusal(req)
      if refused then
        error("astro._core.transport.run: " .. refused.message, 0)
      end
      local prepared = _prepare(req, policy_defaults)
      running[key] = prepared
      trace.request(prepared)
      return key, prepared
    end,
    on_done = function(key, o)
      local req = running[key]
      running[key] = nil
      if o.status then
        trace.response(req, o)
        on_done(key, o)
      else
        trace.response(req, nil, o.error)
        on_done(key, { error = _transport_error(req, o.error, o.code) })
      end
    end,
  })
end

return M
