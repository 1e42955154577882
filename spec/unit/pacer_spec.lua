-- The pacer (astro._core.pacer) on a clock the test moves by hand: the spacing and window
-- rules, the cut to what the server accepted, the steps back up, rate-limit headers; then the
-- whole adaptation against simulated servers of many kinds (spec/support/pace_sim.lua), held
-- to the engine's targets: within 1.05x the floor, few 429s.
local h = require("spec.helpers")
local pacer = require("astro._core.pacer")
local sim = require("spec.support.pace_sim")

local T = pacer.tuning
local RATES = { GET = 25, POST = 10, PUT = 10, PATCH = 10, DELETE = 5 }

local function near(expected, actual, what)
  assert.is_true(math.abs(expected - actual) < 1e-6,
    string.format("%s: expected %.6f, got %.6f", what or "time", expected, actual))
end

-- A pacer on a hand-moved clock.
local function new(rates)
  local clock = { t = 100 }
  local p = pacer.new(rates or RATES, function() return clock.t end)
  return p, clock
end

-- Sends one request of method at the clock's time, answered with status (and headers).
local function send(p, method, status, headers)
  local e = p:sent(method)
  p:answered(e, { status = status or 200, headers = headers or {} })
  return e
end

-- Sends the next request of method as soon as the pacer allows, and the server refuses it.
local function refused(p, clock, method)
  clock.t = p:due(method)
  send(p, method, 429)
end

-- Sends n requests of method as fast as the pacer allows, all accepted; returns the last time.
local function paced(p, clock, method, n)
  for _ = 1, n do
    clock.t = p:due(method)
    send(p, method)
  end
  return clock.t
end

describe("the pacer", function()
  describe("spacing", function()
    it("spaces each method 1/(rate x margin) apart, each on its own; others at the POST rate", function()
      local p, clock = new({ POST = 10, GET = 25 })
      assert.are.equal(100, p:due("POST"))
      send(p, "POST")
      near(100 + 1 / (10 * T.margin), p:due("POST"), "second POST")
      assert.are.equal(100, p:due("GET"), "a GET waits for nobody's POSTs")
      send(p, "GET")
      near(100 + 1 / (25 * T.margin), p:due("GET"), "second GET")
      send(p, "PATCH")
      near(100 + 1 / (10 * T.margin), p:due("PATCH"), "PATCH at the POST rate")
      clock.t = 105
      assert.are.equal(105, p:due("POST"), "an idle pacer starts from now")
    end)

    it("never starts the limit+1-th request of a method within one window", function()
      local p, clock = new({ POST = 5 })
      -- Five requests close together (as after a cut): the sixth waits for the first to leave
      -- the window.
      for k = 0, 4 do
        clock.t = 100 + k * 0.01
        send(p, "POST")
      end
      near(100 + T.window + T.guard, p:due("POST"), "sixth")
    end)

    it("counts a refused request for nothing", function()
      local p, clock = new({ POST = 10 })
      send(p, "POST")
      local spaced = p:due("POST")
      clock.t = spaced
      send(p, "POST", 429)
      -- The 429 cut the limit; the next start is spaced from the accepted request, not the refused one.
      local limit = p:limits("POST")
      near(100 + 1 / (limit * T.margin), p:due("POST"), "spaced from the accepted one")
    end)
  end)

  describe("a 429", function()
    it("sets the limit to what the server accepted in the window before it", function()
      local p, clock = new()
      paced(p, clock, "POST", 5)             -- five accepted in 0.41 s
      refused(p, clock, "POST")              -- the sixth refused: the server allows 5 a second
      assert.are.equal(5, (p:limits("POST")))
      assert.are.equal(25, (p:limits("GET")), "another method keeps its limit")
      assert.is_nil(select(2, p:limits("POST")), "no limit over all requests")
    end)

    it("cuts at least a tenth below the refused pace", function()
      local p, clock = new()
      paced(p, clock, "POST", 11)            -- more than a window's worth accepted
      refused(p, clock, "POST")
      assert.are.equal(9, (p:limits("POST")))
    end)

    it("to a request sent before the last cut changes nothing", function()
      local p, clock = new()
      paced(p, clock, "POST", 5)
      clock.t = p:due("POST")
      local early = p:sent("POST")           -- in flight when the first 429 comes
      clock.t = clock.t + 0.001
      local first = p:sent("POST")
      p:answered(early, { status = 429, headers = {} })
      local after = p:limits("POST")
      p:answered(first, { status = 429, headers = {} })
      assert.are.equal(after, (p:limits("POST")), "a burst of 429s cuts once")
    end)

    it("in a window of several methods sets a limit over all requests", function()
      local p, clock = new()
      send(p, "GET")                         -- the listing
      paced(p, clock, "POST", 9)
      refused(p, clock, "POST")              -- the server counts 10 a second over everything
      local post, all = p:limits("POST")
      assert.are.equal(10, post, "POST keeps its limit")
      assert.are.equal(10, all)
      -- GETs now go no faster than the limit over all requests allows.
      clock.t = clock.t + 0.2
      local g = p:due("GET")
      assert.is_true(g >= clock.t)
    end)
  end)

  describe("after a cut", function()
    it("steps back up: halfway after a calm gap, then to the configured rate once that held", function()
      local p, clock = new()
      paced(p, clock, "POST", 5)
      refused(p, clock, "POST")
      assert.are.equal(5, (p:limits("POST")))
      clock.t = clock.t + T.probe_gap - 0.01
      p:due("POST")
      assert.are.equal(5, (p:limits("POST")), "no step before the gap")
      clock.t = clock.t + 0.02
      p:due("POST")
      assert.are.equal(7.5, (p:limits("POST")), "halfway to the configured 10")
      clock.t = clock.t + T.probe_gap + 0.01
      p:due("POST")
      assert.are.equal(10, (p:limits("POST")), "the step held: back to the configured rate")
    end)

    it("a step that brings a 429 goes back to the level that held, and the next waits twice as long", function()
      local p, clock = new()
      paced(p, clock, "POST", 5)
      refused(p, clock, "POST")
      clock.t = clock.t + T.probe_gap + 0.01
      p:due("POST")
      assert.are.equal(7.5, (p:limits("POST")))
      paced(p, clock, "POST", 3)
      refused(p, clock, "POST")
      assert.are.equal(5, (p:limits("POST")), "back to 5, which held")
      local cut = clock.t
      clock.t = cut + T.probe_gap + 0.01
      p:due("POST")
      assert.are.equal(5, (p:limits("POST")), "not after one gap")
      clock.t = cut + 2 * T.probe_gap + 0.01
      p:due("POST")
      assert.are.equal(7.5, (p:limits("POST")), "after two")
    end)

    it("new configured rates apply to a method never cut; a cut one keeps its lower limit", function()
      local p, clock = new()
      paced(p, clock, "POST", 5)
      refused(p, clock, "POST")
      p:configure({ GET = 50, POST = 20, DELETE = 5 })
      assert.are.same({ 50, 5 }, { (p:limits("GET")), (p:limits("POST")) })
    end)
  end)

  describe("rate-limit headers", function()
    it("take the limit they announce at once, never above the configured rate", function()
      local p = new()
      send(p, "POST", 200, { ["ratelimit-limit"] = "4", ["ratelimit-remaining"] = "3", ["ratelimit-reset"] = "1" })
      assert.are.equal(4, (p:limits("POST")))
      send(p, "GET", 200, { ["x-ratelimit-limit"] = "100" })
      assert.are.equal(25, (p:limits("GET")), "capped by the configured 25")
      send(p, "PUT", 200, { ["ratelimit-limit"] = "120", ["ratelimit-policy"] = "120;w=60" })
      assert.are.equal(2, (p:limits("PUT")), "120 a minute")
      send(p, "POST", 200, { ["ratelimit-limit"] = "8" })
      assert.are.equal(8, (p:limits("POST")), "a limit announced anew is taken as it is")
    end)

    it("hold the method until the reset when the quota is spent by someone else", function()
      local p, clock = new()
      send(p, "POST", 200, { ["ratelimit-limit"] = "10", ["ratelimit-remaining"] = "0", ["ratelimit-reset"] = "3" })
      near(clock.t + 3, p:due("POST"), "held")
      -- Spent by this history itself: the window rule already waits; no hold on top.
      local q, c2 = new()
      paced(q, c2, "POST", 9)
      c2.t = q:due("POST")
      send(q, "POST", 200, { ["ratelimit-limit"] = "10", ["ratelimit-remaining"] = "0", ["ratelimit-reset"] = "1" })
      assert.is_true(q:due("POST") < c2.t + 1, "no hold")
    end)
  end)

  describe("against simulated servers (200 rows after one listing GET)", function()
    local changing = { { 0, { GET = 25, POST = 10 } }, { 5, { GET = 25, POST = 5 } }, { 15, { GET = 25, POST = 10 } } }
    -- name, server, rates, floor (s), most 429s
    local models = {
      { "per method, token bucket (as configured)", { limits = { GET = 25, POST = 10 }, window = "bucket" }, RATES, 20, 0 },
      { "per method, sliding window", { limits = { GET = 25, POST = 10 } }, RATES, 20, 0 },
      { "one 10/s window for all requests", { limits = { ALL = 10 } }, RATES, 20, 2 },
      { "one 10/s fixed window for all requests", { limits = { ALL = 10 }, window = "fixed" }, RATES, 20, 2 },
      { "lower: POST 5/s", { limits = { GET = 25, POST = 5 } }, RATES, 40, 10 },
      { "lower: POST 5/s, fixed window", { limits = { GET = 25, POST = 5 }, window = "fixed" }, RATES, 40, 10 },
      { "lower: POST 5/s, token bucket", { limits = { GET = 25, POST = 5 }, window = "bucket" }, RATES, 40, 12 },
      { "lower: POST 7/s", { limits = { GET = 25, POST = 7 } }, RATES, 200 / 7, 8 },
      { "lower: 5/s for all requests", { limits = { ALL = 5 } }, RATES, 40, 10 },
      { "higher: POST 20/s, told", { limits = { GET = 25, POST = 20 } }, h.merged(RATES, { POST = 20 }), 10, 0 },
      { "changing: POST 10, 5 from 5 s, 10 from 15 s", { schedule = changing }, RATES, 25, 10 },
      { "changing, token bucket", { schedule = changing, window = "bucket" }, RATES, 25, 10 },
      { "lower, with rate-limit headers", { limits = { GET = 25, POST = 5 }, headers = true }, RATES, 40, 0 },
    }
    for _, m in ipairs(models) do
      it(m[1] .. ": within 1.05x the floor", function()
        local r = sim.run(sim.server(m[2]), sim.jobs(200, "POST", { "GET" }), m[3],
          { latency = 0.02 })
        local ratio = r.time / m[4]
        assert.is_true(ratio <= 1.05, string.format("%.2f s for a floor of %.2f s: %.3fx", r.time, m[4], ratio))
        assert.is_true(r.refused <= m[5], r.refused .. " 429s")
      end)
    end

    it("arrival jitter of 20 ms: within 1.05x and no 429", function()
      local r = sim.run(sim.server({ limits = { GET = 25, POST = 10 } }), sim.jobs(200, "POST", { "GET" }), RATES,
        { latency = 0.02, jitter = 0.02 })
      assert.is_true(r.time / 20 <= 1.05, r.time .. " s")
      assert.are.equal(0, r.refused)
    end)
  end)
end)
