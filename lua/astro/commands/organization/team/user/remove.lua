-- `astro organization team user remove`: removes a member from a team. The team (--team-id) and
-- the member (--user-id) are chosen from menus when not given; an IDP-managed team is asked
-- about unless --force. With --file, every member a CSV file names (astro.people, kind "team_remove").
local astro = require("astro")
local people = require("astro.people")
local errors = require("astro.errors")
local output = require("astro.output")
local prompt = require("astro.prompt")
local teams = require("astro.teams")

return {
  command = "organization team user remove",
  use = "remove",
  short = "Remove a user from an Astro Team",
  long = "Remove a user from a team. The user loses all Workspace and Deployment roles inherited through the team " ..
    "but keeps any directly assigned roles.",
  example = "\n  $ astro organization team user remove --team-id team123 --user-id user456",
  flags = {
    { name = "team-id", short = "t", type = "string", default = "", help = "The Team's unique identifier \"\" " },
    { name = "user-id", short = "u", type = "string", default = "", help = "The User's unique identifier \"\"" },
    { name = "force", short = "f", type = "bool", help = "Force remove: Skip confirmation for IDP-managed teams" },
    table.unpack(people.MEMBER_FLAGS)
  },
  mutates = true,
  run = function(opts, ctx)
    local handled, status, ferr = people.dispatch("team_remove", opts, ctx)
    if handled then return status, ferr end
    local team, err = teams.to_change(ctx, opts.team_id ~= "" and opts.team_id or nil, "pass it with --team-id",
      opts.force)
    if team == false then return true end -- the IDP question was answered "no"
    if not team then return nil, err end
    local members
    members, err = teams.members.list(team)
    if not members then return nil, err end
    if #members == 0 then return nil, errors.new("no team members found in team") end
    local member
    if opts.user_id ~= "" then
      for _, m in ipairs(members) do
        if m.userId == opts.user_id then member = m end
      end
      if not member then
        return nil, errors.new(string.format("user %s is not a member of team %s", output.printable(opts.user_id),
          output.printable(output.text(team.name))), { code = "not_found" })
      end
    else
      ctx.stderr:write("\nPlease select the teamMember who's membership you'd like to modify:\n")
      local rows = {}
      for i, m in ipairs(members) do
        rows[i] = { output.text(m.fullName), output.text(m.username), output.text(m.userId) }
      end
      local n
      n, err = prompt.menu(ctx, teams.MEMBER_MENU_COLUMNS, rows, {
        invalid = "invalid team member selection", missing = "member choice", hint = "pass it with --user-id" })
      if not n then return nil, err end
      member = members[n]
    end
    local id = member.userId
    if type(id) ~= "string" or id == "" then
      return nil, errors.new("the API answered a team member without a userId; nothing was changed", { code = "api" })
    end
    local ok
    ok, err = teams.members.remove(team, id)
    if not ok then return nil, err end
    local shown_id, name = output.printable(id), output.printable(output.text(team.name))
    ctx.stdout:write(astro.dry_run()
      and string.format("Astro User %s would be removed from team %s (dry run: nothing was sent)\n", shown_id, name)
      or string.format("Astro User %s was successfully removed from team %s \n", shown_id, name))
    return true
  end,
}
