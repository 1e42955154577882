-- `astro organization user update [email] --role ROLE`: changes a user's organization role,
-- or the roles of every person of a CSV file with --file (astro.people). Built only on the
-- public API, so it is also an example of a command: copy it into a plugin (under a name of
-- its own) and change what you need.
local people = require("astro.people")

return {
  command = "organization user update",
  use = "update [email]",
  aliases = { "up" },
  short = "Update the role of a user your in Astro Organization",
  long = "Update the role of a user in your Astro Organization\n$astro user update [email] --role " ..
         "[ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, ORGANIZATION_OWNER].",
  example = "\n  $ astro organization user update user@company.com --role ORGANIZATION_OWNER\n" ..
            "  $ astro organization user update user@company.com --role ORGANIZATION_MEMBER",
  flags = {
    { name = "role", short = "r", type = "string", default = "",
      help = "The new role for the user. Possible values are ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, and ORGANIZATION_OWNER" },
    table.unpack(people.FLAGS)
  },
  args = { max = 1 },
  mutates = true,
  run = function(opts, ctx)
    local handled, status, ferr = people.dispatch("update", opts, ctx)
    if handled then return status, ferr end
    local astro, errors, roles = require("astro"), require("astro.errors"), require("astro.roles")
    local email, prompt, output = require("astro.email"), require("astro.prompt"), require("astro.output")
    local role, err = opts.role, nil
    local from_flag = role ~= ""
    if not from_flag then
      role, err = prompt.ask(ctx,
        "enter a user Organization role(ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, ORGANIZATION_OWNER) to update user: ",
        "role", "pass it with --role")
      if not role then return nil, err end
    end
    role, err = roles.validate(role, from_flag)
    if not role then return nil, err end
    local address = opts.args[1]
    if address ~= nil and address:match("^%s*$") then
      -- The astro CLI falls into the user menu here; an empty argument is more likely a script's
      -- empty variable than a wish for the menu.
      return nil, errors.new("no email provided for the update. Retry with a valid email address, " ..
        "or leave it out to pick the user from a menu")
    end
    if address ~= nil then
      address, err = email.normalize(address)
      if not address then return nil, err end
    end
    local users
    users, err = astro.users.list()
    if not users then return nil, err end
    local user
    if address then
      user, err = astro.users.find(address, users)
      if not user then return nil, err end
    else
      user, err = astro.users.choose(ctx, users, "pass the user's email as an argument")
      if not user then return nil, err end
    end
    if type(user.id) ~= "string" or user.id == "" then
      return nil, errors.new(string.format("the API answered user %s without an id (id: %s); nothing was changed",
        output.text(user.username), output.text(user.id)), { code = "api" })
    end
    local ok
    ok, err = astro.roles.update(user, role)
    if not ok then return nil, err end
    if not astro.dry_run() then
      local shown = require("astro.output").printable
      ctx.stdout:write(string.format("The user %s role was successfully updated to %s\n", shown(tostring(user.username)),
        shown(role)))
    end
    return true
  end,
}
