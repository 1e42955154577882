-- `astro organization list`: every organization the credential can see, the current one marked.
local output = require("astro.output")
local errors = require("astro.errors")
local astro = require("astro")
local json = require("astro.json")

local CONNECT_HINT = "cannot connect to Astronomer. Try to log in with astro login or check your internet " ..
  "connection and user permissions. If you are using an API Key or Token make sure your context is correct."

return {
  command = "organization list",
  use = "list",
  aliases = { "ls" },
  short = "List all Organizations you have access to",
  long = "List all Astro Organizations you have access to.",
  example = "  astro organization list\n  astro organization list --json",
  flags = {
    { name = "json", type = "bool", help = "Output as JSON" },
    { name = "output", short = "o", type = "string", default = "", help = "Output format (table|json|csv)" },
  },
  run = function(opts, ctx)
    local format, ferr = output.format(opts, true)
    if not format then return nil, ferr end
    local client, err = ctx.api()
    if not client then return nil, err end
    local orgs
    orgs, err = astro.organizations.list()
    if not orgs then
      -- The Error line shows the API's message after a blank line and "Details: ", escaped.
      return nil, errors.new(CONNECT_HINT, { details = err.message, status = err.status, requestId = err.requestId })
    end
    local current = client.organization
    if format == "json" then
      local list = {}
      for i, o in ipairs(orgs) do
        list[i] = { name = output.text(o.name), id = output.text(o.id), isCurrent = (o.id == current) }
      end
      ctx.stdout:write(output.json({ organizations = json.array(list) },
        { "organizations", "name", "id", "isCurrent" }, output.is_terminal(ctx.stdout)))
      return true
    end
    local rows = {}
    if format == "csv" then
      -- name,id,is_current (true for the current organization); on a terminal, control
      -- characters in cells are shown escaped as in the table.
      local shown = output.for_stream("stdout")
      for i, o in ipairs(orgs) do
        rows[i] = { shown(output.text(o.name)), shown(output.text(o.id)), o.id == current and "true" or "false" }
      end
      ctx.stdout:write(require("astro.csv").format({ "name", "id", "is_current" }, rows))
      return true
    end
    -- The current organization's row: green on a terminal; without colour (a pipe, a file,
    -- NO_COLOR) a `*` in place of its leading space, for scripts (`grep '^\*'`).
    for i, o in ipairs(orgs) do rows[i] = { output.text(o.name), output.text(o.id) } end
    ctx.stdout:write(output.table({ "NAME", "ID" }, rows, {
      color = output.color_enabled("stdout"), mark = true,
      highlight = function(row) return row[2] == current end,
    }))
    return true
  end,
}
