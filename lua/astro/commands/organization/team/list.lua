-- `astro organization team list`: every team of the current organization. Built only on the
-- public API (astro.teams): copy it into ~/.astro/plugins under a name of its own to make a
-- command of your own from it.
local astro = require("astro")
local output = require("astro.output")
local teams = require("astro.teams")

local JSON_ORDER = { "teams", "id", "name", "description", "createdAt", "orgRole", "isIdpManaged" }
local CSV_HEADER = { "id", "name", "description", "organization_role", "idp_managed", "created_at" }

-- A team as the JSON list shows it: description and orgRole left out when empty, isIdpManaged
-- when false.
local function _json_item(t)
  local description, role = output.text(t.description), output.text(t.organizationRole)
  return {
    id = output.text(t.id), name = output.text(t.name),
    description = description ~= "" and description or nil,
    createdAt = output.rfc3339(output.text(t.createdAt), true),
    orgRole = role ~= "" and role or nil,
    isIdpManaged = t.isIdpManaged == true or nil,
  }
end

return {
  command = "organization team list",
  use = "list",
  aliases = { "ls" },
  short = "List all the teams in your Astro Organization",
  long = "List all the teams in your Astro Organization",
  example = "  astro organization team list\n  astro organization team list --json",
  flags = {
    { name = "json", type = "bool", help = "Output as JSON" },
    { name = "output", short = "o", type = "string", default = "", help = "Output format (table|json|csv)" },
  },
  run = function(opts, ctx)
    local format, err = output.format(opts, true)
    if not format then return nil, err end
    if format == "table" then
      local list
      list, err = teams.list()
      if not list then return nil, err end
      local rows = {}
      for i, t in ipairs(list) do rows[i] = teams.row(t) end
      ctx.stdout:write(output.table(teams.COLUMNS, rows))
      return true
    end
    -- JSON and CSV go to a spool page by page and reach stdout whole, or not at all.
    local w = output.list_writer(ctx.stdout, format, {
      key = "teams", order = JSON_ORDER, json = _json_item, header = CSV_HEADER,
      csv = function(t)
        local r = teams.row(t)
        return { r[1], r[2], r[3], r[4], r[5], output.rfc3339(output.text(t.createdAt), true) }
      end,
    })
    local count
    count, err = astro.stream_list("/organizations/{org}/teams", "teams", function(page)
      for _, t in ipairs(page) do w:add(t) end
    end)
    if not count then return nil, err end
    return w:close()
  end,
}
