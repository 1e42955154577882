-- Reconcile organization roles from a CSV file (header with `email` and `role`): shows the
-- plan, and changes roles only with --apply.
--
--   astro run examples/reconcile_roles.lua roles.csv            the plan, nothing changed
--   astro run examples/reconcile_roles.lua roles.csv --apply    apply the changes
--
-- Each row becomes: keep (already that role), change (current -> wanted), missing (not in the
-- organization: invite them first) or invalid (why). Users not in the file are left alone.
-- Exit status: 0 when every row is valid and in the organization and, with --apply, every
-- change succeeded.
local path, flag = ...
local apply = flag == "--apply"
if not path or (flag and not apply) then
  io.stderr:write("usage: astro run examples/reconcile_roles.lua FILE.csv [--apply]\n")
  return 2
end

local people = require("astro.people")
local set, err = people.read(path, { kind = "update" })
if set then set, err = set:plan() end     -- one listing of the organization's users
local changes = set and set:summary().planned or 0
-- All changes at once, at the pace the API allows; setting a role twice is harmless, so a
-- change whose answer was lost is simply sent again.
if set and apply then set, err = set:apply() end
if not set then
  io.stderr:write("Error: ", err.message, "\n")
  return 1
end

-- Each row's action in this script's words.
local function action(row)
  if row.result == "planned" then return "change" end
  if row.result == "updated" then return astro.dry_run() and "would change" or "changed" end
  if row.reason == "same_role" then return "keep" end
  if row.result == "skipped" then return "keep: " .. row.message end   -- the same wish twice: harmless
  if row.reason == "not_found" then return "missing: not in the organization (invite them first)" end
  if row.reason == "request" then
    return "failed: " .. row.message .. (row.requestId and (" (request " .. row.requestId .. ")") or "")
  end
  if row.reason == "role" or row.reason == "no_role" then
    return "invalid: role " .. row.role .. " is not one of " .. table.concat(astro.roles.VALID, ", ")
  end
  if row.reason == "conflict" then
    return "invalid: " .. row.email .. " is also on line " .. row.other.line .. " with " .. row.other.role
  end
  return "invalid: " .. row.message
end

local out = {}
for i, row in ipairs(set.rows) do
  out[i] = { tostring(row.line), row.email, row.user and row.user.organizationRole or "", row.role, action(row) }
end
local problems = set:summary().failed
io.write(astro.output.table({ "LINE", "EMAIL", "CURRENT", "WANTED", "ACTION" }, out))
if apply then
  io.stderr:write(string.format("%d rows, %d changes applied or attempted, %d problems\n", #out, changes, problems))
else
  io.stderr:write(string.format("%d rows, %d changes planned, %d problems; run again with --apply to change roles\n",
    #out, changes, problems))
end
return problems == 0 and 0 or 1
