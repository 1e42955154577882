-- Sync a team's membership from a CSV file whose header names `email` and/or `user_id`: adds
-- everyone in the file who is not a member yet and, with --exact, removes every member the file
-- does not name. Try it with --dry-run first: the plan is shown and nothing is sent.
--
--   astro run examples/sync_team.lua TEAM_ID members.csv --dry-run        what would change
--   astro run examples/sync_team.lua TEAM_ID members.csv                  add who is missing
--   astro run examples/sync_team.lua TEAM_ID members.csv --exact          ... and remove the rest
--
-- Both passes run on astro.people (the engine of `team user add|remove --file`): people already
-- in the team are skipped, the changes go out at the pace the API allows, a change whose answer
-- was lost is checked against the member list before it is sent again. Exit status 0 only when
-- no row was invalid or failed.
local team_id, path, flag = ...
local exact = flag == "--exact"
if not team_id or not path or (flag and not exact) then
  io.stderr:write("usage: astro run examples/sync_team.lua TEAM_ID FILE.csv [--exact] [--dry-run]\n")
  return 2
end

local people = require("astro.people")
local team, err = astro.teams.get(team_id)
if not team then return nil, err end
if astro.teams.is_idp_managed(team) then
  return nil, astro.errors.new("team " .. team.name .. " is managed by your identity provider: change it there")
end

-- 1. Add who is missing (rows of people already in the team end `skipped`).
local adds
adds, err = people.read(path, { kind = "team_add", team = team.id })
if adds then adds, err = adds:apply({ quiet_plan = true }) end
if not adds then return nil, err end

-- 2. With --exact, remove the members the file does not name (by user id or email).
local removes
if exact then
  local wanted = {}
  for _, row in ipairs(adds.rows) do
    if row.user then wanted[row.user.id] = true end
  end
  local members
  members, err = astro.teams.members.list(team)
  if not members then return nil, err end
  local lines = { "user_id" }
  for _, m in ipairs(members) do
    if not wanted[m.userId] then lines[#lines + 1] = m.userId end
  end
  if #lines > 1 then
    removes, err = people.parse(table.concat(lines, "\n") .. "\n", { kind = "team_remove", team = team.id,
                                                                      name = "the members to remove" })
    if removes then removes, err = removes:apply({ quiet_plan = true }) end
    if not removes then return nil, err end
  end
end

local verb = astro.dry_run() and "would be " or ""
io.write(astro.output.printable("Team " .. team.name), "\n\n", adds:table())
io.stderr:write("add: ", adds:summary_line())
local failed = adds:summary().failed
if removes then
  io.write("\n", removes:table())
  io.stderr:write("remove: ", removes:summary_line())
  failed = failed + removes:summary().failed
elseif exact then
  io.stderr:write("remove: every member is in the file: nothing " .. verb .. "removed\n")
end
return failed == 0 and 0 or 1
