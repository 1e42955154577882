-- `astro organization user list`: every user of the current organization with their role (and,
-- in JSON and CSV, their status: ACTIVE, PENDING, ...; the table keeps the astro CLI's columns).
-- Uses only the public API (require "astro"): copy it into ~/.astro/plugins under a name of its
-- own to make a command of your own from it.
local astro = require("astro")
local csv = require("astro.csv")
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
  example = "astro organization user list\nastro organization user list --json",
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
      for i, u in ipairs(users) do rows[i] = astro.users.row(_shown(u)) end
      ctx.stdout:write(output.table(astro.users.COLUMNS, rows))
      return true
    end
    -- JSON and CSV are written page by page to a spool (memory stays flat however large the
    -- organization) and reach stdout whole, once the last page is in, or not at all.
    local add, close
    if format == "json" then
      local w = output.json_list_writer(ctx.stdout, "users", JSON_ORDER)
      add = function(u) w:add(_json_item(u)) end
      close = function() return w:close() end
    else
      -- On a terminal, control characters in cells are shown escaped as in the table; a file
      -- or a pipe gets the data as it is.
      local shown = output.for_stream("stdout")
      local spool = output.spool(ctx.stdout)
      local w = csv.writer(spool, CSV_HEADER)
      add = function(u)
        local j = _json_item(u)
        w:write({ shown(j.fullName), shown(j.email), shown(j.id), shown(j.orgRole or ""), shown(j.createdAt),
                  shown(j.status or "") })
      end
      close = function() return spool:commit() end
    end
    local count
    count, err = astro.stream_list("/organizations/{org}/users", "users", function(page)
      for _, u in ipairs(page) do add(u) end
    end)
    if not count then return nil, err end
    local ok
    ok, err = close()
    if not ok then return nil, err end
    return true
  end,
}
