-- The global --organization flag and ASTRO_ORGANIZATION: one run works on another
-- organization of the same context, named or by id, and the config file is never written.
local h = require("spec.helpers")
local jwt = require("spec.support.jwt")
local json = require("astro.json")
local sys = require("astro.core.sys")

local ACME, GLOBEX, INITECH = h.ids.ACME, h.ids.GLOBEX, h.ids.INITECH
local ORGS = "GET /v1/organizations"
-- A second organization named "Globex" (the ambiguous name), added to the demo seed.
local GLOBEX2 = "clx9glbx000090aaaaaaaaaaaa"

--- "METHOD path" of every request the sandbox recorded.
local function trace(sb) return h.trace(sb:requests()) end

--- The config file of home as it is now: its bytes and its modification time.
local function snapshot(home)
  local path = home .. "/.astro/config.yaml"
  local st = assert(sys.stat(path))
  return { bytes = h.read_file(path), mtime = st.mtime_ns, ino = st.ino }
end

describe("--organization", function()
  local api_token = jwt.make({ exp = os.time() + 3600, apiTokenId = "tokapi1",
                               permissions = { "organizationId:" .. GLOBEX } })
  local box = h.use_sandbox({ flags = { "--token", "test-token", "--token", api_token } })
  local before

  before_each(function() before = snapshot(box.home) end)
  -- Whatever a run did, the config file is as it was: same bytes, same modification time.
  after_each(function() assert.are.same(before, snapshot(box.home)) end)

  local run = box.run

  describe("by name", function()
    it("lists the users of that organization: one GET of the organizations, then its users", function()
      local r = run({ "organization", "user", "list", "--organization", "Globex", "--json" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("hank.scorpio@globex.io", r.stdout, 1, true)
      assert.is_nil(r.stdout:find("raj.patel@acme.io", 1, true))
      assert.are.same({ ORGS, "GET /v1/organizations/" .. GLOBEX .. "/users" }, trace(box.sb))
    end)

    it("invites into that organization", function()
      local r = run({ "organization", "user", "invite", "new@globex.io", "--organization=Globex" })
      assert.are.equal(0, r.code, r.stderr)
      local posts = h.writes(box.sb)
      assert.are.same({ "POST /v1/organizations/" .. GLOBEX .. "/invites" }, h.trace(posts))
      assert.are.same({ inviteeEmail = "new@globex.io", role = "ORGANIZATION_MEMBER" }, json.decode(posts[1].body))
    end)

    it("updates a user of that organization", function()
      local r = run({ "organization", "user", "update", "frank.grimes@globex.io", "--role",
                      "ORGANIZATION_BILLING_ADMIN", "--organization", "Globex" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("successfully updated to ORGANIZATION_BILLING_ADMIN", r.stdout, 1, true)
      local posts = h.trace(h.writes(box.sb))
      assert.are.equal(1, #posts)
      assert.matches("^POST /v1/organizations/" .. GLOBEX .. "/users/[%w]+/roles$", posts[1])
    end)

    it("lists the teams of that organization", function()
      local r = run({ "organization", "team", "list", "--organization", "Initech Sandbox" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ ORGS, "GET /v1/organizations/" .. INITECH .. "/teams" }, trace(box.sb))
    end)
  end)

  describe("by id", function()
    it("lists the users of that organization", function()
      local r = run({ "organization", "user", "list", "--organization", INITECH, "--json" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("peter.gibbons@initech.io", r.stdout, 1, true)
      assert.are.same({ ORGS, "GET /v1/organizations/" .. INITECH .. "/users" }, trace(box.sb))
    end)

    it("costs no request when it is the context's own organization", function()
      local r = run({ "organization", "user", "list", "--organization", ACME, "--json" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ "GET /v1/organizations/" .. ACME .. "/users" }, trace(box.sb))
    end)
  end)

  describe("ASTRO_ORGANIZATION", function()
    it("aims the run like the flag", function()
      local r = run({ "organization", "team", "list" }, { env = { ASTRO_ORGANIZATION = "Globex" } })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ ORGS, "GET /v1/organizations/" .. GLOBEX .. "/teams" }, trace(box.sb))
    end)

    it("gives way to the flag", function()
      local r = run({ "organization", "team", "list", "--organization", GLOBEX },
        { env = { ASTRO_ORGANIZATION = "No Such Org" } })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ ORGS, "GET /v1/organizations/" .. GLOBEX .. "/teams" }, trace(box.sb))
    end)

    it("that names no organization is an error naming the variable", function()
      local r = run({ "organization", "user", "list" }, { env = { ASTRO_ORGANIZATION = "Nope" } })
      assert.are.equal(1, r.code)
      assert.matches('^Error: no organization you can see has the name or id "Nope" %(ASTRO_ORGANIZATION%): ' ..
        "run astro organization list", r.stderr)
      assert.are.same({ ORGS }, trace(box.sb))
    end)
  end)

  it("that names no organization is an error, and nothing else is sent", function()
    local r = run({ "organization", "user", "invite", "x@acme.io", "--organization", "globex" })
    assert.are.equal(1, r.code)
    assert.are.equal('Error: no organization you can see has the name or id "globex" (--organization): ' ..
      "run astro organization list to see their names and ids\n", r.stderr)
    assert.are.equal("", r.stdout)
    assert.are.same({ ORGS }, trace(box.sb))
  end)

  it("that is empty is a usage error, before anything is sent", function()
    local r = run({ "organization", "user", "list", "--organization", "" })
    assert.are_not.equal(0, r.code)
    assert.matches("^Error: flag %-%-organization needs an organization name or id", r.stderr)
    assert.are.same({}, trace(box.sb))
  end)

  it("costs nothing for help, version, a usage error, or a command that needs no organization", function()
    local env = { env = { ASTRO_ORGANIZATION = "Nope" } }
    local r = run({ "organization", "user", "list", "--organization", "Nope", "--help" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("Global Flags:\n      %-%-organization string +Organization %(name or id%)", r.stdout)
    r = run({ "version", "--organization", "Nope" })
    assert.are.equal(0, r.code, r.stderr)
    r = run({ "organization", "user", "list", "--bogus" }, env)
    assert.are_not.equal(0, r.code)
    r = run({ "plugin", "list" }, env)
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({}, trace(box.sb))
  end)

  it("with --dry-run plans the change in that organization, after one GET", function()
    local r = run({ "organization", "user", "invite", "new@globex.io", "--organization", "Globex", "--dry-run" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches('dry run: POST /organizations/' .. GLOBEX ..
      '/invites {"inviteeEmail":"new@globex.io","role":"ORGANIZATION_MEMBER"}', r.stdout .. r.stderr, 1, true)
    assert.are.same({ ORGS }, trace(box.sb))
  end)

  it("marks that organization as the current one in organization list", function()
    local r = run({ "organization", "list", "--json", "--organization", "Globex" })
    assert.are.equal(0, r.code, r.stderr)
    local current = {}
    for _, o in ipairs(json.decode(r.stdout).organizations) do
      if o.isCurrent then current[#current + 1] = o.id end
    end
    assert.are.same({ GLOBEX }, current)
  end)

  describe("with organization switch", function()
    it("is refused: switch changes the config file, the flag does not", function()
      local r = run({ "organization", "switch", "Globex", "--organization", "Globex" })
      assert.are.equal(1, r.code)
      assert.matches("^Error: %-%-organization cannot be used with organization switch", r.stderr)
      assert.are.same({}, trace(box.sb))
    end)

    it("is refused while ASTRO_ORGANIZATION is set, which would go on overriding it", function()
      local r = run({ "organization", "switch", "Initech Sandbox" }, { env = { ASTRO_ORGANIZATION = "Globex" } })
      assert.are.equal(1, r.code)
      assert.matches('^Error: cannot switch organization while ASTRO_ORGANIZATION is set %(to "Globex"%): ' ..
        "every command would go on working on that organization; unset ASTRO_ORGANIZATION", r.stderr)
      assert.are.same({}, trace(box.sb))
    end)
  end)

  it("names the audit logs file after that organization, which it looked up once", function()
    local work = h.tmpdir()
    local bin = h.tmpdir() .. "/astro-in-work"
    h.write_file(bin, "#!/bin/sh\ncd " .. h.shell_quote(work) .. " && exec " .. h.shell_quote(h.astro) .. ' "$@"\n')
    h.sh("chmod 700 " .. h.shell_quote(bin))
    local r = run({ "organization", "audit-logs", "export", "--organization", "Globex" }, { bin = bin })
    assert.are.equal(0, r.code, r.stderr)
    local name = "globex-logs-1-day-" .. os.date("%Y%m%d") .. ".ndjson.gz"
    assert.are.equal(name .. "\n", r.stdout)
    assert.is_not_nil(sys.stat(work .. "/" .. name))
    assert.are.same({ ORGS, "GET /v1/organizations/" .. GLOBEX .. "/audit-logs" }, trace(box.sb))
  end)

  it("gives way to --organization-id of the token commands", function()
    local r = run({ "organization", "token", "list", "--organization", "Globex", "--organization-id", INITECH })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({ ORGS, "GET /v1/organizations/" .. INITECH .. "/tokens" }, trace(box.sb))
  end)

  it("leaves a plugin's own --organization flag to the plugin", function()
    local home = box.sb:home()
    h.install_plugin(home, "aim.lua", [[
return { command = "organization aim", flags = { { name = "organization", type = "string" } },
  run = function(opts, ctx)
    ctx.stdout:write(opts.organization, " ", assert(ctx.api()).organization, "\n")
  end }
]])
    local r = run({ "organization", "aim", "--organization", "Globex" }, { home = home })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("Globex " .. ACME .. "\n", r.stdout)
    assert.are.same({}, trace(box.sb))
  end)

  describe("with ASTRO_API_TOKEN", function()
    it("works on the token's own organization", function()
      local r = run({ "organization", "team", "list", "--organization", "Globex" },
        { env = { ASTRO_API_TOKEN = api_token } })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ ORGS, "GET /v1/organizations/" .. GLOBEX .. "/teams" }, trace(box.sb))
    end)

    it("refuses another organization, which the token cannot work on", function()
      local r = run({ "organization", "team", "list", "--organization", "Initech Sandbox" },
        { env = { ASTRO_API_TOKEN = api_token } })
      assert.are.equal(1, r.code)
      assert.matches("^Error: ASTRO_API_TOKEN belongs to organization " .. GLOBEX, r.stderr)
      assert.are.same({ ORGS }, trace(box.sb))
      assert.is_nil(r.stderr:find(api_token, 1, true))
    end)
  end)

  describe("with astro run", function()
    local SCRIPT = [[
local c = assert(astro.client())
print(c.organization, c.organization_name, c.organization_product, #assert(astro.users.list()))
print(table.concat(arg, " "))
]]

    it("aims the script's client, the flag before FILE", function()
      local path = box.file("org.lua", SCRIPT)
      local r = run({ "run", "--organization", "Globex", path, "a" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(GLOBEX .. "\tGlobex\tHYBRID\t3\na\n", r.stdout)
      assert.are.same({ ORGS, "GET /v1/organizations/" .. GLOBEX .. "/users" }, trace(box.sb))
    end)

    it("takes --organization after FILE as its own, as --dry-run, up to a --", function()
      local path = box.file("org.lua", SCRIPT)
      local r = run({ "run", path, "a", "--organization", INITECH, "b" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(INITECH .. "\tInitech Sandbox\tHOSTED\t3\na b\n", r.stdout)
      r = run({ "run", path, "--organization=Globex" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("^" .. GLOBEX .. "\tGlobex\t", r.stdout)
      r = run({ "run", path, "a", "--", "--organization", "Globex" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(ACME .. "\tnil\tHOSTED\t3\na -- --organization Globex\n", r.stdout)
      r = run({ "run", path, "--organization" })
      assert.are_not.equal(0, r.code)
      assert.matches("^Error: flag needs an argument: %-%-organization", r.stderr)
      r = run({ "run", "--organization", "Globex", path, "--organization", INITECH })
      assert.are_not.equal(0, r.code)
      assert.matches("^Error: flag %-%-organization given twice", r.stderr)
    end)

    it("sees ASTRO_ORGANIZATION, and astro.config.organization_override tells where it comes from", function()
      local path = box.file("override.lua", [[
print(astro.config.organization_override())
print(assert(astro.organizations.current_id()))
]])
      local r = run({ "run", path }, { env = { ASTRO_ORGANIZATION = "Globex" } })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Globex\tASTRO_ORGANIZATION\n" .. GLOBEX .. "\n", r.stdout)
      r = run({ "run", "--organization", INITECH, path }, { env = { ASTRO_ORGANIZATION = "Globex" } })
      assert.are.equal("clv2init000030es9qjsmo8nu\t--organization\n" .. INITECH .. "\n", r.stdout)
      r = run({ "run", path })
      assert.are.equal("nil\n" .. ACME .. "\n", r.stdout)
    end)

    it("lets a script connect to several organizations, listing them once", function()
      local path = box.file("several.lua", [[
for _, o in ipairs(assert(astro.organizations.list())) do
  local c = assert(astro.connect({ organization = o.id }))
  print(c.organization_name or "(context's)", #assert(astro.users.list()))
end
local ok, err = astro.connect({ organization = "Nope" })
print(ok, err.message)
print(pcall(astro.connect, { organization = "" }))
]])
      local r = run({ "run", path })
      assert.are.equal(0, r.code, r.stderr)
      local lines = h.lines(r.stdout)
      assert.are.equal("(context's)\t3", lines[1])
      assert.are.equal("Globex\t3", lines[2])
      assert.are.equal("Initech Sandbox\t3", lines[3])
      assert.are.equal('nil\tno organization you can see has the name or id "Nope" (astro.connect): ' ..
        "run astro organization list to see their names and ids", lines[4])
      assert.matches("^false\t.*opts.organization must be a non%-empty string", lines[5])
      local t = trace(box.sb)
      local n = 0
      for _, line in ipairs(t) do if line == ORGS then n = n + 1 end end
      assert.are.equal(1, n, table.concat(t, "\n"))
    end)

    it("with --dry-run plans the script's changes in that organization", function()
      local path = box.file("invite.lua", [[assert(astro.invites.create("new@globex.io"))]])
      local r = run({ "run", path, "--organization", "Globex", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("dry run: POST /organizations/" .. GLOBEX .. "/invites", r.stderr, 1, true)
      assert.are.same({}, h.writes(box.sb))
    end)
  end)
end)

describe("--organization naming two organizations", function()
  local box = h.use_sandbox({ home = { organization = ACME }, flags = function()
    local dir = h.tmpdir()
    local seed = h.read_file(h.root .. "/spec/support/seed/demo.json"):gsub('"organizations": %[',
      '"organizations": [\n    {"id": "' .. GLOBEX2 .. '", "name": "Globex", "product": "HOSTED"},', 1)
    h.write_file(dir .. "/seed.json", seed)
    return { "--seed", dir .. "/seed.json" }
  end })

  it("is an error that lists their ids and asks for one, and nothing else is sent", function()
    local before = snapshot(box.home)
    local r = box.run({ "organization", "user", "list", "--organization", "Globex" })
    assert.are.equal(1, r.code)
    assert.are.equal('Error: 2 organizations are named "Globex" (--organization) (ids ' .. GLOBEX2 .. ", " .. GLOBEX ..
      "): give the id of the one you mean\n", r.stderr)
    assert.are.same({ ORGS }, trace(box.sb))
    box.sb:reset_requests()
    r = box.run({ "organization", "user", "list", "--organization", GLOBEX2, "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same({ ORGS, "GET /v1/organizations/" .. GLOBEX2 .. "/users" }, trace(box.sb))
    assert.are.same(before, snapshot(box.home))
  end)
end)
