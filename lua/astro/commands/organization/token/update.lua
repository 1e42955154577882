-- `astro organization token update [TOKEN_ID]`: renames an Organization API token, changes
-- its description, and with --role its Organization role (its Workspace and Deployment roles
-- kept). The role is checked before anything is sent. Built on astro.tokens alone.
local output = require("astro.output")
local roles = require("astro.roles")
local tokens = require("astro.tokens")

return {
  command = "organization token update",
  use = "update [TOKEN_ID]",
  aliases = { "up" },
  short = "Update an Organization API token",
  long = "Update an Organization API token's name, description, or Organization-level role. Identify the token " ..
         "by its ID (positional argument) or current name (--name). This does not affect the token's Workspace " ..
         "or Deployment roles.",
  example = "\n  $ astro organization token update token123\n" ..
            "  $ astro organization token update token123 --new-name \"Updated Token\" --role ORGANIZATION_OWNER\n" ..
            "  $ astro organization token update --name \"My Token\" --new-name \"Renamed Token\" --description \"Updated desc\"",
  flags = {
    { name = "name", short = "t", type = "string", default = "",
      help = "The current name of the token. If the name contains a space, specify the entire name within quotes \"\" " },
    { name = "new-name", short = "n", type = "string", default = "",
      help = "The token's new name. If the name contains a space, specify the entire name within quotes \"\" " },
    { name = "description", short = "d", type = "string", default = "",
      help = "updated description of the token. If the description contains a space, specify the entire description in quotes \"\"" },
    { name = "role", short = "r", type = "string", default = "",
      help = "The new role for the token. Possible values are ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, and ORGANIZATION_OWNER" },
    { name = "organization-id", type = "string", default = "", help = "organization where you would like to manage tokens" },
  },
  args = { max = 1 },
  mutates = true,
  run = function(opts, ctx)
    local astro = require("astro")
    local err
    if opts.role ~= "" then
      -- Checked before anything is sent (the astro CLI renames first, then refuses the role).
      local ok
      ok, err = roles.validate(opts.role, true)
      if not ok then return nil, err end
    end
    local token, scope = tokens.for_command(ctx, opts, "pass the token's id as an argument or its current name with --name")
    if not token then return nil, scope end
    local ok
    ok, err = tokens.update(token, { name = opts.new_name, description = opts.description }, scope)
    if not ok then return nil, err end
    if opts.role ~= "" then
      ok, err = tokens.set_role(token, opts.role, scope)
      if not ok then return nil, err end
    end
    local name = output.printable(output.text(token.name))
    if astro.dry_run() then
      ctx.stdout:write(string.format("Astro Organization API token %s would be updated (dry run: nothing was changed)\n",
        name))
    else
      ctx.stdout:write(string.format("Astro Organization API token %s was successfully updated\n", name))
    end
    return true
  end,
}
