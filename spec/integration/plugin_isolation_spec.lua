-- A plugin that adds a command cannot change what the stock commands do through the astro API,
-- and cannot hide from `astro plugin list`: the public modules are read-only views for user
-- code, the settings (astro.bulk, astro.http.policy) cannot be changed by a plugin's top-level
-- code, and the plugins report is a copy.
local h = require("spec.helpers")

local ACME = h.ids.ACME

local plugin = h.install_plugin
local function esc(s) return (s:gsub("%p", "%%%0")) end

-- A plugin whose top-level code is `code`, declaring one harmless new command.
local function adds(code)
  return code .. '\nreturn { command = "organization user harmless", run = function() end }\n'
end

describe("plugin isolation", function()
  local box = h.use_sandbox({ home = false })

  local function posts()
    return h.recorded(box.sb, { method = "POST" })
  end

  -- The stock invite, after a plugin that tried to change it: the invite is sent as asked.
  local function invite_unchanged(home)
    local r = h.run({ "organization", "user", "invite", "new.person@acme.io" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("invite for new.person@acme.io with role ORGANIZATION_MEMBER created\n", r.stdout)
    local p = posts()
    assert.are.equal(1, #p)
    assert.are.equal("/v1/organizations/" .. ACME .. "/invites", p[1].path)
    assert.are.equal('{"inviteeEmail":"new.person@acme.io","role":"ORGANIZATION_MEMBER"}', p[1].body)
    return r
  end

  it("refuses a plugin that replaces astro.invites.create, and the stock invite sends its invite", function()
    local home = box.sb:home()
    local path = plugin(home, "evil.lua", adds([[
astro.invites.create = function(address) return { invitee = { username = address } } end]]))
    local r = invite_unchanged(home)
    assert.matches("^astro: plugin not loaded: " .. esc(path) .. ":1: astro%.invites%.create is read%-only",
      r.stderr)
  end)

  it("refuses rawset on the astro API, and on a module required by name", function()
    local home = box.sb:home()
    local path = plugin(home, "evil.lua", adds([[
rawset(astro.invites, "create", function(address) return { invitee = { username = address } } end)]]))
    local r = invite_unchanged(home)
    assert.matches("plugin not loaded: " .. esc(path) .. ":1: astro%.invites%.create is read%-only", r.stderr)
    home = box.sb:home()
    box.sb:control("POST", "/_sandbox/reset")
    path = plugin(home, "evil.lua", adds([[
require("astro.json").encode = function() return '{"inviteeEmail":"evil@example.com","role":"ORGANIZATION_OWNER"}' end]]))
    r = invite_unchanged(home)
    assert.matches("plugin not loaded: " .. esc(path) .. ":1: astro%.json%.encode is read%-only", r.stderr)
  end)

  it("refuses a plugin that replaces astro.users.list, astro.output.table or a column name", function()
    for _, code in ipairs({
      'astro.users.list = function() return {} end',
      'astro.output.table = function() return "nothing to see\\n" end',
      'astro.users.COLUMNS[1] = "PWNED"',
      'table.insert(astro.users.COLUMNS, "PWNED")',
    }) do
      local home = box.sb:home()
      local path = plugin(home, "evil.lua", adds(code))
      local r = h.run({ "organization", "user", "list" }, { home = home })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("^ FULLNAME%s+EMAIL%s+ID%s+ORGANIZATION ROLE%s+CREATE DATE%s*\n", r.stdout, nil, code)
      assert.are.equal(4, #h.lines(r.stdout), code)
      assert.matches("plugin not loaded: " .. esc(path) .. ":1: astro%.[%w_.%[%]]+ is read%-only", r.stderr, nil, code)
    end
  end)

  it("refuses a plugin that replaces astro.roles.update, and the stock update posts the role", function()
    local home = box.sb:home()
    local path = plugin(home, "evil.lua", adds([[
astro.roles.update = function() return {} end
astro.roles.VALID[3] = "ORGANIZATION_EVIL"]]))
    local r = h.run({ "organization", "user", "update", "raj.patel@acme.io", "--role", "ORGANIZATION_OWNER" },
      { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(1, #posts())
    assert.are.equal('{"organizationRole":"ORGANIZATION_OWNER"}', posts()[1].body)
    assert.matches("plugin not loaded: " .. esc(path) .. ":1: astro%.roles%.update is read%-only", r.stderr)
  end)

  it("keeps the methods of the clients and of the errors out of a plugin's reach", function()
    local home = box.sb:home()
    local path = plugin(home, "evil.lua", adds([[
local c = astro.new_client({ base_url = "http://127.0.0.1:9/v1", authorization = "x" })
getmetatable(c).post = function(_, _, body) return { invitee = { username = body.inviteeEmail } } end]]))
    local r = invite_unchanged(home)
    -- A client's metatable is hidden (getmetatable gives its name, a string).
    assert.matches("plugin not loaded: " .. esc(path) .. ":2: attempt to index a string value", r.stderr)
    home = box.sb:home()
    path = plugin(home, "evil.lua", adds([[
getmetatable(astro.errors.new("x")).__index = function() return "pwned" end]]))
    r = h.run({ "organization", "user", "invite", "not-an-address" }, { home = home })
    assert.are.equal(1, r.code)
    assert.is_nil(r.stderr:find("pwned", 1, true))
    assert.matches("plugin not loaded: " .. esc(path) .. ":1: .*is read%-only", r.stderr)
  end)

  it("keeps the methods of files out of a plugin's reach", function()
    local home = box.sb:home()
    local path = plugin(home, "evil.lua", adds([[
getmetatable(io.stdout).__index.write = function(f) return f end]]))
    local r = h.run({ "organization", "user", "list" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(4, #h.lines(r.stdout))
    assert.matches("plugin not loaded: " .. esc(path) .. ":1: .*is read%-only", r.stderr)
  end)

  it("refuses settings changed by a plugin's top-level code, which runs for every command", function()
    local script = box.file("settings.lua",
      'print(astro.http.policy.max_attempts, astro.bulk.concurrency, astro.bulk.rates.POST)\n')
    for _, code in ipairs({
      "astro.http.policy.max_attempts = 1",
      "astro.bulk.concurrency = 1",
      "astro.bulk.rates.POST = 1",
      "astro.bulk.rates = { POST = 1 }",
      "coroutine.wrap(function() astro.bulk.concurrency = 1 end)()",
      'local ok, err = astro.run_script("' .. box.dir .. '/set.lua") if not ok then error(tostring(err)) end',
    }) do
      h.write_file(box.dir .. "/set.lua", "astro.bulk.concurrency = 1\n")
      local home = box.sb:home()
      local path = plugin(home, "evil.lua", adds(code))
      local r = h.run({ "run", script }, { home = home })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("4\t16\t10\n", r.stdout, code)
      assert.matches("plugin not loaded: " .. esc(path) .. ":1: .*astro%.[%w_.]+ cannot be changed while plugins load",
        r.stderr, nil, code)
    end
  end)

  it("lets a command's run and an astro run script change the settings", function()
    local home = box.sb:home()
    plugin(home, "tune.lua", [[
return { command = "organization user tune", run = function(_, ctx)
  astro.bulk.concurrency = 3
  astro.http.policy.timeout = 7
  astro.bulk.rates = { GET = 5, POST = 2 }
  ctx.stdout:write(astro.bulk.concurrency, " ", astro.http.policy.timeout, " ", astro.bulk.rates.POST, "\n")
end }
]])
    local r = h.run({ "organization", "user", "tune" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("3 7 2\n", r.stdout)
    local script = box.file("tune.lua", [[
astro.http.policy.max_attempts = 2
astro.bulk.rates.POST = 4
print(astro.http.policy.max_attempts, astro.bulk.rates.POST)
]])
    r = h.run({ "run", script }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("2\t4\n", r.stdout)
  end)

  it("refuses a finalizer from a plugin's top-level code, which would run in another command", function()
    local home = box.sb:home()
    local path = plugin(home, "evil.lua", adds([[
setmetatable({}, { __gc = function() astro.http.policy.max_attempts = 1 end })]]))
    local script = box.file("gc.lua", 'collectgarbage() collectgarbage() print(astro.http.policy.max_attempts)\n')
    local r = h.run({ "run", script }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("4\n", r.stdout)
    assert.matches("plugin not loaded: " .. esc(path) .. ":1: .*__gc", r.stderr)
  end)

  it("refuses changes to the process's default files, random seed and collector from a plugin's top-level code",
    function()
    local out = box.dir .. "/captured.txt"
    local script = box.file("io.lua", [[
io.write("to stdout\n")
print(math.random(1, 1000000000))
print(collectgarbage("incremental"))
]])
    math.randomseed(7)
    local seeded = tostring(math.random(1, 1000000000))
    for _, code in ipairs({
      'io.output("' .. out .. '")',
      "math.randomseed(7)",
      'collectgarbage("generational")',
    }) do
      local home = box.sb:home()
      local path = plugin(home, "evil.lua", adds(code))
      local r = h.run({ "run", script }, { home = home })
      assert.are.equal(0, r.code, r.stderr)
      local lines = h.lines(r.stdout)
      assert.are.equal("to stdout", lines[1], code)
      assert.are_not.equal(seeded, lines[2], code)
      assert.are.equal("incremental", lines[3], code)
      assert.matches("plugin not loaded: " .. esc(path) .. ":1: .*while plugins load", r.stderr, nil, code)
    end
  end)

  it("keeps a plugin's top-level astro.connect from tracing the stock commands' requests", function()
    local home = box.sb:home()
    local trace = box.dir .. "/trace.txt"
    h.write_file(trace, "")
    plugin(home, "tracer.lua", adds(string.format([[
astro.connect({ debug = true, stderr = io.open(%q, "a") })]], trace)))
    local r = h.run({ "organization", "user", "list" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(4, #h.lines(r.stdout))
    assert.are.equal("", h.read_file(trace))
  end)

  -- Regression: a plugin's top-level code runs for every command, before --dry-run applies;
  -- it sent real changes and wrote the config file, even under --dry-run.
  it("lets a plugin's top-level code send nothing and write no config, under --dry-run too", function()
    local home = box.sb:home()
    local config = home .. "/.astro/config.yaml"
    local before = h.read_file(config)
    local path = plugin(home, "sender.lua", adds([[
local ok, err = astro.invites.create("loaded@acme.io")
io.stderr:write("invite: ", tostring(ok and "sent" or err.message), "\n")
ok, err = astro.config.set_context({ workspace = "hijacked" })
io.stderr:write("config: ", tostring(ok and "written" or err.message), "\n")]]))
    for _, args in ipairs({ { "organization", "user", "list" },
                            { "organization", "user", "update", "mei.lin@acme.io", "-r", "ORGANIZATION_OWNER", "--dry-run" } }) do
      local r = h.run(args, { home = home })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("invite: a plugin cannot send requests while it loads", r.stderr, 1, true)
      assert.matches("config: a plugin cannot change the config file while it loads", r.stderr, 1, true)
      assert.are.same({}, posts())
      assert.are.equal(before, h.read_file(config))
    end
    assert.truthy(path)
  end)

  it("lists a plugin that edits the plugins report to hide itself", function()
    local home = box.sb:home()
    local path = plugin(home, "hider.lua", [[
local report = astro.plugins.report()
setmetatable(report.loaded, { __newindex = function() end })
report.dir = "/nowhere"
return { command = "organization user hidden", run = function() end }
]])
    local r = h.run({ "plugin", "list" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("Plugins folder: " .. home .. "/.astro/plugins", h.lines(r.stdout)[1])
    assert.matches("\n hider%s+astro organization user hidden%s+adds%s+" .. esc(path), r.stdout)
  end)

  it("lists a plugin that removes another plugin from the report", function()
    local home = box.sb:home()
    local a = plugin(home, "10-wrapper.lua", [[
return { command = "organization user list", wrap = true, run = function(opts, ctx, inner)
  return inner(opts, ctx) end }
]])
    plugin(home, "20-remover.lua", adds("table.remove(astro.plugins.report().loaded, 1)"))
    local r = h.run({ "plugin", "list" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("\n 10%-wrapper%s+astro organization user list%s+wraps%s+" .. esc(a), r.stdout)
    assert.matches("\n 20%-remover%s+astro organization user harmless%s+adds", r.stdout)
  end)

  it("refuses a plugin that wraps astro plugin list", function()
    local home = box.sb:home()
    local path = plugin(home, "quiet.lua", [[
return { command = "plugin list", wrap = true, run = function(_, ctx) ctx.stdout:write("no plugins\n") end }
]])
    local r = h.run({ "plugin", "list" }, { home = home })
    assert.are.equal(1, r.code)
    assert.matches("\nNot loaded:\n  " .. esc(path) .. ': "astro plugin list" cannot be wrapped', r.stdout)
    r = h.run({ "plugin", "ls" }, { home = home })
    assert.matches("Not loaded:", r.stdout)
  end)

  it("shows control characters of plugin file names escaped, so a name cannot erase its line", function()
    local home = box.sb:home()
    plugin(home, "x\27[2K\r.lua", "return 42\n")
    plugin(home, "y\27[1A.lua", adds(""))
    local r = h.run({ "plugin", "list" }, { home = home })
    assert.are.equal(1, r.code, r.stderr)
    assert.is_nil(r.stdout:find("\27", 1, true))
    assert.is_nil(r.stdout:find("\r", 1, true))
    assert.matches("\n y\\x1b%[1A%s+astro organization user harmless", r.stdout)
    assert.matches("\nNot loaded:\n  [^\n]*/x\\x1b%[2K\\x0d%.lua: a plugin must return", r.stdout)
    r = h.run({ "organization", "user", "list" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^astro: plugin not loaded: [^\n]*/x\\x1b%[2K\\x0d%.lua: a plugin must return", r.stderr)
  end)
end)
