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

local csv = require("astro.csv")
local f, ferr = io.open(path, "rb")
if not f then
  io.stderr:write("Error: ", ferr, "\n")
  return 1
end
local rows, perr = csv.parse(f:read("a"), { required = { "email", "role" } })
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

local plan, changes, problems, seen = {}, 0, 0, {}
for _, row in ipairs(rows) do
  local email, eerr = astro.email.normalize(row.email or "")
  local wanted = row.role or ""
  local entry = { line = row._line, email = email or tostring(row.email or ""), wanted = wanted, current = "" }
  if not email then
    entry.action = "invalid: " .. eerr.message
  elseif not astro.roles.is_valid(wanted) then
    entry.action = "invalid: role " .. wanted .. " is not one of " .. table.concat(astro.roles.VALID, ", ")
  elseif seen[email] and seen[email].role == wanted then
    entry.action = "keep: duplicate of line " .. seen[email].line   -- the same wish twice: harmless
  elseif seen[email] then
    entry.action = "invalid: " .. email .. " is also on line " .. seen[email].line .. " with " .. seen[email].role
  else
    seen[email] = { line = row._line, role = wanted }
    local user = by_email[email]
    if not user then
      entry.action = "missing: not in the organization (invite them first)"
      problems = problems + 1
    else
      entry.user, entry.current = user, user.organizationRole or ""
      if entry.current == wanted then
        entry.action = "keep"
      else
        entry.action = "change"
        changes = changes + 1
      end
    end
  end
  if entry.action:match("^invalid") then problems = problems + 1 end
  plan[#plan + 1] = entry
end

if apply then
  -- All changes at once, at the pace the API allows; setting a role twice is harmless, so a
  -- change whose answer was lost is simply sent again (idempotent).
  local jobs, owners = {}, {}
  for _, e in ipairs(plan) do
    if e.action == "change" then
      jobs[#jobs + 1] = { method = "POST", idempotent = true,
                          path = "/organizations/{org}/users/" .. e.user.id .. "/roles",
                          body = { organizationRole = e.wanted } }
      owners[#jobs] = e
    end
  end
  for i, r in ipairs(astro.batch(jobs)) do
    local e = owners[i]
    if r.ok then
      e.action = astro.dry_run() and "would change" or "changed"
    else
      e.action = "failed: " .. r.err.message .. (r.err.requestId and (" (request " .. r.err.requestId .. ")") or "")
      problems = problems + 1
    end
  end
end

local out = {}
for i, e in ipairs(plan) do out[i] = { tostring(e.line), e.email, e.current, e.wanted, e.action } end
io.write(astro.output.table({ "LINE", "EMAIL", "CURRENT", "WANTED", "ACTION" }, out))
if apply then
  io.stderr:write(string.format("%d rows, %d changes applied or attempted, %d problems\n", #plan, changes, problems))
else
  io.stderr:write(string.format("%d rows, %d changes planned, %d problems; run again with --apply to change roles\n",
    #plan, changes, problems))
end
return problems == 0 and 0 or 1
