-- `astro organization user update --file`: role changes planned against ONE listing of the
-- organization's users (2503 users: three pages), idempotent, retried on 503 (role updates
-- are idempotent), reported, --dry-run, standard input.
local h = require("spec.helpers")
local json = require("astro.json")

local ORG = h.ids.ACME
local USERS = "/v1/organizations/" .. ORG .. "/users"
local RAJ = h.ids.RAJ

-- The recorded requests of one method whose path starts with prefix.
local function recorded(sb, method, prefix) return h.recorded(sb, { method = method, prefix = prefix }) end

local function role_posts(sb)
  local out = {}
  for _, r in ipairs(recorded(sb, "POST", USERS .. "/")) do
    out[#out + 1] = { path = r.path:sub(#USERS + 2), body = r.body }
  end
  return out
end

-- username -> user, from the sandbox's state.
local function users_by_name(sb)
  local by = {}
  for _, u in ipairs(sb:state().users[ORG]) do by[u.username] = u end
  return by
end

describe("user update --file", function()
  local box = h.use_sandbox({ flags = { "--users", "2500" } })
  local ids

  lazy_setup(function()
    ids = {}
    for name, u in pairs(users_by_name(box.sb)) do ids[name] = u.id end
  end)

  local update = box.command({ "organization", "user", "update" })

  local file = box.file

  local PLAN = "email,role\n" ..
    "raj.patel@acme.io,ORGANIZATION_OWNER\n" ..            -- 2: MEMBER -> OWNER
    "mei.lin@acme.io,ORGANIZATION_BILLING_ADMIN\n" ..      -- 3: already
    "ghost@acme.io,ORGANIZATION_MEMBER\n" ..               -- 4: not in the organization
    "User02400@Example.com,ORGANIZATION_BILLING_ADMIN\n" .. -- 5: on the last page
    "user00010@example.com,\n" ..                          -- 6: no role
    "user00011@example.com,admin\n"                        -- 7: invalid role

  it("changes only the roles that differ, after one listing of every page", function()
    local r = update({ "--file", file("plan.csv", PLAN), "--json" })
    assert.are.equal(1, r.code)
    local rows = json.decode(r.stdout).rows
    local got = {}
    for i, row in ipairs(rows) do got[i] = { row.line, row.email, row.result, row.message } end
    assert.are.same({
      { 2, "raj.patel@acme.io", "updated", nil },
      { 3, "mei.lin@acme.io", "skipped", "already ORGANIZATION_BILLING_ADMIN" },
      { 4, "ghost@acme.io", "failed", "no user was found for the email you provided" },
      { 5, "user02400@example.com", "updated", nil },
      { 6, "user00010@example.com", "failed", "no role given: fill in the role column, or give --role for every row without one" },
      { 7, "user00011@example.com", "failed", rows[6].message },
    }, got)
    assert.matches("^requested role is invalid", rows[6].message)
    assert.are.same({ invited = 0, updated = 2, skipped = 1, failed = 3 }, json.decode(r.stdout).summary)
    assert.are.equal("6 rows: 2 updated, 1 skipped, 3 failed\n", r.stderr)
    -- one listing: three pages of 1000, never one request per row
    local queries = {}
    for _, g in ipairs(recorded(box.sb, "GET", USERS)) do queries[#queries + 1] = g.query end
    table.sort(queries)
    assert.are.same({ "limit=1000&offset=0", "limit=1000&offset=1000", "limit=1000&offset=2000" }, queries)
    assert.are.same({
      { path = RAJ .. "/roles", body = '{"organizationRole":"ORGANIZATION_OWNER"}' },
      { path = ids["user02400@example.com"] .. "/roles", body = '{"organizationRole":"ORGANIZATION_BILLING_ADMIN"}' },
    }, role_posts(box.sb))
    local by = users_by_name(box.sb)
    assert.are.equal("ORGANIZATION_OWNER", by["raj.patel@acme.io"].organizationRole)
    assert.are.equal("ORGANIZATION_BILLING_ADMIN", by["user02400@example.com"].organizationRole)
  end)

  it("sends no POST when run again with the same file, and shows a table", function()
    local path = file("twice.csv", "email,role\nraj.patel@acme.io,ORGANIZATION_OWNER\nuser00001@example.com,ORGANIZATION_OWNER\n")
    assert.are.equal(0, update({ "--file", path }).code)
    assert.are.equal(2, #role_posts(box.sb))
    box.sb:reset_requests()
    local r = update({ "--file", path })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches(" 2 +raj%.patel@acme%.io +ORGANIZATION_OWNER +skipped +already ORGANIZATION_OWNER", r.stdout)
    assert.matches(" 3 +user00001@example%.com +ORGANIZATION_OWNER +skipped +already ORGANIZATION_OWNER", r.stdout)
    assert.are.equal("2 rows: 0 updated, 2 skipped, 0 failed\n", r.stderr)
    assert.are.equal(0, #role_posts(box.sb))
    assert.are.equal(3, #box.sb:requests())
  end)

  it("retries a role update answered 503 (it is idempotent) and ends updated", function()
    box.sb:faults({ fail_next = 1, fail_status = 503, fault_methods = { "POST" } })
    local r = update({ "-f", "-", "--json" }, { stdin = "email,role\r\nraj.patel@acme.io,ORGANIZATION_OWNER\r\n" })
    assert.are.equal(0, r.code, r.stderr)
    local row = json.decode(r.stdout).rows[1]
    assert.are.equal("updated", row.result)
    local statuses = {}
    for i, p in ipairs(recorded(box.sb, "POST", USERS .. "/")) do statuses[i] = p.status end
    assert.are.same({ 503, 200 }, statuses)
    assert.are.equal("ORGANIZATION_OWNER", users_by_name(box.sb)["raj.patel@acme.io"].organizationRole)
  end)

  it("ends failed with the API's message and request id when every attempt is answered 503", function()
    box.sb:faults({ fail_next = 10, fail_status = 503, fault_methods = { "POST" } })
    local path = file("down.csv", "email,role\nraj.patel@acme.io,ORGANIZATION_OWNER\n")
    local r = box.run({ "--lua", "spec/support/run_cli.lua", "base_delay=0.02,max_delay=0.1",
                      "organization", "user", "update", "--file", path })
    assert.are.equal(1, r.code)
    assert.matches(" 2 +raj%.patel@acme%.io +ORGANIZATION_OWNER +failed +Service Unavailable %(request %x+%-[%x%-]+%)", r.stdout)
    assert.are.equal(4, #role_posts(box.sb)) -- the policy's max_attempts
    assert.are.equal("ORGANIZATION_MEMBER", users_by_name(box.sb)["raj.patel@acme.io"].organizationRole)
  end)

  it("--dry-run shows which rows would change and sends no POST", function()
    local r = update({ "--file", file("dry.csv", PLAN), "--dry-run", "--json" })
    assert.are.equal(1, r.code)
    local rows = json.decode(r.stdout).rows
    assert.are.same({ "updated", "dry run: not sent" }, { rows[1].result, rows[1].message })
    assert.are.same({ "updated", "dry run: not sent" }, { rows[4].result, rows[4].message })
    assert.are.equal("skipped", rows[2].result)
    assert.matches("%(dry run: nothing was sent%)\n$", r.stderr)
    assert.are.equal(0, #role_posts(box.sb))
    assert.are.equal(3, #box.sb:requests())
  end)

  it("--report fed back retries only the failed rows", function()
    box.sb:faults({ fail_next = 1, fail_status = 500, fault_methods = { "POST" } })
    local report = box.dir .. "/update-report.csv"
    local path = file("rep.csv", "email,role\nraj.patel@acme.io,ORGANIZATION_OWNER\nuser00002@example.com,ORGANIZATION_OWNER\n")
    local r = update({ "--file", path, "--report", report })
    assert.are.equal(1, r.code)
    local lines = h.lines(h.read_file(report))
    assert.are.equal("email,role,line,result,message,request_id", lines[1])
    assert.matches("^raj%.patel@acme%.io,ORGANIZATION_OWNER,2,failed,Internal Server Error,%x+%-", lines[2])
    assert.matches("^user00002@example%.com,ORGANIZATION_OWNER,3,updated,,", lines[3])
    box.sb:reset_requests()
    r = update({ "--file", report, "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local rows = json.decode(r.stdout).rows
    assert.are.same({ "updated", "skipped" }, { rows[1].result, rows[2].result })
    assert.are.equal("done in an earlier run (updated)", rows[2].message)
    assert.are.same({ { path = RAJ .. "/roles", body = '{"organizationRole":"ORGANIZATION_OWNER"}' } }, role_posts(box.sb))
  end)

  -- Regression: update skipped every row an invite report called invited or skipped, so a
  -- member whose invite row said "already a member" never got the role the file gave.
  it("does not take the results of an invite report as its own", function()
    local report = file("invite-report.csv", "email,role,line,result,message,request_id\n" ..
      "raj.patel@acme.io,ORGANIZATION_OWNER,2,skipped,already a member (role ORGANIZATION_MEMBER),\n" ..
      "mei.lin@acme.io,ORGANIZATION_OWNER,3,invited,,\n")
    local r = update({ "--file", report, "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local rows = json.decode(r.stdout).rows
    assert.are.same({ "updated", "updated" }, { rows[1].result, rows[2].result })
    assert.are.equal("ORGANIZATION_OWNER", users_by_name(box.sb)["raj.patel@acme.io"].organizationRole)
  end)

  it("gives rows without a role the --role role", function()
    local r = update({ "--file", file("some.csv", "email,role\nraj.patel@acme.io,\nmei.lin@acme.io,ORGANIZATION_MEMBER\n"),
                      "-r", "ORGANIZATION_OWNER", "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local rows = json.decode(r.stdout).rows
    assert.are.same({ "ORGANIZATION_OWNER", "ORGANIZATION_MEMBER" }, { rows[1].role, rows[2].role })
    assert.are.same({ "updated", "updated" }, { rows[1].result, rows[2].result })
    r = update({ "--file", file("emails.csv", "email\nuser00002@example.com\n"), "--role", "ORGANIZATION_BILLING_ADMIN" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("ORGANIZATION_BILLING_ADMIN", users_by_name(box.sb)["user00002@example.com"].organizationRole)
  end)

  it("needs a role column or --role, and sends nothing without one", function()
    local r = update({ "--file", file("norole.csv", "email\nraj.patel@acme.io\n") })
    assert.are.equal(1, r.code)
    assert.matches('line 1: missing required column "role"', r.stderr)
    r = update({ "--file", file("norole2.csv", "email\nraj.patel@acme.io\n"), "-r", "ORGANIZATION_KING" })
    assert.are.equal(2, r.code) -- a bad --role is a usage error, also with --file
    assert.matches("^Error: requested role is invalid[^\n]*\nRun 'astro organization user update %-%-help' for usage%.\n$",
      r.stderr)
    assert.are.equal(0, #box.sb:requests())
    r = update({ "--file", file("strict.csv", PLAN), "--strict" })
    assert.are.equal(1, r.code)
    assert.are.equal(0, #box.sb:requests())
  end)
end)
