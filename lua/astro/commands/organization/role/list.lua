-- `astro organization role list`: the custom roles of the current organization, and with
-- --include-default-roles the built-in ones first. Uses only the public API (astro.roles.list):
-- copy it into ~/.astro/plugins under a name of its own to make a command of your own from it.
local astro = require("astro")
local csv = require("astro.csv")
local json = require("astro.json")
local output = require("astro.output")

local JSON_ORDER = { "roles", "name", "id", "description", "scopeType", "isDefault" }
local CSV_HEADER = { "name", "id", "description", "scope_type", "is_default" }

-- One role as shown: its fields as text (output.text), id nil for a default role.
local function _item(r, is_default)
  return {
    name = output.text(r.name),
    id = not is_default and output.text(r.id) or nil,
    description = output.text(r.description),
    scopeType = output.text(r.scopeType),
    isDefault = is_default,
  }
end

return {
  command = "organization role list",
  use = "list",
  aliases = { "ls" },
  short = "List all the roles in your Astro Organization",
  long = "List all custom roles in your Organization. Custom roles define fine-grained permissions that can be " ..
    "assigned to users, teams, and tokens. Use --include-default-roles to also show the built-in system roles " ..
    "(Organization Member, Owner, etc.).",
  example = "\n  $ astro organization role list\n  $ astro organization role list --include-default-roles",
  flags = {
    { name = "include-default-roles", short = "i", type = "bool", help = "Should include default roles in response" },
    { name = "json", type = "bool", help = "Output as JSON" },
    { name = "output", short = "o", type = "string", default = "", help = "Output format (table|json|csv)" },
  },
  run = function(opts, ctx)
    local format, err = output.format(opts, true)
    if not format then return nil, err end
    local connected
    connected, err = ctx.api()
    if not connected then return nil, err end
    local roles
    roles, err = astro.roles.list({ include_default = opts.include_default_roles == true })
    if not roles then return nil, err end
    local items = {}
    for _, r in ipairs(roles.default) do items[#items + 1] = _item(r, true) end
    for _, r in ipairs(roles.custom) do items[#items + 1] = _item(r, false) end
    if format == "json" then
      ctx.stdout:write(output.json({ roles = json.array(items) }, JSON_ORDER,
        output.is_terminal(ctx.stdout)))
      return true
    end
    local rows = {}
    if format == "csv" then
      -- On a terminal, control characters in cells are shown escaped as in the table.
      local shown = output.for_stream("stdout")
      for i, it in ipairs(items) do
        rows[i] = { shown(it.name), shown(it.id or ""), shown(it.description), shown(it.scopeType),
                    it.isDefault and "true" or "false" }
      end
      ctx.stdout:write(csv.format(CSV_HEADER, rows))
      return true
    end
    for i, it in ipairs(items) do rows[i] = { it.name, it.id or "", it.description } end
    ctx.stdout:write(output.table({ "NAME", "ID", "DESCRIPTION" }, rows))
    return true
  end,
}
