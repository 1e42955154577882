-- `astro organization token create`: makes an Organization API token and prints its value,
-- the one time it can be seen (with --clean-output, the value alone). Built on astro.tokens.
local errors = require("astro.errors")
local output = require("astro.output")
local tokens = require("astro.tokens")

--- The value of --expiration as a whole number, or nil and pflag's usage error.
local function _expiration(text)
  local n = text:match("^[+-]?%d+$") and math.tointeger(tonumber(text))
  if not n then
    return nil, errors.usage(string.format('invalid argument "%s" for "-e, --expiration" flag: ' ..
      'strconv.ParseInt: parsing "%s": invalid syntax', text, text))
  end
  return n
end

return {
  command = "organization token create",
  use = "create",
  aliases = { "cr" },
  short = "Create an API token in an Astro Organization",
  long = "Create an Organization-scoped API token. The token value is displayed only once at creation and " ..
         "cannot be retrieved later — store it securely. Use --clean-output to print only the raw token value " ..
         "for scripts. Use --expiration to set a TTL in days (default: no expiration).",
  example = "\n  $ astro organization token create\n" ..
            "  $ astro organization token create --name \"CI/CD Token\" --role ORGANIZATION_MEMBER\n" ..
            "  $ astro organization token create --name \"Deploy Token\" --role ORGANIZATION_OWNER --expiration 365 --clean-output",
  flags = {
    { name = "name", short = "n", type = "string", default = "",
      help = "The token's name. If the name contains a space, specify the entire name within quotes \"\" " },
    { name = "clean-output", short = "c", type = "bool",
      help = "Print only the token as output. For use of the command in scripts" },
    { name = "description", short = "d", type = "string", default = "",
      help = "Description of the token. If the description contains a space, specify the entire description within quotes \"\"" },
    { name = "role", short = "r", type = "string", default = "",
      help = "The role for the token. Possible values are ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, and ORGANIZATION_OWNER" },
    { name = "expiration", short = "e", type = "string", default = "0",
      help = "Expiration of the token in days. If the flag isn't used the token won't have an expiration. " ..
             "Must be between 1 and 3650 days. " },
    { name = "organization-id", type = "string", default = "", help = "organization where you would like to manage tokens" },
  },
  mutates = true,
  run = function(opts, ctx)
    local astro, prompt = require("astro"), require("astro.prompt")
    local days, err = _expiration(opts.expiration)
    if not days then return nil, err end
    days, err = tokens.check_expiration(days)
    if not days then return nil, errors.usage(err.message) end -- a bad --expiration value
    if opts.role ~= "" then
      local ok
      ok, err = require("astro.roles").validate(opts.role, true)
      if not ok then return nil, err end
    end
    local connected
    connected, err = ctx.api()
    if not connected then return nil, err end
    local name, role = opts.name, opts.role
    if name == "" then
      name, err = prompt.ask(ctx, "Enter a name for the new Organization API token: ", "token name", "pass it with --name")
      if not name then return nil, err end
    end
    if role == "" then
      role, err = prompt.role(ctx, "API token")
      if not role then
        -- The astro CLI treats a bad choice here as a usage error (not the team menu's).
        if err.code == "input" and err.message == "invalid organization role selection" then
          return nil, errors.usage(err.message)
        end
        return nil, err
      end
    end
    local created
    created, err = tokens.create({ name = name, description = opts.description, role = role, expiration = days },
      { organization = opts.organization_id ~= "" and opts.organization_id or nil })
    if not created then return nil, err end
    local shown = output.printable
    if astro.dry_run() then
      local out = opts.clean_output and ctx.stderr or ctx.stdout
      out:write(string.format("Astro Organization API token %s would be created (dry run: no token was made)\n",
        shown(name)))
      return true
    end
    local value = type(created.token) == "string" and created.token ~= "" and created.token or nil
    if opts.clean_output then
      if not value then
        return nil, errors.new(string.format("the API created the token %s but sent no token value; " ..
          "rotate it to get one (astro organization token rotate %s)", name, output.text(created.id)), { code = "api" })
      end
      ctx.stdout:write(shown(value), "\n")
      return true
    end
    ctx.stdout:write(string.format("\nAstro Organization API token %s was successfully created\n", shown(name)))
    ctx.stdout:write("Copy and paste this API token for your records.\n")
    if value then ctx.stdout:write("\n", shown(value), "\n") end
    ctx.stdout:write("\nYou will not be shown this API token value again.\n")
    return true
  end,
}
