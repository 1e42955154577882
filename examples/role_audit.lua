-- Role audit: who holds each organization role.
--
--   astro run examples/role_audit.lua          a table per role, owners first
--   astro run examples/role_audit.lua --csv    CSV: role,email,full_name,status
--
-- One listing of the organization's users (all pages); nothing is changed.
local as_csv = false
for _, a in ipairs({ ... }) do
  if a == "--csv" then
    as_csv = true
  else
    io.stderr:write("usage: astro run examples/role_audit.lua [--csv]\n")
    return 2
  end
end

local users, err = astro.users.list()
if not users then
  io.stderr:write("Error: ", err.message, "\n")
  return 1
end

-- Roles in a fixed order: the powerful ones first, then any other role the API reports.
local order = { "ORGANIZATION_OWNER", "ORGANIZATION_BILLING_ADMIN", "ORGANIZATION_MEMBER" }
local by_role, known = {}, {}
for _, r in ipairs(order) do by_role[r], known[r] = {}, true end
for _, u in ipairs(users) do
  local role = (u.organizationRole and u.organizationRole ~= "") and u.organizationRole or "(no role)"
  if not by_role[role] then
    by_role[role] = {}
    order[#order + 1] = role
  end
  table.insert(by_role[role], u)
end
for _, r in ipairs(order) do
  table.sort(by_role[r], function(a, b) return (a.username or "") < (b.username or "") end)
end

if as_csv then
  local rows = {}
  for _, r in ipairs(order) do
    for _, u in ipairs(by_role[r]) do rows[#rows + 1] = { r, u.username or "", u.fullName or "", u.status or "" } end
  end
  io.write(astro.output.csv({ "role", "email", "full_name", "status" }, rows))
  return 0
end

for _, r in ipairs(order) do
  local list = by_role[r]
  if #list > 0 or known[r] then
    io.write(string.format("%s (%d)\n", r, #list))
    local rows = {}
    for i, u in ipairs(list) do rows[i] = { u.username or "", u.fullName or "", u.status or "" } end
    if #rows > 0 then io.write(astro.output.table({ "EMAIL", "FULLNAME", "STATUS" }, rows)) end
    io.write("\n")
  end
end
io.write(string.format("%d users\n", #users))
return 0
