-- Plugins: Lua files and folders in $ASTRO_HOME/.astro/plugins that add or wrap commands.
local h = require("spec.helpers")

local ACME = h.ids.ACME
local MEI = h.ids.MEI

local plugin = h.install_plugin

local OFFBOARD = [[
return {
  command = "organization user offboard",
  use = "offboard EMAIL",
  short = "Demote a user to ORGANIZATION_MEMBER",
  args = { max = 1 },
  mutates = true,
  run = function(opts, ctx)
    local user, err = astro.users.find(opts.args[1])
    if not user then return nil, err end
    local ok, uerr = astro.roles.update(user, "ORGANIZATION_MEMBER")
    if not ok then return nil, uerr end
    ctx.stdout:write("offboarded ", user.username, "\n")
  end,
}
]]

-- A plugin wrapping `organization user invite` that prints markers around the stock run.
local function marker(tag)
  return string.format([[
return {
  command = "organization user invite",
  wrap = true,
  run = function(opts, ctx, inner)
    ctx.stdout:write("%s:before\n")
    local res, err = inner(opts, ctx)
    ctx.stdout:write("%s:after\n")
    return res, err
  end,
}
]], tag, tag)
end

local NOOP = 'return { command = "organization user noop", run = function(_, ctx) ctx.stdout:write("noop ran\\n") end }\n'

describe("astro plugins", function()
  local box = h.use_sandbox({ home = false })

  it("adds a command from a file plugin, listed in its group's help", function()
    local home = box.sb:home()
    plugin(home, "offboard.lua", OFFBOARD)
    local r = h.run({ "organization", "user", "--help" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("\n  offboard%s+Demote a user to ORGANIZATION_MEMBER\n", r.stdout)
    assert.are.equal("", r.stderr)
    r = h.run({ "organization", "user", "offboard", "--help" }, { home = home })
    assert.matches("astro organization user offboard EMAIL %[flags%]", r.stdout)
    assert.matches("%-%-dry%-run", r.stdout)
  end)

  it("runs a plugin command against the API with the public functions", function()
    local home = box.sb:home()
    plugin(home, "offboard.lua", OFFBOARD)
    local r = h.run({ "organization", "user", "offboard", "MEI.LIN@acme.io" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("offboarded mei.lin@acme.io\n", r.stdout)
    local posts = {}
    for _, req in ipairs(box.sb:requests()) do
      if req.method == "POST" then posts[#posts + 1] = req end
    end
    assert.are.equal(1, #posts)
    assert.are.equal("/v1/organizations/" .. ACME .. "/users/" .. MEI .. "/roles", posts[1].path)
    assert.are.equal('{"organizationRole":"ORGANIZATION_MEMBER"}', posts[1].body)
    for _, u in ipairs(box.sb:state().users[ACME]) do
      if u.id == MEI then assert.are.equal("ORGANIZATION_MEMBER", u.organizationRole) end
    end
  end)

  it("sends the dry-run plan of a stdout_data command to stderr, leaving stdout to its data", function()
    local home = box.sb:home()
    plugin(home, "offboard.lua", OFFBOARD)
    plugin(home, "offboard_data.lua", (OFFBOARD:gsub('"organization user offboard"', '"organization user offboard2"')
      :gsub('use = "offboard EMAIL"', 'use = "offboard2 EMAIL"'):gsub("mutates = true,", "mutates = true, stdout_data = true,")))
    local plan = "dry run: POST /organizations/" .. ACME .. "/users/" .. MEI .. '/roles {"organizationRole":"ORGANIZATION_MEMBER"}\n'
    local r = h.run({ "organization", "user", "offboard", "mei.lin@acme.io", "--dry-run" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(plan .. "offboarded mei.lin@acme.io\n", r.stdout)
    r = h.run({ "organization", "user", "offboard2", "mei.lin@acme.io", "--dry-run" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("offboarded mei.lin@acme.io\n", r.stdout)
    assert.are.equal(plan, r.stderr)
    assert.are.same({}, h.writes(box.sb))
  end)

  it("prints a plugin's nil, err as Error: with exit 1", function()
    local home = box.sb:home()
    plugin(home, "offboard.lua", OFFBOARD)
    local r = h.run({ "organization", "user", "offboard", "nobody@acme.io" }, { home = home })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: no user was found for the email you provided\n", r.stderr)
  end)

  it("loads a folder plugin whose init.lua requires a file of its own folder", function()
    local home = box.sb:home()
    plugin(home, "greeter/helper.lua", 'local M = {}\nfunction M.greet(n) return "hello, " .. n end\nreturn M\n')
    local init = plugin(home, "greeter/init.lua", [[
local helper = require("helper")
return { command = "organization user greet", use = "greet NAME", args = { max = 1 },
  run = function(opts, ctx) ctx.stdout:write(helper.greet(opts.args[1]), "\n") end }
]])
    local r = h.run({ "organization", "user", "greet", "Raj" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("hello, Raj\n", r.stdout)
    r = h.run({ "plugin", "list" }, { home = home })
    assert.are.equal(0, r.code, r.stdout)
    assert.matches(" greeter%s+astro organization user greet%s+adds%s+" .. init:gsub("%p", "%%%0"), r.stdout)
  end)

  it("nests wrappers in file-name order: the later file wraps the earlier one", function()
    local home = box.sb:home()
    plugin(home, "20-b.lua", marker("b"))
    plugin(home, "10-a.lua", marker("a"))
    for _ = 1, 2 do -- the same order every time
      box.sb:control("POST", "/_sandbox/reset")
      local r = h.run({ "organization", "user", "invite", "new.person@acme.io" }, { home = home })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("b:before\na:before\ninvite for new.person@acme.io with role ORGANIZATION_MEMBER created\n" ..
        "a:after\nb:after\n", r.stdout)
    end
    local r = h.run({ "plugin", "list" }, { home = home })
    assert.matches(" 10%-a%s+astro organization user invite%s+wraps.*\n 20%-b%s+astro organization user invite%s+wraps",
      r.stdout)
  end)

  it("lets a wrapper run code before and after the stock command and add a flag", function()
    local home = box.sb:home()
    plugin(home, "notify.lua", [[
return {
  command = "organization user invite",
  wrap = true,
  flags = { { name = "notify", type = "bool", help = "Print a note for the team chat" } },
  run = function(opts, ctx, inner)
    ctx.stdout:write("checking ", opts.args[1], "\n")
    local res, err = inner(opts, ctx)
    if res and opts.notify then ctx.stdout:write("note: ", opts.args[1], " joins as ", opts.role, "\n") end
    return res, err
  end,
}
]])
    local r = h.run({ "organization", "user", "invite", "--help" }, { home = home })
    assert.matches("%-%-notify%s+Print a note for the team chat", r.stdout)
    assert.matches("%-%-role string", r.stdout)
    r = h.run({ "organization", "user", "invite", "x@acme.io", "--notify", "-r", "ORGANIZATION_OWNER" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("checking x@acme.io\ninvite for x@acme.io with role ORGANIZATION_OWNER created\n" ..
      "note: x@acme.io joins as ORGANIZATION_OWNER\n", r.stdout)
    assert.are.equal(1, #box.sb:requests())
  end)

  it("refuses a wrapper that adds a flag the command already has", function()
    local home = box.sb:home()
    local path = plugin(home, "role.lua", [[
return { command = "organization user invite", wrap = true, flags = { { name = "role", type = "string" } },
  run = function(opts, ctx, inner) return inner(opts, ctx) end }
]])
    local r = h.run({ "organization", "list" }, { home = home })
    assert.are.equal(0, r.code)
    assert.are.equal("astro: plugin not loaded: " .. path ..
      ': flag --role is already a flag of "astro organization user invite"\n', r.stderr)
  end)

  it("refuses a clash with a built-in command, naming both files, and keeps the others working", function()
    local home = box.sb:home()
    local path = plugin(home, "list.lua", 'return { command = "organization list", run = function() return 7 end }\n')
    local r = h.run({ "organization", "list" }, { home = home })
    assert.are.equal(0, r.code)
    assert.matches("Acme Data Platform", r.stdout)
    assert.are.equal("astro: plugin not loaded: " .. path .. ' declares "astro organization list", which ' ..
      "lua/astro/commands/organization/list.lua (built in) already provides; set wrap = true to wrap it\n", r.stderr)
  end)

  it("refuses the second of two plugins declaring the same new command, naming both", function()
    local home = box.sb:home()
    local first = plugin(home, "10-x.lua", NOOP)
    local second = plugin(home, "20-y.lua", NOOP)
    local r = h.run({ "organization", "user", "noop" }, { home = home })
    assert.are.equal(0, r.code)
    assert.are.equal("noop ran\n", r.stdout)
    assert.are.equal("astro: plugin not loaded: " .. second .. ' declares "astro organization user noop", which ' ..
      first .. " already provides; set wrap = true to wrap it\n", r.stderr)
  end)

  -- Regression (this failed before the fix): a plugin returning several commands is reported "not loaded" when one of them cannot
  -- be mounted, but the commands mounted before it stay in the tree and run (cli.add_plugins).
  it("mounts none of a plugin's commands when one of them is refused", function()
    local home = box.sb:home()
    plugin(home, "half.lua", 'return { { command = "organization user hello", run = function(_, ctx) ' ..
      'ctx.stdout:write("hello ran\\n") end }, { command = "organization list", run = function() end } }\n')
    local r = h.run({ "plugin", "list" }, { home = home })
    assert.are.equal(1, r.code)
    assert.matches("Not loaded:\n  .*half%.lua declares \"astro organization list\"", r.stdout)
    r = h.run({ "organization", "user", "hello" }, { home = home })
    assert.are_not.equal("hello ran\n", r.stdout)
    assert.are.equal(2, r.code)
  end)

  it("reports a syntax error with file and line and runs the other commands", function()
    local home = box.sb:home()
    local path = plugin(home, "broken.lua", "local x = 1\nreturn { command = \n")
    plugin(home, "noop.lua", NOOP)
    local r = h.run({ "organization", "user", "noop" }, { home = home })
    assert.are.equal(0, r.code)
    assert.are.equal("noop ran\n", r.stdout)
    assert.matches("^astro: plugin not loaded: " .. path:gsub("%p", "%%%0") .. ":3: unexpected symbol near <eof>\n$",
      r.stderr)
  end)

  it("reports an error raised while loading with file and line", function()
    local home = box.sb:home()
    local path = plugin(home, "boom.lua", 'local t = {}\nlocal n = t.missing.field\nreturn {}\n')
    local r = h.run({ "organization", "list" }, { home = home })
    assert.are.equal(0, r.code)
    assert.matches("^astro: plugin not loaded: " .. path:gsub("%p", "%%%0") .. ":2: attempt to index a nil value",
      r.stderr)
  end)

  it("lists plugins with NAME, COMMAND, STATUS and FILE and exits 0 when all loaded", function()
    local home = box.sb:home()
    local off = plugin(home, "offboard.lua", OFFBOARD)
    local wrap = plugin(home, "wrap.lua", marker("w"))
    local r = h.run({ "plugin", "list" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    local lines = h.lines(r.stdout)
    assert.are.equal("Plugins folder: " .. home .. "/.astro/plugins", lines[1])
    assert.are.equal("", lines[2])
    assert.matches("^ NAME%s+COMMAND%s+STATUS%s+FILE%s*$", lines[3])
    assert.matches("^ offboard%s+astro organization user offboard%s+adds%s+" .. off:gsub("%p", "%%%0"), lines[4])
    assert.matches("^ wrap%s+astro organization user invite%s+wraps%s+" .. wrap:gsub("%p", "%%%0"), lines[5])
    assert.are.equal(5, #lines)
    assert.is_nil(r.stdout:find("Not loaded", 1, true))
    assert.are.equal("", r.stderr)
  end)

  it("lists the plugins that failed under Not loaded: and exits 1", function()
    local home = box.sb:home()
    plugin(home, "noop.lua", NOOP)
    local bad = plugin(home, "bad.lua", "return 42\n")
    local r = h.run({ "plugin", "list" }, { home = home })
    assert.are.equal(1, r.code)
    assert.matches(" noop%s+astro organization user noop%s+adds", r.stdout)
    assert.matches("\nNot loaded:\n  " .. bad:gsub("%p", "%%%0") .. ": a plugin must return a command table %(or a list of them%), got number\n$",
      r.stdout)
    assert.are.equal("", r.stderr) -- `astro plugin` does not repeat the warnings on stderr
  end)

  it("refuses a command under a group that does not exist", function()
    local home = box.sb:home()
    local path = plugin(home, "squad.lua", 'return { command = "organization squad add", run = function() end }\n')
    local r = h.run({ "organization", "list" }, { home = home })
    assert.are.equal(0, r.code)
    assert.are.equal("astro: plugin not loaded: " .. path ..
      ': there is no command "astro organization squad" to put "add" under\n', r.stderr)
    r = h.run({ "organization", "squad", "add" }, { home = home })
    assert.are.equal(2, r.code)
    assert.matches('Error: unknown command "squad" for "astro organization"', r.stderr)
  end)

  it("adds a new group and a command under it from one file returning a list", function()
    local home = box.sb:home()
    plugin(home, "audit.lua", [[
return {
  { command = "audit", short = "Audit the organization" },
  { command = "audit roles", short = "Count users by role", run = function(_, ctx)
      local users, err = astro.users.list()
      if not users then return nil, err end
      local n = {}
      for _, u in ipairs(users) do n[u.organizationRole] = (n[u.organizationRole] or 0) + 1 end
      ctx.stdout:write(string.format("owners=%d members=%d billing=%d\n", n.ORGANIZATION_OWNER or 0,
        n.ORGANIZATION_MEMBER or 0, n.ORGANIZATION_BILLING_ADMIN or 0))
    end },
}
]])
    local r = h.run({ "--help" }, { home = home })
    assert.matches("\n  audit%s+Audit the organization\n", r.stdout)
    r = h.run({ "audit" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("\n  roles%s+Count users by role\n", r.stdout)
    r = h.run({ "audit", "roles" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("owners=1 members=1 billing=1\n", r.stdout)
    r = h.run({ "plugin", "list" }, { home = home })
    assert.matches(" audit%s+astro audit%s+adds.*\n audit%s+astro audit roles%s+adds", r.stdout)
  end)

  it("refuses a command table with a field it does not know, naming it", function()
    local home = box.sb:home()
    plugin(home, "typo.lua", 'return { command = "organization user typo", mutate = true, run = function() end }')
    local r = h.run({ "plugin", "list" }, { home = home })
    assert.are.equal(1, r.code)
    assert.matches('typo%.lua: unknown field "mutate" in the command table %(known: command, use', r.stdout)
  end)

  it("enforces args.min with a usage error", function()
    local home = box.sb:home()
    plugin(home, "need.lua", 'return { command = "organization user need", args = { min = 1, max = 1 }, ' ..
      'run = function(opts, ctx) ctx.stdout:write("got ", opts.args[1], "\\n") end }')
    local r = h.run({ "organization", "user", "need" }, { home = home })
    assert.are.equal(2, r.code)
    assert.matches("^Error: requires at least 1 arg%(s%), only received 0\n", r.stderr)
    r = h.run({ "organization", "user", "need", "x" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("got x\n", r.stdout)
  end)
end)
