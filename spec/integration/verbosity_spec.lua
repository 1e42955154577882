-- --verbosity as the astro CLI takes it: logrus's levels in any case, the config file's
-- `verbosity` key when the flag is left at its default, and an invalid level refused before
-- the command runs (a usage error when the flag gave it). debug (or trace) turns on the request trace, on stderr.
local h = require("spec.helpers")

describe("--verbosity", function()
  local box = h.use_sandbox({ reset = "requests" })
  local list = box.command({ "organization", "list" })

  -- A home like box.home whose config has `verbosity: <level>` instead of warning.
  local function home_with(level)
    local home = box.sb:home()
    local path = home .. "/.astro/config.yaml"
    local text = h.read_file(path)
    local replaced, n = text:gsub("\nverbosity: [^\n]*", "\nverbosity: " .. level)
    if n == 0 then replaced = text .. "verbosity: " .. level .. "\n" end
    h.write_file(path, replaced)
    return home
  end

  it("refuses a level logrus does not know, before any request, as a usage error (exit 2)", function()
    for _, bad in ipairs({ "loud", "", "debugg" }) do
      local r = list({ "--verbosity", bad })
      assert.are.equal(2, r.code, bad)
      assert.are.equal(string.format('Error: not a valid logrus Level: "%s"\n', bad) ..
        "Run 'astro organization list --help' for usage.\n", r.stderr)
      assert.are.equal("", r.stdout)
    end
    assert.are.same({}, box.sb:requests())
  end)

  it("takes every logrus level in any case; only debug and trace show the trace", function()
    for _, level in ipairs({ "panic", "fatal", "error", "warn", "warning", "info", "INFO", "Warn" }) do
      local r = list({ "--verbosity", level })
      assert.are.equal(0, r.code, level .. ": " .. r.stderr)
      assert.are.equal("", r.stderr, level)
    end
    for _, level in ipairs({ "debug", "DEBUG", "trace" }) do
      local r = list({ "--verbosity", level })
      assert.are.equal(0, r.code, level .. ": " .. r.stderr)
      assert.matches("^> GET http://127%.0%.0%.1:%d+/v1/organizations%?limit=1000&offset=0\n", r.stderr, nil, level)
      assert.matches("Authorization: <redacted>", r.stderr)
      assert.is_nil(r.stderr:find("test-token", 1, true))
    end
  end)

  it("uses the config file's verbosity when the flag is left at its default", function()
    local r = list({}, { home = home_with("debug") })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^> GET ", r.stderr)
    r = list({ "--verbosity", "info" }, { home = home_with("debug") })
    assert.are.equal("", r.stderr)
    r = list({}, { home = home_with("chatty") })
    assert.are.equal(1, r.code)
    assert.are.equal('Error: not a valid logrus Level: "chatty"\n', r.stderr)
  end)

  it("takes nothing from a config file refused as unsafe: the command reports the file", function()
    local home = home_with("debug")
    h.sh("chmod 666 " .. h.shell_quote(home .. "/.astro/config.yaml"))
    local r = list({}, { home = home })
    assert.are.equal(1, r.code)
    assert.matches("^Error: [^\n]*config%.yaml[^\n]* writable by others", r.stderr)
    assert.is_nil(r.stderr:find("> GET", 1, true))
  end)
end)
