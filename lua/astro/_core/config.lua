--- The astro CLI's own config file (~/.astro/config.yaml or $ASTRO_HOME/.astro/config.yaml),
-- read and written through astro.core.config: contexts keyed by domain with "." turned into
-- "_", the current `context` (ASTRO_DOMAIN overrides it), plain keys such as `local.core`.
-- Writes go through update(), which locks, re-reads, applies and renames atomically.
local core = require("astro.core.config")
local env = require("astro.core.env")
local errors = require("astro.errors")
local sys = require("astro.core.sys")

local M = {}

--- Defaults of the plain keys the organization commands read.
M.DEFAULTS = {
  ["local.core"] = "http://localhost:8888",
  ["local.platform"] = "cloud",
  ["cloud.api.protocol"] = "https",
}

local Config = {}
Config.__index = Config

--- Checks that the config file (a symbolic link is followed) is the user's and that neither its
-- group nor others can write it: it holds the tokens and says where they are sent. A missing
-- file passes (it is read as empty). Returns true or nil, err (code "config").
---@param path string
---@param st? table the file's sys.stat, when the caller has it (nil: stat it here)
function M.check_safe(path, st)
  st = st or sys.stat(path)
  if not st then return true end -- missing, or unreadable: core.read reports it
  local problem = M.permission_problem(st)
  if problem == "owner" then
    local euid = sys.geteuid()
    return nil, errors.new(string.format(
      "config file %s belongs to user id %d, not to you (user id %d): check it, then make it yours " ..
      "(chown %d %s) or set ASTRO_HOME to a folder of your own",
      path, st.uid, euid, euid, path), { code = "config" })
  elseif problem then
    return nil, errors.new(string.format("config file %s is writable by %s (mode %04o): run chmod 600 %s", path,
      problem == "others" and "others" or "its group", st.mode & 4095, path), { code = "config" })
  end
  return true
end

-- The config files already warned about in this run, by path.
local warned = {}

-- Tells whether a config tree holds a login token or refresh token in any context.
local function _holds_token(tree)
  if type(tree) ~= "table" or type(tree.contexts) ~= "table" then return false end
  for _, c in pairs(tree.contexts) do
    if type(c) == "table" then
      for _, k in ipairs({ "token", "refreshtoken" }) do
        if type(c[k]) == "string" and c[k] ~= "" then return true end
      end
    end
  end
  return false
end

--- Warns, on stderr and once per run, when the config file (st: its sys.stat) is readable by
-- its group or others and holds a token: kubectl and helm warn about their config files the
-- same way, and the file stays usable (the astro CLI writes it 0644). A file without a token
-- has nothing to hide, and no warning. Returns true when it warned.
---@param path string
---@param st {mode: integer}|nil
---@param tree table
function M.warn_readable(path, st, tree)
  if not st or st.mode & 36 == 0 or warned[path] or not _holds_token(tree) then return false end
  warned[path] = true
  io.stderr:write(string.format(
    "Warning: config file %s is readable by %s (mode %04o) and holds login tokens: run chmod 600 %s\n",
    path, st.mode & 4 ~= 0 and "others" or "its group", st.mode & 4095, path))
  return true
end

--- What makes a file unsafe to trust (as ssh judges its keys), from its sys.stat: "owner"
-- (it belongs to another user; root too unless allow_root), "others" or "group" (they may
-- write it), or nil when it is safe. Shared by the config file and plugin checks.
---@param st {uid: integer, mode: integer}
---@param allow_root? boolean
function M.permission_problem(st, allow_root)
  if st.uid ~= sys.geteuid() and not (allow_root and st.uid == 0) then return "owner" end
  if st.mode & 2 ~= 0 then return "others" end
  if st.mode & 16 ~= 0 then return "group" end
  return nil
end

-- The last config read, by path: { cfg, stamp }. A command reads the file once (the CLI for
-- `verbosity`, then the client for the context); a later load of an unchanged file gets the
-- same Config, and one changed since (another process, or this one through update) is read anew.
local last = {}

-- What tells a file changed, from its sys.stat: device, inode, size and modification time.
local function _stamp(st)
  return string.format("%s:%s:%s:%s", st.dev or "", st.ino or "", st.size or "", st.mtime_ns or "")
end

--- Loads the config file, after M.check_safe. Returns a Config, or nil, err (an astro error,
-- code "config").
---@param path? string default: the astro CLI's location
function M.load(path)
  local err
  if not path then
    path, err = core.path()
    if not path then return nil, errors.new(err, { code = "config" }) end
  end
  local st = sys.stat(path)
  local safe
  safe, err = M.check_safe(path, st)
  if not safe then return nil, err end
  local stamp = st and _stamp(st)
  local seen = last[path]
  if stamp and seen and seen.stamp == stamp then return seen.cfg end
  local tree, exists_or_err = core.read(path)
  if not tree then return nil, errors.new(exists_or_err, { code = "config" }) end
  M.warn_readable(path, st, tree)
  local cfg = setmetatable({ path = path, tree = tree, exists = exists_or_err }, Config)
  last[path] = { cfg = cfg, stamp = stamp }
  return cfg
end

local function _split(dotted)
  local parts = {}
  for p in dotted:gmatch("[^.]+") do parts[#parts + 1] = p end
  return parts
end

--- Value at a dotted path (e.g. "local.core"), else the default of M.DEFAULTS, else nil.
---@param dotted string
function Config:get(dotted)
  local v = self.tree
  for _, p in ipairs(_split(dotted)) do
    if type(v) ~= "table" then v = nil break end
    v = v[p]
  end
  -- A map or list where a plain key of M.DEFAULTS belongs reads as the default
  -- (current_context refuses it before a connection is made).
  if v == nil or v == "" or (M.DEFAULTS[dotted] and type(v) ~= "string") then return M.DEFAULTS[dotted] end
  return v
end

--- The key of a domain's context: "astronomer.io" -> "astronomer_io".
function M.context_key(domain)
  return (domain:gsub("%.", "_"))
end

-- The keys of a context that the commands read, each a YAML scalar (a string) when present.
local CONTEXT_STRINGS = { "domain", "token", "refreshtoken", "organization", "organization_product",
  "workspace", "last_used_workspace", "expiresin", "user_email" }

-- The error of a config value of the wrong type: "config file <path>: <key> must be <what>".
local function _type_error(cfg, key, what, value)
  local got = type(value) == "table" and (next(value) == nil and "empty" or (#value > 0 and "a list" or "a map"))
    or "a " .. type(value)
  return nil, errors.new(string.format("config file %s: %s must be %s, not %s; fix or remove it", cfg.path, key,
    what, got == "empty" and "an empty list or map" or got), { code = "config" })
end

-- Checks the types of the values a connection reads: `context` a string, `contexts` a map of
-- maps, the keys of the current context and the plain keys of M.DEFAULTS strings. Returns true,
-- or nil, err naming the first value of the wrong type.
function Config:_check_types(key)
  local tree = self.tree
  if tree.context ~= nil and type(tree.context) ~= "string" then
    return _type_error(self, "context", "a string", tree.context)
  end
  local contexts = tree.contexts
  if contexts ~= nil and (type(contexts) ~= "table" or #contexts > 0) then
    return _type_error(self, "contexts", "a map of contexts", contexts)
  end
  local c = key and contexts and contexts[key]
  if c ~= nil and (type(c) ~= "table" or #c > 0) then
    return _type_error(self, "contexts." .. key, "a map", c)
  end
  for _, k in ipairs(c and CONTEXT_STRINGS or {}) do
    if c[k] ~= nil and type(c[k]) ~= "string" then
      return _type_error(self, "contexts." .. key .. "." .. k, "a string", c[k])
    end
  end
  for dotted in pairs(M.DEFAULTS) do
    local v, at = self.tree, nil
    for _, p in ipairs(_split(dotted)) do
      if v == nil then break end
      if type(v) ~= "table" or #v > 0 then return _type_error(self, at, "a map", v) end
      at = at and (at .. "." .. p) or p
      v = v[p]
    end
    if v ~= nil and type(v) ~= "string" then return _type_error(self, dotted, "a string", v) end
  end
  return true
end

--- The current context: a table of its keys plus `key` (its name under contexts), or nil, err.
-- ASTRO_DOMAIN overrides the `context` key. With ASTRO_API_TOKEN set and no context at all, a
-- context for ASTRO_DOMAIN or astronomer.io is made up in memory (never written).
function Config:current_context()
  local domain = env.get("ASTRO_DOMAIN") or self.tree.context
  local api_token = env.is_set("ASTRO_API_TOKEN")
  local typed, terr = self:_check_types(type(domain) == "string" and M.context_key(domain) or nil)
  if not typed then return nil, terr end
  if type(domain) ~= "string" or domain == "" then
    if api_token then
      return { key = "astronomer_io", domain = "astronomer.io", virtual = true }
    end
    return nil, errors.new("no context set, have you authenticated to Astro or APC? Run astro login and try again",
      { code = "config" })
  end
  local key = M.context_key(domain)
  local contexts = type(self.tree.contexts) == "table" and self.tree.contexts or {}
  local c = contexts[key]
  if type(c) ~= "table" then
    if api_token then return { key = key, domain = domain, virtual = true } end
    return nil, errors.new("not connected, have you authenticated to Astro? Run astro login and try again",
      { code = "config" })
  end
  local ctx = { key = key }
  for k, v in pairs(c) do ctx[k] = v end
  if ctx.domain == nil or ctx.domain == "" then ctx.domain = domain end
  return ctx
end

--- Applies changes to the file under its lock: a map of dotted path -> value (nil deletes
-- is not expressible in a map; use update_list). Reloads the tree afterwards.
---@param values table<string, string|boolean|number>
function Config:update(values)
  local list = {}
  for k, v in pairs(values) do list[#list + 1] = { path = k, value = v } end
  table.sort(list, function(a, b) return a.path < b.path end)
  return self:update_list(list)
end

--- Applies a list of { path = dotted, value = v|nil } changes atomically under the lock.
-- Returns true or nil, err (code "config").
function Config:update_list(list)
  local ok, err = core.update(self.path, list)
  if not ok then return nil, errors.new(err, { code = "config" }) end
  local tree = core.read(self.path)
  if tree then self.tree = tree end
  last[self.path] = nil
  return true
end

--- Sets keys of the given context (e.g. { organization = id }) atomically.
function Config:set_context(ctx_key, values)
  local mapped = {}
  for k, v in pairs(values) do mapped["contexts." .. ctx_key .. "." .. k] = v end
  return self:update(mapped)
end

--- Tells whether a domain is an Astro (cloud) domain: "localhost" (the local API of
-- local.core, when local.platform is cloud), or astronomer.io and its -dev/-stage/-perf
-- variants with an optional cloud. or prNNNN. label. Whole names only: the astro CLI's
-- substring test would take "localhost.example.com" for the local API and send the token there.
function M.is_cloud(domain, platform)
  if type(domain) ~= "string" then return false end
  if domain == "localhost" then return (platform or "cloud") == "cloud" end
  return M.astro_domain(domain) ~= nil
end

--- The Astro base domain of a context's domain ("cloud.astronomer.io" -> "astronomer.io",
-- "pr1234.astronomer-dev.io" -> "astronomer-dev.io"; an https:// prefix and a trailing slash
-- are dropped), or nil when it is not one. Whole names only.
---@param domain string
---@return string|nil
function M.astro_domain(domain)
  local d = domain:lower():gsub("^https://", ""):gsub("/+$", "")
  d = d:gsub("^pr%d%d%d%d%d?%d?%.", ""):gsub("^cloud%.", "")
  for _, env in ipairs({ "", "-dev", "-stage", "-perf" }) do
    if d == "astronomer" .. env .. ".io" then return d end
  end
  return nil
end

--- The API v1 base URL of a context, per the astro CLI's rules.
---@param domain string
---@return string
function Config:base_url(domain)
  if domain == "localhost" then
    return (self:get("local.core"):gsub("/+$", "")) .. "/v1"
  end
  local proto = self:get("cloud.api.protocol")
  if domain == "" then domain = "astronomer.io" end
  if domain:find("cloud", 1, true) then
    domain = domain:gsub("cloud%.", "", 1):gsub("https://", "", 1):gsub("/+$", "")
  end
  local pr, rest = domain:match("^(pr%d%d%d%d%d?%d?)%.(astronomer%-dev%.io)$")
  if pr then return string.format("%s://%s.api.%s/v1", proto, pr, rest) end
  return string.format("%s://api.%s/v1", proto, domain)
end

--- The URL of the auth-config endpoint used for a token refresh. For "localhost" the astro CLI
-- hard-codes port 8888; we use local.core's origin so the sandbox can serve it.
function Config:auth_config_url(domain)
  local base = self:base_url(domain)
  return (base:gsub("/v1$", "")) .. "/private/v1alpha1/cli/auth-config"
end

M.Config = Config
return M
