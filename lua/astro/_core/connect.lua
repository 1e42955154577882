--- Connecting to the API of the current context: the config file's current context (or
-- ASTRO_DOMAIN's), its credential (ASTRO_API_TOKEN, or the login token, refreshed when it has
-- expired), its organization, and a client made from them.
local errors = require("astro.errors")
local config = require("astro._core.config")
local auth = require("astro._core.auth")
local client = require("astro._core.client")

local M = {}

--- Builds a client for the current context of the config file. Returns client or nil, err.
---@param opts? {config_path?: string, dry_run?: boolean, plan?: file*}
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
  return client.new({
    base_url = base_url, authorization = cred.header, organization = org,
    domain = ctx.domain, context = ctx, source = cred.source,
    dry_run = opts.dry_run, plan = opts.plan,
  })
end

return M
