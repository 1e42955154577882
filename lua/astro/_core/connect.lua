--- Connecting to the API of the current context: the config file's current context (or
-- ASTRO_DOMAIN's), its credential (ASTRO_API_TOKEN, or the login token, refreshed when it has
-- expired), its organization, and a client made from them.
--
-- The organization may be another one of the same credential for one run, without the config
-- file being touched: the run's --organization (M.set_run_organization), else ASTRO_ORGANIZATION,
-- else opts.organization of a connect. A name or an id, resolved when the client is made: an
-- id equal to the context's organization costs no request; anything else one GET of the
-- organizations list (kept for the rest of the run, per credential).
local env = require("astro.core.env")
local errors = require("astro.errors")
local config = require("astro._core.config")
local auth = require("astro._core.auth")
local client = require("astro._core.client")

local M = {}

-- The run's --organization, set once by the command line (nil: not given).
local run_organization

--- Sets the organization (name or id) the whole run works on, from the command line's
-- --organization; it wins over ASTRO_ORGANIZATION. nil clears it.
---@param value string|nil
function M.set_run_organization(value)
  run_organization = value
end

--- The organization (name or id) this run is aimed at instead of the context's, and where it
-- comes from ("--organization" or "ASTRO_ORGANIZATION"); nil when neither is set.
---@return string|nil value
---@return string|nil source
function M.run_organization()
  if run_organization then return run_organization, "--organization" end
  local v = env.get("ASTRO_ORGANIZATION")
  if v then return v, "ASTRO_ORGANIZATION" end
  return nil
end

-- The organizations each credential sees, by client.key: the list of the last GET of it.
local seen = {}

--- Remembers the organizations list that client c's credential sees (for resolving names).
function M.remember_organizations(c, list)
  seen[client.key(c)] = list
end

-- The organizations client c's credential sees: those remembered, else one listing.
local function _organizations(c)
  local key = client.key(c)
  if seen[key] then return seen[key] end
  local list, err = require("astro._core.listing").all(c, "/organizations", "organizations")
  if not list then return nil, err end
  seen[key] = list
  return list
end

-- How a value and its source are named in messages: `"Globex" (--organization)`.
local function _named(value, source)
  return string.format("%q (%s)", value, source)
end

--- The organization a value names among those client c's credential sees: the one whose id
-- is the value, else the one whose name is it exactly (as `organization switch` matches names).
-- Returns the organization table, or nil, err (none, or several of that name).
---@param c table a client
---@param value string a name or an id
---@param source string where value comes from, for the messages
function M.resolve(c, value, source)
  local orgs, err = _organizations(c)
  if not orgs then
    return nil, errors.new(string.format("cannot look up the organization %s: %s", _named(value, source),
      err.message), { status = err.status, requestId = err.requestId, code = err.code })
  end
  local by_name = {}
  for _, o in ipairs(orgs) do
    if type(o) == "table" then
      if o.id == value then return o end
      if o.name == value then by_name[#by_name + 1] = o end
    end
  end
  if #by_name == 1 then return by_name[1] end
  if #by_name == 0 then
    return nil, errors.new(string.format("no organization you can see has the name or id %s: " ..
      "run astro organization list to see their names and ids", _named(value, source)), { code = "not_found" })
  end
  local shown = {}
  for i, o in ipairs(by_name) do shown[i] = tostring(o.id) end
  return nil, errors.new(string.format("%d organizations are named %s (ids %s): give the id of the one you mean",
    #by_name, _named(value, source), table.concat(shown, ", ")), { code = "ambiguous" })
end

--- Builds a client for the current context of the config file, aimed at opts.organization,
-- else the run's organization (M.run_organization), else the context's. Returns client or
-- nil, err.
---@param opts? {config_path?: string, dry_run?: boolean, plan?: file*, organization?: string}
function M.from_config(opts)
  opts = opts or {}
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
  cred, err = auth.credential(cfg, ctx)
  if not cred then return nil, err end
  local org = cred.organization
  if org == nil or org == "" then org = ctx.organization end
  local base_url = cfg:base_url(ctx.domain)
  if not client.origin(base_url) then
    return nil, errors.new(string.format("the API address of context %q, %s, is not an http(s) URL: check %s in %s",
      ctx.domain, base_url, ctx.domain == "localhost" and "local.core" or "the context's domain", cfg.path),
      { code = "config" })
  end
  local fields = {
    base_url = base_url, authorization = cred.header, organization = org,
    organization_product = cred.organization == nil and ctx.organization_product or nil,
    domain = ctx.domain, context = ctx, source = cred.source,
    dry_run = opts.dry_run, plan = opts.plan,
  }
  local c = client.new(fields)
  local wanted, source = opts.organization, "astro.connect"
  if wanted == nil then wanted, source = M.run_organization() end
  if wanted == nil or wanted == org then return c end
  local found
  found, err = M.resolve(c, wanted, source)
  if not found then return nil, err end
  if type(found.id) ~= "string" or found.id == "" then
    return nil, errors.new(string.format("the API answered the organization %s without an id", _named(wanted, source)),
      { code = "api" })
  end
  if cred.source == "ASTRO_API_TOKEN" and cred.organization and found.id ~= cred.organization then
    return nil, errors.new(string.format("ASTRO_API_TOKEN belongs to organization %s: it cannot work on the " ..
      "organization %s (%s); use a token of that organization, or leave the organization out",
      cred.organization, _named(wanted, source), found.id), { code = "config" })
  end
  fields.organization = found.id
  fields.organization_name = type(found.name) == "string" and found.name or nil
  fields.organization_product = type(found.product) == "string" and found.product ~= "" and found.product or "HYBRID"
  return client.new(fields)
end

return M
