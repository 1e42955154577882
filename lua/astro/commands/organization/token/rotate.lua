-- `astro organization token rotate [TOKEN_ID]`: gives an Organization API token a new value
-- (the old one stops working) and prints it, the one time it can be seen (with
-- --clean-output, the value alone). Asks first unless --force. Built on astro.tokens alone.
local errors = require("astro.errors")
local output = require("astro.output")
local tokens = require("astro.tokens")

return {
  command = "organization token rotate",
  use = "rotate [TOKEN_ID]",
  aliases = { "ro" },
  short = "Rotate a Organization API token",
  long = "Rotate a Organization API token. You can only rotate Organization API tokens. You cannot rotate " ..
         "Workspace API tokens with this command",
  example = "\n  $ astro organization token rotate token123\n" ..
            "  $ astro organization token rotate --name \"My Token\" --force\n" ..
            "  $ astro organization token rotate token123 --clean-output",
  flags = {
    { name = "clean-output", short = "c", type = "bool",
      help = "Print only the token as output. For use of the command in scripts" },
    { name = "name", short = "t", type = "string", default = "",
      help = "The name of the token to be rotated. If the name contains a space, specify the entire name within quotes \"\" " },
    { name = "force", short = "f", type = "bool", help = "Rotate the Organization API token without showing a warning" },
    { name = "organization-id", type = "string", default = "", help = "organization where you would like to manage tokens" },
  },
  args = { max = 1 },
  mutates = true,
  run = function(opts, ctx)
    local astro = require("astro")
    local token, scope = tokens.for_command(ctx, opts)
    if not token then return nil, scope end
    local err
    local name = output.printable(output.text(token.name))
    -- Messages that are not the token go to stderr with --clean-output: stdout is the value.
    local say = opts.clean_output and ctx.stderr or ctx.stdout
    local go
    go, err = tokens.confirm(ctx, "WARNING: API Token rotation will invalidate the current token and cannot be undone.",
      "rotate", name, opts.force)
    if go == nil then return nil, err end
    if not go then
      say:write("Canceling token rotation\n")
      return true
    end
    local rotated
    rotated, err = tokens.rotate(token, scope)
    if not rotated then return nil, err end
    if astro.dry_run() then
      say:write(string.format("Astro Organization API token %s would be rotated (dry run: no new token was made)\n", name))
      return true
    end
    local value = type(rotated.token) == "string" and rotated.token ~= "" and rotated.token or nil
    if opts.clean_output then
      if not value then
        return nil, errors.new(string.format("the API rotated the token %s but sent no token value", output.text(token.name)),
          { code = "api" })
      end
      ctx.stdout:write(output.printable(value), "\n")
      return true
    end
    ctx.stdout:write(string.format("\nAstro Organization API token %s was successfully rotated\n", name))
    ctx.stdout:write("Copy and paste this API token for your records.\n")
    if value then ctx.stdout:write("\n", output.printable(value), "\n") end
    ctx.stdout:write("\nYou will not be shown this API token value again.\n")
    return true
  end,
}
