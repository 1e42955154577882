-- A plugin: `astro organization user offboard EMAIL` demotes a user to ORGANIZATION_MEMBER.
-- Install it by copying this file into ~/.astro/plugins/ (or $ASTRO_HOME/.astro/plugins/),
-- mode 600; offboard_spec.lua next to it tests it. See docs/automation.md.
local astro = require("astro")

return {
  command = "organization user offboard",   -- where it goes in the command tree
  use = "offboard EMAIL",                    -- first word = the command's name
  aliases = { "off" },
  short = "Demote a user to ORGANIZATION_MEMBER before they leave",
  long = "Demote a user to ORGANIZATION_MEMBER before they leave the company, so that they hold " ..
         "no owner or billing rights on their last day.",
  example = "  astro organization user offboard jane@acme.io --reason 'last day 2026-12-01'",
  flags = {
    { name = "reason", short = "r", type = "string", default = "", help = "Why (shown in the output)" },
    { name = "quiet", type = "bool", help = "Print nothing on success" },
  },
  args = { min = 1, max = 1 },               -- positional arguments required / accepted (default 0 / 0)
  mutates = true,                            -- it changes something: gives it --dry-run
  run = function(opts, ctx)
    -- opts.reason, opts.quiet (dashes in flag names become underscores), opts.args = positionals
    local user, err = astro.users.find(opts.args[1])
    if not user then return nil, err end     -- printed as "Error: <message>", exit 1
    if user.organizationRole == "ORGANIZATION_MEMBER" then
      if not opts.quiet then ctx.stdout:write(user.username, " is already an ORGANIZATION_MEMBER\n") end
      return true
    end
    local ok
    ok, err = astro.roles.update(user, "ORGANIZATION_MEMBER")
    if not ok then return nil, err end
    if not opts.quiet then
      ctx.stdout:write(ctx.dry_run and "would offboard " or "offboarded ", user.username,
        opts.reason ~= "" and (" (" .. opts.reason .. ")") or "", "\n")
    end
    return true                              -- exit 0 (an integer is used as the exit status)
  end,
}
