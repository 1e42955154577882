-- `astro organization user invite [email] --role ROLE`: invites a person to the organization.
local errors = require("astro.errors")
local roles = require("astro.roles")
local email = require("astro.email")
local prompt = require("astro.prompt")
local astro = require("astro")

return {
  use = "invite [email]",
  aliases = { "inv" },
  short = "Invite a user to your Astro Organization",
  long = "Invite a user to your Astro Organization\n$astro user invite [email] --role " ..
         "[ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, ORGANIZATION_OWNER].",
  example = "\n  $ astro organization user invite user@company.com\n" ..
            "  $ astro organization user invite user@company.com --role ORGANIZATION_BILLING_ADMIN",
  flags = {
    { name = "file", short = "f", type = "string", default = "",
      help = "CSV file of rows to process (header with email and role; - for standard input)" },
    { name = "strict", type = "bool", help = "With --file: send nothing at all if any row is invalid" },
    { name = "json", type = "bool", help = "With --file: print the report as JSON" },
    { name = "report", type = "string", default = "",
      help = "With --file: also write the report as CSV to this file (feed it back to retry the failed rows)" },
    { name = "rate-limit", type = "string", default = "",
      help = "With --file: requests per second per method, e.g. POST=10,GET=25 (the API's limits by default)" },
    { name = "role", short = "r", type = "string", default = roles.DEFAULT,
      help = "The role for the user. Possible values are ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, and ORGANIZATION_OWNER" },
  },
  args = { max = 1 },
  mutates = true,
  run = function(opts, ctx)
    if opts.file ~= "" then
      if #opts.args > 0 then
        return nil, errors.usage("give either an email or --file, not both")
      end
      return require("astro.bulk_users").run("invite", opts, ctx)
    end
    for _, f in ipairs({ "strict", "json" }) do
      if opts[f] then return nil, errors.usage("--" .. f .. " goes with --file") end
    end
    if opts.report ~= "" or opts.rate_limit ~= "" then
      return nil, errors.usage("--report and --rate-limit go with --file")
    end
    local address, err = opts.args[1], nil
    if address == nil then
      address, err = prompt.ask(ctx, "enter email address to invite a user: ", "email address",
        "pass it as an argument: astro organization user invite EMAIL")
      if not address then return nil, err end
    end
    if address:match("^%s*$") then
      return nil, errors.new("no email provided for the invite. Retry with a valid email address")
    end
    address, err = email.normalize(address)
    if not address then return nil, err end
    local role
    role, err = roles.validate(opts.role)
    if not role then return nil, err end
    local client
    client, err = ctx.api()
    if not client then return nil, err end
    local ok
    ok, err = astro.invites.create(address, role)
    if not ok then return nil, err end
    if not astro.dry_run() then
      ctx.stdout:write(string.format("invite for %s with role %s created\n", address, role))
    end
    return true
  end,
}
