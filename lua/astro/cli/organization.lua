--- The global --organization flag: the organization (name or id) one run works on instead of
-- the current context's, without the config file being changed. The command line only hands
-- the value over (astro._core.connect.set_run_organization); it is resolved when the command
-- first needs the API client, so help, usage errors and commands that send nothing pay
-- nothing. Loaded only when the flag is given or the command passes its arguments through.
local errors = require("astro.errors")
local connect = require("astro._core.connect")
local parse = require("astro.cli.parse")

local M = {}

--- For a command whose arguments pass through to a script (astro run FILE ARGS): takes
-- `--organization NAME`, `--organization=NAME` typed after FILE, up to a "--", as astro's own
-- flag (parse.take_late, as parse.late_dry_run takes --dry-run): a script run against the context's
-- organization when another was asked for could change the wrong one. Returns true, or nil
-- and a usage error (no value, or two different values).
---@param node table the command found
---@param opts table its parsed options (opts.args: FILE first)
function M.late(node, opts)
  local spec = node.spec
  if not (spec.args and spec.args.passthrough) then return true end
  return parse.take_late(opts, "organization", true, function(value)
    if opts.organization ~= nil and opts.organization ~= value then
      return errors.usage("flag --organization given twice")
    end
    opts.organization = value
  end)
end

--- Takes the run's --organization (after M.late) and hands it to the connection. Returns true,
-- or nil and a usage error for an empty value.
---@param node table
---@param opts table
function M.apply(node, opts)
  for _, f in ipairs(node.flags) do
    if f.name == "organization" then return true end -- a plugin's own flag of that name, not this one
  end
  local ok, err = M.late(node, opts)
  if not ok then return nil, err end
  if opts.organization == "" then
    return nil, errors.usage("flag --organization needs an organization name or id " ..
      "(see astro organization list)")
  end
  connect.set_run_organization(opts.organization)
  return true
end

return M
