-- Signals. Ctrl-C: whatever the command was doing (a request in flight, a prompt waiting for
-- input), it stops at once with exactly one line, "Error: interrupted", and exit status 130.
-- SIGPIPE: a closed pipe is a write error for astro, but programs that scripts and plugins
-- start get the default action.
local h = require("spec.helpers")
local sys = require("astro.core.sys")
local q = h.shell_quote

describe("signals", function()
  local box = h.use_sandbox()

  -- Runs astro with args, its standard input a pipe held open with nothing typed, and sends it
  -- SIGINT after `after` seconds; returns { code, stdout, stderr, elapsed }.
  local function interrupt(args, after)
    local dir = h.tmpdir()
    local words = {}
    for _, a in ipairs(args) do words[#words + 1] = q(a) end
    local script = table.concat({
      "mkfifo " .. dir .. "/in",
      "sleep 30 >" .. dir .. "/in & writer=$!",
      "ASTRO_HOME=" .. q(box.home) .. " " .. q(h.astro) .. " " .. table.concat(words, " ") ..
        " <" .. dir .. "/in >" .. dir .. "/out 2>" .. dir .. "/err & pid=$!",
      "sleep " .. after .. "; kill -INT $pid; wait $pid; echo $? >" .. dir .. "/rc",
      "kill $writer", "wait $writer 2>/dev/null", "exit 0" }, "\n")
    local t0 = sys.now()
    h.sh(script)
    return { code = tonumber(h.read_file(dir .. "/rc")), stdout = h.read_file(dir .. "/out"),
             stderr = h.read_file(dir .. "/err"), elapsed = sys.now() - t0 }
  end

  it("Ctrl-C during a request prints one line", function()
    box.sb:faults({ latency_ms = 5000 })
    local r = interrupt({ "organization", "list" }, 0.5)
    assert.are.equal(130, r.code)
    assert.are.equal("Error: interrupted\n", r.stderr)
    assert.are.equal("", r.stdout)
    assert.is_true(r.elapsed < 4, string.format("took %.2f s", r.elapsed))
  end)

  it("Ctrl-C at a prompt prints one line", function()
    local r = interrupt({ "organization", "user", "invite" }, 0.5)
    assert.are.equal(130, r.code)
    assert.are.equal("enter email address to invite a user: \nError: interrupted\n", r.stderr)
    assert.are.same({}, h.writes(box.sb))
  end)

  -- Regression: SIGPIPE was ignored, and an ignored signal is passed on at exec, so `yes | head`
  -- in a plugin's os.execute printed "Broken pipe" errors instead of ending quietly.
  it("leaves SIGPIPE at its default action in programs astro starts", function()
    local dir = h.tmpdir()
    h.write_file(dir .. "/sig.lua", [[
local p = io.popen("grep SigIgn /proc/self/status")
io.write(p:read("l"), "\n")
p:close()
local ok = os.execute("yes | head -n 1 >/dev/null 2>" .. arg[1])
io.write(tostring(ok), "\n")
]])
    local r = h.run({ "--lua", dir .. "/sig.lua", dir .. "/yes.err" })
    assert.are.equal(0, r.code, r.stderr)
    local mask = tonumber(r.stdout:match("SigIgn:%s*(%x+)"), 16)
    assert.is_truthy(mask, r.stdout)
    assert.are.equal(0, (mask >> 12) & 1, "SIGPIPE (13) is ignored in the child: " .. r.stdout)
    assert.are.equal("", h.read_file(dir .. "/yes.err"))
  end)
end)
