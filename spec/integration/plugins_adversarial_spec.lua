-- Plugins and `astro run` scripts trying to get out of their sandbox: bytecode, unsafe file
-- modes, undeclared globals, private modules, the string metatable, the token, shared globals.
local h = require("spec.helpers")

local q = h.shell_quote
local BYTECODE = string.dump(function() return 1 end)

local function esc(s) return (s:gsub("%p", "%%%0")) end

local plugin = h.install_plugin

-- `astro organization user probe CODE` runs CODE inside the plugin's environment and prints
-- "ok: <result>" or "error: <message>".
local function probe_src(name)
  return string.format([[
return { command = "organization user %s", use = "%s CODE", args = { max = 1 },
  run = function(opts, ctx)
    local fn, err = load(opts.args[1], "=probe")
    if not fn then ctx.stdout:write("load: ", err, "\n") return 3 end
    local ok, res = pcall(fn)
    ctx.stdout:write(ok and "ok: " or "error: ", tostring(res), "\n")
    return ok and 0 or 1
  end }
]], name, name)
end
local PROBE = probe_src("probe")

describe("the plugin sandbox", function()
  local box = h.use_sandbox({ reset = false })
  local probe_path

  lazy_setup(function()
    probe_path = plugin(box.home, "probe.lua", PROBE)
  end)

  local function probe(code)
    return box.run({ "organization", "user", "probe", code })
  end

  it("refuses a plugin file that holds bytecode", function()
    local home2 = box.sb:home()
    local path = plugin(home2, "bc.lua", BYTECODE)
    local r = h.run({ "organization", "list" }, { home = home2 })
    assert.are.equal(0, r.code)
    assert.are.equal("astro: plugin not loaded: " .. path ..
      ": precompiled Lua (bytecode) is refused; use the source file\n", r.stderr)
  end)

  it("refuses bytecode given to load inside a plugin, whatever mode it asks for", function()
    local bc = string.format("%q", BYTECODE):gsub("\\\n", "\\n")
    local r = probe("return select(2, load(" .. bc .. "))")
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^ok: attempt to load a binary chunk %(mode is 't'%)\n$", r.stdout)
    r = probe("return select(2, load(" .. bc .. ", 'x', 'b'))")
    assert.matches("^ok: attempt to load a binary chunk %(mode is 't'%)\n$", r.stdout)
  end)

  it("refuses bytecode run with astro run, and loaded from a script", function()
    local dir = h.tmpdir()
    h.write_file(dir .. "/bc.luac", BYTECODE)
    local r = box.run({ "run", dir .. "/bc.luac" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: " .. dir .. "/bc.luac: precompiled Lua (bytecode) is refused; use the source file\n",
      r.stderr)
    h.write_file(dir .. "/s.lua", "print(select(2, loadfile(arg[1])))\nprint(pcall(dofile, arg[1]))\n")
    r = box.run({ "run", dir .. "/s.lua", dir .. "/bc.luac" })
    assert.are.equal(0, r.code, r.stderr)
    local msg = dir .. "/bc.luac: precompiled Lua (bytecode) is refused; use the source file"
    assert.are.equal(msg .. "\nfalse\t" .. msg .. "\n", r.stdout)
  end)

  it("refuses plugin files writable by others or by the group, saying how to fix them", function()
    local home2 = box.sb:home()
    local ww = plugin(home2, "a-world.lua", probe_src("pa"), "666")
    local gw = plugin(home2, "b-group.lua", probe_src("pb"), "660")
    local r = h.run({ "plugin", "list" }, { home = home2 })
    assert.are.equal(1, r.code)
    assert.matches("\nNot loaded:\n" ..
      "  " .. esc(ww) .. " is refused: it is writable by others %(mode 666%); run: chmod go%-w " .. esc(ww) .. "\n" ..
      "  " .. esc(gw) .. " is refused: it is writable by its group %(mode 660%); run: chmod go%-w " .. esc(gw) .. "\n$",
      r.stdout)
    r = h.run({ "organization", "user", "pa", "return 1" }, { home = home2 })
    assert.are.equal(2, r.code)
  end)

  it("refuses every plugin of a plugins folder writable by others", function()
    local home2 = box.sb:home()
    plugin(home2, "probe.lua", PROBE)
    local dir = home2 .. "/.astro/plugins"
    h.sh("chmod 777 " .. q(dir))
    local r = h.run({ "organization", "user", "probe", "return 1" }, { home = home2 })
    assert.are.equal(2, r.code)
    assert.matches("^astro: plugin not loaded: " .. esc(dir) .. " is refused: it is writable by others %(mode 777%)",
      r.stderr)
  end)

  it("refuses a folder plugin whose folder is writable by others", function()
    local home2 = box.sb:home()
    plugin(home2, "kit/init.lua", PROBE)
    local dir = home2 .. "/.astro/plugins/kit"
    h.sh("chmod 777 " .. q(dir))
    local r = h.run({ "plugin", "list" }, { home = home2 })
    assert.are.equal(1, r.code)
    assert.matches("Not loaded:\n  " .. esc(dir) .. " is refused: it is writable by others %(mode 777%)", r.stdout)
  end)

  it("refuses a file of a folder plugin that is writable by others when it is required", function()
    local home2 = box.sb:home()
    local helper = plugin(home2, "kit/helper.lua", "return {}\n", "666")
    local init = plugin(home2, "kit/init.lua", 'local helper = require("helper")\n' .. PROBE)
    local r = h.run({ "organization", "list" }, { home = home2 })
    assert.are.equal(0, r.code)
    assert.are.equal("astro: plugin not loaded: " .. init .. ":1: " .. helper .. " is refused: it is writable by " ..
      "others (mode 666); run: chmod go-w " .. helper .. "\n", r.stderr)
  end)

  it("raises an error naming an undeclared global that is read, with file and line", function()
    local home2 = box.sb:home()
    local path = plugin(home2, "typo.lua", 'local ok = true\nprnt("x")\nreturn {}\n')
    local r = h.run({ "organization", "list" }, { home = home2 })
    assert.are.equal(0, r.code)
    assert.are.equal("astro: plugin not loaded: " .. path .. ":2: undeclared global 'prnt' (in plugin " .. path ..
      "; declare it with local)\n", r.stderr)
  end)

  it("raises an error naming an undeclared global that is written, with file and line", function()
    local home2 = box.sb:home()
    local path = plugin(home2, "leak.lua", '\n\nx = 1\nreturn {}\n')
    local r = h.run({ "organization", "list" }, { home = home2 })
    assert.are.equal("astro: plugin not loaded: " .. path .. ":3: assignment to undeclared global 'x' (in plugin " ..
      path .. "; declare it with local)\n", r.stderr)
  end)

  it("has no debug and no package library", function()
    for _, name in ipairs({ "debug", "package" }) do
      local r = probe("return " .. name)
      assert.are.equal(1, r.code)
      assert.matches("^error: probe:1: undeclared global '" .. name .. "' %(in plugin " .. esc(probe_path), r.stdout)
    end
  end)

  it("refuses to require modules that are not public", function()
    for _, m in ipairs({ "astro.core.config", "astro.auth", "astro.api", "astro.cli", "astro.config",
                         "astro.sandbox", "astro.plugins", "os", "io", "debug" }) do
      local r = probe("local m = require('" .. m .. "') return m")
      assert.are.equal(1, r.code, m)
      assert.matches("^error: probe:1: module '" .. esc(m) .. "' is not available to plugin " .. esc(probe_path) ..
        " %(it may use astro and its public modules, and files of its own folder%)\n$", r.stdout)
    end
    local r = probe("return require('astro.json').encode({1})")
    assert.are.equal("ok: [1]\n", r.stdout)
  end)

  it("cannot end the process with os.exit, and is told to return a status instead", function()
    local r = probe("os.exit(0)")
    assert.are.equal(1, r.code)
    assert.matches("^error: probe:1: os%.exit is not available here: return an exit status instead", r.stdout)
  end)

  it("keeps a plugin's changes to string.upper to that plugin", function()
    local home2 = box.sb:home()
    plugin(home2, "10-evil.lua", 'string.upper = function() return "pwned" end\n' .. probe_src("evil"))
    plugin(home2, "20-probe.lua", PROBE)
    local r = h.run({ "organization", "user", "evil", "return string.upper('a')" }, { home = home2 })
    assert.are.equal("ok: pwned\n", r.stdout)
    r = h.run({ "organization", "user", "probe", "return string.upper('ok') .. ('ok'):upper()" }, { home = home2 })
    assert.are.equal("ok: OKOK\n", r.stdout)
    r = h.run({ "organization", "user", "list" }, { home = home2 })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^ FULLNAME%s+EMAIL%s+ID%s+ORGANIZATION ROLE%s+CREATE DATE", r.stdout)
    assert.is_nil(r.stdout:find("pwned", 1, true))
  end)

  it("cannot reach the string metatable", function()
    local r = probe("return getmetatable('')")
    assert.are.equal("ok: false\n", r.stdout)
    r = probe("return ('x').upper == string.upper")
    assert.are.equal("ok: true\n", r.stdout)
  end)

  -- Regression (this failed before the fix): astro.client() keeps the current context (client.context, with `token` and
  -- `refreshtoken`) and the whole config (client.config.tree.contexts.*.token) in plain fields,
  -- so a plugin walking what it can reach prints the token. api.lua says the Authorization is
  -- "kept out of the client table so that no script can read it from there".
  it("cannot find the token in anything it can reach", function()
    local canary = "canary-" .. tostring(os.time()) .. "-7f3a9c"
    box.sb:control("POST", "/_sandbox/tokens", { token = canary })
    local home2 = box.sb:home({ token = canary })
    plugin(home2, "dump.lua", [[
local seen = {}
local function walk(out, v, path)
  if type(v) == "string" then out:write(path, " = ", v, "\n") return end
  if type(v) ~= "table" or seen[v] then return end
  seen[v] = true
  for k, x in pairs(v) do walk(out, x, path .. "." .. tostring(k)) end
  local mt = getmetatable(v)
  if type(mt) == "table" then walk(out, mt, path .. ".<mt>") end
end
return { command = "organization user dump", run = function(_, ctx)
  local users = assert(astro.users.list())
  walk(ctx.stdout, astro, "astro")
  walk(ctx.stdout, astro.client(), "client")
  walk(ctx.stdout, astro.config.current_context(), "context")
  walk(ctx.stdout, ctx, "ctx")
  ctx.stdout:write("dump done, users: ", #users, "\n")
end }
]])
    local r = h.run({ "organization", "user", "dump" }, { home = home2 })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("dump done, users: 3\n$", r.stdout)
    assert.matches("\ncontext%.organization = clt0acme000010bhys38c6ryb\n", r.stdout)
    assert.is_nil(r.stderr:find(canary, 1, true))
    assert.is_nil(r.stdout:find(canary, 1, true), "the token leaks: " ..
      table.concat((function()
        local hits = {}
        for line in r.stdout:gmatch("[^\n]+") do
          if line:find(canary, 1, true) then hits[#hits + 1] = line:match("^(%S+)") end
        end
        return hits
      end)(), ", "))
  end)

  it("keeps each plugin's globals to itself", function()
    local home2 = box.sb:home()
    plugin(home2, "10-a.lua", 'rawset(_G, "shared", 42)\n' .. probe_src("pa"))
    plugin(home2, "20-b.lua", probe_src("pb"))
    local r = h.run({ "organization", "user", "pa", "return shared" }, { home = home2 })
    assert.are.equal("ok: 42\n", r.stdout)
    r = h.run({ "organization", "user", "pb", "return rawget(_G, 'shared')" }, { home = home2 })
    assert.are.equal("ok: nil\n", r.stdout)
    r = h.run({ "organization", "user", "pb", "return shared" }, { home = home2 })
    assert.matches("^error: probe:1: undeclared global 'shared'", r.stdout)
  end)
end)
