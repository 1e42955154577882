--- Aiming a connection at another organization of the same credential (--organization,
-- ASTRO_ORGANIZATION, astro.connect{ organization = }): the name or id resolved against the
-- organizations the credential sees, listed once per credential and run. Loaded only when a
-- connection names an organization other than the context's.
local errors = require("astro.errors")
local client = require("astro._core.client")

local M = {}

-- The organizations client c's credential sees: those in seen (by client.key), else one
-- listing, kept there.
local function _organizations(c, seen)
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
---@param seen table the lists already fetched, by client.key (astro._core.connect.seen)
function M.resolve(c, value, source, seen)
  local orgs, err = _organizations(c, seen)
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

--- The client of `fields` (client.new options, as astro._core.connect made them) aimed at the
-- organization `wanted` names instead: c is the context's client, which looks it up; cred the
-- credential (an Organization API token works on its own organization only); seen as for
-- M.resolve. Returns the client or nil, err.
---@param c table
---@param fields table
---@param wanted string
---@param source string
---@param cred table
---@param seen table
function M.client(c, fields, wanted, source, cred, seen)
  local found, err = M.resolve(c, wanted, source, seen)
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
