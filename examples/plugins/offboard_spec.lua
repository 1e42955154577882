-- offboard_spec.lua, next to offboard.lua: tests the plugin with busted inside the astro binary,
--   astro --lua /usr/bin/busted -o TAP offboard_spec.lua
-- Needs python3 and curl, and the sandbox API: $ASTRO_SANDBOX (a sandbox.py) when set, else the
-- one installed with astro (astro.sandbox_path()), else the source tree's, when this file is in
-- its examples/plugins/.
local astro = require("astro")

local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local SANDBOX = os.getenv("ASTRO_SANDBOX") or astro.sandbox_path() or (HERE .. "/../../spec/support/sandbox.py")
local ACME = "clt0acme000010bhys38c6ryb"

describe("the offboard plugin", function()
  local server, url, plugin

  -- A client of the sandbox's demo organization; dry_run = true plans writes into `plan`.
  local function use_sandbox(dry_run, plan)
    astro.use(astro.new_client({ base_url = url .. "/v1", authorization = "Bearer test-token",
                                 organization = ACME, dry_run = dry_run, plan = plan }))
  end

  setup(function()
    -- The sandbox prints its URL on its first line once it listens.
    server = assert(io.popen("/usr/bin/python3 '" .. SANDBOX:gsub("'", "'\\''") .. "' --port 0", "r"))
    url = assert(server:read("l"), "the sandbox did not start")
    -- Loaded as astro loads it: its own environment, the file rules, the command table checks.
    plugin = assert(astro.load_plugin(HERE .. "/offboard.lua"))[1]
  end)

  teardown(function()
    os.execute("curl -s -o /dev/null -X POST " .. url .. "/_sandbox/shutdown")
    server:close()                         -- waits for the sandbox to exit
  end)

  before_each(function()                   -- every test starts from the demo data and a real client
    os.execute("curl -s -o /dev/null -X POST " .. url .. "/_sandbox/reset")
    use_sandbox(false)
  end)

  -- A context like the CLI's, recording what the command writes.
  local function ctx(dry_run)
    local out = {}
    local sink = { write = function(_, ...) for _, s in ipairs({ ... }) do out[#out + 1] = s end end,
                   flush = function() end }
    return { stdout = sink, stderr = sink, dry_run = dry_run }, function() return table.concat(out) end
  end

  it("declares where it goes and that it changes something", function()
    assert.are.equal("organization user offboard", plugin.command)
    assert.is_true(plugin.mutates)
  end)

  it("demotes an owner to member", function()
    local c, output = ctx()
    assert.is_true(plugin.run({ args = { "jane.doe@acme.io" }, reason = "" }, c))
    assert.are.equal("offboarded jane.doe@acme.io\n", output())
    assert.are.equal("ORGANIZATION_MEMBER", astro.users.find("jane.doe@acme.io").organizationRole)
  end)

  it("shows the reason, and prints nothing with --quiet", function()
    local c, output = ctx()
    assert.is_true(plugin.run({ args = { "jane.doe@acme.io" }, reason = "last day" }, c))
    assert.are.equal("offboarded jane.doe@acme.io (last day)\n", output())
    c, output = ctx()
    assert.is_true(plugin.run({ args = { "mei.lin@acme.io" }, reason = "", quiet = true }, c))
    assert.are.equal("", output())
    assert.are.equal("ORGANIZATION_MEMBER", astro.users.find("mei.lin@acme.io").organizationRole)
  end)

  it("says so when there is nothing to do", function()
    local c, output = ctx()
    assert.is_true(plugin.run({ args = { "raj.patel@acme.io" }, reason = "" }, c))
    assert.are.equal("raj.patel@acme.io is already an ORGANIZATION_MEMBER\n", output())
  end)

  it("returns the API's error for an unknown user", function()
    local ok, err = plugin.run({ args = { "nobody@acme.io" }, reason = "" }, (ctx()))
    assert.is_nil(ok)
    assert.are.equal("no user was found for the email you provided", err.message)
  end)

  it("sends nothing in a dry run", function()
    local plan = io.tmpfile()
    use_sandbox(true, plan)                -- before_each puts the real client back
    local c, output = ctx(true)
    assert.is_true(plugin.run({ args = { "jane.doe@acme.io" }, reason = "" }, c))
    assert.are.equal("would offboard jane.doe@acme.io\n", output())
    plan:seek("set")
    assert.matches('^dry run: POST /organizations/' .. ACME .. '/users/.+/roles {"organizationRole":"ORGANIZATION_MEMBER"}',
      plan:read("a"))
    use_sandbox(false)
    assert.are.equal("ORGANIZATION_OWNER", astro.users.find("jane.doe@acme.io").organizationRole)
  end)
end)
