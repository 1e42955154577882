-- Text from the API reaches the terminal escaped: an organization name, a user's full name, a
-- workspace name, a workspace id in a dry-run line or an API error message holding a terminal
-- escape (OSC title, CSI in its C1 forms), a bidi override or a line break can neither drive
-- the terminal nor print a line of its own.
local h = require("spec.helpers")
local json = require("astro.json")

local ACME, GLOBEX = h.ids.ACME, h.ids.GLOBEX

-- The raw byte 0x9b (an 8-bit CSI, not valid UTF-8) cannot travel in JSON text: the sandbox
-- serves the lone surrogate \udc9b as that byte (docs/sandbox.md, seed format).
local RAW = "@RAW9B@"
local OSC = "\27]0;pwned\7"                      -- sets the window title
local C1_CSI = "\194\155" .. "2J"                -- U+009B "2J": clears the screen
local RAW_CSI = RAW .. "2J"                      -- 0x9b "2J": the same in 8-bit form
local RLO = "\226\128\174"                       -- U+202E RIGHT-TO-LEFT OVERRIDE
local FAKE = "\nSuccessfully switched organization"
local EVIL = "Evil" .. OSC .. " " .. C1_CSI .. " " .. RAW_CSI .. " " .. RLO .. "gro" .. FAKE
local SHOWN = "Evil\\x1b]0;pwned\\x07 \\u009b2J \\x9b2J \\u202egro\\x0aSuccessfully switched organization"
local EVIL_WS_ID = "clwevil" .. OSC .. C1_CSI

--- Encodes value as JSON text, the RAW marker turned into the escape \udc9b.
local function encode(value)
  return (json.encode(value):gsub(RAW, "\\udc9b"))
end

--- What a string of EVIL looks like once a client has decoded the sandbox's answer.
local function raw(s) return (s:gsub(RAW, "\155")) end

--- The bytes that must never reach a terminal: C0 controls but newline, DEL, C1 controls in
-- UTF-8, the raw byte 0x9b, bidi controls.
local function assert_clean(text, what)
  assert.is_nil(text:find("[%z\1-\9\11-\31\127]"), what .. " holds a control character: " .. text)
  assert.is_nil(text:find("\194[\128-\159]"), what .. " holds a C1 control: " .. text)
  assert.is_nil(text:find("\155", 1, true), what .. " holds a raw 0x9b: " .. text)
  assert.is_nil(text:find(RLO, 1, true), what .. " holds a bidi control: " .. text)
  assert.truthy(utf8.len(text), what .. " is not valid UTF-8: " .. text)
end

describe("text from the API on a terminal", function()
  local box = h.use_sandbox()

  --- Posts a JSON text (not a Lua table, so that it may hold \udc9b) to a control endpoint.
  local function post(path, text)
    local file = box.file("body.json", text)
    local out = h.capture("curl -s -X POST -H 'Content-Type: application/json' --data-binary @" ..
      h.shell_quote(file) .. " " .. h.shell_quote(box.sb.url .. path))
    assert.truthy(out:find('"ok"', 1, true) or out:find("fail_message", 1, true), out)
  end

  before_each(function()
    post("/_sandbox/seed", encode({
      organizations = { { id = ACME, name = EVIL, product = "HOSTED" }, { id = GLOBEX, name = "Globex" } },
      users = { [ACME] = {
        { id = "clreve000000000000000000a", username = "eve@acme.io", fullName = EVIL,
          createdAt = "2024-03-10T08:00:00Z", organizationRole = "ORGANIZATION_MEMBER" },
        { id = "clrjose00000000000000000b", username = "jose@acme.io", fullName = "José Núñez 王小明",
          createdAt = "2024-03-10T08:00:00Z", organizationRole = "ORGANIZATION_MEMBER" },
      } },
      workspaces = {
        [ACME] = { { id = EVIL_WS_ID, name = "Analytics", organizationId = ACME } },
        [GLOBEX] = { { id = "clwgops0000301k2x8f7q9zrb", name = "Ops" .. OSC .. FAKE, organizationId = GLOBEX } },
      },
    }))
  end)

  it("organization list: the name shows escaped in the table, on a terminal and off one", function()
    for _, tty in ipairs({ true, false }) do
      local r = box.run({ "organization", "list" }, { tty = tty })
      assert.are.equal(0, r.code, r.stderr)
      local lines = h.lines(r.stdout)
      assert.are.equal(3, #lines, r.stdout)
      -- The ID column still lines up: the name's column is as wide as its escaped text plus 5.
      local width = utf8.len(SHOWN) + 5
      assert.are.equal(" " .. string.format("%-" .. width .. "s", "NAME") .. "ID", lines[1]:gsub("%s+$", ""))
      -- (off a terminal, the current organization's line starts with a * in place of the space)
      assert.truthy(lines[2]:find((tty and " " or "*") .. SHOWN .. "     " .. ACME, 1, true), r.stdout)
      assert.truthy(lines[3]:find(" Globex" .. string.rep(" ", width - 6) .. GLOBEX, 1, true), r.stdout)
      -- (the current organization's line is green on a terminal: the tool's own escapes)
      assert_clean((r.stdout:gsub("\27%[1;32m", ""):gsub("\27%[0m", "")), "stdout")
    end
  end)

  it("organization list --json to a pipe keeps the name byte for byte", function()
    local r = box.run({ "organization", "list", "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(raw(EVIL), json.decode(r.stdout).organizations[1].name)
  end)

  -- Regression: JSON on a terminal carried C1 controls, bidi controls and the raw 0x9b as
  -- they came (JSON escapes only C0); now they are \u escapes, which decode to the same data.
  it("--json on a terminal holds no terminal control, and decodes to the same data", function()
    for _, args in ipairs({ { "organization", "list", "--json" }, { "organization", "user", "list", "--json" } }) do
      local r = box.run(args, { tty = true })
      assert.are.equal(0, r.code, r.stderr)
      assert_clean(r.stdout, "stdout")
      local doc = assert(json.decode(r.stdout))
      local name = args[2] == "list" and doc.organizations[1].name or doc.users[1].fullName
      -- The same string, but the byte 0x9b (no JSON can hold it) as U+FFFD.
      assert.are.equal((EVIL:gsub(RAW, "\239\191\189")), name)
    end
  end)

  it("an error raised outside the command line shows escaped on one line", function()
    local path = box.file("raise.lua", string.format("error(%q, 0)\n", "bad" .. OSC .. C1_CSI .. FAKE))
    local r = h.run({ "--lua", path })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: bad\\x1b]0;pwned\\x07\\u009b2J\\x0aSuccessfully switched organization\n", r.stderr)
  end)

  it("user list: a full name shows escaped, an accented or wide one unchanged", function()
    local r = box.run({ "organization", "user", "list" }, { tty = true })
    assert.are.equal(0, r.code, r.stderr)
    assert.truthy(r.stdout:find(" " .. SHOWN .. "     ", 1, true), r.stdout)
    assert.truthy(r.stdout:find(" José Núñez 王小明" .. string.rep(" ", utf8.len(SHOWN) - 14 + 5) .. "jose@acme.io", 1, true),
      r.stdout)
    assert_clean(r.stdout, "stdout")
    r = box.run({ "organization", "user", "list", "-o", "csv" }, { tty = true })
    assert.are.equal(0, r.code, r.stderr)
    assert.truthy(r.stdout:find("\n" .. SHOWN .. ",eve@acme.io,", 1, true), r.stdout)
    assert_clean(r.stdout, "stdout")
  end)

  it("switch: the menu and the workspace notice show names escaped; one success line only", function()
    local r = box.run({ "organization", "switch" }, { stdin = "2\n", tty = true })
    assert.are.equal(0, r.code, r.stderr)
    assert.truthy(r.stderr:find(" 1     " .. SHOWN .. "     " .. ACME, 1, true), r.stderr)
    assert.truthy(r.stderr:find('"Ops\\x1b]0;pwned\\x07\\x0aSuccessfully switched organization" Workspace found. ' ..
      "This is your default Workspace.\n", 1, true), r.stderr)
    assert.are.equal("\nSuccessfully switched organization\n", r.stdout)
    assert.is_nil(r.stderr:find("\nSuccessfully", 1, true), r.stderr)
    assert_clean((r.stderr:gsub("\n", "")), "stderr")
  end)

  it("switch --dry-run: a workspace id from the API shows escaped in the plan", function()
    local r = box.run({ "organization", "switch", ACME, "--workspace-id", "Analytics", "--dry-run" },
      { home = box.sb:home({ organization = GLOBEX }), tty = true })
    assert.are.equal(0, r.code, r.stderr)
    assert.truthy(r.stdout:find(".workspace = clwevil\\x1b]0;pwned\\x07\\u009b2J in ", 1, true), r.stdout)
    assert_clean((r.stdout:gsub("\n", "")), "stdout")
  end)

  it("an API error message shows escaped on its one Error line", function()
    post("/_sandbox/faults", encode({ fail_next = 1, fail_status = 400, fail_message = "denied " .. EVIL:sub(5) }))
    local r = box.run({ "organization", "switch", GLOBEX })
    assert.are.equal(1, r.code, r.stderr)
    assert.are.equal("Error: denied " .. SHOWN:sub(5) .. "\n", r.stderr)
    assert.are.equal("", r.stdout)
    -- organization list adds the astro CLI's hint, the message after "Details:".
    post("/_sandbox/faults", encode({ fail_next = 1, fail_status = 400, fail_message = "denied " .. EVIL:sub(5) }))
    r = box.run({ "organization", "list" })
    assert.are.equal(1, r.code, r.stderr)
    assert.matches("^Error: cannot connect to Astronomer%.[^\n]*\n\nDetails: denied ", r.stderr)
    assert.truthy(r.stderr:find("\n\nDetails: denied " .. SHOWN:sub(5) .. "\n", 1, true), r.stderr)
    assert_clean((r.stderr:gsub("\n", "")), "stderr")
  end)

  it("the request trace (ASTRO_DEBUG) shows a response body escaped", function()
    local r = box.run({ "organization", "list" }, { env = { ASTRO_DEBUG = "1" } })
    assert.are.equal(0, r.code, r.stderr)
    assert.truthy(r.stderr:find("\\u009b2J \\x9b2J \\u202egro", 1, true), r.stderr)
    assert_clean((r.stderr:gsub("\n", "")), "stderr")
  end)

  it("an argument holding an 8-bit CSI or a C1 control shows escaped in the Error line", function()
    local r = box.run({ "organization", "list", "-o", "\155" .. "2J\194\155" .. "0m" })
    assert.are.equal(2, r.code, r.stderr)
    assert.are.equal('Error: invalid format "\\x9b2J\\u009b0m" (must be table, json or csv)\n',
      r.stderr:match("^[^\n]*\n"))
  end)
end)
