--- HTTP for astro: the C session (astro.core.http) plus the retry policy for single requests,
-- raw batches for the bulk engine (astro.bulk), and the debug trace. Defaults live in M.policy.
--
-- Retry rules (curl's and the API's): a request is retried only when doing so cannot repeat a
-- change the server already made:
--   * any method: on 429 (the API did not process it) and when the connection could not be
--     made at all (code "connect": nothing was sent);
--   * idempotent methods (GET, HEAD): also on 502, 503, 504 and on transport failures after
--     sending ("recv", "send", "timeout");
--   * anything else (a POST that timed out, a 500) is returned to the caller as it is.
-- The delay is the server's Retry-After when given (capped by policy.max_retry_after), else an
-- exponential backoff with jitter capped by policy.max_delay.
local core = require("astro.core.http")
local sys = require("astro.core.sys")
local errors = require("astro.errors")

local M = {}

--- The retry and timeout defaults. Change them from Lua (e.g. in a plugin or a script).
M.policy = {
  max_attempts = 4,          -- attempts per request, the first one included
  base_delay = 0.5,          -- seconds before the first retry without Retry-After
  max_delay = 8,             -- cap on any backoff delay
  max_retry_after = 60,      -- a longer Retry-After makes the request fail instead of waiting
  retry_statuses = { [429] = true, [502] = true, [503] = true, [504] = true },
  idempotent = { GET = true, HEAD = true },
  timeout = 60,              -- seconds for a whole request (0 = none)
  connect_timeout = 10,      -- seconds to establish a connection
  concurrency = 8,           -- transfers in flight in a batch
  max_throttled = 12,        -- 429 answers (not processed: always safe to retry) per request
}

--- Debug trace sink: a function(line) or nil. Set by the CLI for --verbosity debug.
M.trace = nil

local session

--- The process's shared HTTP session (one connection pool), created on first use.
function M.session()
  if not session then session = core.session() end
  return session
end

local SECRET_FIELDS = { "access_token", "refresh_token", "id_token", "token", "client_secret" }

--- Hides secrets in text meant for a trace: JSON fields and form fields that hold tokens,
-- and any literal secret passed in.
---@param text string
---@param secrets? string[]
function M.redact(text, secrets)
  if not text or text == "" then return text end
  for _, s in ipairs(secrets or {}) do
    if s and #s >= 4 then
      local i = 1
      repeat
        local a, b = text:find(s, i, true)
        if a then text = text:sub(1, a - 1) .. "<redacted>" .. text:sub(b + 1); i = a + 10 end
      until not a
    end
  end
  for _, f in ipairs(SECRET_FIELDS) do
    text = text:gsub('("' .. f .. '"%s*:%s*")[^"]*"', '%1<redacted>"')
    text = text:gsub("([?&]?" .. f .. "=)[^&%s]*", "%1<redacted>")
  end
  return text
end

local function _trace_request(req)
  if not M.trace then return end
  M.trace(string.format("> %s %s", req.method or "GET", req.url))
  local secrets = {}
  for name, value in pairs(req.headers or {}) do
    if type(name) == "number" then name, value = value[1], value[2] end
    if name:lower() == "authorization" then
      secrets[#secrets + 1] = value
      value = "<redacted>"
    end
    M.trace(string.format("> %s: %s", name, value))
  end
  if req.body and req.body ~= "" then M.trace("> " .. M.redact(req.body, secrets)) end
end

local function _trace_response(req, res, err)
  if not M.trace then return end
  if res then
    M.trace(string.format("< %d %s %s (%.0f ms)", res.status, req.method or "GET", req.url,
      (res.time or 0) * 1000))
    local body = M.redact(res.body or "")
    if #body > 2048 then body = body:sub(1, 2048) .. "... (" .. #res.body .. " bytes)" end
    if body ~= "" then M.trace("< " .. body) end
  else
    M.trace(string.format("< failed %s %s: %s", req.method or "GET", req.url, tostring(err)))
  end
end

--- Decides whether to retry after an attempt; returns the delay in seconds or nil.
---@param method string
---@param res table|nil the response, or nil on a transport failure
---@param code string|nil the transport failure code
---@param attempt integer the attempt that just ended (1-based)
---@param policy table
---@param opts? {idempotent?: boolean, throttled?: integer}
--   idempotent: the request may be repeated whatever its method (e.g. setting a role);
--   throttled: how many of the attempts so far were answered 429 (those have their own budget,
--   policy.max_throttled: a 429 was not processed, so repeating it is always safe).
function M.retry_delay(method, res, code, attempt, policy, opts)
  policy = policy or M.policy
  opts = opts or {}
  local throttled = opts.throttled or 0
  local is_429 = res ~= nil and res.status == 429
  if is_429 then
    if throttled >= (policy.max_throttled or 12) then return nil end
  elseif attempt - throttled >= policy.max_attempts then
    return nil
  end
  local idempotent = policy.idempotent[method or "GET"] or opts.idempotent
  local retry
  if res then
    retry = policy.retry_statuses[res.status] and (is_429 or idempotent)
  else
    retry = code == "connect" or (idempotent and (code == "recv" or code == "send" or code == "timeout"))
  end
  if not retry then return nil end
  if res and res.headers and res.headers["retry-after"] then
    local secs = core.parse_retry_after(res.headers["retry-after"], sys.time())
    if secs then
      if secs > policy.max_retry_after then return nil end
      return secs
    end
  end
  local d = math.min(policy.max_delay, policy.base_delay * 2 ^ (attempt - throttled - 1))
  return d / 2 + math.random() * d / 2
end

-- A copy of req ready for the C session, and whether it may be repeated (req.idempotent, a
-- field the C layer does not take, or an idempotent method).
local function _prepare(req, policy)
  local r = {}
  for k, v in pairs(req) do r[k] = v end
  r.method = r.method or "GET"
  local idempotent = r.idempotent or policy.idempotent[r.method] or false
  r.idempotent = nil
  -- A write never goes out on a reused connection: libcurl resends silently when a reused
  -- connection dies before the answer, behind the retry rules' back.
  if r.fresh_connect == nil then r.fresh_connect = not policy.idempotent[r.method] end
  if r.timeout == nil then r.timeout = policy.timeout end
  if r.connect_timeout == nil then r.connect_timeout = policy.connect_timeout end
  return r, idempotent
end

-- The value of the first environment variable of names that is set and not empty.
local function _env(names)
  for _, n in ipairs(names) do
    local v = os.getenv(n)
    if v and v ~= "" then return n, v end
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
  host = host:gsub("^.*@", ""):gsub(":%d*$", ""):gsub("^%[(.*)%]$", "%1"):lower()
  local own = scheme == "http" and { "http_proxy" } or { scheme .. "_proxy", scheme:upper() .. "_PROXY" }
  local name = _env(own) or _env({ "all_proxy", "ALL_PROXY" })
  if not name then return nil end
  local _, no_proxy = _env({ "no_proxy", "NO_PROXY" })
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

--- Sends one request with the retry policy. Returns the response table
-- ({status, headers, body, time, attempts}) or nil, err (an astro error with code
-- "transport" or "interrupted"). HTTP error statuses are responses, not errors.
---@param req table {method, url, headers, body, timeout, connect_timeout}
---@param policy? table overrides M.policy
function M.request(req, policy)
  policy = policy or M.policy
  local r, idempotent = _prepare(req, policy)
  local attempt, throttled = 0, 0
  while true do
    attempt = attempt + 1
    _trace_request(r)
    local res, msg, code = M.session():request(r)
    _trace_response(r, res, msg)
    if code == "interrupted" then return nil, _transport_error(r, msg, code) end
    local delay = M.retry_delay(r.method, res, code, attempt, policy,
      { idempotent = idempotent, throttled = throttled })
    if not delay then
      if not res then return nil, _transport_error(r, msg, code) end
      res.attempts = attempt
      return res
    end
    if res and res.status == 429 then throttled = throttled + 1 end
    if M.trace then M.trace(string.format("  retrying in %.2f s (attempt %d)", delay, attempt + 1)) end
    local ok = sys.sleep(delay)
    if not ok then return nil, errors.new("interrupted", { code = "interrupted" }) end
  end
end

--- Sends many requests concurrently, once each (no retries: the caller decides), handing each
-- outcome to opts.on_done(index, out) as it finishes: out is the response table, or
-- { error = err } with err an astro error (err.transport = the failure code). Requests may
-- carry start_at (astro.core.sys.now() seconds) to be started no earlier; opts.before_start(i),
-- asked as request i is due, returns nil to start it or a later time to hold it (and those
-- after it) until then.
---@param reqs table[]
---@param opts {concurrency?: integer, on_done: fun(i: integer, out: table), before_start?: fun(i: integer): number|nil}
function M.batch_raw(reqs, opts)
  local prepared = {}
  for i, r in ipairs(reqs) do
    prepared[i] = _prepare(r, M.policy)
    _trace_request(prepared[i])
  end
  reqs = prepared
  local on_done = opts.on_done
  return M.session():batch(reqs, {
    concurrency = opts.concurrency or M.policy.concurrency,
    before_start = opts.before_start,
    on_done = function(i, o)
      local req = reqs[i]
      if o.status then
        _trace_response(req, o)
        on_done(i, o)
      else
        _trace_response(req, nil, o.error)
        on_done(i, { error = _transport_error(req, o.error, o.code) })
      end
    end,
  })
end

return M
