-- `astro organization user invite --file`: validation, one listing, idempotence, the report
-- (table, --json, --report CSV fed back), --strict, --dry-run, standard input.
local h = require("spec.helpers")
local json = require("astro.json")

local ORG = h.ids.ACME
local USERS = "/v1/organizations/" .. ORG .. "/users"
local INVITES = "/v1/organizations/" .. ORG .. "/invites"

-- The recorded requests of one method and path.
local function recorded(sb, method, path) return h.recorded(sb, { method = method, path = path }) end

-- The decoded bodies of the recorded invites, in arrival order.
local function invite_bodies(sb)
  local out = {}
  for i, r in ipairs(recorded(sb, "POST", INVITES)) do out[i] = json.decode(r.body) end
  return out
end

-- The table rows on stdout: { line, email, role, result, message } (emails without spaces).
local function table_rows(stdout)
  local lines = h.lines(stdout)
  assert.matches("^ LINE +EMAIL +ROLE +RESULT +MESSAGE", lines[1])
  local rows = {}
  for i = 2, #lines do
    local line, addr, role, result, msg = lines[i]:match("^ (%d+) +(%S+) +(%S+) +(%S+) *(.-) *$")
    assert.is_truthy(line, "unexpected table line: " .. lines[i])
    rows[#rows + 1] = { line = tonumber(line), email = addr, role = role, result = result, message = msg }
  end
  return rows
end

-- Users of ACME in the sandbox's state with this username.
local function members_named(sb, address)
  local n = 0
  for _, u in ipairs(sb:state().users[ORG]) do
    if u.username:lower() == address then n = n + 1 end
  end
  return n
end

describe("user invite --file", function()
  local box = h.use_sandbox()

  local invite = box.command({ "organization", "user", "invite" })
  local file = box.file

  it("tolerates BOM, CRLF, quotes and blank lines; invites new people once; skips members", function()
    local path = file("people.csv", "\239\187\191email,role\r\n" ..
      '"new1@acme.io","ORGANIZATION_BILLING_ADMIN"\r\n' ..
      "\r\n" ..
      "New2@Acme.io,\r\n" ..                       -- default role, upper case
      "raj.patel@acme.io,ORGANIZATION_OWNER\r\n")  -- already a member
    local r = invite({ "--file", path })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({
      { line = 2, email = "new1@acme.io", role = "ORGANIZATION_BILLING_ADMIN", result = "invited", message = "" },
      { line = 4, email = "new2@acme.io", role = "ORGANIZATION_MEMBER", result = "invited", message = "" },
      { line = 5, email = "raj.patel@acme.io", role = "ORGANIZATION_OWNER", result = "skipped",
        message = "already a member (role ORGANIZATION_MEMBER)" },
    }, table_rows(r.stdout))
    -- no progress bar when stderr is not a terminal: only the summary line
    assert.are.equal("3 rows: 2 invited, 1 skipped, 0 failed\n", r.stderr)
    assert.are.same({ { inviteeEmail = "new1@acme.io", role = "ORGANIZATION_BILLING_ADMIN" },
                      { inviteeEmail = "new2@acme.io", role = "ORGANIZATION_MEMBER" } }, invite_bodies(box.sb))
    assert.are.equal(1, #recorded(box.sb, "GET", USERS))
    assert.are.equal(1, members_named(box.sb, "new2@acme.io"))
  end)

  it("validates every row first: invalid rows name their line, nothing is sent for them, exit 1", function()
    local path = file("mixed.csv", "email,role\n" ..
      "ok1@acme.io,ORGANIZATION_MEMBER\n" ..   -- 2
      "not-an-email,ORGANIZATION_MEMBER\n" ..  -- 3
      "ok2@acme.io,owner\n" ..                 -- 4
      "twice@acme.io,ORGANIZATION_MEMBER\n" .. -- 5
      "TWICE@acme.io,ORGANIZATION_OWNER\n" ..  -- 6: same person, other role
      "same@acme.io,ORGANIZATION_MEMBER\n" ..  -- 7
      "Same@acme.io,ORGANIZATION_MEMBER\n")    -- 8: same person, same role
    local r = invite({ "--file", path })
    assert.are.equal(1, r.code)
    local rows = table_rows(r.stdout)
    local by = {}
    for _, row in ipairs(rows) do by[row.line] = row end
    assert.are.equal("invited", by[2].result)
    assert.are.equal("failed", by[3].result)
    assert.matches('^invalid email address "not%-an%-email"', by[3].message)
    assert.are.equal("failed", by[4].result)
    assert.matches("role is invalid", by[4].message)
    assert.are.same({ "failed", "line 6 gives twice@acme.io the role ORGANIZATION_OWNER" }, { by[5].result, by[5].message })
    assert.are.same({ "failed", "line 5 gives twice@acme.io the role ORGANIZATION_MEMBER" }, { by[6].result, by[6].message })
    assert.are.equal("invited", by[7].result)
    assert.are.same({ "skipped", "duplicate of line 7" }, { by[8].result, by[8].message })
    assert.are.equal("7 rows: 2 invited, 1 skipped, 4 failed\n", r.stderr)
    assert.are.same({ { inviteeEmail = "ok1@acme.io", role = "ORGANIZATION_MEMBER" },
                      { inviteeEmail = "same@acme.io", role = "ORGANIZATION_MEMBER" } }, invite_bodies(box.sb))
  end)

  it("sends nothing at all with --strict when a row is invalid, not even the listing", function()
    local path = file("strict.csv", "email,role\nfine@acme.io,ORGANIZATION_MEMBER\nbroken,ORGANIZATION_MEMBER\n")
    local r = invite({ "--file", path, "--strict", "--json" })
    assert.are.equal(1, r.code)
    local report = json.decode(r.stdout)
    assert.are.equal("skipped", report.rows[1].result)
    assert.matches("%-%-strict", report.rows[1].message)
    assert.are.equal("failed", report.rows[2].result)
    assert.are.equal(0, #box.sb:requests())
    -- a valid file is sent as usual with --strict
    path = file("strict-ok.csv", "email,role\nfine@acme.io,ORGANIZATION_MEMBER\n")
    r = invite({ "--file", path, "--strict" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(1, #invite_bodies(box.sb))
  end)

  it("gives rows without a role the --role role and reads - from standard input", function()
    local r = invite({ "-f", "-", "--role", "ORGANIZATION_BILLING_ADMIN", "--json" },
      { stdin = "email,role\nin1@acme.io,\nin2@acme.io,ORGANIZATION_OWNER\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({ { inviteeEmail = "in1@acme.io", role = "ORGANIZATION_BILLING_ADMIN" },
                      { inviteeEmail = "in2@acme.io", role = "ORGANIZATION_OWNER" } }, invite_bodies(box.sb))
    -- a file with only an email column works too
    r = invite({ "-f", "-" }, { stdin = "email\nin3@acme.io\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({ inviteeEmail = "in3@acme.io", role = "ORGANIZATION_MEMBER" }, invite_bodies(box.sb)[3])
  end)

  it("refuses an empty --role as the single invite does, before reading the file or sending anything", function()
    local r = invite({ "-f", "-", "--role", "" }, { stdin = "email\nempty.role@acme.io\n" })
    assert.are.equal(2, r.code)
    assert.are.equal("Error: requested role is invalid. Possible values are ORGANIZATION_MEMBER, " ..
      "ORGANIZATION_BILLING_ADMIN and ORGANIZATION_OWNER \nRun 'astro organization user invite --help' for usage.\n",
      r.stderr)
    assert.are.same({}, box.sb:requests())
  end)

  it("is idempotent: the second run of the same file sends no POST and skips everyone", function()
    local path = file("again.csv", "email\nrep1@acme.io\nrep2@acme.io\njane.doe@acme.io\n")
    assert.are.equal(0, invite({ "--file", path }).code)
    box.sb:reset_requests()
    local r = invite({ "--file", path, "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local report = json.decode(r.stdout)
    assert.are.same({ "already invited", "already invited", "already a member (role ORGANIZATION_OWNER)" },
      { report.rows[1].message, report.rows[2].message, report.rows[3].message })
    assert.are.same({ invited = 0, updated = 0, skipped = 3, failed = 0 }, report.summary)
    assert.are.equal(0, #recorded(box.sb, "POST", INVITES))
    assert.are.equal(1, #box.sb:requests())
    assert.are.equal(1, members_named(box.sb, "rep1@acme.io"))
  end)

  it("--json gives each row's line, email, role, result, message and request id, and a summary", function()
    box.sb:faults({ fail_next = 1, fail_status = 500, fault_methods = { "POST" } })
    local path = file("json.csv", "email\nfirst@acme.io\nsecond@acme.io\nraj.patel@acme.io\n")
    local r = invite({ "--file", path, "--json" })
    assert.are.equal(1, r.code)
    local report = json.decode(r.stdout)
    local failed = report.rows[1] -- the first POST is the first row's (paced in row order)
    assert.are.same({ 2, "first@acme.io", "ORGANIZATION_MEMBER", "failed", "Internal Server Error" },
      { failed.line, failed.email, failed.role, failed.result, failed.message })
    assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", failed.requestId)
    assert.are.same({ 3, "invited" }, { report.rows[2].line, report.rows[2].result })
    assert.is_nil(report.rows[2].message)
    assert.are.equal("skipped", report.rows[3].result)
    assert.are.same({ invited = 1, updated = 0, skipped = 1, failed = 1 }, report.summary)
    assert.are.equal("3 rows: 1 invited, 1 skipped, 1 failed\n", r.stderr)
    assert.are.equal(0, members_named(box.sb, "first@acme.io"))
  end)

  it("--report writes a neutralised CSV; fed back, only its failed rows are tried again", function()
    box.sb:faults({ fail_next = 1, fail_status = 500, fault_methods = { "POST" } })
    local path = file("rep.csv", "email,role\n" ..
      "later@acme.io,ORGANIZATION_MEMBER\n" ..  -- the first POST: fails with 500
      "=sum@acme.io,ORGANIZATION_MEMBER\n" ..   -- a valid address starting with =
      "+@acme,ORGANIZATION_MEMBER\n" ..         -- invalid
      "ok@acme.io,-ROLE\n" ..                   -- invalid role
      "mei.lin@acme.io,ORGANIZATION_MEMBER\n")  -- already a member
    local report = box.dir .. "/report.csv"
    local r = invite({ "--file", path, "--report", report })
    assert.are.equal(1, r.code)
    local lines = h.lines(h.read_file(report))
    assert.are.equal("email,role,line,result,message,request_id", lines[1])
    assert.matches("^later@acme%.io,ORGANIZATION_MEMBER,2,failed,Internal Server Error,%x+%-[%x%-]+$", lines[2])
    assert.matches("^'=sum@acme%.io,ORGANIZATION_MEMBER,3,invited,,%x+%-[%x%-]+$", lines[3])
    assert.matches("^'%+@acme,ORGANIZATION_MEMBER,4,failed,\"invalid email address", lines[4])
    assert.matches("^ok@acme%.io,'%-ROLE,5,failed,", lines[5])
    assert.are.equal("mei.lin@acme.io,ORGANIZATION_MEMBER,6,skipped,already a member (role ORGANIZATION_BILLING_ADMIN),",
      lines[6])
    assert.are.equal(6, #lines)

    box.sb:reset_requests()
    r = invite({ "--file", report, "--json" })
    local again = json.decode(r.stdout)
    assert.are.same({ "invited", "skipped", "failed", "failed", "skipped" },
      { again.rows[1].result, again.rows[2].result, again.rows[3].result, again.rows[4].result, again.rows[5].result })
    assert.are.equal("done in an earlier run (invited)", again.rows[2].message)
    -- only rows done (invited) are taken from the report; a skipped row is planned again
    assert.are.equal("already a member (role ORGANIZATION_BILLING_ADMIN)", again.rows[5].message)
    assert.are.same({ { inviteeEmail = "later@acme.io", role = "ORGANIZATION_MEMBER" } }, invite_bodies(box.sb))
    assert.are.equal(1, r.code) -- the invalid rows still fail
  end)

  -- Regression (this failed before the fix): a report cell neutralised with a leading ' is read back as it is when the report is
  -- fed back: a failed row whose address starts with - + = or @ is retried for another
  -- address ('-ops@acme.io), and an invalid address like @acme.io becomes a valid one
  -- ('@acme.io) that gets invited.
  it("retries the failed rows of a fed-back report for the addresses they had", function()
    box.sb:faults({ fail_next = 1, fail_status = 500, fault_methods = { "POST" } })
    local path = file("dash.csv", "email,role\n-ops@acme.io,ORGANIZATION_MEMBER\n@acme.io,ORGANIZATION_MEMBER\n")
    local report = box.dir .. "/dash-report.csv"
    assert.are.equal(1, invite({ "--file", path, "--report", report }).code)
    box.sb:reset_requests()
    local r = invite({ "--file", report, "--json" })
    local rows = json.decode(r.stdout).rows
    assert.are.same({ "-ops@acme.io", "invited" }, { rows[1].email, rows[1].result })
    assert.are.same({ "@acme.io", "failed" }, { rows[2].email, rows[2].result })
    assert.are.same({ { inviteeEmail = "-ops@acme.io", role = "ORGANIZATION_MEMBER" } }, invite_bodies(box.sb))
    assert.are.equal(0, members_named(box.sb, "'-ops@acme.io") + members_named(box.sb, "'@acme.io"))
  end)

  it("--dry-run shows the plan row by row and sends no POST", function()
    local path = file("dry.csv", "email\nplan1@acme.io\nraj.patel@acme.io\n")
    local r = invite({ "--file", path, "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    local rows = table_rows(r.stdout)
    assert.are.same({ "invited", "dry run: not sent" }, { rows[1].result, rows[1].message })
    assert.are.equal("skipped", rows[2].result)
    assert.are.equal("2 rows: 1 invited, 1 skipped, 0 failed (dry run: nothing was sent)\n", r.stderr)
    assert.are.equal(0, #recorded(box.sb, "POST", INVITES))
    assert.are.equal(0, members_named(box.sb, "plan1@acme.io"))
  end)

  -- Regression: a row held back by --strict was written "skipped" to the report, and the report
  -- fed back (after fixing the bad row) skipped it as "done in an earlier run": never invited.
  it("invites, from a --strict report fed back, the rows --strict held back", function()
    local report = box.dir .. "/strict-report.csv"
    local r = invite({ "--file", file("strict.csv", "email\nheld@acme.io\nnot-an-address\n"), "--strict",
                       "--report", report })
    assert.are.equal(1, r.code)
    assert.are.same({}, invite_bodies(box.sb))
    h.write_file(report, (h.read_file(report):gsub("not%-an%-address", "fixed@acme.io")))
    r = invite({ "--file", report, "--strict", "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local rows = json.decode(r.stdout).rows
    assert.are.same({ "invited", "invited" }, { rows[1].result, rows[2].result })
    assert.are.same({ { inviteeEmail = "held@acme.io", role = "ORGANIZATION_MEMBER" },
                      { inviteeEmail = "fixed@acme.io", role = "ORGANIZATION_MEMBER" } }, invite_bodies(box.sb))
  end)

  -- Regression: only report files had the leading ' of a neutralised cell taken off, so the
  -- CSV of `user list -o csv` (which neutralises too) fed to invite named other addresses.
  it("reads back the neutralised cells of any CSV this tool wrote, such as user list -o csv", function()
    local state = box.sb:state()
    state.tokens, state.refresh_tokens = nil, nil
    local list = state.users[ORG]
    list[#list + 1] = { id = "cluminus0000000000000001", username = "-ops@acme.io", fullName = "Ops", avatarUrl = "",
                        status = "ACTIVE", organizationRole = "ORGANIZATION_MEMBER", createdAt = "2024-01-01T00:00:00Z" }
    assert.is_true(box.sb:control("POST", "/_sandbox/seed", state).ok)
    local listed = box.run({ "organization", "user", "list", "-o", "csv" })
    assert.are.equal(0, listed.code, listed.stderr)
    assert.matches("\nOps,'%-ops@acme%.io,", listed.stdout)
    local r = invite({ "--file", file("listed.csv", listed.stdout), "--json", "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    local by = {}
    for _, row in ipairs(json.decode(r.stdout).rows) do by[row.email] = row end
    assert.is_truthy(by["-ops@acme.io"], r.stdout)
    assert.are.equal("skipped", by["-ops@acme.io"].result)
    assert.is_nil(by["'-ops@acme.io"])
  end)

  it("says so when standard input is empty or closed", function()
    local r = invite({ "--file", "-" }, { stdin = "" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: standard input is empty (or closed): it needs a header line naming the columns " ..
      "(email) and a row per person\n", r.stderr)
    assert.are.same({}, box.sb:requests())
  end)

  it("ends its table before the summary when both go to one log", function()
    local log = box.dir .. "/both.log"
    local cmd = string.format("ASTRO_HOME=%s %s organization user invite --file %s --dry-run >%s 2>&1",
      h.shell_quote(box.home), h.shell_quote(h.astro),
      h.shell_quote(file("log.csv", "email\na1@acme.io\na2@acme.io\n")), h.shell_quote(log))
    assert.are.equal(0, h.sh(cmd))
    local lines = h.lines(h.read_file(log))
    assert.matches("^ LINE +EMAIL", lines[1])
    assert.are.equal("2 rows: 2 invited, 0 skipped, 0 failed (dry run: nothing was sent)", lines[#lines])
    assert.are.equal(4, #lines, h.read_file(log))
  end)

  it("refuses bad files and flags before sending anything", function()
    local function refused(args, code, pattern)
      local r = invite(args)
      assert.are.equal(code, r.code, r.stderr)
      assert.matches(pattern, r.stderr)
    end
    local good = file("good.csv", "email\nx@acme.io\n")
    refused({ "--file", box.dir .. "/missing.csv" }, 1, "^Error: cannot read .*missing%.csv")
    refused({ "--file", file("nohead.csv", "name,role\nx,y\n") }, 1, 'line 1: missing required column "email"')
    refused({ "--file", file("noheader.csv", "erin@acme.io,ORGANIZATION_OWNER\n") }, 1,
      'line 1: missing required column "email"; the header has: erin@acme.io, organization_owner; the first ' ..
      "line must be a header naming the columns, such as email,role\n$")
    refused({ "--file", file("broken.csv", 'email\n"x@acme.io\n') }, 1, "broken%.csv: line 2: unterminated")
    refused({ "--file", good, "--rate-limit", "POST=0" }, 2, 'invalid rate limit "POST=0"')
    refused({ "--file", good, "--rate-limit", "POST=fast" }, 2, 'invalid rate limit "POST=fast"')
    refused({ "x@acme.io", "--file", good }, 2, "give either an email or %-%-file")
    refused({ "x@acme.io", "--json" }, 2, "%-%-json goes with %-%-file")
    refused({ "--file", good, "-r", "ORGANIZATION_KING" }, 2,
      "^Error: requested role is invalid[^\n]*\nRun 'astro organization user invite %-%-help' for usage%.\n$")
    refused({ "--file", good, "--report", box.dir .. "/no/such/dir/r.csv" }, 1,
      "^Error: cannot write the report: .*no/such/dir/r%.csv: No such file or directory; nothing was sent\n$")
    assert.are.equal(0, #box.sb:requests())
    assert.is_nil(h.read_file(box.dir .. "/no/such/dir/r.csv"))
  end)

  it("checks the report path without touching the file, so a fed-back report survives a failed run", function()
    local report = file("again.csv", "email,role,line,result,message,request_id\nz@acme.io,ORGANIZATION_MEMBER,2,failed,x,\n")
    local before = h.read_file(report)
    box.sb:faults({ fail_next = 1, fail_status = 401, fault_methods = { "GET" } })
    local r = invite({ "--file", report, "--report", report })
    assert.are.equal(1, r.code)
    assert.are.equal(before, h.read_file(report))           -- the listing failed: the file is as it was
    local fresh = box.dir .. "/fresh-report.csv"
    r = invite({ "--file", file("one.csv", "email\nq@acme.io\n"), "--report", fresh, "--strict", "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^email,role,line,result,message,request_id\nq@acme%.io,ORGANIZATION_MEMBER,2,invited,dry run: not sent,\n$",
      h.read_file(fresh))
  end)
end)

describe("user invite --file, its table on a terminal", function()
  local box = h.use_sandbox()
  local LONG = "someone.with.a.rather.long.address.for.a.table@example-company.io"
  local FILE = "email,role\n" .. LONG .. ",ORGANIZATION_BILLING_ADMIN\n" ..
    "raj.patel@acme.io,ORGANIZATION_OWNER\n" ..   -- already a member (role ORGANIZATION_MEMBER)
    "not-an-address,ORGANIZATION_MEMBER\n"

  -- The width of each line of text, in characters.
  local function widths(text)
    local out = {}
    for _, line in ipairs(h.lines(text)) do out[#out + 1] = utf8.len(line) end
    return out
  end

  -- The invite of FILE under --dry-run with stdout on a pseudo-terminal `cols` columns wide
  -- (stty, so the size the terminal reports; nil: a terminal that reports none) and env.
  local function on_terminal(cols, env)
    local path = box.file("people.csv", FILE)
    local dir = h.tmpdir()
    local parts = { "env", "-u", "COLUMNS", "ASTRO_HOME=" .. box.home, "NO_COLOR=" }
    for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. v end
    for _, a in ipairs({ h.astro, "organization", "user", "invite", "--file", path, "--dry-run" }) do
      parts[#parts + 1] = h.shell_quote(a)
    end
    local inner = (cols and ("stty cols " .. cols .. " && ") or "") .. table.concat(parts, " ") .. " 2>/dev/null"
    h.sh("script -qec " .. h.shell_quote(inner) .. " /dev/null </dev/null >" .. dir .. "/out")
    return (h.read_file(dir .. "/out"):gsub("\r\n", "\n"))
  end

  it("fits 80 columns when the terminal reports no size, cutting emails and messages with an ellipsis", function()
    local out = on_terminal(nil)
    for _, w in ipairs(widths(out)) do assert.is_true(w <= 80, out) end
    assert.matches("^ LINE  EMAIL +ROLE                        RESULT   MESSAGE\n", out)
    assert.matches("\n 2     someone%.with%.[^ ]*… +ORGANIZATION_BILLING_ADMIN  invited  dry run: not sent\n", out)
    assert.matches("\n 3     raj%.patel@acme%.io +ORGANIZATION_OWNER +skipped  already a member[^\n]*…\n", out)
    assert.matches("\n 4     not%-an%-address +ORGANIZATION_MEMBER +failed   invalid email[^\n]*…\n", out)
  end)

  it("fits the width the terminal reports, or COLUMNS before it; a table that fits is left as it is", function()
    for _, case in ipairs({ { 60, nil, 60 }, { 200, { COLUMNS = "100" }, 100 }, { 40, { COLUMNS = "x" }, 60 } }) do
      local out = on_terminal(case[1], case[2])
      local widest = math.max(table.unpack(widths(out)))
      -- 40 columns cannot hold the role, the result and the shortest cuts: the least it gets to is 60.
      assert.is_true(widest <= case[3], out)
      assert.is_true(widest >= case[3] - 2, out)
    end
    -- Wide enough: the astro CLI's layout, cells whole (5 spaces after every column).
    local out = on_terminal(250)
    assert.truthy(out:find(" " .. LONG .. "     ORGANIZATION_BILLING_ADMIN     invited     dry run: not sent", 1, true))
    assert.is_nil(out:find("…", 1, true))
  end)

  it("keeps every cell whole in a pipe, in --json and in the --report file", function()
    local path = box.file("people.csv", FILE)
    local report = box.dir .. "/report.csv"
    local r = box.run({ "organization", "user", "invite", "--file", path, "--dry-run", "--report", report },
      { env = { COLUMNS = "80" } })
    assert.are.equal(1, r.code)
    assert.truthy(r.stdout:find(" " .. LONG .. "     ", 1, true))
    assert.truthy(r.stdout:find("already a member (role ORGANIZATION_MEMBER)", 1, true))
    assert.is_nil(r.stdout:find("…", 1, true))
    assert.truthy(h.read_file(report):find(LONG .. ",ORGANIZATION_BILLING_ADMIN,2,invited", 1, true))
    r = box.run({ "organization", "user", "invite", "--file", path, "--dry-run", "--json" }, { tty = true })
    assert.are.equal(LONG, json.decode(r.stdout).rows[1].email)
  end)
end)
