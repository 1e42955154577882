-- The retry policy end to end: what a user sees when the API or the network misbehaves.
local h = require("spec.helpers")

local function statuses(reqs)
  local out = {}
  for i, r in ipairs(reqs) do out[i] = r.status == nil and "none" or tostring(r.status) end
  return table.concat(out, ",")
end

describe("retries", function()
  local box = h.use_sandbox({ reset = false })

  before_each(function()
    box.sb:faults({ latency_ms = 0, rate_limits = {}, fail_next = 0, drop_next = 0, malformed_next = 0, hang_next = 0,
                retry_after = true })
    box.sb:reset_requests()
  end)

  it("retries a GET answered 503 and succeeds", function()
    box.sb:faults({ fail_next = 2, fail_status = 503 })
    local r = box.run({ "--lua", "spec/support/run_cli.lua", "base_delay=0.05", "organization", "list" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("Acme Data Platform", r.stdout)
    assert.are.equal("503,503,200", statuses(box.sb:requests()))
  end)

  it("gives up after the bounded number of attempts with the API's message", function()
    box.sb:faults({ fail_next = 10, fail_status = 502 })
    local r = box.run({ "--lua", "spec/support/run_cli.lua", "base_delay=0.01,max_attempts=3", "organization", "list" })
    assert.are.equal(1, r.code)
    assert.are.equal(3, #box.sb:requests())
    assert.matches("^Error: cannot connect to Astronomer", r.stderr)
  end)

  it("does not retry a 500", function()
    box.sb:faults({ fail_next = 1, fail_status = 500 })
    local r = box.run({ "organization", "list" })
    assert.are.equal(1, r.code)
    assert.are.equal(1, #box.sb:requests())
  end)

  it("waits for Retry-After on a 429 and then succeeds", function()
    box.sb:faults({ rate_limits = { GET = 1 } })
    assert.are.equal(0, box.run({ "organization", "list" }).code)
    local t0 = os.time()
    local r = box.run({ "organization", "list" })
    assert.are.equal(0, r.code, r.stderr)
    local st = statuses(box.sb:requests())
    assert.matches("^200,429", st)
    assert.matches("200$", st)
    assert.is_true(os.time() - t0 <= 4)
  end)

  it("retries a GET whose connection was dropped", function()
    box.sb:faults({ drop_next = 1 })
    local r = box.run({ "--lua", "spec/support/run_cli.lua", "base_delay=0.05", "organization", "list" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(2, #box.sb:requests())
  end)

  it("turns malformed JSON into one Error line, no traceback", function()
    box.sb:faults({ malformed_next = 1 })
    local r = box.run({ "organization", "list" })
    assert.are.equal(1, r.code)
    assert.matches("^Error: cannot connect[^\n]*\n\nDetails: the API answered with malformed JSON[^\n]*\n$", r.stderr)
  end)

  it("stops a request that never answers at the configured timeout", function()
    box.sb:faults({ hang_next = 5 })
    local t0 = require("astro.core.sys").now()
    local r = box.run({ "--lua", "spec/support/run_cli.lua", "timeout=1,max_attempts=2,base_delay=0.05",
                      "organization", "list" })
    local took = require("astro.core.sys").now() - t0
    assert.are.equal(1, r.code)
    assert.matches("^Error: .*timed out", r.stderr)
    assert.is_true(took < 5, "took " .. took .. " s")
  end)
end)
