-- How to test a plugin with busted, through the astro binary:
--   astro --lua /usr/bin/busted examples/plugins/offboard_spec.lua
-- The spec starts the sandbox API (spec/support/sandbox.py from the astro source tree), points
-- the public API at it, and calls the plugin's run function with a context of its own.
local astro = require("astro")

local SANDBOX = (os.getenv("ASTRO_SOURCE_DIR") or ".") .. "/spec/support/sandbox.py"

-- Starts the sandbox on a free port; returns its base URL and its process id.
local function start_sandbox()
  local port_file = os.tmpname()
  os.remove(port_file)
  local pid = io.popen("/usr/bin/python3 " .. SANDBOX .. " --port 0 --port-file " .. port_file ..
    " >/dev/null 2>&1 & echo $!"):read("l")
  for _ = 1, 200 do
    local f = io.open(port_file)
    local port = f and f:read("l")
    if f then f:close() end
    if port and port ~= "" then return "http://127.0.0.1:" .. port, pid end
    os.execute("sleep 0.05")
  end
  error("sandbox did not start")
end

-- A context like the one the CLI passes, writing into strings.
local function fake_ctx()
  local out, err = {}, {}
  return {
    stdout = { write = function(_, ...) for _, s in ipairs({ ... }) do out[#out + 1] = s end end, flush = function() end },
    stderr = { write = function(_, ...) for _, s in ipairs({ ... }) do err[#err + 1] = s end end, flush = function() end },
    out = function() return table.concat(out) end,
  }
end

describe("the offboard plugin", function()
  local url, pid, plugin

  setup(function()
    url, pid = start_sandbox()
    astro.use(astro.new_client({
      base_url = url .. "/v1", authorization = "Bearer test-token", organization = "clt0acme000010bhys38c6ryb",
    }))
    plugin = assert(loadfile((os.getenv("ASTRO_SOURCE_DIR") or ".") .. "/examples/plugins/offboard.lua", "t"))()
  end)

  teardown(function() os.execute("kill " .. pid) end)

  it("declares where it goes and that it changes something", function()
    assert.are.equal("organization user offboard", plugin.command)
    assert.is_true(plugin.mutates)
  end)

  it("demotes an owner to member", function()
    local ctx = fake_ctx()
    assert.is_true(plugin.run({ args = { "jane.doe@acme.io" } }, ctx))
    assert.are.equal("offboarded jane.doe@acme.io\n", ctx.out())
    local user = assert(astro.users.find("jane.doe@acme.io"))
    assert.are.equal("ORGANIZATION_MEMBER", user.organizationRole)
  end)

  it("says so when there is nothing to do", function()
    local ctx = fake_ctx()
    assert.is_true(plugin.run({ args = { "raj.patel@acme.io" } }, ctx))
    assert.are.equal("raj.patel@acme.io is already an ORGANIZATION_MEMBER\n", ctx.out())
  end)

  it("returns the API's error for an unknown user", function()
    local ok, err = plugin.run({ args = { "nobody@acme.io" } }, fake_ctx())
    assert.is_nil(ok)
    assert.are.equal("no user was found for the email you provided", err.message)
  end)
end)
