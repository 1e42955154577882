-- Bad input everywhere: every mistake gets a clear error (exit 1, or 2 for usage) naming what
-- is wrong, or a safe result, and nothing is sent when the input is invalid (not even a token
-- refresh). Control characters from the command line are shown escaped, never raw.
local h = require("spec.helpers")
local csv = require("astro.csv")
local sys = require("astro.core.sys")

local ACME = h.ids.ACME
local INVALID_ROLE = "Error: requested role is invalid. Possible values are ORGANIZATION_MEMBER, " ..
  "ORGANIZATION_BILLING_ADMIN and ORGANIZATION_OWNER \n"

--- Fails when text holds a control character other than newline and tab (raw ESC, CR, ...).
local function no_raw_controls(text, where)
  local at = (text or ""):find("[\0-\8\11-\31\127]")
  assert.is_nil(at, where .. ": raw control character in " .. string.format("%q", text or ""))
end

--- The first line of text (without its newline).
local function first_line(text)
  return (text or ""):match("^([^\n]*)")
end

describe("bad input", function()
  local box = h.use_sandbox({ home = false })
  local dir

  lazy_setup(function() dir = h.tmpdir() end)
  before_each(function()
    -- An expired login token: a command that went as far as connecting would refresh it, so
    -- "no request at all" also proves nothing was even prepared.
    box.home = box.sb:home({ organization = ACME, expiresin = "2020-01-01T00:00:00Z" })
  end)

  local run = box.run

  --- Runs args, expects exit `code`, stderr starting with `want` (a plain prefix), no raw
  -- control character, no request and an unchanged config file.
  local function refused(args, code, want)
    local path = box.home .. "/.astro/config.yaml"
    local before = h.read_file(path)
    box.sb:reset_requests()
    local r = run(args)
    local where = string.format("%q", table.concat(args, " "))
    assert.are.equal(code, r.code, where .. ": " .. r.stderr)
    assert.are.equal(want, r.stderr:sub(1, #want), where)
    no_raw_controls(r.stderr, where)
    no_raw_controls(r.stdout, where)
    assert.are.equal(0, #box.sb:requests(), where .. " sent a request")
    assert.are.equal(before, h.read_file(path))
    return r
  end

  describe("emails", function()
    local long = string.rep("a", 290) .. "@acme.io"
    local CASES = {
      { "jane doe@acme.io", 'invalid email address "jane doe@acme.io": it contains spaces' },
      { "jane.doe.acme.io", 'invalid email address "jane.doe.acme.io": expected one @ between a name and a domain' },
      { "jane@@acme.io", 'invalid email address "jane@@acme.io": expected one @' },
      { "jane@acme", 'invalid email address "jane@acme": the domain after @ has no dot' },
      { long, 'invalid email address "' .. string.rep("a", 77) .. '...": longer than 254 characters' },
      { "jané@acme.io", 'invalid email address "jané@acme.io": only ASCII addresses are supported' },
      { "jane\27[31m@acme.io", 'invalid email address "jane\\x1b[31m@acme.io": it contains control characters' },
      { "jane\n@acme.io", 'invalid email address "jane\\x0a@acme.io": it contains control characters' },
      { "jane\r@acme.io", 'invalid email address "jane\\x0d@acme.io": it contains control characters' },
    }

    it("are refused by invite and update, named in the message, before anything is sent", function()
      for _, c in ipairs(CASES) do
        refused({ "organization", "user", "invite", c[1] }, 1, "Error: " .. c[2])
        refused({ "organization", "user", "update", c[1], "--role", "ORGANIZATION_OWNER" }, 1, "Error: " .. c[2])
        refused({ "organization", "user", "invite", c[1], "--dry-run" }, 1, "Error: " .. c[2])
      end
    end)

    it("empty or blank: invite and update say no email was provided", function()
      for _, e in ipairs({ "", "   " }) do
        local r = refused({ "organization", "user", "invite", e }, 1,
          "Error: no email provided for the invite. Retry with a valid email address\n")
        assert.are.equal("", r.stdout)
        refused({ "organization", "user", "update", e, "--role", "ORGANIZATION_OWNER" }, 1,
          "Error: no email provided for the update. Retry with a valid email address, or leave it out to pick " ..
          "the user from a menu\n")
      end
      -- Typed at the prompt instead: the same checks.
      box.sb:reset_requests()
      local r = run({ "organization", "user", "invite" }, { stdin = "jane\27]0;x\7@acme.io\n" })
      assert.are.equal(1, r.code)
      assert.matches('Error: invalid email address "jane\\x1b]0;x\\x07@acme.io": it contains control characters\n$',
        r.stderr)
      no_raw_controls(r.stderr, "prompt")
      assert.are.equal(0, #box.sb:requests())
    end)

    it("in a file are failed row by row with the same messages; the valid rows still go", function()
      local path = dir .. "/emails.csv"
      local lines = { "email,role" }
      for _, c in ipairs(CASES) do
        lines[#lines + 1] = '"' .. c[1]:gsub('"', '""') .. '",ORGANIZATION_MEMBER'
      end
      lines[#lines + 1] = "good@acme.io,ORGANIZATION_MEMBER"
      h.write_file(path, table.concat(lines, "\n") .. "\n")
      local r = run({ "organization", "user", "invite", "--file", path, "--json" })
      assert.are.equal(1, r.code, r.stderr)
      local report = require("astro.json").decode(r.stdout)
      assert.are.equal(#CASES + 1, #report.rows)
      for i, c in ipairs(CASES) do
        assert.are.equal("failed", report.rows[i].result)
        assert.are.equal(c[2], report.rows[i].message:sub(1, #c[2]))
      end
      assert.are.equal("invited", report.rows[#CASES + 1].result)
      local posts = {}
      for _, req in ipairs(box.sb:requests()) do
        if req.method == "POST" and req.path:match("/invites$") then posts[#posts + 1] = req.body end
      end
      assert.are.same({ '{"inviteeEmail":"good@acme.io","role":"ORGANIZATION_MEMBER"}' }, posts)
    end)
  end)

  describe("roles", function()
    it("in the wrong case (or unknown) get the astro CLI's message as a usage error, and nothing is sent", function()
      local function hint(cmd) return "Run 'astro organization user " .. cmd .. " --help' for usage.\n" end
      for _, role in ipairs({ "organization_member", "Organization_Owner", "ORGANIZATION_OWNER ", "OWNER",
                              "\27[2J" }) do
        refused({ "organization", "user", "invite", "new@acme.io", "--role", role }, 2, INVALID_ROLE .. hint("invite"))
        refused({ "organization", "user", "update", "raj.patel@acme.io", "--role=" .. role }, 2,
          INVALID_ROLE .. hint("update"))
      end
      refused({ "organization", "user", "invite", "new@acme.io", "--role", "" }, 2, INVALID_ROLE .. hint("invite"))
    end)

    it("in a file fail their row with the same message", function()
      local path = dir .. "/roles.csv"
      h.write_file(path, "email,role\nraj.patel@acme.io,organization_owner\n")
      box.sb:reset_requests()
      local r = run({ "organization", "user", "update", "--file", path, "--json" })
      assert.are.equal(1, r.code)
      local row = require("astro.json").decode(r.stdout).rows[1]
      assert.are.equal("failed", row.result)
      assert.are.equal(INVALID_ROLE:sub(8, -3), row.message)
      for _, req in ipairs(box.sb:requests()) do
        if req.path:match("^/v1/") then assert.are.equal("GET", req.method) end
      end
    end)
  end)

  describe("flags given twice", function()
    it("with different values are a usage error naming the flag, whatever the spelling", function()
      for _, args in ipairs({
        { "organization", "user", "invite", "new@acme.io", "--role", "ORGANIZATION_OWNER", "--role", "ORGANIZATION_MEMBER" },
        { "organization", "user", "invite", "new@acme.io", "-r", "ORGANIZATION_OWNER", "--role=ORGANIZATION_MEMBER" },
        { "organization", "user", "invite", "new@acme.io", "-rORGANIZATION_OWNER", "-r", "ORGANIZATION_MEMBER" },
        { "organization", "user", "update", "raj.patel@acme.io", "--role", "ORGANIZATION_OWNER", "--role", "ORGANIZATION_MEMBER" },
      }) do
        local r = refused(args, 2, "Error: flag --role given twice\nRun 'astro organization user " .. args[3] ..
          " --help' for usage.\n")
        assert.are.equal(2, select(2, r.stderr:gsub("\n", "")), "one line and the hint only")
        assert.are.equal("", r.stdout)
      end
      refused({ "organization", "user", "list", "--json", "--json=false" }, 2, "Error: flag --json given twice\n")
      refused({ "organization", "user", "list", "-o", "csv", "--output", "json" }, 2, "Error: flag --output given twice\n")
      refused({ "organization", "list", "--verbosity", "debug", "--verbosity", "info" }, 2,
        "Error: flag --verbosity given twice\n")
      refused({ "organization", "user", "invite", "--file", "a.csv", "--file", "b.csv" }, 2,
        "Error: flag --file given twice\n")
    end)

    it("with the same value are accepted (as once)", function()
      local r = run({ "organization", "user", "invite", "new@acme.io", "-r", "ORGANIZATION_OWNER",
                      "--role=ORGANIZATION_OWNER", "--dry-run", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches('^dry run: POST /organizations/' .. ACME .. '/invites {"inviteeEmail":"new@acme.io",' ..
        '"role":"ORGANIZATION_OWNER"}\n$', r.stdout)
      r = run({ "organization", "user", "list", "--json", "--json" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches('^{\n  "users": %[', r.stdout)
    end)
  end)

  describe("CSV files", function()
    it("of 100,000 rows work with --dry-run, quickly, with one listing and no write", function()
      local path = dir .. "/big.csv"
      local f = assert(io.open(path, "wb"))
      f:write("email,role\n")
      for i = 1, 100000 do f:write("user", i, "@bulk.example.com,ORGANIZATION_MEMBER\n") end
      f:close()
      local started = sys.now()
      local r = run({ "organization", "user", "invite", "--file", path, "--dry-run" })
      local elapsed = sys.now() - started
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("100000 rows: 100000 invited, 0 skipped, 0 failed %(dry run: nothing was sent%)\n$", r.stderr)
      local lines = h.lines(r.stdout)
      assert.are.equal(100001, #lines)
      assert.matches("^ 100001 +user100000@bulk%.example%.com +ORGANIZATION_MEMBER +invited +dry run: not sent", lines[#lines])
      local v1 = {}
      for _, req in ipairs(box.sb:requests()) do
        if req.path:match("^/v1/") then v1[#v1 + 1] = req.method .. " " .. req.path end
      end
      assert.are.same({ "GET /v1/organizations/" .. ACME .. "/users" }, v1)
      -- About 3 s on the plain build; a sanitizer build (ASAN_OPTIONS set) is several times slower.
      assert.is_true(elapsed < (os.getenv("ASAN_OPTIONS") and 120 or 30), "took " .. elapsed .. " s")
    end)

    it("with a 5 MB line are refused with the line and the limit, before anything is sent", function()
      local field = dir .. "/field.csv"
      h.write_file(field, "email,role\n" .. string.rep("a", 5 * 1024 * 1024) .. "\n")
      refused({ "organization", "user", "invite", "--file", field }, 1,
        "Error: " .. field .. ": line 2: field longer than 64 KiB\n")
      local record = dir .. "/record.csv"
      h.write_file(record, "email,role\n" .. string.rep("x@acme.io,", 5 * 1024 * 1024 // 10) .. "\n")
      refused({ "organization", "user", "update", "--file", record }, 1,
        "Error: " .. record .. ": line 2: record longer than 1 MiB\n")
      local header = dir .. "/header.csv"
      h.write_file(header, string.rep("b", 5 * 1024 * 1024))
      refused({ "organization", "user", "invite", "--file", header, "--dry-run" }, 1,
        "Error: " .. header .. ": line 1: field longer than 64 KiB\n")
    end)

    it("the report of invite --file --report neutralises cells starting with = + - @", function()
      local path, report = dir .. "/inject.csv", dir .. "/report.csv"
      h.write_file(path, table.concat({
        "email,role",
        "=1+1@acme.io,ORGANIZATION_MEMBER",                       -- valid addresses, invited
        "+sum@acme.io,ORGANIZATION_MEMBER",
        "-ops@acme.io,ORGANIZATION_MEMBER",
        "@cmd@acme.io,ORGANIZATION_MEMBER",                       -- invalid address
        'ok@acme.io,"=HYPERLINK(""http://evil.example"",""x"")"', -- invalid role
        "tab@acme.io,\"\tORGANIZATION_MEMBER\"",
      }, "\n") .. "\n")
      local r = run({ "organization", "user", "invite", "--file", path, "--report", report })
      assert.are.equal(1, r.code, r.stderr)
      local text = assert(h.read_file(report))
      local rows = assert(csv.parse(text, { header = false }))
      local cells = 0
      for _, row in ipairs(rows) do
        for _, cell in ipairs(row) do
          cells = cells + 1
          assert.is_nil(cell:find("^[=+%-@\t\r]"), "cell not neutralised: " .. cell)
        end
      end
      assert.are.equal(7 * 6, cells)
      for _, want in ipairs({ "'=1+1@acme.io", "'+sum@acme.io", "'-ops@acme.io", "'@cmd@acme.io",
                              "'=HYPERLINK(\"http://evil.example\",\"x\")", "'\tORGANIZATION_MEMBER" }) do
        assert.is_truthy(text:find(want, 1, true) or text:find(want:gsub('"', '""'), 1, true), want)
      end
      -- The valid addresses were invited as written (the neutralising is only in the report).
      local sent = {}
      for _, req in ipairs(box.sb:requests()) do
        if req.method == "POST" and req.path:match("/invites$") then sent[#sent + 1] = require("astro.json").decode(req.body).inviteeEmail end
      end
      table.sort(sent)
      assert.are.same({ "+sum@acme.io", "-ops@acme.io", "=1+1@acme.io" }, sent)
    end)
  end)

  describe("arguments with control characters", function()
    it("are shown escaped in every error, never raw", function()
      local CASES = {
        -- A top-level word this tool does not have goes to the astro CLI; with none on PATH, exit 1.
        { { "org\27[2J" }, 1, 'Error: unknown command "org\\x1b[2J" for "astro": this tool has no such command, ' },
        { { "organization", "sw\nitch" }, 2, 'Error: unknown command "sw\\x0aitch" for "astro organization"\n' },
        { { "organization", "list", "--js\27on" }, 2, "Error: unknown flag: --js\\x1bon\n" },
        { { "organization", "list", "-\27" }, 2, "Error: unknown shorthand flag: '\\x1b' in -\\x1b\n" },
        { { "organization", "user", "list", "--json=\27[31m" }, 2,
          'Error: invalid argument "\\x1b[31m" for "--json" flag: not a boolean (true or false)\n' },
        { { "organization", "user", "list", "-o", "x\ny" }, 2, 'Error: invalid format "x\\x0ay" (must be table, json or csv)\n' },
        { { "organization", "user", "invite", "--file", "a\nb.csv" }, 1,
          "Error: cannot read a\\x0ab.csv: No such file or directory\n" },
        { { "organization", "user", "invite", "--file=a\27]0;pwned\7.csv" }, 1,
          "Error: cannot read a\\x1b]0;pwned\\x07.csv: No such file or directory\n" },
        { { "organization", "user", "invite", "--file", "x.csv", "--rate-limit", "POST=\27" }, 2,
          'Error: invalid rate limit "POST=\\x1b": expected METHOD=N per second' },
        { { "run", "/nope/\27[2J.lua" }, 1, "Error: /nope/\\x1b[2J.lua: No such file or directory\n" },
        { { "organization", "user", "lis\rt" }, 2, 'Error: unknown command "lis\\x0dt" for "astro organization user"\n' },
      }
      for _, c in ipairs(CASES) do
        local r = refused(c[1], c[2], c[3])
        assert.are.equal(c[3]:match("^[^\n]*"), first_line(r.stderr):sub(1, #c[3]:match("^[^\n]*")))
      end
    end)

    it("in an organization name give the usual message, after the lookup, and switch nothing", function()
      local fresh = box.sb:home({ organization = ACME })
      local path = fresh .. "/.astro/config.yaml"
      local before = h.read_file(path)
      for _, name in ipairs({ "Glo\27bex", "Glo\nbex", "Globex\r" }) do
        box.sb:reset_requests()
        local r = run({ "organization", "switch", name }, { home = fresh })
        assert.are.equal(1, r.code)
        assert.are.equal("Error: invalid organization name\n", r.stderr)
        assert.are.same({ "GET" }, { box.sb:requests()[1].method })
        assert.are.equal(1, #box.sb:requests())
      end
      assert.are.equal(before, h.read_file(path))
    end)
  end)
end)
