-- `astro organization token delete [TOKEN_ID]`: revokes an Organization API token for good.
-- Asks first unless --force. Built on astro.tokens alone.
local output = require("astro.output")
local tokens = require("astro.tokens")

return {
  command = "organization token delete",
  use = "delete [TOKEN_ID]",
  aliases = { "de" },
  short = "Delete a Organization API token or remove an Organization API token from a Organization",
  long = "Permanently revoke an Organization API token. All access the token grants — including any Workspace " ..
         "and Deployment roles — is immediately revoked.",
  example = "\n  $ astro organization token delete token123\n" ..
            "  $ astro organization token delete --name \"My Token\" --force",
  flags = {
    { name = "name", short = "t", type = "string", default = "",
      help = "The name of the token to be deleted. If the name contains a space, specify the entire name within quotes \"\" " },
    { name = "force", short = "f", type = "bool", help = "Delete or remove the API token without showing a warning" },
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
    local go
    go, err = tokens.confirm(ctx, "WARNING: API token deletion cannot be undone.", "delete", name, opts.force)
    if go == nil then return nil, err end
    if not go then
      ctx.stdout:write("Canceling API Token deletion\n")
      return true
    end
    local ok
    ok, err = tokens.delete(token, scope)
    if not ok then return nil, err end
    if astro.dry_run() then
      ctx.stdout:write(string.format("Astro Organization API token %s would be deleted (dry run: nothing was deleted)\n",
        name))
    else
      ctx.stdout:write(string.format("Astro Organization API token %s was successfully deleted\n", name))
    end
    return true
  end,
}
