-- `astro organization team user list`: the members of a team (chosen from a menu without
-- --team-id), as a table, JSON or CSV.
local astro = require("astro")
local output = require("astro.output")
local teams = require("astro.teams")

local JSON_ORDER = { "members", "id", "fullName", "email", "createdAt" }
local CSV_HEADER = { "id", "full_name", "email", "created_at" }

local function _json_item(m)
  local created = output.text(m.createdAt)
  return { id = output.text(m.userId), fullName = output.text(m.fullName), email = output.text(m.username),
           createdAt = created ~= "" and output.rfc3339(created, true) or nil }
end

return {
  command = "organization team user list",
  use = "list",
  aliases = { "ls" },
  short = "Lists users in an Astro Team",
  long = "List all members of a team.",
  example = "\n  $ astro organization team user list\n  $ astro organization team user list --team-id team123",
  flags = {
    { name = "team-id", short = "t", type = "string", default = "", help = "The Team's id \"\" " },
    { name = "json", type = "bool", help = "Output as JSON" },
    { name = "output", short = "o", type = "string", default = "", help = "Output format (table|json|csv)" },
  },
  run = function(opts, ctx)
    local format, err = output.format(opts, true)
    if not format then return nil, err end
    local team
    team, err = teams.choose(ctx, opts.team_id ~= "" and opts.team_id or nil, "pass it with --team-id")
    if not team then return nil, err end
    local members
    members, err = teams.members.list(team)
    if not members then return nil, err end
    if format == "table" then
      if #members == 0 then
        ctx.stdout:write("The selected team has no members\n")
        return true
      end
      local rows = {}
      for i, m in ipairs(members) do rows[i] = teams.member_row(m) end
      ctx.stdout:write(output.table(teams.MEMBER_COLUMNS, rows))
      return true
    end
    local w = output.list_writer(ctx.stdout, format, {
      key = "members", order = JSON_ORDER, json = _json_item, header = CSV_HEADER,
      csv = function(m)
        local j = _json_item(m)
        return { j.id, j.fullName, j.email, j.createdAt }
      end,
    })
    for _, m in ipairs(members) do w:add(m) end
    return w:close()
  end,
}
