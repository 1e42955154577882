-- astro.audit_logs' pure parts: the startDate sent (calendar days back in local time, RFC 3339
-- with nanoseconds and the local offset), the default file name and the days check.
local h = require("spec.helpers")
local audit_logs = require("astro.audit_logs")

-- Runs `print(<expr>)` in the host with the time zone tz; returns the printed line.
local function in_zone(tz, expr)
  local dir = h.tmpdir()
  h.write_file(dir .. "/t.lua", 'local al = require("astro.audit_logs")\nprint(' .. expr .. ")\n")
  return (h.capture("TZ=" .. h.shell_quote(tz) .. " " .. h.shell_quote(h.astro) .. " --lua " ..
    h.shell_quote(dir .. "/t.lua")):gsub("\n$", ""))
end

-- 2026-03-30T10:00:00.5Z, the day after Paris moved to summer time.
local T = 1774864800.5

describe("astro.audit_logs", function()
  it("counts days back on the calendar of the local time zone, keeping its offset", function()
    assert.are.equal("2026-03-29T10:00:00.5Z", in_zone("UTC", "al.start_date(1, " .. T .. ")"))
    assert.are.equal("2026-03-29T12:00:00.5+02:00", in_zone("Europe/Paris", "al.start_date(1, " .. T .. ")"))
    -- Across the change: the same wall-clock time, the offset of that day.
    assert.are.equal("2026-03-28T12:00:00.5+01:00", in_zone("Europe/Paris", "al.start_date(2, " .. T .. ")"))
    assert.are.equal("2025-12-30T07:30:00-03:30", in_zone("America/St_Johns", "al.start_date(90, 1774864800)"))
  end)

  it("gives nanoseconds without trailing zeros", function()
    assert.matches("^2026%-03%-29T10:00:00%.123456%d*Z$", in_zone("UTC", "al.start_date(1, 1774864800.123456)"))
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d[.%dZ+-]", audit_logs.start_date(1))
  end)

  it("names the file as the astro CLI does, with no path separator or control character", function()
    assert.are.equal("acmedataplatform-logs-1-day-20260330.ndjson.gz",
      in_zone("UTC", 'al.default_file_name("Acme Data Platform", 1, ' .. T .. ")"))
    assert.are.equal("-logs-7-days-20260330.ndjson.gz", in_zone("UTC", 'al.default_file_name("", 7, ' .. T .. ")"))
    assert.are.equal(".._x_y-logs-90-days-20260331.ndjson.gz",
      in_zone("Pacific/Kiritimati", 'al.default_file_name("../X\\tY", 90, ' .. T .. ")"))
  end)

  it("takes 1 to 90 days", function()
    assert.are.equal(1, audit_logs.check_days(nil))
    assert.are.equal(1, audit_logs.check_days(1))
    assert.are.equal(90, audit_logs.check_days(90.0))
    for _, bad in ipairs({ 0, 91, -1, 1.5, "7", true }) do
      local days, err = audit_logs.check_days(bad)
      assert.is_nil(days)
      assert.are.equal("--include must be a number of days from 1 to 90, not " .. tostring(bad), err.message)
      assert.are.equal(2, err.exit)
    end
  end)
end)
