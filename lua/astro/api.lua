--- The Astro API v1 client used by the commands (and by users' scripts): base URL and token
-- from the current context, the astro CLI's headers, JSON bodies, errors as values carrying
-- the API's `message`, `status` and `requestId`, and listing across pages.
local http = require("astro.http")
local json = require("astro.json")
local errors = require("astro.errors")
local sys = require("astro.core.sys")

local M = {}

--- The astro CLI version whose use of the API this client matches (sent as client version).
M.CLIENT_VERSION = "1.45.0"
--- The largest page the API allows on its list endpoints.
M.MAX_PAGE_SIZE = 1000
--- Safety cap on the number of pages one listing may fetch.
M.MAX_PAGES = 10000

local Client = {}
Client.__index = Client
Client.__name = "astro.api.Client"

-- Each client's Authorization value, kept out of the client table so that no script can read
-- it from there (only the request builder does).
local secrets = setmetatable({}, { __mode = "k" })

local function _os_identifier()
  local sysname, machine = sys.uname()
  local arch = ({ x86_64 = "amd64", aarch64 = "arm64", arm64 = "arm64", i686 = "386" })[machine] or machine
  return sysname:lower() .. "-" .. arch
end

local function _client_identifier()
  if os.getenv("GITHUB_ACTIONS") == "true" then
    if os.getenv("DEPLOY_ACTION") == "true" then return "deploy-action", os.getenv("DEPLOY_ACTION_VERSION") end
    return "github-action"
  end
  return "cli"
end

--- Makes a client.
---@param opts {base_url: string, authorization: string, organization?: string, domain?: string, context?: table, source?: string, dry_run?: boolean, plan?: file*}
function M.new(opts)
  if type(opts) ~= "table" or type(opts.base_url) ~= "string" then
    error("api.new needs opts.base_url", 2)
  end
  local ident, ident_version = _client_identifier()
  local c = setmetatable({
    base_url = opts.base_url:gsub("/+$", ""),
    organization = opts.organization,
    domain = opts.domain,
    context = opts.context and M.public_context(opts.context) or nil,
    source = opts.source,
    dry_run = opts.dry_run or false,
    plan = opts.plan or io.stdout,
    _headers = {
      ["X-Astro-Client-Identifier"] = ident,
      ["X-Astro-Client-Version"] = ident_version or M.CLIENT_VERSION,
      ["X-Client-Os-Identifier"] = _os_identifier(),
      ["User-Agent"] = "astro-cli/" .. M.CLIENT_VERSION .. " astro-lua/" .. require("astro.core.host").version,
    },
  }, Client)
  secrets[c] = opts.authorization or ""
  return c
end

--- A copy of a context's keys without its secrets (token, refreshtoken).
function M.public_context(ctx)
  local c = {}
  for k, v in pairs(ctx) do
    if k ~= "token" and k ~= "refreshtoken" then c[k] = v end
  end
  return c
end

--- Builds a client for the current context of the config file: its base URL, its credential
-- (refreshing an expired login token), its organization. Returns client or nil, err.
---@param opts? {debug?: boolean, stderr?: file*, config_path?: string, dry_run?: boolean, plan?: file*}
function M.from_config(opts)
  opts = opts or {}
  if opts.debug then
    local stderr = opts.stderr or io.stderr
    http.trace = function(line) stderr:write(line, "\n") end
  end
  local config = require("astro.config")
  local cfg, err = config.load(opts.config_path)
  if not cfg then return nil, err end
  local ctx
  ctx, err = cfg:current_context()
  if not ctx then return nil, err end
  if not config.is_cloud(ctx.domain, cfg:get("local.platform")) then
    return nil, errors.new(string.format(
      'the current context "%s" is not an Astro context: organization commands work only with Astro (astronomer.io) contexts',
      ctx.domain), { code = "config" })
  end
  local cred
  cred, err = require("astro.auth").credential(cfg, ctx)
  if not cred then return nil, err end
  local org = cred.organization
  if org == nil or org == "" then org = ctx.organization end
  return M.new({
    base_url = cfg:base_url(ctx.domain), authorization = cred.header, organization = org,
    domain = ctx.domain, context = ctx, source = cred.source,
    dry_run = opts.dry_run, plan = opts.plan,
  })
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

--- The path of the client's organization plus a suffix, or nil, err when no organization is set.
function Client:org_path(suffix)
  if not self.organization or self.organization == "" then
    return nil, errors.new("no organization is selected in the current context: run astro organization switch",
      { code = "config" })
  end
  return "/organizations/" .. M.escape_path(self.organization) .. (suffix or "")
end

-- A copy of req carrying the client's Authorization header.
local function _authorized(client, req)
  local r, h = {}, { Authorization = secrets[client] }
  for k, v in pairs(req) do r[k] = v end
  for k, v in pairs(req.headers or {}) do h[k] = v end
  r.headers = h
  return r
end

--- Sends a request built with Client:build, with the retry policy. Returns the raw response
-- or nil, err (transport failures only; use api.decode_response for the API's errors).
function Client:send(req)
  return http.request(_authorized(self, req))
end

--- Sends many built requests concurrently, each once, handing each outcome to
-- opts.on_done(i, out) as it finishes (see astro.http.batch_raw). Retries, pacing and
-- reports are astro.bulk's: use astro.batch unless you need the raw outcomes.
---@param reqs table[]
---@param opts {concurrency?: integer, on_done: fun(i: integer, out: table)}
function Client:send_batch(reqs, opts)
  local list = {}
  for i, r in ipairs(reqs) do list[i] = _authorized(self, r) end
  return http.batch_raw(list, opts)
end

--- Builds the request table for a call (for Client:send / Client:send_batch); the
-- Authorization header is added only when it is sent.
---@param method string
---@param path string path under /v1, e.g. "/organizations"
---@param opts? {query?: table, body?: any, headers?: table, timeout?: number, idempotent?: boolean}
--   idempotent: the call may be repeated safely whatever its method (it sets a value)
function Client:build(method, path, opts)
  opts = opts or {}
  local qs = M.query_string(opts.query)
  local headers = {}
  for k, v in pairs(self._headers) do headers[k] = v end
  for k, v in pairs(opts.headers or {}) do headers[k] = v end
  local body
  if opts.body ~= nil then
    body = type(opts.body) == "string" and opts.body or json.encode(opts.body)
    headers["Content-Type"] = headers["Content-Type"] or "application/json"
  end
  return {
    method = method,
    url = self.base_url .. path .. (qs ~= "" and ("?" .. qs) or ""),
    headers = headers,
    body = body,
    timeout = opts.timeout,
    idempotent = opts.idempotent,
  }
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
    return nil, errors.new(msg, {
      status = res.status, code = "api", fieldErrors = data.fieldErrors,
      requestId = type(data.requestId) == "string" and data.requestId or rid,
    })
  end
  return nil, errors.new("failed to perform request, status " .. res.status,
    { status = res.status, requestId = rid, code = "api" })
end

--- Calls the API. Returns data, response or nil, err.
---@param method string
---@param path string
---@param opts? {query?: table, body?: any, headers?: table, timeout?: number}
function Client:request(method, path, opts)
  if self.dry_run and M.is_mutating(method) then return self:_plan(method, path, opts) end
  local res, err = self:send(self:build(method, path, opts))
  if not res then return nil, err end
  local data, derr = M.decode_response(res)
  if data == nil and res.status == 200 and M.is_mutating(method) then
    -- The API accepted the change; only its answer could not be read.
    derr.message = derr.message .. " (the API answered 200: the change was probably made)"
  end
  return data, derr
end

--- Tells whether a method changes something on the server (what --dry-run holds back).
function M.is_mutating(method)
  return not (method == "GET" or method == "HEAD" or method == "OPTIONS")
end

--- In dry-run mode: writes the request that would be sent (method, path, body; never the
-- token) to the plan stream and answers as if it had succeeded.
function Client:_plan(method, path, opts)
  opts = opts or {}
  local qs = M.query_string(opts.query)
  local body = opts.body
  if body ~= nil and type(body) ~= "string" then body = json.encode(body) end
  self.plan:write(string.format("dry run: %s %s%s%s\n", method, path, qs ~= "" and ("?" .. qs) or "",
    body and (" " .. body) or ""))
  return json.object({ dry_run = true }), { status = 200, headers = {}, body = "", dry_run = true }
end

--- GET path?query. Returns data, response or nil, err.
function Client:get(path, query) return self:request("GET", path, { query = query }) end

--- POST a JSON body. Returns data, response or nil, err.
function Client:post(path, body) return self:request("POST", path, { body = body or json.object() }) end

--- Lists every item of a paginated endpoint: asks for the largest page, learns totalCount
-- from the first page, then fetches the remaining pages concurrently within the GET rate
-- limit (astro.bulk) and returns the items in API order. Returns items, totalCount or nil, err.
---@param path string
---@param key string the list's field in the page, e.g. "users"
---@param opts? {query?: table, page_size?: integer, concurrency?: integer}
function Client:list(path, key, opts)
  local items = json.array({})
  local count, total_or_err = require("astro.bulk").stream_list(self, path, key, function(page)
    table.move(page, 1, #page, #items + 1, items)
  end, opts)
  if not count then return nil, total_or_err end
  return items, total_or_err
end

-- Organization operations ---------------------------------------------------------------

--- Every organization the credential can see. Returns a list or nil, err.
function Client:organizations()
  return self:list("/organizations", "organizations")
end

--- One organization by id. Returns it or nil, err.
function Client:get_organization(id)
  return self:get("/organizations/" .. M.escape_path(id))
end

--- Every user of the client's organization, in API order. Returns a list or nil, err.
function Client:users()
  local path, err = self:org_path("/users")
  if not path then return nil, err end
  return self:list(path, "users")
end

--- Invites a person to the client's organization with an organization role.
-- Returns the Invite or nil, err. The caller validates the email and role first.
function Client:invite(email, role)
  local path, err = self:org_path("/invites")
  if not path then return nil, err end
  return self:post(path, { inviteeEmail = email, role = role })
end

--- Sets a user's organization role (and nothing else). Returns the SubjectRoles or nil, err.
function Client:update_user_role(user_id, role)
  local path, err = self:org_path("/users/" .. M.escape_path(user_id) .. "/roles")
  if not path then return nil, err end
  -- Setting a role is idempotent: a lost answer may safely be followed by the same request.
  return self:request("POST", path, { body = { organizationRole = role }, idempotent = true })
end

M.Client = Client
return M
