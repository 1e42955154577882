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
-- (astro.batch). Exit status 0 only when no row was invalid or failed.
local path = ...
if not path then
  io.stderr:write("usage: astro run examples/bulk_invite.lua FILE.csv\n")
  return 2
end

local csv = require("astro.csv")

local f, ferr = io.open(path, "rb")
if not f then
  io.stderr:write("Error: ", ferr, "\n")
  return 1
end
local rows, perr = csv.parse(f:read("a"), { required = { "email" } })
f:close()
if not rows then
  io.stderr:write("Error: ", path, ": ", tostring(perr), "\n")
  return 1
end

local users, err = astro.users.list()
if not users then
  io.stderr:write("Error: ", err.message, "\n")
  return 1
end
local by_email = {}
for _, u in ipairs(users) do
  if type(u.username) == "string" then by_email[u.username:lower()] = u end
end

local report, seen, jobs, owners = {}, {}, {}, {}
for _, row in ipairs(rows) do
  local role = (row.role and row.role ~= "") and row.role or astro.roles.DEFAULT
  local email, eerr = astro.email.normalize(row.email or "")
  local entry = { tostring(row._line), email or tostring(row.email or ""), role }
  if not email then
    entry[4] = "invalid: " .. eerr.message
  elseif not astro.roles.is_valid(role) then
    entry[4] = "invalid: role " .. role .. " is not one of " .. table.concat(astro.roles.VALID, ", ")
  elseif seen[email] then
    entry[4] = seen[email].role == role and ("skipped: duplicate of line " .. seen[email].line)
      or ("invalid: line " .. seen[email].line .. " gives " .. email .. " another role")
  elseif by_email[email] then
    entry[4] = by_email[email].status == "PENDING" and "skipped: already invited" or "skipped: already a member"
  else
    -- Sent below, all at once, at the pace the API allows.
    jobs[#jobs + 1] = { method = "POST", path = "/organizations/{org}/invites",
                        body = { inviteeEmail = email, role = role } }
    owners[#jobs] = entry
  end
  if email and not seen[email] then seen[email] = { role = role, line = row._line } end
  report[#report + 1] = entry
end

local results = astro.batch(jobs, {
  -- An invite whose answer was lost may have been made: look before trying again.
  on_unknown = function(items)
    local now = astro.users.list()
    if not now then return nil end   -- cannot tell: send nothing again
    local there, confirmed = {}, {}
    for _, u in ipairs(now) do if u.username then there[u.username:lower()] = true end end
    for _, it in ipairs(items) do
      if there[it.job.body.inviteeEmail] then confirmed[it.index] = true end
    end
    return confirmed
  end,
})
for i, r in ipairs(results) do
  if r.ok then
    owners[i][4] = astro.dry_run() and "would invite" or "invited"
  else
    owners[i][4] = "failed: " .. r.err.message .. (r.err.requestId and (" (request " .. r.err.requestId .. ")") or "")
  end
end

local bad = 0
for _, entry in ipairs(report) do
  if entry[4]:match("^invalid") or entry[4]:match("^failed") then bad = bad + 1 end
end

io.write(astro.output.table({ "LINE", "EMAIL", "ROLE", "RESULT" }, report))
io.stderr:write(string.format("%d rows, %d invalid or failed\n", #report, bad))
return bad == 0 and 0 or 1
