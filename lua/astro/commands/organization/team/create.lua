-- `astro organization team create`: creates a team with an organization role. Asks for the
-- role (a menu) and the name when they are not given; both are checked before anything is sent.
local astro = require("astro")
local output = require("astro.output")
local prompt = require("astro.prompt")
local roles = require("astro.roles")
local teams = require("astro.teams")

return {
  command = "organization team create",
  use = "create",
  aliases = { "cr" },
  short = "Create an Astro Team",
  long = "Create a team in your Organization. Teams let you assign Workspace and Deployment roles to groups of " ..
    "users at once. If your Organization uses an external identity provider (SCIM) for team sync, team creation " ..
    "through the CLI is blocked — manage teams in the IDP instead.",
  example = "\n  $ astro organization team create\n" ..
    "  $ astro organization team create --name \"My Team\" --role ORGANIZATION_MEMBER\n" ..
    "  $ astro organization team create --name \"My Team\" --description \"Data engineering team\" " ..
    "--role ORGANIZATION_OWNER",
  flags = {
    { name = "name", short = "n", type = "string", default = "",
      help = "The Team's name. If the name contains a space, specify the entire team within quotes \"\" " },
    { name = "description", short = "d", type = "string", default = "",
      help = "Description of the Team. If the description contains a space, specify the entire team in quotes \"\"" },
    { name = "role", short = "r", type = "string", default = "",
      help = "The role for the token. Possible values are ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, " ..
        "and ORGANIZATION_OWNER" },
  },
  mutates = true,
  run = function(opts, ctx)
    local role, err = opts.role, nil
    local from_flag = role ~= ""
    if not from_flag then
      role, err = prompt.role(ctx, "team")
      if not role then return nil, err end
    end
    role, err = roles.validate(role, from_flag)
    if not role then return nil, err end
    local name = opts.name
    if name:match("^%s*$") then
      ctx.stderr:write("Please specify a name for your Team\n")
      name, err = prompt.ask(ctx, "\nTeam name: ", "team name", "pass it with --name")
      if not name then return nil, err end
      if name:match("^%s*$") then return nil, require("astro.errors").new("you must give your Team a name") end
    end
    local team
    team, err = teams.create({ name = name, description = opts.description, role = role })
    if not team then return nil, err end
    if astro.dry_run() then
      ctx.stdout:write(string.format("Astro Team %s would be created (dry run: nothing was sent)\n",
        output.printable(name)))
    else
      ctx.stdout:write(string.format("Astro Team %s was successfully created\n", output.printable(name)))
    end
    return true
  end,
}
