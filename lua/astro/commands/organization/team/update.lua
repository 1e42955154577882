-- `astro organization team update [team-id]`: changes a team's name, description and
-- organization role (its workspace and deployment roles are kept). The team is chosen from a
-- menu without an id; an IDP-managed team is asked about unless --force. A bad --role is
-- refused before anything is sent.
local astro = require("astro")
local output = require("astro.output")
local roles = require("astro.roles")
local teams = require("astro.teams")

return {
  command = "organization team update",
  use = "update [team-id]",
  aliases = { "up" },
  short = "Update an Astro team",
  long = "Update a team's name, description, or Organization role. For IDP-managed teams, a confirmation prompt " ..
    "is shown unless --force is used. Team names are case-insensitively unique within an Organization.",
  example = "\n  $ astro organization team update team123\n" ..
    "  $ astro organization team update team123 --name \"New Team Name\" --role ORGANIZATION_MEMBER\n" ..
    "  $ astro organization team update team123 --description \"Updated description\"",
  flags = {
    { name = "name", short = "n", type = "string", default = "",
      help = "The Team's name. If the name contains a space, specify the entire name within quotes \"\" " },
    { name = "description", short = "d", type = "string", default = "",
      help = "Description of the Team. If the description contains a space, specify the entire team description " ..
        "in quotes \"\"" },
    { name = "role", short = "r", type = "string", default = "",
      help = "The new role for the team. Possible values are ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, " ..
        "and ORGANIZATION_OWNER" },
    { name = "force", short = "f", type = "bool", help = "Force update: Skip confirmation for IDP-managed teams" },
  },
  args = { max = 1 },
  mutates = true,
  run = function(opts, ctx)
    local role, err
    if opts.role ~= "" then
      -- Checked before anything is sent (the astro CLI updates the name first, then fails).
      role, err = roles.validate(opts.role, true)
      if not role then return nil, err end
    end
    local team
    team, err = teams.to_change(ctx, opts.args[1], "pass the team's id: astro organization team update TEAM_ID",
      opts.force)
    if team == false then return true end -- the IDP question was answered "no"
    if not team then return nil, err end
    local ok
    ok, err = teams.update(team, { name = opts.name, description = opts.description })
    if not ok then return nil, err end
    local name = output.printable(output.text(team.name))
    local dry = astro.dry_run()
    ctx.stdout:write(dry and string.format("Astro Team %s would be updated (dry run: nothing was sent)\n", name)
      or string.format("Astro Team %s was successfully updated\n", name))
    if role then
      ok, err = teams.set_role(team, role)
      if not ok then return nil, err end
      ctx.stdout:write(dry
        and string.format("Astro Team role %s would be updated to %s (dry run: nothing was sent)\n", name, role)
        or string.format("Astro Team role %s was successfully updated to %s\n", name, role))
    end
    return true
  end,
}
