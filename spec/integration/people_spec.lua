-- astro.people, in the process as a script uses it: reading a file of people, validation with
-- line numbers, a plan against a listing, apply against the sandbox, the report and its round
-- trip, --dry-run; and that declaring a command with people.FLAGS loads neither the CSV reader
-- nor the bulk engine.
local h = require("spec.helpers")
local astro = require("astro")
local api = require("astro._core.client")
local json = require("astro.json")
local people = require("astro.people")

local ACME = h.ids.ACME
local RAJ = h.ids.RAJ
local INVITES = "/v1/organizations/" .. ACME .. "/invites"

-- A file-like object that remembers what is written to it.
local function sink()
  local s = { text = "" }
  function s.write(self, ...)
    for _, v in ipairs({ ... }) do self.text = self.text .. v end
    return self
  end
  return s
end

-- The listing a plan is made against, without asking the API.
local LISTING = {
  { id = "u-owner", username = "Jane.Doe@acme.io", status = "ACTIVE", organizationRole = "ORGANIZATION_OWNER" },
  { id = "u/member", username = "raj.patel@acme.io", status = "ACTIVE", organizationRole = "ORGANIZATION_MEMBER" },
  { id = "u-pending", username = "soon@acme.io", status = "PENDING", organizationRole = "ORGANIZATION_MEMBER" },
}

-- { line, result, reason, message } of every row.
local function outcomes(set)
  local out = {}
  for i, r in ipairs(set.rows) do out[i] = { r.line, r.result, r.reason, r.message } end
  return out
end

describe("astro.people", function()
  local sb, dir

  lazy_setup(function()
    sb = h.sandbox()
    dir = h.tmpdir()
  end)

  lazy_teardown(function()
    astro.configure({})
    sb:stop()
    h.cleanup()
  end)

  -- A default client for the sandbox; opts.dry_run holds back changes, writing them to opts.plan.
  local function connect(opts)
    opts = opts or {}
    require("astro._core.dryrun")._reset_for_tests()
    astro.configure({})
    astro.use(api.new({ base_url = sb.url .. "/v1", authorization = "Bearer test-token", organization = ACME,
                        dry_run = opts.dry_run, plan = opts.plan }))
  end

  before_each(function()
    sb:control("POST", "/_sandbox/reset")
    connect()
  end)

  local function file(name, text)
    local path = dir .. "/" .. name
    h.write_file(path, text)
    return path
  end

  describe("read", function()
    it("reads a file, standard input or text, with BOM, CRLF, quotes and blank lines", function()
      local text = "\239\187\191email,role,team\r\n\"A@Acme.io\",ORGANIZATION_OWNER,data\r\n\r\nb@acme.io,,web\r\n"
      local set = assert(people.read(file("p.csv", text), { kind = "invite" }))
      assert.are.equal("invite", set.kind)
      assert.are.equal(0, set.invalid)
      assert.are.same({ 2, "a@acme.io", "ORGANIZATION_OWNER", nil }, { set.rows[1].line, set.rows[1].email,
        set.rows[1].role, set.rows[1].result })
      assert.are.same({ 4, "b@acme.io", "ORGANIZATION_MEMBER" }, { set.rows[2].line, set.rows[2].email, set.rows[2].role })
      assert.are.equal("web", set.rows[2].columns.team)   -- other columns are kept
      local stdin = { read = function() return text end }
      local from_stdin = assert(people.read("-", { kind = "invite", role = "ORGANIZATION_BILLING_ADMIN", stdin = stdin }))
      assert.are.equal("ORGANIZATION_BILLING_ADMIN", from_stdin.rows[2].role)
      local parsed = assert(people.parse(text, { kind = "update" }))
      assert.are.equal(1, parsed.invalid)
      assert.are.equal("no_role", parsed.rows[2].reason)
    end)

    it("says what is wrong with a file, naming it and the line", function()
      local set, err = people.read(dir .. "/missing.csv", { kind = "invite" })
      assert.is_nil(set)
      assert.are.same({ "io", true }, { err.code, err.message:find("^cannot read .*missing%.csv") ~= nil })
      set, err = people.read("-", { kind = "invite", stdin = { read = function() return nil end } })
      assert.are.equal("standard input is empty (or closed): it needs a header line naming the columns " ..
        "(email) and a row per person", err.message)
      set, err = people.parse("erin@acme.io,ORGANIZATION_OWNER\n", { kind = "update", name = "roles" })
      assert.matches('^roles: line 1: missing required columns "email", "role".*; the first line must be a header naming ' ..
        "the columns, such as email,role$", err.message)
      set, err = people.parse('email\n"x@acme.io\n', { kind = "invite" })
      assert.matches("^the text: line 2: unterminated", err.message)
      set, err = people.parse("email\nraj.patel@acme.io\n", { kind = "update" })
      assert.matches('line 1: missing required column "role"', err.message)
      set, err = people.parse("email\nx@acme.io\n", { kind = "update", role = "ORGANIZATION_KING" })
      assert.are.equal("role", err.code)
      assert.error_matches(function() people.parse("email\n", { kind = "delete" }) end, 'opts.kind = "invite" or "update"')
      assert.error_matches(function() people.read(nil, { kind = "invite" }) end, "needs a path")
    end)

    it("validates every row: invalid ones fail with a reason and a message naming lines", function()
      local set = assert(people.parse("email,role\n" ..
        "ok@acme.io,ORGANIZATION_MEMBER\n" ..   -- 2
        "not-an-email,ORGANIZATION_MEMBER\n" .. -- 3
        "ok2@acme.io,owner\n" ..                -- 4
        "ok3@acme.io,\n" ..                     -- 5
        "twice@acme.io,ORGANIZATION_MEMBER\n" ..-- 6
        "TWICE@acme.io,ORGANIZATION_OWNER\n" .. -- 7
        "twice@acme.io,ORGANIZATION_BILLING_ADMIN\n" .. -- 8
        "same@acme.io,ORGANIZATION_MEMBER\n" .. -- 9
        "Same@acme.io,ORGANIZATION_MEMBER\n",   -- 10
        { kind = "update" }))
      assert.are.equal(6, set.invalid)
      local o = outcomes(set)
      assert.are.same({ 2, nil, nil, nil }, o[1])
      assert.are.same({ 3, "failed", "email" }, { o[2][1], o[2][2], o[2][3] })
      assert.matches('^invalid email address "not%-an%-email"', o[2][4])
      assert.are.same({ 4, "failed", "role", "requested role is invalid. Possible values are ORGANIZATION_MEMBER, " ..
        "ORGANIZATION_BILLING_ADMIN and ORGANIZATION_OWNER" }, o[3])
      assert.are.same({ 5, "failed", "no_role",
        "no role given: fill in the role column, or give --role for every row without one" }, o[4])
      assert.are.same({ 6, "failed", "conflict", "line 7 gives twice@acme.io the role ORGANIZATION_OWNER" }, o[5])
      assert.are.same({ 7, "failed", "conflict", "line 6 gives twice@acme.io the role ORGANIZATION_MEMBER" }, o[6])
      assert.are.same({ 8, "failed", "conflict", "line 6 gives twice@acme.io other roles" }, o[7])
      assert.are.equal(7, set.rows[5].other.line)
      assert.are.equal(6, set.rows[7].other.line)
      assert.are.same({ 9, nil, nil, nil }, o[8])
      assert.are.same({ 10, "skipped", "duplicate", "duplicate of line 9" }, o[9])
      assert.are.equal(set.rows[8], set.rows[9].other)
    end)
  end)

  describe("plan", function()
    it("invite: skips members and pending invites against the listing given, sending nothing", function()
      local set = assert(people.parse("email\njane.doe@acme.io\nRAJ.patel@acme.io\nsoon@acme.io\nnew@acme.io\n",
        { kind = "invite" }))
      assert.are.equal(set, set:plan(LISTING))
      assert.are.same({
        { 2, "skipped", "member", "already a member (role ORGANIZATION_OWNER)" },
        { 3, "skipped", "member", "already a member" },
        { 4, "skipped", "pending", "already invited" },
        { 5, "planned", nil, nil },
      }, outcomes(set))
      assert.are.equal(LISTING[2], set.rows[2].user)
      assert.is_nil(set.rows[4].user)
      assert.are.same({ invited = 0, updated = 0, skipped = 3, failed = 0, planned = 1 }, set:summary())
      assert.are.same({}, sb:requests())
    end)

    it("update: skips rows already of that role and fails unknown users", function()
      local set = assert(people.parse("email,role\nraj.patel@acme.io,ORGANIZATION_OWNER\n" ..
        "jane.doe@acme.io,ORGANIZATION_OWNER\nghost@acme.io,ORGANIZATION_MEMBER\n", { kind = "update" }))
      assert.are.same({ invited = 0, updated = 0, skipped = 0, failed = 0, open = 3 }, set:summary())
      set:plan(LISTING)
      assert.are.same({
        { 2, "planned", nil, nil },
        { 3, "skipped", "same_role", "already ORGANIZATION_OWNER" },
        { 4, "failed", "not_found", "no user was found for the email you provided" },
      }, outcomes(set))
      assert.are.equal("ORGANIZATION_MEMBER", set.rows[1].user.organizationRole)
    end)

    it("lists the organization's users once when no listing is given", function()
      local set = assert(people.parse("email,role\nraj.patel@acme.io,ORGANIZATION_OWNER\nmei.lin@acme.io,ORGANIZATION_OWNER\n",
        { kind = "update" }))
      assert(set:plan())
      assert.are.same({ "GET /v1/organizations/" .. ACME .. "/users" }, h.trace(sb:requests()))
      assert.are.same({ "planned", "planned" }, { set.rows[1].result, set.rows[2].result })
      assert.are.equal(RAJ, set.rows[1].user.id)
    end)

    it("hold marks what is left to send skipped, so nothing is", function()
      local set = assert(people.parse("email\nnew@acme.io\nbroken\nother@acme.io\n", { kind = "invite" }))
      set:plan(LISTING)
      set:hold()
      assert.are.same({ "skipped", "held", "not sent: the file has invalid rows" },
        { set.rows[1].result, set.rows[1].reason, set.rows[1].message })
      assert.are.equal("failed", set.rows[2].result)
      assert(set:apply())
      assert.are.same({}, sb:requests())   -- nothing left to plan: not even the listing
    end)
  end)

  describe("apply", function()
    it("invites the planned rows after one listing, row by row, with request ids", function()
      local set = assert(people.parse("email,role\nnew1@acme.io,ORGANIZATION_BILLING_ADMIN\nraj.patel@acme.io,\n" ..
        "new2@acme.io,\nbad,\n", { kind = "invite" }))
      local seen = {}
      assert.are.equal(set, set:apply({ on_row = function(row) seen[#seen + 1] = row.email end }))
      assert.are.same({ "invited", "skipped", "invited", "failed" },
        { set.rows[1].result, set.rows[2].result, set.rows[3].result, set.rows[4].result })
      assert.matches("^%x+%-[%x%-]+$", set.rows[1].requestId)
      table.sort(seen)
      assert.are.same({ "new1@acme.io", "new2@acme.io" }, seen)
      local posts = h.recorded(sb, { method = "POST", path = INVITES })
      assert.are.same({ inviteeEmail = "new1@acme.io", role = "ORGANIZATION_BILLING_ADMIN" }, json.decode(posts[1].body))
      assert.are.same({ inviteeEmail = "new2@acme.io", role = "ORGANIZATION_MEMBER" }, json.decode(posts[2].body))
      assert.are.equal(1, #h.recorded(sb, { method = "GET" }))
      assert.are.same({ invited = 2, updated = 0, skipped = 1, failed = 1 }, set:summary())
      assert.are.equal("4 rows: 2 invited, 1 skipped, 1 failed\n", set:summary_line())
      -- the same file again invites nobody
      sb:reset_requests()
      set = assert(assert(people.parse("email\nnew1@acme.io\nnew2@acme.io\n", { kind = "invite" })):apply())
      assert.are.same({ "already invited", "already invited" }, { set.rows[1].message, set.rows[2].message })
      assert.are.same({}, h.writes(sb))
    end)

    it("updates roles and reports an API failure with its message, request id and error", function()
      sb:faults({ fail_next = 1, fail_status = 500, fault_methods = { "POST" } })
      local set = assert(people.parse("email,role\nraj.patel@acme.io,ORGANIZATION_OWNER\nmei.lin@acme.io,ORGANIZATION_OWNER\n",
        { kind = "update" }))
      assert(set:apply({ rates = { POST = 50, GET = 50 } }))
      local failed, updated = set.rows[1], set.rows[2]
      assert.are.same({ "failed", "request", "Internal Server Error", 500 },
        { failed.result, failed.reason, failed.message, failed.err.status })
      assert.matches("^%x+%-", failed.requestId)
      assert.matches(" 2 +raj%.patel@acme%.io +ORGANIZATION_OWNER +failed +Internal Server Error %(request %x+", set:table())
      assert.are.equal("updated", updated.result)
      local by = {}
      for _, u in ipairs(sb:state().users[ACME]) do by[u.username] = u.organizationRole end
      assert.are.same({ "ORGANIZATION_MEMBER", "ORGANIZATION_OWNER" }, { by["raj.patel@acme.io"], by["mei.lin@acme.io"] })
    end)

    it("returns nil, err when the listing fails, and sends nothing", function()
      sb:faults({ fail_next = 1, fail_status = 401, fault_methods = { "GET" } })
      local set = assert(people.parse("email\nnew@acme.io\n", { kind = "invite" }))
      local ok, err = set:apply()
      assert.is_nil(ok)
      assert.are.equal(401, err.status)
      assert.are.same({}, h.writes(sb))
    end)

    it("under --dry-run sends nothing, says so per row, and prints the plan unless quiet_plan", function()
      local plan = sink()
      connect({ dry_run = true, plan = plan })
      local set = assert(people.parse("email\nplan1@acme.io\nraj.patel@acme.io\n", { kind = "invite" }))
      assert(set:apply({ quiet_plan = true }))
      assert.are.same({ "invited", "dry_run", "dry run: not sent" }, { set.rows[1].result, set.rows[1].reason,
        set.rows[1].message })
      assert.are.equal("", plan.text)
      assert.are.equal("2 rows: 1 invited, 1 skipped, 0 failed (dry run: nothing was sent)\n", set:summary_line())
      set = assert(people.parse("email\nplan1@acme.io\n", { kind = "invite" }))
      assert(set:apply())
      assert.are.equal("dry run: POST /organizations/" .. ACME ..
        '/invites {"inviteeEmail":"plan1@acme.io","role":"ORGANIZATION_MEMBER"}\n', plan.text)
      assert.are.same({}, h.writes(sb))
    end)
  end)

  describe("reports", function()
    it("as JSON and as a table, in the commands' layout", function()
      local set = assert(people.parse("email\nnew@acme.io\njane.doe@acme.io\n", { kind = "invite" }))
      set:plan(LISTING)
      set.rows[1].result, set.rows[1].requestId = "invited", "req-1"
      local doc = json.decode(set:json())
      assert.are.same({ line = 2, email = "new@acme.io", role = "ORGANIZATION_MEMBER", result = "invited",
                        requestId = "req-1" }, doc.rows[1])
      assert.are.same({ invited = 1, updated = 0, skipped = 1, failed = 0 }, doc.summary)
      assert.matches('^{\n  "rows": %[\n    {\n      "line": 2,\n      "email": "new@acme%.io"', set:json())
      local lines = h.lines(set:table())
      assert.matches("^ LINE +EMAIL +ROLE +RESULT +MESSAGE", lines[1])
      assert.matches("^ 3 +jane%.doe@acme%.io +ORGANIZATION_MEMBER +skipped +already a member %(role ORGANIZATION_OWNER%)",
        lines[3])
    end)

    it("as a table fitted to a width: emails, user ids and messages cut, the other columns whole", function()
      local long = "a.rather.long.address.for.a.team.member@example-company.io"
      local set = assert(people.parse("email,user_id\n" .. long .. ",clzzlongid0000000000000000\n",
        { kind = "team_add", team = "team-1" }))
      set.rows[1].result, set.rows[1].message = "failed", "no user was found for the ID you provided"
      local lines = h.lines(set:table(60))
      for _, line in ipairs(lines) do assert.is_true(utf8.len(line) <= 60, line) end
      assert.matches("^ 2     a%.rather[^ ]*…  clzzlong[^ ]*…  failed  no user.*…$", lines[2])
      assert.truthy(set:table():find(long, 1, true))
    end)

    it("written whole, neutralised, and fed back: rows done are skipped, the others planned again", function()
      sb:faults({ fail_next = 1, fail_status = 500, fault_methods = { "POST" } })
      local set = assert(people.parse("email\nlater@acme.io\n=sum@acme.io\nbroken\nmei.lin@acme.io\n", { kind = "invite" }))
      assert(set:apply())
      local report = dir .. "/report.csv"
      h.write_file(report, "an older report\n")
      assert.is_true(set:write_report(report))
      local lines = h.lines(h.read_file(report))
      assert.are.equal("email,role,line,result,message,request_id", lines[1])
      assert.matches("^later@acme%.io,ORGANIZATION_MEMBER,2,failed,Internal Server Error,%x", lines[2])
      assert.matches("^'=sum@acme%.io,ORGANIZATION_MEMBER,3,invited,,%x", lines[3])
      assert.matches("^broken,ORGANIZATION_MEMBER,4,failed,", lines[4])
      assert.are.equal("mei.lin@acme.io,ORGANIZATION_MEMBER,5,skipped,already a member (role ORGANIZATION_BILLING_ADMIN),",
        lines[5])
      assert.are.same({ "report.csv" }, h.lines(h.capture("ls " .. h.shell_quote(dir) .. " | grep report")))

      sb:reset_requests()
      local again = assert(people.read(report, { kind = "invite" }))
      assert.are.same({ nil, "skipped", "failed", nil },
        { again.rows[1].result, again.rows[2].result, again.rows[3].result, again.rows[4].result })
      assert.are.same({ "=sum@acme.io", "done", "done in an earlier run (invited)" },
        { again.rows[2].email, again.rows[2].reason, again.rows[2].message })
      assert(again:apply())
      assert.are.same({ "invited", "skipped" }, { again.rows[1].result, again.rows[4].result })
      assert.are.same({ { inviteeEmail = "later@acme.io", role = "ORGANIZATION_MEMBER" } },
        { json.decode(h.recorded(sb, { method = "POST", path = INVITES })[1].body) })
      -- an invite report is not an update's: update plans every row again
      local as_update = assert(people.read(report, { kind = "update" }))
      assert.is_nil(as_update.rows[2].result)
    end)

    it("checks the report path first without changing what is there", function()
      local ok, err = people.check_report(dir .. "/no/such/dir/r.csv")
      assert.is_nil(ok)
      assert.matches("^cannot write the report: .*No such file or directory; nothing was sent$", err.message)
      local fresh = dir .. "/fresh.csv"
      assert.is_true(people.check_report(fresh))
      assert.is_nil(h.read_file(fresh))
      local kept = file("kept.csv", "email\nx@acme.io\n")
      assert.is_true(people.check_report(kept))
      assert.are.equal("email\nx@acme.io\n", h.read_file(kept))
      local set = assert(people.parse("email\nx@acme.io\n", { kind = "invite" }))
      ok, err = set:write_report(dir .. "/no/such/dir/r.csv")
      assert.is_nil(ok)
      assert.matches("^cannot write the report: ", err.message)
    end)
  end)

  describe("the command pieces", function()
    it("dispatch leaves the single form alone and refuses file flags without --file", function()
      local base = { file = "", args = {}, strict = false, json = false, report = "", rate_limit = "" }
      local function with(t) return h.merged(base, t) end
      assert.is_false(people.dispatch("invite", with({ args = { "a@acme.io" } }), {}))
      local handled, status, err = people.dispatch("invite", with({ json = true }), {})
      assert.are.same({ true, nil, "usage", "--json goes with --file" }, { handled, status, err.code, err.message })
      handled, status, err = people.dispatch("update", with({ file = "x.csv", args = { "a@acme.io" } }), {})
      assert.are.same({ true, nil, "give either an email or --file, not both" }, { handled, status, err.message })
      handled, status, err = people.dispatch("update", with({ rate_limit = "POST=1" }), {})
      assert.are.equal("--report and --rate-limit go with --file", err.message)
    end)

    it("run reads, applies and reports as the commands do, from standard input", function()
      local out, errs = sink(), sink()
      local ctx = { stdin = { read = function() return "email\nrun1@acme.io\njane.doe@acme.io\n" end },
                    stdout = out, stderr = errs }
      local status = people.run("invite", { file = "-", role = "", strict = false, json = true, report = "",
                                            rate_limit = "POST=20" }, ctx)
      assert.are.equal(0, status)
      assert.are.same({ "invited", "skipped" }, { json.decode(out.text).rows[1].result, json.decode(out.text).rows[2].result })
      assert.are.equal("2 rows: 1 invited, 1 skipped, 0 failed\n", errs.text)
      local _, err = people.run("invite", { file = "-", rate_limit = "POST=0" }, ctx)
      assert.are.equal("usage", err.code)
    end)

    it("declaring a command with people.FLAGS loads neither the CSV reader nor the bulk engine", function()
      local probe = file("probe.lua", [[
local people = require("astro.people")
local names = {}
for _, f in ipairs(people.FLAGS) do names[#names + 1] = f.name end
print(table.concat(names, ","), package.loaded["astro.csv"] ~= nil, package.loaded["astro._core.engine"] ~= nil)
]])
      local r = h.run({ "--lua", probe })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("file,strict,json,report,rate-limit\tfalse\tfalse\n", r.stdout)
    end)

    it("is open to astro run scripts", function()
      local script = file("count.lua", [[
local people = require("astro.people")
local set = assert(people.parse("email\na@acme.io\nbad\n", { kind = "invite" }))
return 40 + set.invalid
]])
      local r = h.run({ "run", script })
      assert.are.equal(41, r.code, r.stderr)
    end)
  end)
end)
