-- The CSV of `user list -o csv` fed back to `user update --file` and `user invite --file`:
-- its `organization_role` column is read as the role, so an export edited by hand changes only
-- what was edited, and an export invited into another organization keeps every role. A file
-- naming the role twice, or in a column that is not read, is refused before anything is sent.
local h = require("spec.helpers")
local json = require("astro.json")

local ACME, GLOBEX, INITECH = h.ids.ACME, h.ids.GLOBEX, h.ids.INITECH

-- The writes sb received, as { path, decoded body }.
local function writes(sb)
  local out = {}
  for i, r in ipairs(h.writes(sb)) do out[i] = { r.method .. " " .. r.path, r.body and json.decode(r.body) } end
  return out
end

-- email -> role of an organization's users, from `user list -o csv` (the CSV itself).
local function roles_of(csv)
  local rows = assert(require("astro.csv").parse(csv))
  local by = {}
  for _, r in ipairs(rows) do by[r.email] = r.organization_role end
  return by
end

describe("user list -o csv fed back to --file", function()
  local box = h.use_sandbox()

  -- The export of an organization (ACME unless org is given), checked.
  local function export(org)
    local home = org and box.sb:home({ organization = org }) or nil
    local r = box.run({ "organization", "user", "list", "-o", "csv" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^full_name,email,id,organization_role,", r.stdout)
    return r.stdout
  end

  it("update --file of an export with one role edited changes that user only, to that role", function()
    local csv = export()
    local edited, n = csv:gsub("(raj%.patel@acme%.io,[^,]*,)ORGANIZATION_MEMBER,", "%1ORGANIZATION_BILLING_ADMIN,")
    assert.are.equal(1, n)
    local path = box.file("edited.csv", edited)
    box.sb:reset_requests()
    local r = box.run({ "organization", "user", "update", "--file", path, "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({ { "POST /v1/organizations/" .. ACME .. "/users/" .. h.ids.RAJ .. "/roles",
                        { organizationRole = "ORGANIZATION_BILLING_ADMIN" } } }, writes(box.sb))
    local results = {}
    for _, row in ipairs(json.decode(r.stdout).rows) do results[row.email] = row.result .. " " .. row.role end
    assert.are.same({
      ["jane.doe@acme.io"] = "skipped ORGANIZATION_OWNER",
      ["raj.patel@acme.io"] = "updated ORGANIZATION_BILLING_ADMIN",
      ["mei.lin@acme.io"] = "skipped ORGANIZATION_BILLING_ADMIN",
    }, results)
    assert.are.equal("3 rows: 1 updated, 2 skipped, 0 failed\n", r.stderr)
    -- The listing afterwards is the edited file.
    assert.are.same(roles_of(edited), roles_of(export()))
  end)

  it("update --file of an export left as it is sends no change at all (every row skipped)", function()
    for _, org in ipairs({ ACME, GLOBEX }) do  -- Globex has a PENDING user
      local path = box.file("as-is.csv", export(org))
      box.sb:reset_requests()
      local r = box.run({ "organization", "user", "update", "--file", path },
        { home = box.sb:home({ organization = org }) })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({}, writes(box.sb))
      assert.are.equal("3 rows: 0 updated, 3 skipped, 0 failed\n", r.stderr)
    end
  end)

  it("invite --file of an export into another organization keeps each role", function()
    local from_globex = box.file("globex.csv", export(GLOBEX))
    local from_acme = box.file("acme.csv", export(ACME))
    box.sb:reset_requests()
    local r = box.run({ "organization", "user", "invite", "--file", from_globex })  -- into Acme
    assert.are.equal(0, r.code, r.stderr)
    r = box.run({ "organization", "user", "invite", "--file", from_acme },
      { home = box.sb:home({ organization = INITECH }) })
    assert.are.equal(0, r.code, r.stderr)
    local invites = "POST /v1/organizations/%s/invites"
    assert.are.same({
      -- jane.doe is in every organization already: skipped.
      { invites:format(ACME), { inviteeEmail = "hank.scorpio@globex.io", role = "ORGANIZATION_OWNER" } },
      { invites:format(ACME), { inviteeEmail = "frank.grimes@globex.io", role = "ORGANIZATION_MEMBER" } },
      { invites:format(INITECH), { inviteeEmail = "raj.patel@acme.io", role = "ORGANIZATION_MEMBER" } },
      { invites:format(INITECH), { inviteeEmail = "mei.lin@acme.io", role = "ORGANIZATION_BILLING_ADMIN" } },
    }, writes(box.sb))
    local after = roles_of(export())
    assert.are.equal("ORGANIZATION_OWNER", after["hank.scorpio@globex.io"])
  end)

  it("team user add --file of a team user list -o csv (or a user list) export adds those people, no warning", function()
    local DATA_ENG, ANALYSTS = "clmteamde00101f1sxbrxz86t", "clmteamana030a8v2k4q6w1zx"  -- Jane and Raj; nobody
    local r = box.run({ "organization", "team", "user", "list", "--team-id", DATA_ENG, "-o", "csv" })
    assert.are.equal(0, r.code, r.stderr)
    local path = box.file("team.csv", r.stdout)
    box.sb:reset_requests()
    r = box.run({ "organization", "team", "user", "add", "--team-id", ANALYSTS, "--file", path })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("2 rows: 2 added, 0 skipped, 0 failed\n", r.stderr)
    r = box.run({ "organization", "team", "user", "add", "--team-id", ANALYSTS, "--file", box.file("all.csv", export()) })
    assert.are.equal("3 rows: 1 added, 2 skipped, 0 failed\n", r.stderr)
  end)

  it("--role fills only the rows whose organization_role cell is empty", function()
    local path = box.file("partial.csv", "email,organization_role\nnew.owner@acme.io,ORGANIZATION_OWNER\n" ..
      "new.member@acme.io,\n")
    box.sb:reset_requests()
    local r = box.run({ "organization", "user", "invite", "--file", path, "--role", "ORGANIZATION_BILLING_ADMIN" })
    assert.are.equal(0, r.code, r.stderr)
    local bodies = {}
    for i, w in ipairs(writes(box.sb)) do bodies[i] = w[2] end
    assert.are.same({ { inviteeEmail = "new.owner@acme.io", role = "ORGANIZATION_OWNER" },
                      { inviteeEmail = "new.member@acme.io", role = "ORGANIZATION_BILLING_ADMIN" } }, bodies)
  end)

  describe("refuses, sending nothing,", function()
    local function refused(text, kind, message)
      local path = box.file("bad.csv", text)
      box.sb:reset_requests()
      local r = box.run({ "organization", "user", kind or "invite", "--file", path })
      assert.are.equal(1, r.code)
      assert.are.equal("", r.stdout)
      assert.are.equal("Error: " .. path .. ": " .. message .. "\n", r.stderr)
      assert.are.same({}, h.recorded(box.sb))
    end

    it("a header naming both role and organization_role", function()
      refused("email,role,organization_role\nraj.patel@acme.io,ORGANIZATION_OWNER,ORGANIZATION_MEMBER\n", "update",
        'line 1: the header names both "role" and "organization_role": keep one of the two columns')
    end)

    it("a column that looks like a role but is not read (it would be ignored)", function()
      for _, name in ipairs({ "org_role", "orgRole", "Organization Role", "roles" }) do
        refused("email," .. name .. "\nraj.patel@acme.io,ORGANIZATION_OWNER\n", "invite",
          'line 1: the column "' .. name:lower() .. '" is not read: name the role column "role" ' ..
          '(or "organization_role", as user list -o csv writes it)')
      end
    end)

    it("update --file without any role column, naming both names it reads", function()
      refused("email,name\nraj.patel@acme.io,Raj\n", "update",
        'line 1: missing required column "role" (or "organization_role"); the header has: email, name')
    end)
  end)

  it("warns about a column it does not read, and still reads the others", function()
    local path = box.file("extra.csv", "email,role,team\nnew.person@acme.io,ORGANIZATION_MEMBER,data\n")
    local r = box.run({ "organization", "user", "invite", "--file", path })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("Warning: " .. path .. ': the column "team" is not read\n' ..
      "1 rows: 1 invited, 0 skipped, 0 failed\n", r.stderr)
    -- The columns this tool writes itself (user list -o csv, team user list -o csv, a report)
    -- are known: no warning.
    r = box.run({ "organization", "user", "update", "--file", box.file("plain.csv", export()) })
    assert.matches("^%d rows: 0 updated, %d skipped, 0 failed\n$", r.stderr)
  end)
end)
