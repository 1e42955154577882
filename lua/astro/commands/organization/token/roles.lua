-- `astro organization token roles [TOKEN_ID]`: the roles an Organization API token holds, as
-- a table (the astro CLI's), JSON or CSV. Built on astro.tokens alone.
local output = require("astro.output")
local tokens = require("astro.tokens")

local COLUMNS = { "ENTITY_TYPE", "ENTITY_ID", "ROLE" }
local JSON_ORDER = { "roles", "entityType", "entityId", "role", "deploymentId" }

return {
  command = "organization token roles",
  use = "roles [TOKEN_ID]",
  short = "List roles for an organization API token",
  long = "List roles for an organization API token\n$astro organization token roles [TOKEN_ID] ",
  example = "\n  $ astro organization token roles token123",
  flags = {
    { name = "name", short = "t", type = "string", default = "",
      help = "The name of the token. If the name contains a space, specify the entire name within quotes \"\" " },
    { name = "json", type = "bool", help = "Output as JSON" },
    { name = "output", short = "o", type = "string", default = "", help = "Output format (table|json|csv)" },
    { name = "organization-id", type = "string", default = "", help = "organization where you would like to manage tokens" },
  },
  args = { max = 1 },
  run = function(opts, ctx)
    local format, err = output.format(opts, true)
    if not format then return nil, err end
    local token
    token, err = tokens.for_command(ctx, opts)
    if not token then return nil, err end
    local list
    list, err = tokens.roles(token)
    if not list then return nil, err end
    local items = {}
    for i, r in ipairs(list) do
      items[i] = { entityType = output.text(r.entityType), entityId = output.text(r.entityId), role = output.text(r.role),
                   deploymentId = r.deploymentId ~= nil and output.text(r.deploymentId) or nil }
    end
    if format == "table" then
      local rows = {}
      for i, r in ipairs(items) do rows[i] = { r.entityType, r.entityId, r.role } end
      ctx.stdout:write(output.table(COLUMNS, rows))
    else
      local w = output.list_writer(ctx.stdout, format, {
        key = "roles", order = JSON_ORDER, json = function(r) return r end,
        header = { "entity_type", "entity_id", "role", "deployment_id" },
        csv = function(r) return { r.entityType, r.entityId, r.role, r.deploymentId } end,
      })
      for _, r in ipairs(items) do w:add(r) end
      return w:close()
    end
    return true
  end,
}
