-- Bulk invite from a CSV file with a header and the columns `email` and, optionally, `role`
-- (default ORGANIZATION_MEMBER).
--
--   astro run examples/bulk_invite.lua people.csv
--   astro run --dry-run examples/bulk_invite.lua people.csv     (show what would be sent)
--
-- The organization's users are listed once; people already in it (members, or invited and
-- still pending) are skipped, so running the same file twice invites nobody twice. Every row
-- is reported: invited, skipped (why), invalid (why, nothing sent) or failed (the API's
-- message and request id). The invites go out concurrently at the pace the API allows
-- (astro.people, on astro.batch). Exit status 0 only when no row was invalid or failed.
local path = ...
if not path then
  io.stderr:write("usage: astro run examples/bulk_invite.lua FILE.csv\n")
  return 2
end

local people = require("astro.people")
local set, err = people.read(path, { kind = "invite" })
if set then set, err = set:apply() end   -- one listing, then the invites (printed under --dry-run)
if not set then
  io.stderr:write("Error: ", err.message, "\n")
  return 1
end

-- Each row's result in this script's words.
local function result(row)
  if row.result == "invited" then return astro.dry_run() and "would invite" or "invited" end
  if row.result == "skipped" then return "skipped: " .. row.message end
  if row.reason == "request" then
    return "failed: " .. row.message .. (row.requestId and (" (request " .. row.requestId .. ")") or "")
  end
  if row.reason == "role" then
    return "invalid: role " .. row.role .. " is not one of " .. table.concat(astro.roles.VALID, ", ")
  end
  return "invalid: " .. row.message
end

local report = {}
for i, row in ipairs(set.rows) do report[i] = { tostring(row.line), row.email, row.role, result(row) } end
local bad = set:summary().failed
io.write(astro.output.table({ "LINE", "EMAIL", "ROLE", "RESULT" }, report))
io.stderr:write(string.format("%d rows, %d invalid or failed\n", #report, bad))
return bad == 0 and 0 or 1
