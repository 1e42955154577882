-- `astro organization user list`: every user of the current organization with their role (and,
-- in JSON and CSV, their status: ACTIVE, PENDING, ...; the table keeps the astro CLI's columns).
-- Uses only the public API (require "astro"): copy it into ~/.astro/plugins under a name of its
-- own to make a command of your own from it.
local astro = require("astro")
local output = require("astro.output")

local JSON_ORDER = { "users", "fullName", "email", "id", "createdAt", "orgRole", "status" }
local CSV_HEADER = { "full_name", "email", "id", "organization_role", "created_at", "status" }

-- A user's fields as shown: text (output.text: a value of another JSON type as its JSON text).
local function _shown(u)
  return { fullName = output.text(u.fullName), username = output.text(u.username), id = output.text(u.id),
           organizationRole = output.text(u.organizationRole), createdAt = output.text(u.createdAt),
           status = output.text(u.status) }
end

local function _json_item(u)
  u = _shown(u)
  local role = u.organizationRole
  return {
    fullName = u.fullName, email = u.username, id = u.id,
    createdAt = output.rfc3339(u.createdAt, true),
    orgRole = role ~= "" and role or nil,
    status = u.status ~= "" and u.status or nil,
  }
end

return {
  command = "organization user list",
  use = "list",
  aliases = { "ls" },
  short = "List all the users in your Astro Organization",
  long = "List all users and their Organization-level roles.",
  example = "  astro organization user list\n  astro organization user list --json",
  flags = {
    { name = "json", type = "bool", help = "Output as JSON" },
    { name = "output", short = "o", type = "string", default = "", help = "Output format (table|json|csv)" },
  },
  run = function(opts, ctx)
    local format, err = output.format(opts, true)
    if not format then return nil, err end
    local connected
    connected, err = ctx.api()
    if not connected then return nil, err end
    if format == "table" then
      local users
      users, err = astro.users.list()
      if not users then return nil, err end
      local rows = {}
      for i, u in ipairs(users) do rows[i] = astro.users.row(u) end
      ctx.stdout:write(output.table(astro.users.COLUMNS, rows))
      return true
    end
    -- JSON and CSV are written page by page to a spool (memory stays flat however large the
    -- organization) and reach stdout whole, once the last page is in, or not at all.
    local w = output.list_writer(ctx.stdout, format, {
      key = "users", order = JSON_ORDER, json = _json_item, header = CSV_HEADER,
      csv = function(u)
        local j = _json_item(u)
        return { j.fullName, j.email, j.id, j.orgRole, j.createdAt, j.status }
      end,
    })
    local count
    count, err = astro.stream_list("/organizations/{org}/users", "users", function(page)
      for _, u in ipairs(page) do w:add(u) end
    end)
    if not count then return nil, err end
    return w:close()
  end,
}
