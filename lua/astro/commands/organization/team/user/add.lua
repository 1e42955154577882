-- `astro organization team user add`: adds a user to a team. The team (--team-id) and the user
-- (--user-id) are chosen from menus when not given; an IDP-managed team is asked about unless
-- --force. With --file, every member a CSV file names (astro.people, kind "team_add").
local astro = require("astro")
local people = require("astro.people")
local errors = require("astro.errors")
local output = require("astro.output")
local teams = require("astro.teams")

return {
  command = "organization team user add",
  use = "add",
  short = "Add a user to an Astro Team",
  long = "Add a user to a team. The user immediately inherits all Workspace and Deployment roles assigned to the team.",
  example = "\n  $ astro organization team user add --team-id team123 --user-id user456",
  flags = {
    { name = "team-id", short = "t", type = "string", default = "", help = "The Team's unique identifier \"\" " },
    { name = "user-id", short = "u", type = "string", default = "", help = "The User's unique identifier \"\"" },
    { name = "force", short = "f", type = "bool", help = "Force add: Skip confirmation for IDP-managed teams" },
    table.unpack(people.MEMBER_FLAGS)
  },
  mutates = true,
  run = function(opts, ctx)
    local handled, status, ferr = people.dispatch("team_add", opts, ctx)
    if handled then return status, ferr end
    local team, err = teams.to_change(ctx, opts.team_id ~= "" and opts.team_id or nil, "pass it with --team-id",
      opts.force)
    if team == false then return true end -- the IDP question was answered "no"
    if not team then return nil, err end
    local user
    if opts.user_id ~= "" then
      user, err = astro.users.get(opts.user_id)
      if not user then return nil, err end
    else
      local users
      users, err = astro.users.list()
      if not users then return nil, err end
      user, err = astro.users.choose(ctx, users, "pass it with --user-id")
      if not user then return nil, err end
    end
    local id = type(user) == "table" and user.id
    if type(id) ~= "string" or id == "" then
      return nil, errors.new("the API answered a user without an id; nothing was changed", { code = "api" })
    end
    local ok
    ok, err = teams.members.add(team, { id })
    if not ok then return nil, err end
    local shown_id, name = output.printable(id), output.printable(output.text(team.name))
    ctx.stdout:write(astro.dry_run()
      and string.format("Astro User %s would be added to team %s (dry run: nothing was sent)\n", shown_id, name)
      or string.format("Astro User %s was successfully added to team %s \n", shown_id, name))
    return true
  end,
}
