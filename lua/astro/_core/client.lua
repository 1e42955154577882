--- The Astro API v1 client: a base URL and a credential, the astro CLI's headers, JSON bodies,
-- errors as values carrying the API's `message`, `status` and `requestId`, and --dry-run. It is
-- the one road from commands, plugins and scripts to the network: everything that sends an API
-- request (the public functions of `astro`, the engine, listings) sends it through a client.
--
-- A client's public face is its methods request/get/post/org_path and the read-only fields
-- base_url, organization (its id), organization_name, organization_product, domain, context
-- (without tokens), source, dry_run. What a request is
-- built and sent from (the base URL, the API's origin, the credential, the headers) is kept
-- outside the table, where no script can change it: writing a field is an error, and a raw
-- field set with rawset is never read here. The credential travels as `auth` beside the request
-- and the transport attaches it only to a URL of the client's own API origin. The raw sending
-- (build, send, run) is a module function of this private module, not a method.
local json = require("astro.json")
local errors = require("astro.errors")
local env = require("astro.core.env")
local sys = require("astro.core.sys")
local dryrun = require("astro._core.dryrun")
local secrets = require("astro._core.secrets")
local transport = require("astro._core.transport")

local M = {}

--- The astro CLI version whose use of the API this client matches (sent as client version).
M.CLIENT_VERSION = "1.45.0"
--- The largest page the API allows on its list endpoints.
M.MAX_PAGE_SIZE = 1000

local Client = {}

-- Each client's private state: { base_url, origin, authorization, headers, dry_run, plan,
-- fields (the public read-only values) }, keyed by the client table.
local state = setmetatable({}, { __mode = "k" })

local client_mt = {
  __name = "astro.Client",
  __index = function(c, k)
    local s = state[c]
    if k == "dry_run" then return s.dry_run or dryrun.is_on() end
    local v = s.fields[k]
    if v ~= nil then return v end
    return Client[k]
  end,
  __newindex = function(_, k)
    error(string.format("astro client fields are read-only (%s): make another client with astro.new_client",
      tostring(k)), 2)
  end,
  __metatable = "astro.Client",
}

--- The origin of an http(s) URL as "scheme://host:port" (astro._core.transport.origin).
M.origin = transport.origin

--- Tells whether client c holds back requests that change something: its own dry_run, or
-- --dry-run for the whole process (astro._core.dryrun). Read from the private state, never
-- from the table.
function M.holds(c)
  return state[c].dry_run or dryrun.is_on()
end

--- The API base URL client c sends to (the private value, whatever the table shows).
function M.base_url(c)
  return state[c].base_url
end

local function _os_identifier()
  local sysname, machine = sys.uname()
  local arch = ({ x86_64 = "amd64", aarch64 = "arm64", arm64 = "arm64", i686 = "386" })[machine] or machine
  return sysname:lower() .. "-" .. arch
end

-- The X-Astro-Client-Identifier and -Version the astro CLI sends from where it runs.
local function _client_identifier()
  if env.get("GITHUB_ACTIONS") == "true" then
    if env.get("DEPLOY_ACTION") == "true" then return "deploy-action", env.get("DEPLOY_ACTION_VERSION") end
    return "github-action"
  end
  return "cli"
end

--- A copy of a context's keys without its secrets (token, refreshtoken).
function M.public_context(ctx)
  local c = {}
  for k, v in pairs(ctx) do
    if k ~= "token" and k ~= "refreshtoken" then c[k] = v end
  end
  return c
end

--- Makes a client. opts.base_url must be an http(s) URL without user info; its origin is the
-- only one the credential is ever sent to. opts.dry_run holds back this client's changes even
-- when the process is not in dry-run (it cannot release a process in dry-run).
---@param opts {base_url: string, authorization: string, organization?: string, organization_name?: string, organization_product?: string, domain?: string, context?: table, source?: string, dry_run?: boolean, plan?: file*}
function M.new(opts)
  if type(opts) ~= "table" or type(opts.base_url) ~= "string" then
    error("a client needs opts.base_url", 2)
  end
  local base_url = opts.base_url:gsub("/+$", "")
  local origin = M.origin(base_url)
  if not origin then
    error("a client needs an http or https opts.base_url with a host and no user info, e.g. " ..
      "https://api.astronomer.io/v1", 2)
  end
  if opts.authorization ~= nil and type(opts.authorization) ~= "string" then
    error("opts.authorization must be a string such as \"Bearer <token>\"", 2)
  end
  local ident, ident_version = _client_identifier()
  local c = setmetatable({}, client_mt)
  state[c] = {
    base_url = base_url,
    origin = origin,
    authorization = opts.authorization or "",
    dry_run = opts.dry_run == true,
    plan = opts.plan,
    headers = {
      ["X-Astro-Client-Identifier"] = ident,
      ["X-Astro-Client-Version"] = ident_version or M.CLIENT_VERSION,
      ["X-Client-Os-Identifier"] = _os_identifier(),
      ["User-Agent"] = "astro-cli/" .. M.CLIENT_VERSION .. " astro-lua/" .. require("astro.core.host").version,
    },
    fields = {
      base_url = base_url,
      organization = opts.organization,
      organization_name = opts.organization_name,
      organization_product = opts.organization_product,
      domain = opts.domain,
      context = opts.context and M.public_context(opts.context) or nil,
      source = opts.source,
    },
  }
  secrets.add(opts.authorization)
  return c
end

local function _escape(s, keep)
  return (tostring(s):gsub("[^%w%-._~" .. (keep or "") .. "]", function(ch)
    return string.format("%%%02X", ch:byte())
  end))
end

--- Escapes one path segment (space -> %20, "/" -> %2F).
function M.escape_path(s) return _escape(s) end

--- Encodes a query table as the astro CLI does: keys sorted, values URL-encoded (space as +),
-- arrays repeat their key, booleans as true/false. Returns "" for no parameters.
---@param q table|nil
function M.query_string(q)
  if not q then return "" end
  local keys = {}
  for k in pairs(q) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  local function add(k, v)
    if type(v) == "boolean" then v = v and "true" or "false" end
    if math.type(v) == "float" and math.tointeger(v) then v = math.tointeger(v) end
    parts[#parts + 1] = _escape(k) .. "=" .. (_escape(v, " "):gsub(" ", "+"))
  end
  for _, k in ipairs(keys) do
    local v = q[k]
    if type(v) == "table" then
      for _, x in ipairs(v) do add(k, x) end
    else
      add(k, v)
    end
  end
  return table.concat(parts, "&")
end

--- Tells whether a method changes something on the server (what --dry-run holds back).
M.is_mutating = dryrun.is_mutating

--- The path of the client's organization plus a suffix, or nil, err when no organization is set.
function Client:org_path(suffix)
  local org = state[self].fields.organization
  if not org or org == "" then
    return nil, errors.new("no organization is selected in the current context: run astro organization switch",
      { code = "config" })
  end
  return "/organizations/" .. M.escape_path(org) .. (suffix or "")
end

--- Builds the request table of a call on client c (for M.send / M.run), without its
-- credential, which travels beside it (`auth`) for the transport to attach.
---@param c table a client
---@param method string
---@param path string path under /v1, e.g. "/organizations"
---@param opts? {query?: table, body?: any, headers?: table, timeout?: number, idempotent?: boolean}
--   idempotent: the call may be repeated safely whatever its method (it sets a value)
function M.build(c, method, path, opts)
  opts = opts or {}
  local qs = M.query_string(opts.query)
  local headers = {}
  local s = state[c]
  for k, v in pairs(s.headers) do headers[k] = v end
  for k, v in pairs(opts.headers or {}) do
    if type(k) == "string" and k:lower() == "authorization" then
      error("a request's headers cannot set Authorization: the client sends its own credential", 2)
    end
    headers[k] = v
  end
  local body
  if opts.body ~= nil then
    body = type(opts.body) == "string" and opts.body or json.encode(opts.body)
    headers["Content-Type"] = headers["Content-Type"] or "application/json"
  end
  return {
    method = method,
    url = s.base_url .. path .. (qs ~= "" and ("?" .. qs) or ""),
    headers = headers,
    body = body,
    timeout = opts.timeout,
    idempotent = opts.idempotent,
  }
end

-- A copy of req carrying client c's credential and API origin (`auth`), which the transport
-- turns into the Authorization header only for a URL of that origin.
local function _authorized(c, req)
  local s = state[c]
  local r = {}
  for k, v in pairs(req) do r[k] = v end
  r.auth = { header = s.authorization, origin = s.origin }
  return r
end

--- A key naming client c's API and credential (for what is kept per credential: pacers, the
-- organizations it sees); never shown, since it holds the credential.
function M.key(c)
  local s = state[c]
  return s.base_url .. "\0" .. s.authorization
end

-- One pacer per API and credential: every client of the same token shares the history of
-- what was sent, whichever road (single requests, batches, listings) sent it.
local pacers = {}

--- The pacer (astro._core.pacer) of client c's API and credential, made on first use, with
-- `rates` as the configured rates from now on (default astro.bulk.rates): what it learnt of
-- the server stays.
---@param c table a client
---@param rates? table<string, number>
function M.pacer(c, rates)
  local pacer_mod = require("astro._core.pacer")
  rates = rates or pacer_mod.settings.rates
  local key = M.key(c)
  local p = pacers[key]
  if not p then
    p = pacer_mod.new(rates)
    pacers[key] = p
  elseif rates ~= p.rates then
    p:configure(rates)
  end
  return p
end

--- Sends a request built with M.build on client c, paced and with the retry rules. Returns
-- the raw response or nil, err (transport failures, or a wait longer than the policy allows;
-- M.decode_response turns the API's errors into values).
function M.send(c, req)
  return transport.request(_authorized(c, req), nil, M.pacer(c))
end

--- Runs requests built with M.build on client c concurrently as opts.next hands them out
-- (see astro._core.transport.run), each carrying c's credential.
---@param opts {concurrency?: integer, next: fun(): any, on_done: fun(key: any, out: table)}
function M.run(c, opts)
  local next_fn = opts.next
  return transport.run({
    concurrency = opts.concurrency,
    on_done = opts.on_done,
    next = function()
      local key, req = next_fn()
      if key == nil then return nil, req end
      return key, _authorized(c, req)
    end,
  })
end

--- Turns an HTTP response into data or an error, per the API's conventions: 200 and 204 are
-- success; anything else is an error whose message is the body's `message`.
---@return any data decoded body (true for an empty success), or nil
---@return table res_or_err the response, or the error
function M.decode_response(res)
  local rid = res.headers and res.headers["x-request-id"]
  if res.status == 200 or res.status == 204 then
    if res.body == nil or res.body == "" then return true, res end
    local ctype = res.headers and res.headers["content-type"] or ""
    if not ctype:lower():find("json", 1, true) then
      return nil, errors.new(string.format("the API answered %d with a %s body instead of JSON",
        res.status, ctype ~= "" and ctype or "untyped"), { status = res.status, requestId = rid, code = "api" })
    end
    local data, derr = json.decode(res.body)
    if data == nil then
      return nil, errors.new("the API answered with malformed JSON: " .. tostring(derr),
        { status = res.status, requestId = rid, code = "api" })
    end
    return data, res
  end
  local data = json.decode(res.body or "")
  if type(data) == "table" and type(data.message) == "string" then
    local msg = data.message
    if msg == "" then msg = string.format("the API answered %d without a message", res.status) end
    return nil, errors.new(secrets.redact(msg), {
      status = res.status, code = "api", fieldErrors = data.fieldErrors,
      requestId = type(data.requestId) == "string" and data.requestId or rid,
    })
  end
  return nil, errors.new("failed to perform request, status " .. res.status,
    { status = res.status, requestId = rid, code = "api" })
end

--- In dry-run mode: writes the request that would be sent on client c (method, path, body;
-- never the token) to its plan stream, and answers as if it had succeeded. The line is for a
-- person: what it repeats of the data is escaped (astro.output.printable).
---@param opts? {query?: table, body?: any}
function M.plan(c, method, path, opts)
  opts = opts or {}
  local qs = M.query_string(opts.query)
  local body = opts.body
  if body ~= nil and type(body) ~= "string" then body = json.encode(body) end
  local line = string.format("dry run: %s %s%s%s", method, path, qs ~= "" and ("?" .. qs) or "",
    body and (" " .. body) or "")
  dryrun.write(line, state[c].plan)
  return json.object({ dry_run = true }), { status = 200, headers = {}, body = "", dry_run = true }
end

--- Calls the API on client c and returns its answer as it came, whatever its status:
-- { status, ok (a 2xx status), headers (names in lower case), body (text, "" when none),
-- error (when not ok: the API's error as Client:request gives it) }, header values and body
-- cleaned of this process's secrets (a server that echoes the credential), or nil, err when
-- no answer came (a transport failure, a wait longer than the
-- policy allows). The same road as Client:request: paced, the retry rules, and in dry-run a
-- change is planned (M.plan) instead of sent: { status = 0, ok = true, dry_run = true,
-- headers = {}, body = "" }. opts.headers may not set Authorization nor Host (nil, err).
---@param c table a client
---@param method string
---@param path string
---@param opts? {query?: table, body?: any, headers?: table, timeout?: number, idempotent?: boolean}
function M.fetch(c, method, path, opts)
  opts = opts or {}
  for k in pairs(opts.headers or {}) do
    local name = type(k) == "string" and k:lower() or ""
    if name == "authorization" or name == "host" then
      return nil, errors.new(string.format("a request cannot set its own %s header: the client sends its own",
        name == "host" and "Host" or "Authorization"), { code = "usage" })
    end
  end
  if M.holds(c) and M.is_mutating(method) then
    M.plan(c, method, path, opts)
    return { status = 0, ok = true, dry_run = true, headers = {}, body = "" }
  end
  local res, err = M.send(c, M.build(c, method, path, opts))
  if not res then return nil, err end
  local headers = {}
  for k, v in pairs(res.headers or {}) do headers[k] = secrets.redact(v) end
  local out = { status = res.status, headers = headers, body = secrets.redact(res.body or ""),
                ok = res.status >= 200 and res.status < 300 }
  if not out.ok then
    local _, e = M.decode_response(res)
    out.error = e
  end
  return out
end

--- Calls the API. Returns data, response or nil, err.
---@param method string
---@param path string
---@param opts? {query?: table, body?: any, headers?: table, timeout?: number, idempotent?: boolean}
function Client:request(method, path, opts)
  if M.holds(self) and M.is_mutating(method) then return M.plan(self, method, path, opts) end
  local res, err = M.send(self, M.build(self, method, path, opts))
  if not res then return nil, err end
  local data, derr = M.decode_response(res)
  if data == nil and res.status == 200 and M.is_mutating(method) then
    -- The API accepted the change; only its answer could not be read.
    derr.message = derr.message .. " (the API answered 200: the change was probably made)"
  end
  return data, derr
end

--- GET path?query. Returns data, response or nil, err.
function Client:get(path, query) return self:request("GET", path, { query = query }) end

--- POST a JSON body. Returns data, response or nil, err.
function Client:post(path, body) return self:request("POST", path, { body = body or json.object() }) end

return M
