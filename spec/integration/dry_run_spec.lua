-- --dry-run: commands that change something print the requests they would send instead.
local h = require("spec.helpers")

local ACME, GLOBEX, MEI = h.ids.ACME, h.ids.GLOBEX, h.ids.MEI

describe("astro --dry-run", function()
  local box = h.use_sandbox()

  -- The recorded requests ("METHOD path"), and those of them that change something.
  local function recorded()
    return h.trace(box.sb:requests()), h.trace(h.writes(box.sb))
  end

  it("prints the invite it would send and sends nothing", function()
    local r = box.run({ "organization", "user", "invite", "A@B.io", "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("dry run: POST /organizations/" .. ACME ..
      '/invites {"inviteeEmail":"a@b.io","role":"ORGANIZATION_MEMBER"}\n', r.stdout)
    assert.are.equal("", r.stderr)
    local methods, writes = recorded()
    assert.are.same({}, writes)
    assert.are.same({}, methods)
    assert.are.equal(3, #box.sb:state().users[ACME])
    h.no_secret(r)
  end)

  it("fails an invite with an invalid role or email before planning anything", function()
    local r = box.run({ "organization", "user", "invite", "a@b.io", "--role", "ORGANIZATION_KING", "--dry-run" })
    assert.are.equal(2, r.code) -- a usage error
    assert.are.equal("", r.stdout)
    assert.matches("^Error: requested role is invalid", r.stderr)
    r = box.run({ "organization", "user", "invite", "not-an-email", "--dry-run" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.matches("^Error: ", r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)

  it("reads the users but prints the role update instead of sending it", function()
    local r = box.run({ "organization", "user", "update", "mei.lin@acme.io", "-r", "ORGANIZATION_OWNER", "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("dry run: POST /organizations/" .. ACME .. "/users/" .. MEI ..
      '/roles {"organizationRole":"ORGANIZATION_OWNER"}\n', r.stdout)
    local methods, writes = recorded()
    assert.are.same({}, writes)
    assert.are.same({ "GET /v1/organizations/" .. ACME .. "/users" }, methods)
    for _, u in ipairs(box.sb:state().users[ACME]) do
      if u.id == MEI then assert.are.equal("ORGANIZATION_BILLING_ADMIN", u.organizationRole) end
    end
    h.no_secret(r)
  end)

  it("fails an update of an unknown user with exit 1 and no plan", function()
    local r = box.run({ "organization", "user", "update", "ghost@acme.io", "-r", "ORGANIZATION_OWNER", "--dry-run" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("Error: no user was found for the email you provided\n", r.stderr)
    local _, writes = recorded()
    assert.are.same({}, writes)
  end)

  it("plans a switch without touching the config file", function()
    local path = box.home .. "/.astro/config.yaml"
    local before = h.read_file(path)
    local r = box.run({ "organization", "switch", "Globex", "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(before, h.read_file(path))
    assert.are.equal(
      "dry run: set contexts.localhost.last_used_workspace = clwgops0000301k2x8f7q9zrb in " .. path .. "\n" ..
      "dry run: set contexts.localhost.organization = " .. GLOBEX .. " in " .. path .. "\n" ..
      "dry run: set contexts.localhost.organization_product = HYBRID in " .. path .. "\n" ..
      "dry run: set contexts.localhost.workspace = clwgops0000301k2x8f7q9zrb in " .. path .. "\n", r.stdout)
    local methods, writes = recorded()
    assert.are.same({}, writes)
    assert.are.same({ "GET /v1/organizations", "GET /v1/users/self",
      "GET /v1/organizations/" .. GLOBEX .. "/workspaces" }, methods)
    h.no_secret(r)
  end)

  it("fails a switch to an unknown organization with exit 1", function()
    local path = box.home .. "/.astro/config.yaml"
    local before = h.read_file(path)
    local r = box.run({ "organization", "switch", "Umbrella", "--dry-run" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: invalid organization name\n", r.stderr)
    assert.are.equal(before, h.read_file(path))
  end)

  it("holds back the writes of a script run with astro run --dry-run", function()
    local dir = h.tmpdir()
    h.write_file(dir .. "/s.lua", [[
print("dry: " .. tostring(astro.dry_run()))
local users = assert(astro.users.list())
assert(astro.invites.create("new@acme.io"))
assert(astro.roles.update(users[2], "ORGANIZATION_OWNER"))
assert(astro.request("DELETE", "/organizations/{org}/users/" .. users[3].id))
print("done", #users)
]])
    local r = box.run({ "run", "--dry-run", dir .. "/s.lua" })
    assert.are.equal(0, r.code, r.stderr)
    -- A script's standard output is its own data: the plan goes to stderr.
    assert.are.equal("dry: true\ndone\t3\n", r.stdout)
    assert.are.equal(
      "dry run: POST /organizations/" .. ACME .. '/invites {"inviteeEmail":"new@acme.io","role":"ORGANIZATION_MEMBER"}\n' ..
      "dry run: POST /organizations/" .. ACME .. '/users/clrraj0000002019nj9w0ji6b/roles {"organizationRole":"ORGANIZATION_OWNER"}\n' ..
      "dry run: DELETE /organizations/" .. ACME .. "/users/" .. MEI .. "\n", r.stderr)
    local methods, writes = recorded()
    assert.are.same({}, writes)
    assert.are.same({ "GET /v1/organizations/" .. ACME .. "/users" }, methods)
    h.no_secret(r)
  end)

  -- Regression (this failed before the fix): astro.connect(opts) replaces the options the CLI set from --dry-run instead of adding
  -- to them, so a script that only asks for a new connection (e.g. with debug = false) sends
  -- its writes for real while astro.dry_run() still answers true.
  it("keeps holding back writes when a script connects with options of its own", function()
    local dir = h.tmpdir()
    h.write_file(dir .. "/c.lua", [[
assert(astro.connect({ debug = false }))
print("dry: " .. tostring(astro.dry_run()))
assert(astro.invites.create("new@acme.io"))
]])
    local r = box.run({ "run", "--dry-run", dir .. "/c.lua" })
    assert.are.equal(0, r.code, r.stderr)
    local _, writes = recorded()
    assert.are.same({}, writes)
    assert.are.equal("dry: true\n", r.stdout)
    assert.are.equal("dry run: POST /organizations/" .. ACME ..
      '/invites {"inviteeEmail":"new@acme.io","role":"ORGANIZATION_MEMBER"}\n', r.stderr)
  end)

  -- Regressions (each failed before dry-run was decided below the client): a script could
  -- turn --dry-run off and send real changes.
  describe("holds whatever a script does", function()
    local INVITE = 'assert(astro.invites.create("held@acme.io"))\nprint("after")\n'
    local CASES = {
      ["astro.configure without dry_run"] = { 'astro.configure({ debug = false })\n' .. INVITE, 0 },
      ["astro.configure{dry_run = false}"] = { 'astro.configure({ dry_run = false })\n' .. INVITE, 1,
        "cannot be turned off" },
      ["astro.connect{dry_run = false}"] = { 'astro.connect({ dry_run = false })\n' .. INVITE, 1,
        "cannot be turned off" },
      ["client.dry_run = false"] = { 'astro.client().dry_run = false\n' .. INVITE, 1, "read%-only" },
      ["rawset(client, 'dry_run', false)"] = { 'rawset(astro.client(), "dry_run", false)\n' .. INVITE, 0 },
      ["a client of its own with dry_run = false"] = {
        function(sb) return 'astro.use(astro.new_client({ base_url = "' .. sb.url .. '/v1", authorization = ' ..
          '"Bearer test-token", organization = "' .. ACME .. '", dry_run = false }))\n' .. INVITE end, 0 },
      ["astro.batch"] = { 'local r = astro.batch({ { method = "POST", path = "/organizations/{org}/invites", ' ..
        'body = { inviteeEmail = "held@acme.io", role = "ORGANIZATION_MEMBER" } } })\nassert(r[1].ok)\n', 0 },
      ["astro.config.set_context"] = { 'assert(astro.config.set_context({ workspace = "elsewhere" }))\n', 0 },
    }
    for what, case in pairs(CASES) do
      it(what, function()
        local text = type(case[1]) == "function" and case[1](box.sb) or case[1]
        local path = box.file("hold.lua", text)
        local config = box.home .. "/.astro/config.yaml"
        local before = h.read_file(config)
        for _, args in ipairs({ { "run", "--dry-run", path }, { "run", path, "--dry-run" } }) do
          local r = box.run(args)
          assert.are.equal(case[2], r.code, r.stderr)
          if case[3] then assert.matches("^Error: .*" .. case[3], r.stderr) end
          local _, writes = recorded()
          assert.are.same({}, writes)
          assert.are.equal(before, h.read_file(config))
          assert.are.equal(3, #box.sb:state().users[ACME])
        end
      end)
    end
  end)

  it("holds for the shipped bulk invite with --dry-run typed after FILE", function()
    local people = box.file("people.csv", "email,role\nnew1@acme.io,ORGANIZATION_OWNER\nnew2@acme.io,\n")
    local r = box.run({ "run", h.root .. "/examples/bulk_invite.lua", people, "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("would invite", r.stdout)
    local _, writes = recorded()
    assert.are.same({}, writes)
  end)

  it("keeps a script's JSON on stdout whole: the plan goes to stderr", function()
    local path = box.file("json.lua", [[
local users = assert(astro.users.list())
assert(astro.roles.update(users[2], "ORGANIZATION_OWNER"))
io.write(astro.output.json({ users = #users, changed = users[2].username }))
]])
    local r = box.run({ "run", path, "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    local doc = assert(require("astro.json").decode(r.stdout))
    assert.are.equal(3, doc.users)
    assert.matches("^dry run: POST /organizations/" .. ACME .. "/users/", r.stderr)
    local _, writes = recorded()
    assert.are.same({}, writes)
  end)

  it("writes the plan of a bulk --json run to stderr, never into the JSON", function()
    local people = box.file("people.csv", "email\nnew1@acme.io\n")
    local r = box.run({ "organization", "user", "invite", "--file", people, "--json", "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    local doc = assert(require("astro.json").decode(r.stdout))
    assert.are.equal("dry run: not sent", doc.rows[1].message)
    local _, writes = recorded()
    assert.are.same({}, writes)
  end)

  it("gives --dry-run to a plugin command that declares mutates", function()
    local dir = box.home .. "/.astro/plugins"
    h.sh("mkdir -p " .. h.shell_quote(dir) .. " && chmod 700 " .. h.shell_quote(dir))
    h.write_file(dir .. "/demote.lua", [[
return { command = "organization user demote", use = "demote EMAIL", args = { max = 1 }, mutates = true,
  run = function(opts, ctx)
    local u, err = astro.users.find(opts.args[1])
    if not u then return nil, err end
    local ok, uerr = astro.roles.update(u, "ORGANIZATION_MEMBER")
    if not ok then return nil, uerr end
    if not astro.dry_run() then ctx.stdout:write("demoted\n") end
  end }
]])
    h.sh("chmod 600 " .. h.shell_quote(dir .. "/demote.lua"))
    local r = box.run({ "organization", "user", "demote", "--dry-run", "mei.lin@acme.io" })
    h.sh("rm -rf " .. h.shell_quote(dir))
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("dry run: POST /organizations/" .. ACME .. "/users/" .. MEI ..
      '/roles {"organizationRole":"ORGANIZATION_MEMBER"}\n', r.stdout)
    local methods, writes = recorded()
    assert.are.same({}, writes)
    assert.are.same({ "GET /v1/organizations/" .. ACME .. "/users" }, methods)
  end)

  it("is an unknown flag for commands that change nothing", function()
    for _, args in ipairs({ { "organization", "list" }, { "organization", "user", "list" }, { "plugin", "list" } }) do
      args[#args + 1] = "--dry-run"
      local r = box.run(args)
      assert.are.equal(2, r.code, table.concat(args, " "))
      assert.are.equal("Error: unknown flag: --dry-run\nRun 'astro " .. table.concat(args, " ", 1, #args - 1) ..
        " --help' for usage.\n", r.stderr)
      assert.are.equal("", r.stdout)
    end
    assert.are.equal(0, #box.sb:requests())
  end)

  it("is listed in the help of the commands that change something", function()
    for _, args in ipairs({ { "organization", "user", "invite" }, { "organization", "user", "update" },
                            { "organization", "switch" }, { "run" } }) do
      args[#args + 1] = "--help"
      local r = box.run(args)
      assert.matches("\n      %-%-dry%-run%s+Print each request that would change something", r.stdout)
    end
  end)
end)
