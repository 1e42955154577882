-- `astro organization team delete [team-id]`: deletes a team, chosen from a menu without an
-- id; an IDP-managed team is asked about unless --force.
local astro = require("astro")
local output = require("astro.output")
local teams = require("astro.teams")

return {
  command = "organization team delete",
  use = "delete [team-id]",
  aliases = { "de" },
  short = "Delete an Astro Team",
  long = "Permanently delete a team. All Workspace and Deployment role bindings for the team are removed, and " ..
    "members lose any access they had through the team (but keep directly assigned roles). This action cannot " ..
    "be undone.",
  example = "\n  $ astro organization team delete\n  $ astro organization team delete team123",
  flags = {
    { name = "force", short = "f", type = "bool", help = "Force delete: Skip confirmation for IDP-managed teams" },
  },
  args = { max = 1 },
  mutates = true,
  run = function(opts, ctx)
    local team, err = teams.to_change(ctx, opts.args[1], "pass the team's id: astro organization team delete TEAM_ID",
      opts.force)
    if team == false then return true end -- the IDP question was answered "no"
    if not team then return nil, err end
    local ok
    ok, err = teams.delete(team)
    if not ok then return nil, err end
    local name = output.printable(output.text(team.name))
    ctx.stdout:write(astro.dry_run() and string.format("Astro Team %s would be deleted (dry run: nothing was sent)\n", name)
      or string.format("Astro Team %s was successfully deleted\n", name))
    return true
  end,
}
