-- What a plugin author meets: mistakes in a command table refused with what to fix (instead of
-- a plugin silently missing or a flag silently misparsed), help without a description, and
-- astro.load_plugin, which loads a plugin for a spec exactly as astro loads it.
local h = require("spec.helpers")
local q = h.shell_quote

local plugin = h.install_plugin

-- A plugin adding `astro hello` with the given flags (Lua source of the list).
local function hello(flags)
  return 'return { command = "hello", short = "Say hello", flags = ' .. flags ..
         ', run = function(opts, ctx) ctx.stdout:write("hello\\n") end }\n'
end

describe("a plugin author", function()
  lazy_teardown(function() h.cleanup() end)

  -- `astro plugin list` for a home holding only the plugin `src`: exit code, and its one
  -- "Not loaded:" line (or nil).
  local function refused(src)
    local home = h.tmpdir()
    local path = plugin(home, "p.lua", src)
    local r = h.run({ "plugin", "list" }, { home = home })
    local line = r.stdout:match("\nNot loaded:\n  ([^\n]*)\n$")
    return r.code, line and line:sub(#path + 1), r
  end

  it("is told when a plugin file returns nothing, instead of it going missing", function()
    local code, why = refused("local unused = 1\n")
    assert.are.equal(1, code)
    assert.are.equal(": a plugin must return a command table (or a list of them), got nil", why)
    -- other commands keep working and say why on stderr
    local home = h.tmpdir()
    plugin(home, "p.lua", "local unused = 1\n")
    local r = h.run({ "version" }, { home = home })
    assert.are.equal(0, r.code)
    assert.matches("^astro: plugin not loaded: .*/p%.lua: a plugin must return a command table", r.stderr)
  end)

  it("is told about a flag the command line cannot parse", function()
    local cases = {
      { '{ { name = "n", type = "int" } }',
        ': flag --n: type "int" is not one the command line knows: use "string", "bool" or "strings"' },
      { '{ { name = "n", type = "strings", default = "a" } }',
        ": flag --n: a strings flag has no default (it holds the values given, in order, or an empty list)" },
      { '{ { name = "n", typ = "string" } }', ': flag 1: unknown field "typ" (known: name, short, type, default, help)' },
      { '{ { name = "--n" } }', ': flag 1: name must be a word such as "reason" or "dry-run"' },
      { '{ { name = "n", short = "nn" } }', ": flag --n: short must be one letter" },
      { '{ { name = "n", type = "bool", default = "yes" } }', ": flag --n: default must be a boolean" },
      { '{ { name = "n", default = 3 } }', ": flag --n: default must be a string" },
      { '{ "n" }', ': flag 1 must be a table such as { name = "reason", type = "string" }' },
      { '"n"', ': flags must be a list such as { { name = "reason", type = "string" } }' },
    }
    for _, c in ipairs(cases) do
      local code, why = refused(hello(c[1]))
      assert.are.equal(1, code, c[1])
      assert.are.equal(c[2], why, c[1])
    end
    local code, why, r = refused(hello('{ { name = "n", short = "n", type = "bool", default = false, help = "x" } }'))
    assert.are.equal(0, code, r.stdout)
    assert.is_nil(why)
  end)

  it("gets each value of a strings flag given many times, in order, and an empty list when it is not given", function()
    local home = h.tmpdir()
    plugin(home, "p.lua", [[
return { command = "tags", flags = { { name = "tag", short = "t", type = "strings", help = "A tag" } },
  run = function(opts, ctx) ctx.stdout:write(#opts.tag, ":", table.concat(opts.tag, ","), "\n") end }
]])
    local r = h.run({ "tags", "-t", "a", "--tag", "b c", "-tc", "--tag=d" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("4:a,b c,c,d\n", r.stdout)
    r = h.run({ "tags" }, { home = home })
    assert.are.equal("0:\n", r.stdout)
    r = h.run({ "tags", "--help" }, { home = home })
    assert.matches("%-t, %-%-tag stringArray   A tag\n", r.stdout)
  end)

  it("gets help without blank lines when the command has no description", function()
    local home = h.tmpdir()
    plugin(home, "p.lua", 'return { command = "hello", run = function() end }\n')
    local r = h.run({ "hello", "--help" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^Current Context: Astro\n\nUsage:\n  astro hello", r.stdout)
  end)

  it("finds in docs/automation.md the shipped example plugin and its spec, word for word", function()
    local guide = assert(h.read_file(h.root .. "/docs/automation.md"))
    local spec = assert(h.read_file(h.root .. "/examples/plugins/offboard_spec.lua"))
    local plugin_src = assert(h.read_file(h.root .. "/examples/plugins/offboard.lua"))
    assert.is_truthy(guide:find("```lua\n" .. spec .. "```\n", 1, true), "offboard_spec.lua differs from the guide")
    local body = plugin_src:match('\nlocal astro = require%("astro"%)\n.*$')
    assert.is_truthy(guide:find(body .. "```\n", 1, true), "offboard.lua differs from the guide")
  end)

  describe("testing with astro.load_plugin", function()
    -- Runs Lua code inside the host, as a spec does, from a file in dir.
    local function lua(dir, code)
      h.write_file(dir .. "/t.lua", code)
      return h.run({ "--lua", dir .. "/t.lua" })
    end

    it("gives the command tables of a good plugin, file or folder", function()
      local home = h.tmpdir()
      local file = plugin(home, "hello.lua", hello("{}"))
      plugin(home, "multi/init.lua", [[
local words = require("words")
return { { command = "greet", short = words.greet }, { command = "greet world", run = function() end } }
]])
      plugin(home, "multi/words.lua", 'return { greet = "Greetings" }\n')
      local r = lua(home, string.format([[
local astro = require("astro")
local specs = assert(astro.load_plugin(%q))
io.write(#specs, " ", specs[1].command, " ", specs[1].short, " ", type(specs[1].run), "\n")
specs = assert(astro.load_plugin(%q))
io.write(#specs, " ", specs[1].command, " ", specs[1].short, " ", specs[2].command, "\n")
]], file, home .. "/.astro/plugins/multi"))
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("1 hello Say hello function\n2 greet Greetings greet world\n", r.stdout)
    end)

    it("refuses what astro would refuse: undeclared globals, unsafe files, bytecode", function()
      local home = h.tmpdir()
      local glob = plugin(home, "glob.lua", 'counter = 0\nreturn { command = "c", run = function() end }\n')
      local open = plugin(home, "open.lua", hello("{}"))
      h.sh("chmod 664 " .. q(open))
      local bytecode = home .. "/.astro/plugins/bc.lua"
      local r0 = lua(home, string.format([[
local f = assert(io.open(%q, "wb"))
f:write(string.dump(function() return {} end))
f:close()
]], bytecode))
      assert.are.equal(0, r0.code, r0.stderr)
      h.sh("chmod 600 " .. q(bytecode))
      local r = lua(home, string.format([[
local astro = require("astro")
for _, p in ipairs({ %q, %q, %q }) do
  local specs, err = astro.load_plugin(p)
  io.write(tostring(specs), " | ", err, "\n")
end
]], glob, open, bytecode))
      assert.are.equal(0, r.code, r.stderr)
      local lines = h.lines(r.stdout)
      assert.are.equal(3, #lines, r.stdout)
      assert.are.equal("nil | " .. glob .. ":1: assignment to undeclared global 'counter' (in plugin " .. glob ..
        "; declare it with local)", lines[1])
      assert.are.equal("nil | " .. open .. " is refused: it is writable by its group (mode 664); run: chmod go-w " ..
        open, lines[2])
      assert.are.equal("nil | " .. bytecode .. ": precompiled Lua (bytecode) is refused; use the source file", lines[3])
    end)
  end)
end)
