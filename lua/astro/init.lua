--- astro: the public Lua API, for automations (`astro run`), plugins and the stock commands
-- alike: the stock commands use exactly these functions. Documented in docs/automation.md.
--
-- Every function that can fail for an expected reason returns `nil, err` (or `false, err`
-- from an iterator), where err is an astro error: `err.message`, and when the API answered
-- `err.status` and `err.requestId`. Misuse (a wrong argument type) raises.
--
-- This module is the facade over the private machinery of astro._core (docs/architecture.md):
-- it hands out clients, never the transport, the session or a credential.
local env = require("astro.core.env")
local host = require("astro.core.host")
local errors = require("astro.errors")
local json = require("astro.json")
local output = require("astro.output")
local roles = require("astro.roles")
local client_mod = require("astro._core.client")
local connect = require("astro._core.connect")
local dryrun = require("astro._core.dryrun")
local pacer = require("astro._core.pacer")
local trace = require("astro._core.trace")

-- Loaded on first use, so a command loads only what it calls: the engine and listings (a
-- command that sends nothing has no need), the email checks and the prompts.
local function _engine() return require("astro._core.engine") end
local function _listing() return require("astro._core.listing") end
local function _email() return require("astro.email") end
local function _prompt() return require("astro.prompt") end

local M = {}

M.version = host.version
M.errors = errors
M.json = json
M.http = require("astro.http")      -- astro.http.policy holds the retry and timeout defaults

--- Escapes one segment of an API path ("a b/c" -> "a%20b%2Fc").
M.escape_path = client_mod.escape_path

--- The versions of this tool and of what it is built on: { astro, astro_cli (the astro CLI
-- version whose commands and API use it matches), lua, libcurl }.
function M.versions()
  return { astro = host.version, astro_cli = client_mod.CLIENT_VERSION, lua = host.lua_release,
           libcurl = require("astro.core.http").version() }
end

--- The astro CLI beside this tool (the one commands this tool does not have are handed to:
-- ASTRO_CLI, else the next astro on PATH that is not this binary) and its version:
-- { path, version = the first line of its `version` output, or nil, problem = why there is no
-- version }, or nil, err when none is found or ASTRO_CLI is unusable. Runs that CLI once, for at
-- most a few seconds.
function M.astro_cli()
  return require("astro._core.passthrough").describe()
end

local current      -- the default client
local defaults = {} -- options of the default client (set by the CLI from its flags)

-- Raises when opts would turn --dry-run off: only the command line decides it, once.
local function _keep_dry_run(opts, what)
  if opts and opts.dry_run == false and dryrun.is_on() then
    error(what .. ": --dry-run is on for this run and cannot be turned off", 3)
  end
end

--- Sets the options the default client is made with: debug (trace requests to `stderr`), and
-- dry_run = true (hold back every request that changes something from now on, printing it to
-- `plan`, default stderr). Dry-run only ever turns on: `dry_run = false` while --dry-run is on
-- raises an error, and leaving it out keeps it as it is. A later astro.client() connects anew.
---@param opts {dry_run?: boolean, plan?: file*, debug?: boolean, stderr?: file*}
function M.configure(opts)
  _keep_dry_run(opts, "astro.configure")
  defaults = {}
  for k, v in pairs(opts or {}) do
    if k ~= "dry_run" and k ~= "plan" then defaults[k] = v end
  end
  if opts and opts.dry_run then dryrun.enable(opts.plan) end
  current = nil
  trace.to(nil) -- a connect made before (e.g. by a plugin as it loads) traces no longer
end

--- Connects to the API of the current context (config file, ASTRO_API_TOKEN, ASTRO_DOMAIN)
-- and makes that client the default one. Returns the client or nil, err. The organization is
-- opts.organization (a name or an id of an organization the credential sees), else the run's
-- (--organization, ASTRO_ORGANIZATION), else the context's; the config file is not changed.
---@param opts? {organization?: string, dry_run?: boolean, plan?: file*, debug?: boolean, stderr?: file*}
function M.connect(opts)
  _keep_dry_run(opts, "astro.connect")
  if opts and opts.organization ~= nil and (type(opts.organization) ~= "string" or opts.organization == "") then
    error("astro.connect: opts.organization must be a non-empty string (an organization name or id)", 2)
  end
  local merged = {}
  for k, v in pairs(defaults) do merged[k] = v end
  for k, v in pairs(opts or {}) do merged[k] = v end
  if merged.debug then trace.to(merged.stderr or io.stderr) end
  local c, err = connect.from_config(merged)
  if not c then return nil, err end
  current = c
  return c
end

--- The default client, connecting on first use. Returns it or nil, err.
function M.client()
  if current then return current end
  return M.connect()
end

--- Tells whether requests that change something are being held back: --dry-run, or a
-- default client made with dry_run = true.
function M.dry_run()
  return dryrun.is_on() or (current ~= nil and client_mod.holds(current))
end

--- Makes a client for an explicit API base URL and credential (tests, or a second
-- organization): opts.base_url (".../v1"), opts.authorization ("Bearer <token>"),
-- opts.organization (id), opts.dry_run, opts.plan. Use astro.use(client) to make it the default.
-- The credential is sent only to the origin of opts.base_url, and under --dry-run such a
-- client holds back its changes too, whatever opts.dry_run says.
function M.new_client(opts)
  return client_mod.new(opts)
end

--- Replaces the default client (e.g. with one from astro.new_client in a test).
function M.use(client)
  current = client
  return client
end

local function _client()
  return M.client()
end

-- The default client and path with "{org}" replaced by the current organization; or nil, err.
local function _client_and_path(path)
  local c, err = _client()
  if not c then return nil, err end
  if path:find("{org}", 1, true) then
    local base
    base, err = c:org_path("")
    if not base then return nil, err end
    path = path:gsub("^/organizations/{org}", base, 1):gsub("{org}", (base:gsub("^/organizations/", "")))
  end
  return c, path
end

--- Calls any API v1 path with the default client. Returns data, response or nil, err.
---@param method string
---@param path string e.g. "/organizations/{org}/teams"; "{org}" is replaced by the current organization
---@param opts? {query?: table, body?: any}
function M.request(method, path, opts)
  local c, p = _client_and_path(path)
  if not c then return nil, p end
  return c:request(method, p, opts)
end

--- Calls any API v1 path with the default client and returns the answer as it came, whatever
-- its status: { status, ok (2xx), headers (lower-case names), body (text), error (when not
-- ok: the API's error, as astro.request returns it) }, header values and body cleaned of this
-- process's credentials (<redacted>); or nil, err when no answer came. Paced, retried and held back under --dry-run as astro.request (a held-back
-- change answers { ok = true, dry_run = true, status = 0, headers = {}, body = "" }).
-- opts.headers adds request headers (never Authorization nor Host); opts.body is sent as is
-- when a string, else encoded as JSON.
---@param method string
---@param path string "{org}" is replaced by the current organization
---@param opts? {query?: table, body?: any, headers?: table<string, string>, timeout?: number}
function M.fetch(method, path, opts)
  local c, p = _client_and_path(path)
  if not c then return nil, p end
  return client_mod.fetch(c, method, p, opts)
end

--- Every item of a paginated API v1 list (largest pages, fetched concurrently). Returns the
-- items or nil, err. `key` is the list's field, e.g. "users".
function M.list(path, key, opts)
  local c, p = _client_and_path(path)
  if not c then return nil, p end
  return _listing().all(c, p, key, opts)
end

--- Streams every item of a paginated list in API order, page by page, to on_page(items,
-- offset): largest pages, fetched concurrently within the GET rate limit, each page handed
-- over as soon as the pages before it have been (memory stays flat). Returns the number of
-- items and totalCount, or nil, err. key nil: the list's field is told from the first page
-- (the path's last segment, else the page's one list field). opts.raw: on_page gets a third
-- argument { data = the decoded page, body = the page's text as the API sent it, headers =
-- its response headers (lower-case names), key = the list's field } (body and header values
-- cleaned of this process's credentials),
-- and an empty first page is handed over too. opts.headers: headers every page request carries.
---@param path string "{org}" is replaced by the current organization
---@param key string|nil
---@param on_page fun(items: table[], offset: integer, page?: {data: table, body: string, headers: table, key: string})
---@param opts? {query?: table, page_size?: integer, concurrency?: integer, raw?: boolean, headers?: table<string, string>}
function M.stream_list(path, key, on_page, opts)
  local c, p = _client_and_path(path)
  if not c then return nil, p end
  return _listing().stream(c, p, key, on_page, opts)
end

--- Runs many API calls concurrently, paced to the API's per-method limits (astro.bulk.rates),
-- with the same retries as every request (never repeating a change), and --dry-run. Each job
-- is { method, path, query?, body?, idempotent? } ("{org}" in path is the current
-- organization). Returns the results in job order: { ok = true, data, status, requestId,
-- attempts } or { ok = false, err, attempts }.
---@param jobs table[]
---@param opts? {rates?: table, concurrency?: integer, on_result?: fun(i: integer, result: table, job: table), on_unknown?: fun(items: table[]): table<integer, boolean>}
function M.batch(jobs, opts)
  local c, err = _client()
  if not c then return nil, err end
  local resolved = {}
  for i, job in ipairs(jobs) do
    local j = {}
    for k, v in pairs(job) do j[k] = v end
    local ok, p = _client_and_path(j.path)
    if not ok then return nil, p end
    j.path = p
    resolved[i] = j
  end
  return _engine().run(c, resolved, opts)
end

--- The engine's pacing settings: astro.bulk.rates (requests per second per method) and
-- astro.bulk.concurrency, read at each use; astro.bulk.parse_rates(text) reads "POST=10,GET=25"
-- (as --rate-limit) into a rates table, or nil, err.
M.bulk = setmetatable({ parse_rates = pacer.parse_rates }, {
  __index = pacer.settings, __newindex = pacer.settings })

--- Iterates a paginated list page by page, fetching each page when needed:
-- `for item, err in astro.paginate(path, key) do if not item then ... end end`.
-- On a failure it yields false, err once and stops.
---@param path string
---@param key string
---@param opts? {query?: table, page_size?: integer}
function M.paginate(path, key, opts)
  local c, p = _client_and_path(path)
  if not c then
    local done = false
    return function()
      if done then return nil end
      done = true
      return false, p
    end
  end
  return _listing().each(c, p, key, opts)
end

-- Organizations --------------------------------------------------------------------------

M.organizations = {}

--- Every organization the credential can see. Returns a list or nil, err.
function M.organizations.list()
  local c, err = _client()
  if not c then return nil, err end
  local list
  list, err = _listing().all(c, "/organizations", "organizations")
  if list then connect.remember_organizations(c, table.move(list, 1, #list, 1, {})) end
  return list, err
end

--- One organization by id. Returns it or nil, err.
function M.organizations.get(id)
  local c, err = _client()
  if not c then return nil, err end
  return c:get("/organizations/" .. client_mod.escape_path(id))
end

--- The id of the current organization (the run's --organization or ASTRO_ORGANIZATION, else
-- that of ASTRO_API_TOKEN or the current context), or nil, err.
function M.organizations.current_id()
  local c, err = _client()
  if not c then return nil, err end
  if not c.organization or c.organization == "" then
    return c:org_path("")
  end
  return c.organization
end

--- The current organization, fetched. Returns it or nil, err.
function M.organizations.current()
  local id, err = M.organizations.current_id()
  if not id then return nil, err end
  return M.organizations.get(id)
end

-- Users ----------------------------------------------------------------------------------

M.users = {}

--- Every user of the current organization, in API order. Returns a list or nil, err.
function M.users.list()
  local c, err = _client()
  if not c then return nil, err end
  local path
  path, err = c:org_path("/users")
  if not path then return nil, err end
  return _listing().all(c, path, "users")
end

--- Iterates the users of the current organization, fetching pages as it goes.
-- On a failure it yields false, err once and stops.
function M.users.each(opts)
  return M.paginate("/organizations/{org}/users", "users", opts)
end

--- The columns of the user table (`organization user list`, the user menu of `user update`).
M.users.COLUMNS = { "FULLNAME", "EMAIL", "ID", "ORGANIZATION ROLE", "CREATE DATE" }

--- The row of a user in that table, its cells as text (astro.output.text: a value of another
-- JSON type shows as its JSON text).
function M.users.row(u)
  local text = output.text
  return { text(u.fullName), text(u.username), text(u.id), text(u.organizationRole), output.rfc3339(text(u.createdAt)) }
end

--- The user menu of the astro CLI ("Please select the user:" and the user table, numbered, on
-- ctx.stderr; the answer read from ctx.stdin). Returns the chosen user, or nil, err: none in
-- the list, an answer that is not a row ("invalid User selected"), or at end of input an error
-- ending with `hint` (how to name the user without the menu).
---@param ctx table {stdin, stderr}
---@param users table[]
---@param hint string
function M.users.choose(ctx, users, hint)
  if #users == 0 then return nil, errors.new("no users found in your organization") end
  ctx.stderr:write("\nPlease select the user:\n")
  local rows = {}
  for i, u in ipairs(users) do rows[i] = M.users.row(u) end
  local n, err = _prompt().menu(ctx, M.users.COLUMNS, rows,
    { invalid = "invalid User selected", missing = "user choice", hint = hint })
  if not n then return nil, err end
  return users[n]
end

--- One user of the current organization by id. Returns it or nil, err.
function M.users.get(id)
  return M.request("GET", "/organizations/{org}/users/" .. client_mod.escape_path(id))
end

--- The user with this email (case-insensitive) in a list, or in the current organization.
-- Returns the user or nil, err (err.code "not_found" when there is none).
---@param address string
---@param list? table[] users already fetched (avoids listing again)
function M.users.find(address, list)
  local norm, err = _email().normalize(address)
  if not norm then return nil, err end
  if not list then
    list, err = M.users.list()
    if not list then return nil, err end
  end
  local found
  for _, u in ipairs(list) do
    if type(u.username) == "string" and u.username:lower() == norm then found = u end
  end
  if not found then
    return nil, errors.new("no user was found for the email you provided", { code = "not_found" })
  end
  return found
end

-- Invites and roles ----------------------------------------------------------------------

M.invites = {}

--- Invites a person to the current organization. Checks the email and role first (nothing is
-- sent when either is invalid). When the request left but its answer was lost, the user list
-- is checked: an invite found there is reported as made ({ confirmed = true, invitee }); one
-- not found is sent again (within astro.http.policy.max_attempts); when the list cannot be
-- read nothing is sent again. Returns the Invite or nil, err.
---@param address string
---@param role? string default ORGANIZATION_MEMBER
function M.invites.create(address, role)
  local norm, err = _email().normalize(address)
  if not norm then return nil, err end
  local r
  r, err = roles.validate(role or roles.DEFAULT)
  if not r then return nil, err end
  local c
  c, err = _client()
  if not c then return nil, err end
  local path
  path, err = c:org_path("/invites")
  if not path then return nil, err end
  local invite, ierr
  for _ = 1, M.http.policy.max_attempts do
    invite, ierr = c:post(path, { inviteeEmail = norm, role = r })
    if invite or not ierr.unknown then return invite, ierr end
    -- The request left but its answer was lost: the user list tells whether it was made;
    -- only when it was not is the invite sent again.
    local user, ferr = M.users.find(norm)
    if user then return { confirmed = true, invitee = { username = user.username, id = user.id } } end
    if ferr.code ~= "not_found" then return nil, ierr end -- cannot tell: send nothing again
  end
  return nil, ierr
end

M.roles = {
  VALID = roles.VALID,
  DEFAULT = roles.DEFAULT,
  is_valid = roles.is_valid,
  validate = roles.validate,
}

--- The roles of the current organization: { default = the API's built-in roles (DefaultRole:
-- name, description, permissions, scopeType; only with opts.include_default = true, else
-- empty), custom = the organization's custom roles (Role: id, name, description, scopeType,
-- ...) in API order }, or nil, err. Custom roles are paged with the largest page, so a list
-- that fits in one page costs one request; the default roles come with the first page.
---@param opts? {include_default?: boolean}
function M.roles.list(opts)
  opts = opts or {}
  local include = opts.include_default == true
  local c, err = _client()
  if not c then return nil, err end
  local path
  path, err = c:org_path("/roles")
  if not path then return nil, err end
  local default, bad = json.array({}), nil
  local custom
  custom, err = _listing().all(c, path, "roles", {
    query = { includeDefaultRoles = include },
    on_first_page = function(data)
      local d = include and type(data) == "table" and data.defaultRoles or nil
      if d == nil or d == json.null then return end
      if type(d) ~= "table" or json.is_object(d) or (next(d) ~= nil and #d == 0) then
        bad = "whose defaultRoles is not a list"
        return
      end
      for i, r in ipairs(d) do
        if type(r) ~= "table" or (#r > 0) then
          bad = string.format("whose defaultRoles item %d is not an object", i)
          return
        end
        default[i] = r
      end
    end,
  })
  if not custom then return nil, err end
  if bad then return nil, errors.new("the API answered a roles page " .. bad, { code = "api" }) end
  return { default = default, custom = custom }
end

--- Sets a user's organization role. `user` is a user table (from users.list/find) or an id.
-- Returns the SubjectRoles or nil, err; an invalid role sends nothing.
function M.roles.update(user, role)
  local r, err = roles.validate(role)
  if not r then return nil, err end
  local id = type(user) == "table" and user.id or user
  if type(id) ~= "string" or id == "" then error("roles.update needs a user or a user id", 2) end
  local c
  c, err = _client()
  if not c then return nil, err end
  local path
  path, err = c:org_path("/users/" .. client_mod.escape_path(id) .. "/roles")
  if not path then return nil, err end
  -- Setting a role is idempotent: a lost answer may safely be followed by the same request.
  return c:request("POST", path, { body = { organizationRole = r }, idempotent = true })
end

-- Config ---------------------------------------------------------------------------------

M.config = {}

--- The current context's settings (domain, organization, workspace, ...; never its tokens),
-- or nil, err.
function M.config.current_context()
  local cfg, err = require("astro._core.config").load()
  if not cfg then return nil, err end
  local ctx
  ctx, err = cfg:current_context()
  if not ctx then return nil, err end
  return client_mod.public_context(ctx)
end

--- Sets keys of the current context (e.g. { organization = id, workspace = "" }) in the
-- config file, atomically and under its lock. Tokens cannot be set this way. Under --dry-run
-- nothing is written: each change is printed as a plan line ("dry run: set
-- contexts.<context>.<key> = <value> in <path>", keys sorted) instead.
-- Returns true or nil, err.
---@param values table<string, string>
function M.config.set_context(values)
  for k in pairs(values) do
    if k == "token" or k == "refreshtoken" then
      error("astro.config.set_context cannot set " .. k, 2)
    end
  end
  local cfg, err = require("astro._core.config").load()
  if not cfg then return nil, err end
  local ctx
  ctx, err = cfg:current_context()
  if not ctx then return nil, err end
  if ctx.virtual then
    return nil, errors.new("there is no context in the config file to change", { code = "config" })
  end
  local userenv = package.loaded["astro._core.userenv"]
  if userenv and userenv.loading > 0 then
    return nil, errors.new("a plugin cannot change the config file while it loads: change it from its command's run",
      { code = "plugin" })
  end
  if M.dry_run() then
    local keys = {}
    for k in pairs(values) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      dryrun.write(string.format("dry run: set contexts.%s.%s = %s in %s", ctx.key, k, tostring(values[k]), cfg.path))
    end
    return true
  end
  return cfg:set_context(ctx.key, values)
end

--- The organization (name or id) this run works on instead of the current context's, and
-- where it comes from ("--organization" or "ASTRO_ORGANIZATION"), or nil when neither is set.
function M.config.organization_override()
  return connect.run_organization()
end

--- The path of the config file in use.
function M.config.path()
  return require("astro.core.config").path()
end

--- Tells whether this run's credential is an Organization API token (ASTRO_API_TOKEN is set):
-- it belongs to one organization, and is never written to the config file.
function M.config.uses_api_token()
  return env.is_set("ASTRO_API_TOKEN")
end

-- Output and prompts ---------------------------------------------------------------------

M.output = {
  --- Renders rows as the astro CLI's tables (see astro.output.table).
  table = output.table,
  --- Encodes a value as indented JSON with a trailing newline (json(value, order, terminal):
  -- terminal = true leaves terminal controls out of its strings, the data unchanged).
  json = output.json,
  --- Tells whether "stdout" (default) or "stderr" is a terminal.
  is_terminal = output.is_terminal,
  --- The width in columns a terminal on "stdout" (default) or "stderr" fits: COLUMNS, else its
  -- size, else 80 (see astro.output.width).
  width = output.width,
  --- Renders a header and rows as CSV text (cells that start a formula are neutralised).
  csv = function(header, rows, opts) return require("astro.csv").format(header, rows, opts) end,
  --- RFC 3339 as the astro CLI prints it.
  time = output.rfc3339,
  color_enabled = output.color_enabled,
  --- Text safe to show on a terminal (see astro.output.printable).
  printable = output.printable,
  --- A progress bar on stderr (drawn only on a terminal): p.step(n), p.finish().
  progress = output.progress,
}

local function _io_ctx(ctx)
  return ctx or { stdin = io.stdin, stderr = io.stderr }
end

M.prompt = {
  --- Asks a question on stderr and reads a line; nil, err at end of input.
  ask = function(text, ctx) return _prompt().ask(_io_ctx(ctx), text, "answer") end,
  --- Shows a numbered menu and returns the chosen index, or nil, err.
  menu = function(headers, rows, ctx)
    return _prompt().menu(_io_ctx(ctx), headers, rows, { invalid = "invalid selection", missing = "choice" })
  end,
  --- Asks a yes/no question; true only for "y".
  confirm = function(question, ctx)
    local answer = _prompt().ask(_io_ctx(ctx), question .. " (y/n) ", "answer")
    return answer == "y"
  end,
}

--- Loads a plugin file (or a folder with init.lua) exactly as astro loads those of the plugins
-- folder: Lua source only, the file safety rules, its own environment where undeclared globals
-- are errors, and the command table checks. For testing a plugin: returns the list of its
-- command tables, or nil and the message `astro plugin list` would show.
---@param path string
---@return table[]|nil
---@return string|nil
function M.load_plugin(path)
  return require("astro._core.plugins").load_file(path)
end

--- The sandbox API installed with this binary (`cmake --install`): the path of its sandbox.py,
-- <prefix>/share/astro/sandbox/sandbox.py beside <prefix>/bin/astro, or nil when this binary has
-- none beside it (a build tree: the sandbox is then spec/support/sandbox.py of the source tree).
-- For plugin specs run outside the source tree (see docs/automation.md).
---@return string|nil
function M.sandbox_path()
  local sys = require("astro.core.sys")
  local exe = sys.realpath("/proc/self/exe")
  local bin_dir = exe and exe:match("^(.*)/[^/]*$")
  if not bin_dir then return nil end
  local path = sys.realpath(bin_dir .. "/" .. host.data_from_bin .. "/sandbox/sandbox.py")
  local st = path and sys.stat(path)
  if not st or st.type ~= "file" then return nil end
  return path
end

M.plugins = {}

-- A copy of v, tables copied at every depth (functions and other values as they are).
local function _deep_copy(v, seen)
  if type(v) ~= "table" then return v end
  if seen[v] then return seen[v] end
  local c = {}
  seen[v] = c
  for k, x in next, v do c[_deep_copy(k, seen)] = _deep_copy(x, seen) end
  return c
end

--- What this run found in the plugins folder: { dir, loaded = { {name, path, specs} },
-- failed = { {name, path, error} } } (what `astro plugin list` shows). A copy: changing it
-- changes nothing of what astro found or shows.
function M.plugins.report()
  return _deep_copy(require("astro._core.plugins").report, {})
end

--- Runs a Lua automation as `astro run` does: FILE ("-" for standard input) compiled as source
-- in an environment of its own (the global `astro`, `arg` with FILE at 0 and args from 1, and
-- `...`). Returns what a command's run returns: true, an integer exit status, false, or nil, err
-- (an error raised in the script, or the nil, err it returned).
---@param path string
---@param args? string[]
---@param ctx? {stdin?: file*, stdout?: file*}
function M.run_script(path, args, ctx)
  return require("astro._core.scripts").run(path, args, ctx)
end

-- Public modules that are also fields of the facade, each loaded when first read (a command
-- that checks no address never loads astro.email). One line each: name = a loader with the
-- module's name as a string literal (the layers spec reads it).
local LAZY = {
  email = _email,
  audit_logs = function() return require("astro.audit_logs") end,
  teams = function() return require("astro.teams") end,
  tokens = function() return require("astro.tokens") end,
  jq = function() return require("astro.jq") end,
}
setmetatable(M, { __index = function(t, k)
  local load = LAZY[k]
  if load then
    local v = load()
    rawset(t, k, v)
    return v
  end
end })

return M
