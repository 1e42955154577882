-- `astro organization user list`: every user of the current organization with their role.
local output = require("astro.output")
local json = require("astro.json")
local astro = require("astro")

local HEADERS = { "FULLNAME", "EMAIL", "ID", "ORGANIZATION ROLE", "CREATE DATE" }
local JSON_ORDER = { "users", "fullName", "email", "id", "createdAt", "orgRole" }

local M = {
  use = "list",
  aliases = { "ls" },
  short = "List all the users in your Astro Organization",
  long = "List all users and their Organization-level roles.",
  example = "astro organization user list\nastro organization user list --json",
  flags = {
    { name = "json", type = "bool", help = "Output as JSON" },
    { name = "output", short = "o", type = "string", default = "", help = "Output format (table|json)" },
  },
}

--- The table row of a user, as the user list and the user menu show it.
function M.row(u)
  return { u.fullName or "", u.username or "", u.id or "", u.organizationRole or "", output.rfc3339(u.createdAt) }
end
M.HEADERS = HEADERS

function M.run(opts, ctx)
  local format, err = output.format(opts)
  if not format then return nil, err end
  local connected
  connected, err = ctx.api()
  if not connected then return nil, err end
  local users
  users, err = astro.users.list()
  if not users then return nil, err end
  if format == "json" then
    local list = json.array({})
    for i, u in ipairs(users) do
      local role = u.organizationRole
      list[i] = {
        fullName = u.fullName or "", email = u.username or "", id = u.id or "",
        createdAt = output.rfc3339(u.createdAt, true),
        orgRole = (type(role) == "string" and role ~= "") and role or nil,
      }
    end
    ctx.stdout:write(output.json({ users = list }, JSON_ORDER))
    return true
  end
  local rows = {}
  for i, u in ipairs(users) do rows[i] = M.row(u) end
  ctx.stdout:write(output.table(HEADERS, rows))
  return true
end

return M
