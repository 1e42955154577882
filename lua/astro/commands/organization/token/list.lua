-- `astro organization token list`: the organization's Organization API tokens, as a table
-- (the astro CLI's), JSON or CSV. Built on astro.tokens alone.
local output = require("astro.output")
local tokens = require("astro.tokens")

local COLUMNS = { "ID", "NAME", "DESCRIPTION", "SCOPE", "ORGANIZATION ROLE", "CREATED", "CREATED BY" }
local JSON_ORDER = { "tokens", "id", "name", "description", "scope", "organizationRole", "createdAt", "createdBy",
                     "expiryPeriodInDays", "endAt", "lastUsedAt" }
local CSV_HEADER = { "id", "name", "description", "scope", "organization_role", "created_at", "created_by",
                     "expiry_period_in_days", "end_at", "last_used_at" }

-- A token as JSON shows it (strings as text; optional fields left out when absent).
local function _json_item(t)
  local function opt(v) if v == nil or v == "" then return nil end return output.text(v) end
  local days = t.expiryPeriodInDays
  return {
    id = output.text(t.id), name = output.text(t.name), description = output.text(t.description),
    scope = output.text(t.scope), organizationRole = opt(tokens.org_role(t)),
    createdAt = output.rfc3339(output.text(t.createdAt), true), createdBy = opt(tokens.created_by(t)),
    expiryPeriodInDays = math.type(days) and (math.tointeger(days) or days) or nil,
    endAt = opt(t.endAt), lastUsedAt = opt(t.lastUsedAt),
  }
end

return {
  command = "organization token list",
  use = "list",
  aliases = { "ls" },
  short = "List all the API tokens in an Astro Organization",
  long = "List all Organization-scoped API tokens. Organization tokens can hold roles at multiple levels " ..
         "(Organization, Workspace, Deployment) simultaneously.",
  example = "\n  $ astro organization token list\n  $ astro organization token list --organization-id org123",
  flags = {
    { name = "json", type = "bool", help = "Output as JSON" },
    { name = "output", short = "o", type = "string", default = "", help = "Output format (table|json|csv)" },
    { name = "organization-id", type = "string", default = "", help = "organization where you would like to manage tokens" },
  },
  run = function(opts, ctx)
    local format, err = output.format(opts, true)
    if not format then return nil, err end
    local connected
    connected, err = ctx.api()
    if not connected then return nil, err end
    local scope = { organization = opts.organization_id ~= "" and opts.organization_id or nil }
    if format == "table" then
      local list
      list, err = tokens.list(scope)
      if not list then return nil, err end
      local rows, now = {}, os.time()
      for i, t in ipairs(list) do
        rows[i] = { output.text(t.id), output.text(t.name), output.text(t.description), output.text(t.scope),
                    tokens.org_role(t), tokens.age(t.createdAt, now), tokens.created_by(t) }
      end
      ctx.stdout:write(output.table(COLUMNS, rows))
      return true
    end
    -- JSON and CSV reach stdout whole, once the last page is in, or not at all.
    local w = output.list_writer(ctx.stdout, format, {
      key = "tokens", order = JSON_ORDER, json = _json_item, header = CSV_HEADER,
      csv = function(t)
        local j = _json_item(t)
        return { j.id, j.name, j.description, j.scope, j.organizationRole, j.createdAt, j.createdBy,
                 j.expiryPeriodInDays and tostring(j.expiryPeriodInDays), j.endAt, j.lastUsedAt }
      end,
    })
    local count
    count, err = tokens.stream(function(page)
      for _, t in ipairs(page) do w:add(t) end
    end, scope)
    if not count then return nil, err end
    return w:close()
  end,
}
