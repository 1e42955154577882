-- `astro organization team user add|remove --file FILE`: many members at once on the bulk
-- engine (astro.people, kinds team_add and team_remove) against the sandbox.
local h = require("spec.helpers")
local json = require("astro.json")

local ACME, RAJ, MEI = h.ids.ACME, h.ids.RAJ, h.ids.MEI
local JANE = "clrjane00000109s3nj4egnyn"
local DATA_ENG = "clmteamde00101f1sxbrxz86t" -- members Jane, Raj
local OKTA = "clmteamsso020nl13is44cceh"     -- IDP-managed, member Jane
local ANALYSTS = "clmteamana030a8v2k4q6w1zx" -- no member
local TEAMS = "/v1/organizations/" .. ACME .. "/teams"

describe("astro organization team user add|remove --file", function()
  local box = h.use_sandbox()
  local add = box.command({ "organization", "team", "user", "add" })
  local remove = box.command({ "organization", "team", "user", "remove" })

  local function member_ids(id)
    local out = {}
    for i, m in ipairs(box.sb:state().teamMembers[id] or {}) do out[i] = m.userId end
    table.sort(out)
    return out
  end

  local function sorted(t) table.sort(t) return t end

  local function results(report)
    local out = {}
    for i, row in ipairs(report.rows) do out[i] = row.result end
    return out
  end

  it("adds the members a file names by email or user_id, skipping members and reporting each row", function()
    local file = box.file("members.csv", "email,user_id\n" ..
      "mei.lin@acme.io,\n" ..           -- added
      "," .. RAJ .. "\n" ..             -- already a member
      "nobody@acme.io,\n" ..            -- no such user
      "not-an-email,\n" ..              -- invalid
      "MEI.Lin@acme.io,\n" ..           -- duplicate of line 2
      "," .. JANE .. "\n")              -- already a member
    local r = add({ "--team-id", DATA_ENG, "--file", file, "--json" })
    assert.are.equal(1, r.code, r.stderr)
    local report = json.decode(r.stdout)
    assert.are.same({ "added", "skipped", "failed", "failed", "skipped", "skipped" }, results(report))
    assert.are.same({ added = 1, skipped = 3, failed = 2 }, report.summary)
    assert.are.same({ line = 2, email = "mei.lin@acme.io", userId = MEI, result = "added" },
      { line = report.rows[1].line, email = report.rows[1].email, userId = report.rows[1].userId,
        result = report.rows[1].result })
    assert.are.equal("already a member of the team", report.rows[2].message)
    assert.are.equal("raj.patel@acme.io", report.rows[2].email)
    assert.are.equal("no user was found for the email you provided", report.rows[3].message)
    assert.are.equal("duplicate of line 2", report.rows[5].message)
    assert.are.equal("6 rows: 1 added, 3 skipped, 2 failed\n", r.stderr)
    local posts = h.recorded(box.sb, { method = "POST" })
    assert.are.equal(1, #posts)
    assert.are.equal(TEAMS .. "/" .. DATA_ENG .. "/members", posts[1].path)
    assert.are.equal('{"memberIds":["' .. MEI .. '"]}', posts[1].body)
    assert.are.same(sorted({ JANE, RAJ, MEI }), member_ids(DATA_ENG))
    h.no_secret(r)
  end)

  it("prints a table by default and exits 0 when no row failed (file on standard input)", function()
    local r = add({ "-t", ANALYSTS, "--file", "-" }, { stdin = "email\nraj.patel@acme.io\nmei.lin@acme.io\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.truthy(r.stdout:find("^ LINE%s+EMAIL%s+USER ID%s+RESULT%s+MESSAGE"))
    assert.truthy(r.stdout:find(" 2%s+raj%.patel@acme%.io%s+" .. RAJ .. "%s+added"))
    assert.are.equal("2 rows: 2 added, 0 skipped, 0 failed\n", r.stderr)
    assert.are.same(sorted({ RAJ, MEI }), member_ids(ANALYSTS))
  end)

  it("removes the members a file names, skipping people who are not in the team", function()
    local file = box.file("gone.csv", "user_id\n" .. RAJ .. "\n" .. MEI .. "\n")
    local r = remove({ "-t", DATA_ENG, "--file", file, "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local report = json.decode(r.stdout)
    assert.are.same({ "removed", "skipped" }, results(report))
    assert.are.equal("not a member of the team", report.rows[2].message)
    assert.are.same({ "DELETE " .. TEAMS .. "/" .. DATA_ENG .. "/members/" .. RAJ }, h.trace(h.writes(box.sb)))
    assert.are.same({ JANE }, member_ids(DATA_ENG))
  end)

  it("writes a report that, fed back, sends only what is still to do", function()
    local file = box.file("in.csv", "email\nmei.lin@acme.io\nnobody@acme.io\n")
    local report = box.dir .. "/report.csv"
    local r = add({ "-t", DATA_ENG, "--file", file, "--report", report })
    assert.are.equal(1, r.code)
    local lines = h.lines(h.read_file(report))
    assert.are.equal("email,user_id,line,result,message,request_id", lines[1])
    assert.matches("^mei%.lin@acme%.io," .. MEI .. ",2,added,,[%x%-]+$", lines[2])
    assert.are.equal("nobody@acme.io,,3,failed,no user was found for the email you provided,", lines[3])
    box.sb:reset_requests()
    r = add({ "-t", DATA_ENG, "--file", report, "--json" })
    assert.are.equal(1, r.code)
    local again = json.decode(r.stdout)
    assert.are.same({ "skipped", "failed" }, results(again))
    assert.are.equal("done in an earlier run (added)", again.rows[1].message)
    assert.are.same({}, h.writes(box.sb))
  end)

  it("sends nothing with --strict when a row is invalid, nor under --dry-run", function()
    local file = box.file("mixed.csv", "email\nmei.lin@acme.io\nbroken\n")
    local r = add({ "-t", DATA_ENG, "--file", file, "--strict", "--json" })
    assert.are.equal(1, r.code)
    assert.are.same({ "skipped", "failed" }, results(json.decode(r.stdout)))
    assert.are.equal("not sent: the file has invalid rows (--strict)", json.decode(r.stdout).rows[1].message)
    assert.are.same({}, h.writes(box.sb))
    file = box.file("ok.csv", "email\nmei.lin@acme.io\n")
    r = add({ "-t", DATA_ENG, "--file", file, "--dry-run", "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local row = json.decode(r.stdout).rows[1]
    assert.are.same({ "added", "dry run: not sent" }, { row.result, row.message })
    assert.are.equal("1 rows: 1 added, 0 skipped, 0 failed (dry run: nothing was sent)\n", r.stderr)
    assert.are.same({}, h.writes(box.sb))
    assert.are.same(sorted({ JANE, RAJ }), member_ids(DATA_ENG))
  end)

  it("fails a row whose user_id and email name different users", function()
    local file = box.file("both.csv", "email,user_id\nmei.lin@acme.io," .. RAJ .. "\nmei.lin@acme.io," .. MEI .. "\n")
    local r = add({ "-t", ANALYSTS, "--file", file, "--json" })
    assert.are.equal(1, r.code)
    local report = json.decode(r.stdout)
    assert.are.same({ "failed", "added" }, results(report))
    assert.are.equal("the user_id and the email name different users", report.rows[1].message)
  end)

  it("asks before changing an IDP-managed team; with the file on stdin it needs --force", function()
    local file = box.file("one.csv", "email\nmei.lin@acme.io\n")
    local r = add({ "-t", OKTA, "--file", file }, { stdin = "n\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("This is an IDP-managed team. Are you sure you want to continue the operation? (y/n) ", r.stderr)
    assert.are.same({}, h.writes(box.sb))
    r = add({ "-t", OKTA, "--file", "-" }, { stdin = "email\nmei.lin@acme.io\n" })
    assert.are.equal(1, r.code)
    assert.matches("Error: no confirmation given: standard input ended; pass %-%-force", r.stderr)
    assert.are.same({}, h.writes(box.sb))
    r = add({ "-t", OKTA, "--file", "-", "--force" }, { stdin = "email\nmei.lin@acme.io\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same(sorted({ JANE, MEI }), member_ids(OKTA))
  end)

  it("refuses misused flags and bad files before any request", function()
    local file = box.file("x.csv", "email\nmei.lin@acme.io\n")
    local r = add({ "--file", file })
    assert.are.equal(2, r.code)
    assert.matches("Error: %-%-file needs %-%-team%-id", r.stderr)
    r = remove({ "-t", DATA_ENG, "-u", RAJ, "--file", file })
    assert.are.equal(2, r.code)
    assert.matches("Error: give either %-%-user%-id or %-%-file, not both", r.stderr)
    r = add({ "-t", DATA_ENG, "-u", RAJ, "--json" })
    assert.are.equal(2, r.code)
    assert.matches("Error: %-%-json goes with %-%-file", r.stderr)
    r = add({ "-t", DATA_ENG, "--file", box.file("role.csv", "name,role\nx,y\n") })
    assert.are.equal(1, r.code)
    assert.matches("the header names neither email nor user_id", r.stderr)
    r = add({ "-t", DATA_ENG, "--file", box.file("empty.csv", "") })
    assert.are.equal(1, r.code)
    assert.matches("is empty", r.stderr)
    r = add({ "-t", DATA_ENG, "--file", file, "--rate-limit", "POST=fast" })
    assert.are.equal(2, r.code)
    assert.matches("^Error: ", r.stderr)
    assert.are.same({}, box.sb:requests())
  end)

  it("confirms an add whose answer was lost by listing the members, and sends it once", function()
    box.sb:faults({ drop_after_next = 1, fault_methods = { "POST" } })
    local file = box.file("lost.csv", "email\nmei.lin@acme.io\n")
    local r = add({ "-t", ANALYSTS, "--file", file, "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local row = json.decode(r.stdout).rows[1]
    assert.are.same({ "added", "confirmed by listing the team's members after an unknown outcome" },
      { row.result, row.message })
    assert.are.equal(1, #h.recorded(box.sb, { method = "POST" }))
    assert.are.same({ MEI }, member_ids(ANALYSTS))
  end)

  it("runs the sync script of docs/automation.md, --dry-run included", function()
    local guide = assert(h.read_file(h.root .. "/docs/automation.md"))
    local script = box.file("sync_team.lua", assert(guide:match("```lua\n(%-%- sync_team%.lua:.-)```\n")))
    local file = box.file("sync.csv", "email\nraj.patel@acme.io\nmei.lin@acme.io\n")
    local r = box.run({ "run", "--dry-run", script, ANALYSTS, file })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("2 rows: 2 added, 0 skipped, 0 failed (dry run: nothing was sent)\n", r.stderr)
    assert.are.same({}, h.writes(box.sb))
    r = box.run({ "run", script, ANALYSTS, file })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same(sorted({ RAJ, MEI }), member_ids(ANALYSTS))
  end)

  it("follows the pages of the members listing (max_page_size)", function()
    box.sb:faults({ max_page_size = 1 })
    local file = box.file("page.csv", "user_id\n" .. JANE .. "\n" .. RAJ .. "\n" .. MEI .. "\n")
    local r = remove({ "-t", DATA_ENG, "--file", file, "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({ "removed", "removed", "skipped" }, results(json.decode(r.stdout)))
    assert.are.same({}, member_ids(DATA_ENG))
  end)
end)
