-- The progress bar of `user invite --file`: on a terminal only.
local h = require("spec.helpers")

describe("bulk progress", function()
  local box = h.use_sandbox()
  local dir

  lazy_setup(function()
    dir = h.tmpdir()
    local rows = { "email" }
    for i = 1, 20 do rows[#rows + 1] = string.format("progress%02d@acme.io", i) end
    h.write_file(dir .. "/people.csv", table.concat(rows, "\n") .. "\n")
  end)

  it("draws a bar with rate and ETA on stderr when it is a terminal", function()
    -- script(1) gives the command a pseudo-terminal; the bar is drawn with carriage returns.
    local cmd = "ASTRO_HOME=" .. box.home .. " script -qec " ..
      h.shell_quote(h.astro .. " organization user invite --file " .. dir .. "/people.csv --rate-limit POST=40 >/dev/null") ..
      " /dev/null"
    local out = h.capture(cmd .. " 2>&1")
    assert.matches("inviting %[[# ]+%] %d+/20 [%d.]+/s ETA %d+s", out)
  end)

  it("prints nothing but the summary when stderr is not a terminal", function()
    local r = box.run({ "organization", "user", "invite", "--file", dir .. "/people.csv", "--rate-limit", "POST=40" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("20 rows: 20 invited, 0 skipped, 0 failed\n", r.stderr)
  end)
end)
