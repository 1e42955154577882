-- `astro organization user update [email] --role ROLE`: changes a user's organization role.
-- Only what the declaration needs is loaded up front; the rest when the command runs, so that
-- other commands and --help start without it.

return {
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
    table.unpack(require("astro.bulk_flags").FLAGS)
  },
  args = { max = 1 },
  mutates = true,
  run = function(opts, ctx)
    local errors, roles, email = require("astro.errors"), require("astro.roles"), require("astro.email")
    local prompt, astro = require("astro.prompt"), require("astro")
    local user_list = require("astro.commands.organization.user.list")
    local handled, res, ferr = require("astro.bulk_users").dispatch("update", opts, ctx)
    if handled then return res, ferr end
    local role, err = opts.role, nil
    if role == "" then
      role, err = prompt.ask(ctx,
        "enter a user Organization role(ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, ORGANIZATION_OWNER) to update user: ",
        "role", "pass it with --role")
      if not role then return nil, err end
    end
    role, err = roles.validate(role)
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
      if #users == 0 then return nil, errors.new("no users found in your organization") end
      ctx.stderr:write("\nPlease select the user:\n")
      local rows = {}
      for i, u in ipairs(users) do rows[i] = user_list.row(u) end
      local n
      n, err = prompt.menu(ctx, user_list.HEADERS, rows, {
        invalid = "invalid User selected", missing = "user choice",
        hint = "pass the user's email as an argument",
      })
      if not n then return nil, err end
      user = users[n]
    end
    local ok
    ok, err = astro.roles.update(user, role)
    if not ok then return nil, err end
    if not astro.dry_run() then
      ctx.stdout:write(string.format("The user %s role was successfully updated to %s\n", user.username, role))
    end
    return true
  end,
}
