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

-- What a plugin is loaded from: every folder of its real path (a folder plugin's subfolders, the
-- folder a plugin link points into, ~/.astro) and the file itself, judged on the descriptor the
-- code is read from.
describe("the files a plugin is loaded from", function()
  local box = h.use_sandbox({ reset = false })
  local sys = require("astro.core.sys")

  local function plugin_list(home)
    return h.run({ "10", h.astro, "plugin", "list" }, { home = home, bin = "timeout" })
  end

  it("refuses a folder plugin whose subfolder others can write", function()
    local home2 = box.sb:home()
    local util = plugin(home2, "kit/lib/util.lua", "return { n = 1 }\n")
    local init = plugin(home2, "kit/init.lua", 'local util = require("lib.util")\n' .. probe_src("kitprobe"))
    local lib = home2 .. "/.astro/plugins/kit/lib"
    h.sh("chmod 777 " .. q(lib))
    local r = plugin_list(home2)
    assert.are.equal(1, r.code)
    assert.matches("Not loaded:\n  " .. esc(init) .. ":1: " .. esc(util) .. " is refused: its folder " .. esc(lib) ..
      " is writable by others %(mode 777%); run: chmod go%-w " .. esc(lib) .. "\n", r.stdout)
  end)

  it("refuses a plugin link that points into a folder others can write", function()
    local home2 = box.sb:home()
    local shared = h.tmpdir() .. "/shared"
    h.sh("mkdir -m 777 " .. q(shared) .. " && chmod 777 " .. q(shared))
    h.write_file(shared .. "/p.lua", probe_src("linked"))
    h.sh("chmod 600 " .. q(shared .. "/p.lua"))
    local link = plugin(home2, "placeholder.lua", "")
    h.sh("rm " .. q(link))
    link = home2 .. "/.astro/plugins/linked.lua"
    h.sh("ln -s " .. q(shared .. "/p.lua") .. " " .. q(link))
    local r = plugin_list(home2)
    assert.are.equal(1, r.code)
    assert.matches("Not loaded:\n  " .. esc(link) .. " is refused: its folder " .. esc(shared) ..
      " is writable by others %(mode 777%); run: chmod go%-w " .. esc(shared) .. "\n", r.stdout)
    -- The same folder made the user's alone: the link is followed and the plugin loads (the
    -- folders above it, such as /tmp, root's with the sticky bit, are fine).
    h.sh("chmod 700 " .. q(shared))
    r = plugin_list(home2)
    assert.are.equal(0, r.code, r.stdout .. r.stderr)
    assert.matches("organization user linked", r.stdout)
  end)

  it("refuses every plugin when ~/.astro itself is writable by others", function()
    local home2 = box.sb:home()
    plugin(home2, "probe.lua", PROBE)
    local dot = home2 .. "/.astro"
    h.sh("chmod 777 " .. q(dot))
    local r = h.run({ "organization", "user", "probe", "return 1" }, { home = home2 })
    assert.are.equal(2, r.code)
    assert.matches("^astro: plugin not loaded: " .. esc(dot .. "/plugins") .. " is refused: its folder " .. esc(dot) ..
      " is writable by others %(mode 777%); run: chmod go%-w " .. esc(dot) .. "\n", r.stderr)
  end)

  it("refuses a FIFO as a plugin file, or as a file a folder plugin requires, without waiting on it", function()
    local home2 = box.sb:home()
    local dir = home2 .. "/.astro/plugins"
    plugin(home2, "kit/init.lua", 'local helper = require("helper")\n' .. probe_src("kitprobe"))
    h.sh("mkfifo " .. q(dir .. "/pipe.lua") .. " " .. q(dir .. "/kit/helper.lua"))
    local t0 = sys.now()
    local r = plugin_list(home2)
    assert.is_true(sys.now() - t0 < 5, "astro waited on a FIFO")
    assert.are.equal(1, r.code)
    assert.matches("Not loaded:\n", r.stdout)
    assert.matches("\n  " .. esc(dir .. "/kit/init.lua") .. ":1: " .. esc(dir .. "/kit/helper.lua") ..
      " is refused: it is not a regular file %(a FIFO, device or folder%)\n", r.stdout)
    assert.matches("\n  " .. esc(dir .. "/pipe.lua") .. " is refused: it is not a regular file %(a FIFO, device or " ..
      "folder%)\n", r.stdout)
  end)

  it("loads only what it checked: a link swapped between the check and the read never runs unsafe code", function()
    local home2 = box.sb:home()
    local src = h.tmpdir()
    local marker = src .. "/ran"
    h.write_file(src .. "/good.lua", probe_src("swapped"))
    -- Writable by others: refused, so it must never run.
    h.write_file(src .. "/evil.lua", string.format('local f = io.open(%q, "a") f:write("x") f:close()\n', marker) ..
      probe_src("swapped"))
    h.sh("chmod 600 " .. q(src .. "/good.lua") .. " && chmod 666 " .. q(src .. "/evil.lua"))
    local dir = home2 .. "/.astro/plugins"
    plugin(home2, "placeholder.lua", "")
    h.sh("rm " .. q(dir .. "/placeholder.lua"))
    local link = dir .. "/swapped.lua"
    h.sh("ln -s " .. q(src .. "/good.lua") .. " " .. q(link))
    -- Swaps the link as fast as rename(2) goes, for at most a minute.
    local flip = string.format([[
import os, time
end = time.time() + 60
n = 0
while time.time() < end:
    for target in (%q, %q):
        tmp = %q + str(n)
        n += 1
        os.symlink(target, tmp)
        os.rename(tmp, %q)
]], src .. "/good.lua", src .. "/evil.lua", dir .. "/.swap", link)
    h.write_file(src .. "/flip.py", flip)
    local flipper = h.capture(q(h.python) .. " " .. q(src .. "/flip.py") .. " >/dev/null 2>&1 & echo $!"):gsub("%s+$", "")
    local loaded, refused = 0, 0
    for _ = 1, 150 do
      local r = h.run({ "plugin", "list" }, { home = home2 })
      if r.stdout:find("is refused: it is writable by others", 1, true) then refused = refused + 1
      elseif r.code == 0 then loaded = loaded + 1 end
    end
    h.sh("kill " .. flipper .. " 2>/dev/null")
    assert.is_false(sys.stat(marker) ~= nil, "the unsafe file ran " .. #(h.read_file(marker) or "") ..
      " times in 150 loads")
    assert.is_true(loaded > 0 and refused > 0, string.format("the swap was not seen (%d loaded, %d refused)",
      loaded, refused))
  end)
end)
