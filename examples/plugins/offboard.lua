-- A plugin: `astro organization user offboard EMAIL` demotes a user to ORGANIZATION_MEMBER.
-- Install it by copying this file into ~/.astro/plugins/ (or $ASTRO_HOME/.astro/plugins/),
-- mode 600. See docs/automation.md.
local astro = require("astro")

return {
  command = "organization user offboard",
  use = "offboard EMAIL",
  short = "Demote a user to ORGANIZATION_MEMBER before they leave",
  example = "  astro organization user offboard jane@acme.io",
  args = { max = 1 },
  mutates = true, -- gives the command --dry-run
  run = function(opts, ctx)
    local address = opts.args[1]
    if not address then return nil, astro.errors.usage("offboard needs an email: astro organization user offboard EMAIL") end
    local user, err = astro.users.find(address)
    if not user then return nil, err end
    if user.organizationRole == "ORGANIZATION_MEMBER" then
      ctx.stdout:write(user.username, " is already an ORGANIZATION_MEMBER\n")
      return true
    end
    local ok
    ok, err = astro.roles.update(user, "ORGANIZATION_MEMBER")
    if not ok then return nil, err end
    if not astro.dry_run() then ctx.stdout:write("offboarded ", user.username, "\n") end
    return true
  end,
}
