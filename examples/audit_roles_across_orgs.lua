-- Powerful roles across organizations: who is an owner or a billing admin in each organization
-- the credential can see, in one table, without switching the current organization.
--
--   astro run examples/audit_roles_across_orgs.lua                    every organization
--   astro run examples/audit_roles_across_orgs.lua Globex clv2init... these ones, by name or id
--   astro run examples/audit_roles_across_orgs.lua --csv              CSV: organization,organization_id,role,email,full_name
--
-- One listing of the organizations, then one listing of each one's users; nothing is changed
-- and the config file is not written. Each organization is reached with
-- astro.connect{ organization = ... }, which makes that organization's client the default one
-- for astro.users.list(); the context's own client is the default again at the end.
-- An organization that cannot be read is reported on stderr, the others still audited (exit 1).
local POWERFUL = { "ORGANIZATION_OWNER", "ORGANIZATION_BILLING_ADMIN" }

local as_csv, wanted = false, {}
for _, a in ipairs({ ... }) do
  if a == "--csv" then
    as_csv = true
  elseif a:sub(1, 1) == "-" then
    io.stderr:write("usage: astro run examples/audit_roles_across_orgs.lua [--csv] [ORGANIZATION (name or id)...]\n")
    return 2
  else
    wanted[#wanted + 1] = a
  end
end

local home, err = astro.client()
if not home then
  io.stderr:write("Error: ", err.message, "\n")
  return 1
end

-- The organizations to audit: those named (each resolved by astro.connect below, from this
-- same list: it is fetched once), else all of them, by name.
local orgs
orgs, err = astro.organizations.list()
if not orgs then
  io.stderr:write("Error: ", err.message, "\n")
  return 1
end
local names, targets = {}, {}
for _, o in ipairs(orgs) do names[o.id] = o.name end
if #wanted > 0 then
  targets = wanted
else
  table.sort(orgs, function(a, b) return tostring(a.name) < tostring(b.name) end)
  for i, o in ipairs(orgs) do targets[i] = o.id end
end

local rank = {}
for i, r in ipairs(POWERFUL) do rank[r] = i end
local rows, failed = {}, 0
for _, target in ipairs(targets) do
  local c, cerr = astro.connect({ organization = target })
  local users
  if c then users, cerr = astro.users.list() end
  if not users then
    io.stderr:write(string.format("%s: %s\n", target, cerr.message))
    failed = failed + 1
  else
    local name = c.organization_name or names[c.organization] or c.organization
    local found = {}
    for _, u in ipairs(users) do
      if rank[u.organizationRole] then found[#found + 1] = u end
    end
    table.sort(found, function(a, b)
      if a.organizationRole ~= b.organizationRole then return rank[a.organizationRole] < rank[b.organizationRole] end
      return tostring(a.username) < tostring(b.username)
    end)
    for _, u in ipairs(found) do
      rows[#rows + 1] = { name, c.organization, u.organizationRole, u.username or "", u.fullName or "" }
    end
  end
end
astro.use(home) -- the context's own organization is the default again

if as_csv then
  io.write(astro.output.csv({ "organization", "organization_id", "role", "email", "full_name" }, rows))
else
  local shown = {}
  for i, r in ipairs(rows) do shown[i] = { r[1], r[3], r[4] } end
  io.write(astro.output.table({ "ORGANIZATION", "ROLE", "EMAIL" }, shown))
  io.write(string.format("%d organizations, %d owners and billing admins\n", #targets - failed, #rows))
end
return failed > 0 and 1 or 0
