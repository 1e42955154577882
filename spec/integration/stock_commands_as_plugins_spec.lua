-- Every stock command as a plugin: each file of lua/astro/commands/ is a command table in the
-- plugin format (`command = "organization user invite"`, `use = "invite [email]"`, `aliases`,
-- each on its own line at the top level of the returned table) built on the public API only.
-- So a copy of it in the plugins folder, under another name as a user would rename it, must be
-- a working command: it loads, shows its help, and does what the stock command does.
local h = require("spec.helpers")
local json = require("astro.json")
local config = require("astro.core.config")

local ACME, GLOBEX, RAJ = h.ids.ACME, h.ids.GLOBEX, h.ids.RAJ
local INVITES = "/v1/organizations/" .. ACME .. "/invites"
local TEAM = "clmteamde00101f1sxbrxz86t" -- Acme team "Data Engineering" (spec/support/sandbox_teams.py)
local TOKENS = "/v1/organizations/" .. ACME .. "/tokens"
local TOKEN_CI = "clotokci00010r7u4hqw74ajw" -- the demo token "CI/CD Token"
local SUFFIX = "-copy"

-- The stock command files, found by a glob: { file = "lua/astro/commands/...", path = the
-- command path that file's place in the tree gives it ("organization user invite") }.
local function stock_files()
  local dir = h.root .. "/lua/astro/commands"
  local out = {}
  local found = h.lines(h.capture("cd " .. h.shell_quote(dir) .. " && find . -type f -name '*.lua' | LC_ALL=C sort"))
  for _, f in ipairs(found) do
    local rel = f:gsub("^%./", "")
    local path = rel:gsub("%.lua$", ""):gsub("/init$", ""):gsub("/", " ")
    out[#out + 1] = { file = "lua/astro/commands/" .. rel, source = dir .. "/" .. rel, path = path }
  end
  table.sort(out, function(a, b) return a.path < b.path end)
  return out
end

local function quote_pattern(s) return (s:gsub("%p", "%%%0")) end

--- The copy a user would make of a stock command file: the last word of `command`, the first
-- word of `use` and each alias get SUFFIX. Returns { source, command, use, aliases } of the copy,
-- or nil and why the file cannot be copied that way.
local function make_copy(stock)
  local text = assert(h.read_file(stock.source), "cannot read " .. stock.file)
  local lines = {}
  for line in (text:sub(-1) == "\n" and text or text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  -- `command = "..."` on its own line; its indentation is the top level of the returned table.
  local at, indent, command
  for i, line in ipairs(lines) do
    local ind, _, value = line:match("^(%s*)command%s*=%s*(['\"])(.-)%2%s*,?%s*$")
    if ind then
      if at then
        return nil, string.format("%s declares command = ... twice (lines %d and %d): one command table per file",
          stock.file, at, i)
      end
      at, indent, command = i, ind, value
    end
  end
  if not at then
    return nil, stock.file .. " does not declare command = ...: stock commands must be in the plugin format"
  end
  if command ~= stock.path then
    return nil, string.format('%s declares command = "%s", but its place in lua/astro/commands/ makes it "%s"',
      stock.file, command, stock.path)
  end
  local copy = { command = command:gsub("(%S+)$", "%1" .. SUFFIX) }
  local last = command:match("(%S+)$")
  for i, line in ipairs(lines) do
    local top = line:sub(1, #indent) == indent and not line:sub(#indent + 1, #indent + 1):match("%s")
    local body = line:sub(#indent + 1)
    if i == at then
      lines[i] = line:gsub("(['\"])(.-)%1", function(q) return q .. copy.command .. q end, 1)
    elseif top and body:match("^use%s*=") then
      local q, value, rest = body:match("^use%s*=%s*(['\"])(.-)%1(%s*,?%s*)$")
      if not q then
        return nil, string.format("%s:%d: use must be one string on its own line, as use = \"%s ...\"", stock.file, i, last)
      end
      if value:match("^(%S+)") ~= last then
        return nil, string.format('%s:%d: use = "%s" must start with the command\'s last word "%s"', stock.file, i,
          value, last)
      end
      copy.use = value:gsub("^(%S+)", "%1" .. SUFFIX)
      lines[i] = indent .. "use = " .. q .. copy.use .. q .. rest
    elseif top and body:match("^aliases%s*=") then
      local list = body:match("^aliases%s*=%s*(%b{})%s*,?%s*$")
      if not list then
        return nil, string.format("%s:%d: aliases must be one list on its own line, as aliases = { \"ls\" }", stock.file, i)
      end
      copy.aliases = {}
      local edited = list:gsub("(['\"])(.-)%1", function(q, a)
        copy.aliases[#copy.aliases + 1] = a .. SUFFIX
        return q .. a .. SUFFIX .. q
      end)
      lines[i] = line:gsub(quote_pattern(list), (edited:gsub("%%", "%%%%")), 1)
    end
  end
  if not copy.use then
    return nil, string.format('%s declares no use = "%s ..." line at the top level of its command table', stock.file, last)
  end
  copy.source = table.concat(lines, "\n") .. "\n"
  return copy
end

local STOCK = stock_files()
for i, s in ipairs(STOCK) do
  s.plugin = "copy_" .. i
  s.copy, s.problem = make_copy(s)
  -- A group: another stock command goes under it.
  for _, o in ipairs(STOCK) do
    if o.path:sub(1, #s.path + 1) == s.path .. " " then s.group = true end
  end
end

local function ok(r, what)
  assert.are.equal(0, r.code, (what or "the command") .. " failed:\nstdout:\n" .. tostring(r.stdout) ..
    "\nstderr:\n" .. tostring(r.stderr))
end
-- Checks that out is the help of the copy c: a Usage: section, and the copy's path in it. The copy
-- of a group has no subcommands, and a group without any shows an empty Usage: section (as cobra
-- does), so its help is told by its flags' "help for <name>" line.
local function is_help_of(c, out, what)
  assert.truthy(out:find("\nUsage:\n", 1, true) or out:find("^Usage:\n"), "no Usage: in " .. what .. ":\n" .. out)
  if c.group then
    local name = c.copy.command:match("(%S+)$")
    assert.truthy(out:find("help for " .. name .. "\n", 1, true), what .. " is not the help of " .. c.path .. ":\n" .. out)
  else
    assert.truthy(out:find(c.path, 1, true), what .. " does not name " .. c.path .. ":\n" .. out)
  end
end
local function group(c)
  local r = c.run({})
  ok(r, c.path)
  is_help_of(c, r.stdout, c.path .. " (with no subcommand)")
end
local function same_as_stock(args)
  return function(c)
    local r, s = c.run(args), c.stock(args)
    ok(s, "the stock command")
    ok(r, c.path)
    assert.are.equal(s.stdout, r.stdout, c.path .. " and the stock command print different things")
  end
end

--- How to check that the copy of each stock command works, by the stock command's path. c.run(args)
-- runs the copy and c.stock(args) the stock command, with the test's home; c.sb is the sandbox,
-- c.home the home, c.file(name, text) writes a file, c.copy is what make_copy made.
local INVOCATIONS = {
  ["organization"] = group,
  ["organization user"] = group,
  ["plugin"] = group,
  ["organization list"] = same_as_stock({}),
  ["organization user list"] = function(c)
    same_as_stock({ "--json" })(c)
    local users = assert(json.decode(c.run({ "--json" }).stdout)).users
    assert.are.equal(3, #users)
  end,
  ["version"] = same_as_stock({}),
  ["api"] = function(c)
    same_as_stock({ "--paginate", "--jq", ".users[].username", "/organizations/{organizationId}/users" })(c)
    assert.are.equal(3, #h.lines(c.run({ "--paginate", "--jq", ".users[].id", "organizations/{organizationId}/users" }).stdout))
  end,
  ["organization role"] = group,
  ["organization role list"] = function(c)
    same_as_stock({ "-i", "--json" })(c)
    local roles = assert(json.decode(c.run({ "--json" }).stdout)).roles
    assert.are.equal(2, #roles)
  end,
  ["organization audit-logs"] = group,
  ["organization audit-logs export"] = function(c)
    local path = c.file("logs.gz", "old")
    local r = c.run({ "-o", path, "-i", "3" })
    ok(r, c.path)
    local text = assert(require("astro.core.gzip").decompress(assert(h.read_file(path))))
    assert.are.equal(2, select(2, text:gsub("\n", "")), "want the events of 3 days, got:\n" .. text)
  end,
  ["organization switch"] = function(c)
    local r = c.run({ "Globex" })
    ok(r, c.path)
    assert.matches("Successfully switched organization", r.stdout)
    local tree = assert(config.read(c.home .. "/.astro/config.yaml"))
    assert.are.equal(GLOBEX, tree.contexts.localhost.organization, "the config file's organization did not change")
  end,
  ["organization user invite"] = function(c)
    local r = c.run({ "new.person@example.com" })
    ok(r, c.path)
    local posts = h.recorded(c.sb, { method = "POST", path = INVITES })
    assert.are.equal(1, #posts, "want one POST " .. INVITES .. ", got: " .. table.concat(h.trace(h.writes(c.sb)), ", "))
    assert.are.equal("new.person@example.com", json.decode(posts[1].body).inviteeEmail)

    c.sb:reset_requests()
    local csv = c.file("people.csv", "email,role\nfirst.new@example.com,ORGANIZATION_MEMBER\n" ..
      "second.new@example.com,ORGANIZATION_BILLING_ADMIN\n")
    r = c.run({ "--file", csv })
    ok(r, c.path .. " --file")
    posts = h.recorded(c.sb, { method = "POST", path = INVITES })
    local emails = {}
    for i, p in ipairs(posts) do emails[i] = json.decode(p.body).inviteeEmail end
    table.sort(emails)
    assert.are.same({ "first.new@example.com", "second.new@example.com" }, emails)
  end,
  ["organization user update"] = function(c)
    local r = c.run({ "raj.patel@acme.io", "--role", "ORGANIZATION_BILLING_ADMIN" })
    ok(r, c.path)
    local role
    for _, u in ipairs(c.sb:state().users[ACME]) do
      if u.id == RAJ then role = u.organizationRole end
    end
    assert.are.equal("ORGANIZATION_BILLING_ADMIN", role, "raj.patel@acme.io's role did not change")
    local posts = h.trace(h.recorded(c.sb, { method = "POST" }))
    assert.are.same({ "POST /v1/organizations/" .. ACME .. "/users/" .. RAJ .. "/roles" }, posts)
  end,
  ["organization team"] = group,
  ["organization team user"] = group,
  ["organization team list"] = function(c)
    same_as_stock({ "--json" })(c)
    assert.are.equal(3, #assert(json.decode(c.run({ "--json" }).stdout)).teams)
  end,
  ["organization team create"] = function(c)
    ok(c.run({ "--name", "Copied", "--role", "ORGANIZATION_MEMBER" }), c.path)
    local names = {}
    for _, t in ipairs(c.sb:state().teams[ACME]) do names[#names + 1] = t.name end
    assert.are.equal("Copied", names[#names])
  end,
  ["organization team update"] = function(c)
    ok(c.run({ TEAM, "--name", "Renamed" }), c.path)
    assert.are.equal("Renamed", c.sb:state().teams[ACME][1].name)
  end,
  ["organization team delete"] = function(c)
    ok(c.run({ TEAM }), c.path)
    assert.are.equal(2, #c.sb:state().teams[ACME])
  end,
  ["organization team user list"] = same_as_stock({ "--team-id", TEAM, "-o", "csv" }),
  ["organization team user add"] = function(c)
    ok(c.run({ "--team-id", TEAM, "--user-id", h.ids.MEI }), c.path)
    assert.are.equal(3, #c.sb:state().teamMembers[TEAM])
  end,
  ["organization team user remove"] = function(c)
    ok(c.run({ "--team-id", TEAM, "--user-id", RAJ }), c.path)
    assert.are.equal(1, #c.sb:state().teamMembers[TEAM])
  end,
  ["organization token"] = group,
  ["organization token list"] = function(c)
    same_as_stock({ "--json" })(c)
    assert.are.equal(3, #assert(json.decode(c.run({ "--json" }).stdout)).tokens)
  end,
  ["organization token roles"] = same_as_stock({ TOKEN_CI }),
  ["organization token create"] = function(c)
    local r = c.run({ "--name", "Copy Token", "--role", "ORGANIZATION_MEMBER", "--clean-output" })
    ok(r, c.path)
    assert.matches("^[%w_.-]+\n$", r.stdout)
    assert.are.same({ "POST " .. TOKENS }, h.trace(h.writes(c.sb)))
  end,
  ["organization token update"] = function(c)
    ok(c.run({ TOKEN_CI, "--new-name", "Renamed Token" }), c.path)
    assert.are.equal("Renamed Token", c.sb:state().api_tokens[ACME][1].name)
  end,
  ["organization token rotate"] = function(c)
    local r = c.run({ TOKEN_CI, "--force", "--clean-output" })
    ok(r, c.path)
    assert.matches("^[%w_.-]+\n$", r.stdout)
    assert.are.same({ "POST " .. TOKENS .. "/" .. TOKEN_CI .. "/rotate" }, h.trace(h.writes(c.sb)))
  end,
  ["organization token delete"] = function(c)
    ok(c.run({ TOKEN_CI, "--force" }), c.path)
    assert.are.same({ "DELETE " .. TOKENS .. "/" .. TOKEN_CI }, h.trace(h.writes(c.sb)))
  end,
  ["plugin list"] = function(c)
    local r = c.run({})
    ok(r, c.path)
    for _, s in ipairs(STOCK) do
      if s.copy then
        assert.matches(" " .. s.plugin .. "%s+astro " .. quote_pattern(s.copy.command) .. "%s", r.stdout)
      end
    end
  end,
  ["run"] = function(c)
    local script = c.file("users.lua", [[
local users = assert(astro.users.list())
local names = {}
for i, u in ipairs(users) do names[i] = u.username end
print(#users .. " users: " .. table.concat(names, ", "))
]])
    local r = c.run({ script })
    ok(r, c.path)
    assert.are.equal("3 users: jane.doe@acme.io, raj.patel@acme.io, mei.lin@acme.io\n", r.stdout)
  end,
}

describe("every stock command copied into the plugins folder", function()
  local box = h.use_sandbox({ home = false })
  local home

  local function words(path)
    local out = {}
    for w in path:gmatch("%S+") do out[#out + 1] = w end
    return out
  end

  -- Runs astro with the test's home; no run may report a plugin that did not load.
  local function run(args)
    local r = h.run(args, { home = home })
    assert.is_nil((r.stderr or ""):find("plugin not loaded", 1, true),
      "astro " .. table.concat(args, " ") .. " reports a plugin that did not load:\n" .. tostring(r.stderr))
    return r
  end

  -- A fresh home on the sandbox with the copy of every stock command that could be copied.
  before_each(function()
    home = box.sb:home()
    for _, s in ipairs(STOCK) do
      if s.copy then h.install_plugin(home, s.plugin .. ".lua", s.copy.source) end
    end
  end)

  it("finds the stock commands, each with an invocation below", function()
    assert.is_true(#STOCK > 0, "no file found under " .. h.root .. "/lua/astro/commands")
    local missing, found = {}, {}
    for _, s in ipairs(STOCK) do
      found[s.path] = true
      if not INVOCATIONS[s.path] then missing[#missing + 1] = "add an invocation for " .. s.path .. " (" .. s.file .. ")" end
    end
    for path in pairs(INVOCATIONS) do
      if not found[path] then missing[#missing + 1] = "the invocation for " .. path .. " has no stock command" end
    end
    table.sort(missing)
    assert.are.same({}, missing)
  end)

  it("lists every copy as loaded with astro plugin list, and nothing as Not loaded", function()
    local problems = {}
    for _, s in ipairs(STOCK) do
      if s.problem then problems[#problems + 1] = s.problem end
    end
    assert.are.same({}, problems, "stock commands that cannot be copied as plugins")
    local r = run({ "plugin", "list" })
    ok(r, "astro plugin list")
    assert.is_nil(r.stdout:find("Not loaded", 1, true), r.stdout)
    for _, s in ipairs(STOCK) do
      local path = home .. "/.astro/plugins/" .. s.plugin .. ".lua"
      assert.matches("\n " .. s.plugin .. "%s+astro " .. quote_pattern(s.copy.command) .. "%s+adds%s+" ..
        quote_pattern(path) .. "%s*\n", r.stdout)
    end
  end)

  for _, s in ipairs(STOCK) do
    it("runs the copy of " .. s.path .. " (" .. s.file .. ")", function()
      assert(s.copy, s.problem)
      local copy_words = words(s.copy.command)
      local c = { sb = box.sb, home = home, copy = s.copy, path = "astro " .. s.copy.command, file = box.file,
                  group = s.group }
      function c.run(args)
        local full = { table.unpack(copy_words) }
        for _, a in ipairs(args) do full[#full + 1] = a end
        return run(full)
      end
      function c.stock(args)
        local full = words(s.path)
        for _, a in ipairs(args) do full[#full + 1] = a end
        return run(full)
      end

      local r = c.run({ "--help" })
      ok(r, c.path .. " --help")
      is_help_of(c, r.stdout, c.path .. " --help")
      -- Each alias names the copy too.
      for _, alias in ipairs(s.copy.aliases or {}) do
        local aw = { table.unpack(copy_words, 1, #copy_words - 1) }
        aw[#aw + 1] = alias
        aw[#aw + 1] = "--help"
        local ar = run(aw)
        ok(ar, "astro " .. table.concat(aw, " "))
        assert.are.equal(r.stdout, ar.stdout, "the alias " .. alias .. " does not give " .. c.path)
      end

      local invoke = INVOCATIONS[s.path]
      assert(invoke, "add an invocation for " .. s.path .. " (" .. s.file .. ")")
      box.sb:reset_requests()
      invoke(c)
    end)
  end
end)
