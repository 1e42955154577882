-- `astro organization audit-logs export`: the audit logs of an organization since some days
-- ago, into a gzip file of NDJSON. Uses only the public API (astro.audit_logs): copy it into
-- ~/.astro/plugins under a name of its own to make a command of your own from it.
local astro = require("astro")
local errors = require("astro.errors")
local output = require("astro.output")

return {
  command = "organization audit-logs export",
  use = "export",
  aliases = { "e" },
  short = "Export your Organization audit logs in GZIP. Requires Organization Owner permissions.",
  long = "Export Organization audit logs as a GZIP file. Includes all API and UI actions by Organization members " ..
    "for up to 90 days. Use --include to control how many days back to export (default: 1 day). Requires " ..
    "Organization Owner permissions.",
  example = "\n  $ astro organization audit-logs export\n" ..
    "  $ astro organization audit-logs export --output-file audit-logs.gz --include 30\n" ..
    "  $ astro organization audit-logs export --organization-name my-org --include 7",
  flags = {
    { name = "organization-name", short = "n", type = "string", default = "",
      help = "Name of the Organization to manage audit logs for." },
    { name = "output-file", short = "o", type = "string", default = "",
      help = "Path to a file for storing exported audit logs" },
    { name = "include", short = "i", type = "string", default = "1",
      help = "Number of days in the past to start exporting logs from. Minimum: 1. Maximum: 90." },
  },
  run = function(opts, ctx)
    -- The number of days is checked before anything is said or sent (the astro CLI takes any).
    local text = opts.include or "1"
    local n = text:match("^[+-]?%d+$") and math.tointeger(tonumber(text))
    if not n then
      return nil, errors.usage(string.format('invalid argument "%s" for "-i, --include" flag: not a whole number of days',
        text))
    end
    local days, err = astro.audit_logs.check_days(n)
    if not days then return nil, err end
    local connected
    connected, err = ctx.api()
    if not connected then return nil, err end
    ctx.stderr:write("This may take some time depending on how many days are being exported.\n")
    local path
    path, err = astro.audit_logs.export({ organization = opts.organization_name, days = days,
                                          path = opts.output_file })
    if not path then return nil, err end
    ctx.stderr:write("Finished exporting logs to local GZIP file\n")
    -- The result: where the file is (escaped on a terminal, as it is for a pipe).
    ctx.stdout:write(output.for_stream("stdout")(path), "\n")
    return true
  end,
}
