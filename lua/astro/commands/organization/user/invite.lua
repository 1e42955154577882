-- `astro organization user invite [email] --role ROLE`: invites a person to the organization,
-- or every person of a CSV file with --file (astro.people). Built only on the public API, so
-- it is also an example of a command: copy it into a plugin (under a name of its own) and
-- change what you need.
local roles = require("astro.roles")
local people = require("astro.people")

return {
  command = "organization user invite",
  use = "invite [email]",
  aliases = { "inv" },
  short = "Invite a user to your Astro Organization",
  long = "Invite a user to your Astro Organization\n$astro user invite [email] --role " ..
         "[ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, ORGANIZATION_OWNER].",
  example = "\n  $ astro organization user invite user@company.com\n" ..
            "  $ astro organization user invite user@company.com --role ORGANIZATION_BILLING_ADMIN",
  flags = {
    { name = "role", short = "r", type = "string", default = roles.DEFAULT,
      help = "The role for the user. Possible values are ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, and ORGANIZATION_OWNER" },
    table.unpack(people.FLAGS)
  },
  args = { max = 1 },
  mutates = true,
  run = function(opts, ctx)
    local handled, status, ferr = people.dispatch("invite", opts, ctx)
    if handled then return status, ferr end
    local astro, errors, email = require("astro"), require("astro.errors"), require("astro.email")
    -- A bad --role is a usage error, found before anything is asked or sent.
    local role, err = roles.validate(opts.role, true)
    if not role then return nil, err end
    local address = opts.args[1]
    if address == nil then
      address, err = require("astro.prompt").ask(ctx, "enter email address to invite a user: ", "email address",
        "pass it as an argument: astro organization user invite EMAIL")
      if not address then return nil, err end
    end
    if address:match("^%s*$") then
      return nil, errors.new("no email provided for the invite. Retry with a valid email address")
    end
    address, err = email.normalize(address)
    if not address then return nil, err end
    local ok
    ok, err = astro.invites.create(address, role)
    if not ok then return nil, err end
    if not astro.dry_run() then
      local shown = require("astro.output").printable
      ctx.stdout:write(string.format("invite for %s with role %s created\n", shown(address), shown(role)))
    end
    return true
  end,
}
