-- astro.prompt: one-line questions and numbered menus on stderr, never blocking at end of input.
local prompt = require("astro.prompt")
local errors = require("astro.errors")

--- A fake command context: stdin holds `input`, stderr collects what is written.
local function fake(input)
  local stdin = io.tmpfile()
  stdin:write(input or "")
  stdin:seek("set", 0)
  return { stdin = stdin, stderr = io.tmpfile() }
end

--- Everything written to the fake's stderr.
local function written(ctx)
  ctx.stderr:seek("set", 0)
  return ctx.stderr:read("a")
end

local ROWS = {
  { "Acme Data Platform", "clt0acme000010bhys38c6ryb" },
  { "Globex", "clu7glbx000020j7zc6npf32j" },
  { "Initech Sandbox", "clv2init000030es9qjsmo8nu" },
}
-- fixtures/expected/organization-switch.selection-table.txt without colour, then the prompt.
local MENU =
  " #     NAME                   ID                            \n" ..
  " 1     Acme Data Platform     clt0acme000010bhys38c6ryb     \n" ..
  " 2     Globex                 clu7glbx000020j7zc6npf32j     \n" ..
  " 3     Initech Sandbox        clv2init000030es9qjsmo8nu     \n" ..
  "\n> "
local OPTS = { invalid = "invalid organization selection", missing = "organization choice",
               hint = "pass the organization's name or id as an argument" }

describe("astro.prompt.ask", function()
  it("writes the question to stderr and returns the line without its newline", function()
    local ctx = fake("jane@acme.io\n")
    assert.are.equal("jane@acme.io", prompt.ask(ctx, "enter email address to invite a user: ", "email address"))
    assert.are.equal("enter email address to invite a user: ", written(ctx))
  end)

  it("strips a trailing \\r\\n but keeps spaces", function()
    assert.are.equal("ORGANIZATION_OWNER", prompt.ask(fake("ORGANIZATION_OWNER\r\n"), "? ", "role"))
    assert.are.equal("  two words  ", prompt.ask(fake("  two words  \n"), "? ", "x"))
  end)

  it("takes a last line without a newline, and an empty line as an empty answer", function()
    assert.are.equal("last", prompt.ask(fake("last"), "? ", "x"))
    assert.are.equal("", prompt.ask(fake("\nmore\n"), "? ", "x"))
  end)

  it("reads one line per question", function()
    local ctx = fake("first\nsecond\n")
    assert.are.equal("first", prompt.ask(ctx, "a: ", "x"))
    assert.are.equal("second", prompt.ask(ctx, "b: ", "x"))
    assert.are.equal("a: b: ", written(ctx))
  end)

  it("fails at end of input with what was missing and how to give it", function()
    local ctx = fake("")
    local got, err = prompt.ask(ctx, "enter email address to invite a user: ", "email address",
      "pass it as an argument")
    assert.is_nil(got)
    assert.is_true(errors.is(err))
    assert.are.equal("no email address given: standard input ended; pass it as an argument", err.message)
    assert.are.equal("input", err.code)
    assert.are.equal("enter email address to invite a user: \n", written(ctx))
  end)

  it("leaves the hint out when there is none", function()
    local _, err = prompt.ask(fake(""), "? ", "role")
    assert.are.equal("no role given: standard input ended", err.message)
  end)
end)

describe("astro.prompt.menu", function()
  it("shows a numbered table and the > prompt on stderr and returns the row number", function()
    local ctx = fake("2\n")
    assert.are.equal(2, prompt.menu(ctx, { "NAME", "ID" }, ROWS, OPTS))
    assert.are.equal(MENU, written(ctx))
  end)

  it("accepts the first and the last row, with \\r\\n or without a newline", function()
    assert.are.equal(1, prompt.menu(fake("1\r\n"), { "NAME", "ID" }, ROWS, OPTS))
    assert.are.equal(3, prompt.menu(fake("3"), { "NAME", "ID" }, ROWS, OPTS))
  end)

  it("accepts only a row number written plainly", function()
    for _, answer in ipairs({ "0", " 1", "1 ", "1.0", "4", "01", "+1", "-1", "1e0", "0x1", "", "Globex",
                              "one", "99999999999999999999" }) do
      local got, err = prompt.menu(fake(answer .. "\n"), { "NAME", "ID" }, ROWS, OPTS)
      assert.is_nil(got, "accepted " .. answer)
      assert.are.equal("invalid organization selection", err.message, answer)
    end
  end)

  it("fails at end of input with an input error rather than a selection error", function()
    local ctx = fake("")
    local got, err = prompt.menu(ctx, { "NAME", "ID" }, ROWS, OPTS)
    assert.is_nil(got)
    assert.are.equal("no organization choice given: standard input ended; " ..
      "pass the organization's name or id as an argument", err.message)
    assert.are.equal(MENU .. "\n", written(ctx))
  end)

  it("numbers more than nine rows and widens the # column", function()
    local rows = {}
    for i = 1, 12 do rows[i] = { "ws" .. i } end
    local ctx = fake("12\n")
    assert.are.equal(12, prompt.menu(ctx, { "NAME" }, rows, OPTS))
    local text = written(ctx)
    assert.are.equal(" #      NAME     \n", text:match("^[^\n]*\n"))
    assert.matches("\n 12     ws12     \n", text, 1, true)
    assert.is_nil((prompt.menu(fake("13\n"), { "NAME" }, rows, OPTS)))
  end)

  it("has nothing to choose from an empty menu", function()
    local got, err = prompt.menu(fake("1\n"), { "NAME" }, {}, OPTS)
    assert.is_nil(got)
    assert.are.equal("invalid organization selection", err.message)
  end)
end)
