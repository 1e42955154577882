--- Connecting to the API of the current context: the config file's current context (or
-- ASTRO_DOMAIN's), its credential (ASTRO_API_TOKEN, or the login token, refreshed when it has
-- expired), its organization, and a client made from them.
--
-- The organization may be another one of the same credential, without the config file being
-- touched: opts.organization of a connect, else the run's --organization
-- (M.set_run_organization), else ASTRO_ORGANIZATION. A name or an id, resolved when the client
-- is made: an id equal to the context's organization costs no request; anything else is
-- resolved by astro._core.aim (loaded only then).
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

--- The organizations each credential sees, by client.key: the list of the last GET of it
-- (astro._core.aim reads it to resolve names).
M.seen = {}

--- Remembers the organizations list that client c's credential sees (for resolving names).
function M.remember_organizations(c, list)
  M.seen[client.key(c)] = list
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
  return require("astro._core.aim").client(c, fields, wanted, source, cred, M.seen)
end

return M
