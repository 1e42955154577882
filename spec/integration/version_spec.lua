-- `astro version` and `astro --version`: what this build is, with no config and no network.
local h = require("spec.helpers")

describe("astro version", function()
  lazy_teardown(function() h.cleanup() end)

  local function expect_version(r)
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("", r.stderr)
    local lines = h.lines(r.stdout)
    assert.are.equal(5, #lines, r.stdout)
    assert.matches("^astro%-lua %d+%.%d+%.%d+$", lines[1])
    assert.are.equal("compatible with: astro CLI 1.45.0 (organization commands)", lines[2])
    assert.matches("^Lua: Lua 5%.4%.%d+$", lines[3])
    assert.matches("^libcurl: libcurl/%d+%.%d+", lines[4])
    -- The astro CLI beside it, or none (spec/integration/passthrough_spec.lua has the cases).
    assert.matches("^astro CLI: ", lines[5])
  end

  it("prints this tool's version, the astro CLI version it matches, Lua's and libcurl's, and the astro CLI beside it", function()
    -- An empty home: no config file is needed, and none is created.
    local home = h.tmpdir()
    expect_version(h.run({ "version" }, { home = home }))
    assert.is_nil(h.read_file(home .. "/.astro/config.yaml"))
  end)

  it("answers --version the same way", function()
    local a, b = h.run({ "version" }), h.run({ "--version" })
    expect_version(b)
    assert.are.equal(a.stdout, b.stdout)
  end)

  it("is listed in help and refuses arguments", function()
    assert.matches("\n  version +Show the version of this tool", h.run({ "--help" }).stdout)
    local r = h.run({ "version", "extra" })
    assert.are.equal(2, r.code)
    assert.matches("^Error: accepts at most 0 arg%(s%), received 1\n", r.stderr)
  end)
end)
