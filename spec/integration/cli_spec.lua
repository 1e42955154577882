-- The command line as a user meets it: help at every level, usage errors, exit codes.
local h = require("spec.helpers")

describe("astro command line", function()
  lazy_teardown(function() h.cleanup() end)

  it("prints help on stdout with exit 0 at every level", function()
    for _, args in ipairs({ {}, { "--help" }, { "organization" }, { "org", "--help" },
                            { "organization", "list", "--help" }, { "org", "ls", "-h" } }) do
      local r = h.run(args)
      assert.are.equal(0, r.code, table.concat(args, " "))
      assert.matches("Usage:", r.stdout)
      assert.are.equal("", r.stderr)
    end
    local r = h.run({ "organization", "--help" })
    assert.matches("Available Commands:\n  audit%-logs +Manage your Organization audit logs%.\n" ..
      "  list +List all Organizations you have access to", r.stdout)
    assert.matches("^Manage your Astro Organizations%. These commands are for users in more than one Organization\n", r.stdout)
  end)

  it("rejects an unknown command with a line naming the help to read, on stderr, and exit 2", function()
    local r = h.run({ "organisation" })
    assert.are.equal(2, r.code)
    assert.are.equal('Error: unknown command "organisation" for "astro"\n\nDid you mean this?\n\torganization\n\n' ..
      "Run 'astro --help' for usage.\n", r.stderr)
    assert.are.equal("", r.stdout)
    r = h.run({ "organization", "lst" })
    assert.are.equal(2, r.code)
    assert.matches('^Error: unknown command "lst" for "astro organization"\n', r.stderr)
    assert.matches("\n\nRun 'astro organization %-%-help' for usage%.\n$", r.stderr)
  end)

  it("suggests what a mistyped command may have meant, as cobra does (2 edits, or a prefix)", function()
    for _, case in ipairs({
      { { "organization", "lisst" }, "astro organization", { "list" } },
      { { "organization", "t" }, "astro organization", { "team", "token" } },
      { { "organization", "tem" }, "astro organization", { "team" } },
      { { "organization", "user", "updte" }, "astro organization user", { "update" } },
      { { "organization", "aud" }, "astro organization", { "audit-logs" } },
      { { "verson" }, "astro", { "version" } },
      { { "completon" }, "astro", { "completion" } },
      { { "hlp" }, "astro", { "help" } },
    }) do
      local r = h.run(case[1])
      assert.are.equal(2, r.code)
      local want = string.format('Error: unknown command "%s" for "%s"\n\nDid you mean this?\n\t%s\n\n' ..
        "Run '%s --help' for usage.\n", case[1][#case[1]], case[2], table.concat(case[3], "\n\t"), case[2])
      assert.are.equal(want, r.stderr)
    end
    local r = h.run({ "organization", "zzzzzz" })
    assert.are.equal(2, r.code)
    assert.is_nil(r.stderr:find("Did you mean", 1, true))
  end)

  it("indents the examples of list, user list and team list two spaces, as the astro CLI does", function()
    for _, words in ipairs({ { "organization", "list" }, { "organization", "user", "list" },
                             { "organization", "team", "list" } }) do
      words[#words + 1] = "--help"
      local r = h.run(words)
      assert.are.equal(0, r.code, r.stderr)
      local cmd = "astro " .. table.concat(words, " ", 1, #words - 1)
      local want = "\nExamples:\n  " .. cmd .. "\n  " .. cmd .. " --json\n\nFlags:\n"
      assert.truthy(r.stdout:find(want, 1, true), r.stdout)
    end
  end)

  it("answers astro help [command...] as --help, and lists help at the root", function()
    for _, words in ipairs({ {}, { "organization" }, { "organization", "user", "invite" }, { "organization", "team" } }) do
      local a = h.run({ "help", table.unpack(words) })
      local with = { table.unpack(words) }
      with[#with + 1] = "--help"
      local b = h.run(with)
      assert.are.equal(0, a.code, a.stderr)
      assert.are.equal(b.stdout, a.stdout)
      assert.are.equal("", a.stderr)
    end
    assert.matches("\n  help +Help about any command\n", h.run({ "help" }).stdout)
    local r = h.run({ "help", "organisation" })
    assert.are.equal(2, r.code)
    assert.matches('^Error: unknown command "organisation" for "astro"\n\nDid you mean this%?', r.stderr)
  end)

  it("rejects an unknown flag and a missing flag value with exit 2", function()
    local r = h.run({ "organization", "list", "--nope" })
    assert.are.equal(2, r.code)
    assert.are.equal("Error: unknown flag: --nope\nRun 'astro organization list --help' for usage.\n", r.stderr)
    r = h.run({ "organization", "list", "-o" })
    assert.are.equal(2, r.code)
    assert.are.equal("Error: flag needs an argument: 'o' in -o\nRun 'astro organization list --help' for usage.\n",
      r.stderr)
  end)

  it("refuses extra arguments", function()
    local r = h.run({ "organization", "list", "extra" })
    assert.are.equal(2, r.code)
    assert.are.equal("Error: accepts at most 0 arg(s), received 1\nRun 'astro organization list --help' for usage.\n",
      r.stderr)
  end)

  it("names the file and line of a config that is not valid YAML, and leaves it alone", function()
    local home = h.tmpdir()
    h.sh("mkdir -p " .. home .. "/.astro")
    local path = home .. "/.astro/config.yaml"
    local text = "context: localhost\ncontexts:\n  localhost: {domain: localhost\n  token: x\n"
    h.write_file(path, text)
    local r = h.run({ "organization", "list" }, { home = home })
    assert.are.equal(1, r.code)
    assert.matches("^Error: " .. path:gsub("%p", "%%%0") .. ":%d+: not valid YAML", r.stderr)
    assert.are.equal(text, h.read_file(path))
  end)

  it("runs a Lua file inside the host with its arguments", function()
    local dir = h.tmpdir()
    h.write_file(dir .. "/s.lua", "print(arg[0] ~= nil, select('#', ...), ...)\nos.exit(3)")
    local r = h.run({ "--lua", dir .. "/s.lua", "a", "b c" })
    assert.are.equal(3, r.code)
    assert.are.equal("true\t2\ta\tb c\n", r.stdout)
  end)

  it("reports an error raised in a script as one Error line, the traceback only with ASTRO_DEBUG", function()
    local dir = h.tmpdir()
    h.write_file(dir .. "/boom.lua", "local function f() error('boom') end\nf()")
    local r = h.run({ "--lua", dir .. "/boom.lua" })
    assert.are.equal(1, r.code)
    assert.matches("^Error: .*boom.lua:1: boom\n$", r.stderr)
    r = h.run({ "--lua", dir .. "/boom.lua" }, { env = { ASTRO_DEBUG = "1" } })
    assert.matches("stack traceback:", r.stderr)
  end)

  it("refuses to load precompiled Lua in script mode", function()
    local dir = h.tmpdir()
    h.write_file(dir .. "/b.lua", string.dump(function() print("x") end))
    local r = h.run({ "--lua", dir .. "/b.lua" })
    assert.are.equal(1, r.code)
    assert.matches("attempt to load a binary chunk", r.stderr)
  end)
end)
