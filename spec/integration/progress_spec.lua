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

  -- The invite of the 20 people with stderr on a pseudo-terminal `cols` columns wide (stty:
  -- the size the terminal reports; nil: none) and the environment env; what stderr got.
  local function bar_run(cols, env)
    box.sb:control("POST", "/_sandbox/reset")  -- the 20 are to invite again
    local out = h.tmpdir() .. "/err"
    local parts = { "env", "-u", "COLUMNS", "ASTRO_HOME=" .. box.home }
    for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. v end
    local inner = (cols and ("stty cols " .. cols .. " && ") or "") .. table.concat(parts, " ") .. " " ..
      h.astro .. " organization user invite --file " .. dir .. "/people.csv --rate-limit POST=40 >/dev/null"
    h.sh("script -qec " .. h.shell_quote(inner) .. " /dev/null </dev/null >" .. out)
    return h.read_file(out)
  end

  -- Each state the bar was drawn in (the text between carriage returns, before the summary line).
  local function drawn(err)
    local bar = err:match("^(.-)20 rows: 20 invited") or ""
    local out = {}
    for piece in bar:gmatch("[^\r]+") do out[#out + 1] = piece end
    return out
  end

  it("fits the terminal's width, never wrapping: narrow, wide, COLUMNS first, 80 when unknown", function()
    for _, case in ipairs({ { 20, nil, 19 }, { 30, nil, 29 }, { 200, nil, 199 }, { 200, { COLUMNS = "45" }, 44 },
                            { nil, nil, 79 } }) do
      local states = drawn(bar_run(case[1], case[2]))
      assert.is_true(#states >= 2, "no bar drawn at " .. tostring(case[1]))
      for _, s in ipairs(states) do
        assert.is_nil(s:find("\n"))
        assert.is_true(utf8.len(s) <= case[3], string.format("%d columns at width %s: %q", utf8.len(s),
          tostring(case[1]), s))
      end
      -- The last state drawn (before the line is cleared) says 20/20.
      assert.truthy(states[#states - 1]:find("20/20", 1, true), states[#states - 1])
    end
    -- Narrow: the count is kept, the bar left out; wide: a bar of 50 at most.
    local narrow = drawn(bar_run(20))
    assert.matches("^inviting %d+/20 *$", narrow[1])
    local wide = drawn(bar_run(200))
    assert.matches("^inviting %[[# ]+%] %d+/20 [%d.]+/s ETA %d+s *$", wide[1])
    assert.are.equal(50, #wide[1]:match("%[([# ]+)%]"))
  end)

  it("prints nothing but the summary when stderr is not a terminal", function()
    local r = box.run({ "organization", "user", "invite", "--file", dir .. "/people.csv", "--rate-limit", "POST=40" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("20 rows: 20 invited, 0 skipped, 0 failed\n", r.stderr)
  end)
end)
