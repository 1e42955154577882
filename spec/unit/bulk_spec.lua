-- astro.bulk inside the host: the pacer, parse_rates, run() (job order, on_result, retries,
-- unknown outcomes, dry-run) and stream_list (pages in API order) against the sandbox.
local h = require("spec.helpers")
local astro = require("astro")
local engine = require("astro._core.engine")
local listing = require("astro._core.listing")
local pacer = require("astro._core.pacer")
local sys = require("astro.core.sys")

local ORG = h.ids.ACME
local ORG_PATH = "/organizations/" .. ORG
local RAJ = h.ids.RAJ

local function quick_policy() return h.quick_policy(0.02, 0.05) end

describe("astro.bulk", function()
  describe("parse_rates", function()
    it("reads METHOD=N pairs over the API's defaults, without changing the defaults", function()
      local before = {}
      for k, v in pairs(pacer.settings.rates) do before[k] = v end
      local r = assert(pacer.parse_rates(" POST = 5 ,GET=50,DELETE=0.5"))
      local want = {}
      for k, v in pairs(before) do want[k] = v end
      want.POST, want.GET, want.DELETE = 5, 50, 0.5
      assert.are.same(want, r)
      assert.are.same(before, pacer.settings.rates)
      assert.are.same(before, assert(pacer.parse_rates("")))
    end)

    it("refuses anything else as a usage error (exit status 2) naming the bad part", function()
      for _, text in ipairs({ "POST=0", "post=5", "POST", "POST=fast", "POST=-1", "POST=5;GET=2", "=5", "POST=1.2.3" }) do
        local r, err = pacer.parse_rates(text)
        assert.is_nil(r, text)
        assert.are.equal(2, err.exit, text)
        assert.are.equal("usage", err.code, text)
        assert.is_truthy(err.message:find("invalid rate limit", 1, true), text)
      end
      local _, err = pacer.parse_rates("GET=25,PUT=x")
      assert.matches('"PUT=x"', err.message)
    end)
  end)

  describe("against the sandbox", function()
    local box = h.use_sandbox({ flags = { "--users", "2500" }, home = false })
    local client, dir

    lazy_setup(function()
      dir = h.tmpdir()
    end)

    local function new_client(opts)
      local o = { base_url = box.sb.url .. "/v1", authorization = "Bearer test-token", organization = ORG }
      for k, v in pairs(opts or {}) do o[k] = v end
      return astro.new_client(o)
    end

    before_each(function()
      client = new_client()
    end)

    local function recorded(method) return h.recorded(box.sb, { method = method }) end

    it("run() gives the results in job order and calls on_result once per job", function()
      local jobs = {
        { method = "GET", path = ORG_PATH .. "/users", query = { limit = 1000, offset = 0 } },
        { method = "GET", path = ORG_PATH .. "/users/nobody" },
        { method = "POST", path = ORG_PATH .. "/invites", body = { inviteeEmail = "unit1@acme.io", role = "ORGANIZATION_MEMBER" } },
        { method = "POST", path = ORG_PATH .. "/invites", body = { inviteeEmail = "raj.patel@acme.io", role = "ORGANIZATION_MEMBER" } },
        { method = "GET", path = ORG_PATH .. "/users/" .. RAJ },
      }
      local calls = {}
      local results = engine.run(client, jobs, {
        on_result = function(i, result, job)
          calls[i] = (calls[i] or 0) + 1
          assert.are.equal(jobs[i], job)
        end,
      })
      assert.are.same({ 1, 1, 1, 1, 1 }, calls)
      assert.are.equal(5, #results)
      assert.are.equal(1000, #results[1].data.users)
      assert.are.same({ false, 404, "User not found" }, { results[2].ok, results[2].err.status, results[2].err.message })
      assert.matches("^%x+%-", results[2].err.requestId)
      assert.are.same({ true, "unit1@acme.io" }, { results[3].ok, results[3].data.invitee.username })
      assert.matches("^%x+%-", results[3].requestId)
      assert.are.equal("User is already a member of this organization.", results[4].err.message)
      assert.are.equal("raj.patel@acme.io", results[5].data.username)
      for i = 1, 5 do assert.are.equal(1, results[i].attempts) end
    end)

    it("run() starts the jobs of a method 1/rate apart", function()
      local jobs = {}
      for i = 1, 5 do jobs[i] = { method = "GET", path = ORG_PATH } end
      local results = engine.run(client, jobs, { rates = { GET = 10 } })
      for i = 1, 5 do assert.is_true(results[i].ok) end
      local got = recorded("GET")
      assert.are.equal(5, #got)
      -- Paced, the five start over 0.4 s; unpaced, within a few ms. The span (not each gap, which
      -- one late start on a loaded machine can shrink) tells them apart; the exact spacing is
      -- the pacer's, specified above on a hand-moved clock.
      local span = got[5].time - got[1].time
      assert.is_true(span > 0.3, string.format("5 GETs at 10/s started within %.3f s", span))
    end)

    it("run() retries a GET answered 503 but not a POST", function()
      box.sb:faults({ fail_next = 1, fail_status = 503, fault_methods = { "GET" } })
      local r = engine.run(client, { { method = "GET", path = ORG_PATH } }, { policy = quick_policy() })[1]
      assert.are.same({ true, 2 }, { r.ok, r.attempts })
      box.sb:faults({ fail_next = 1, fail_status = 503, fault_methods = { "POST" } })
      r = engine.run(client, { { method = "POST", path = ORG_PATH .. "/invites",
                               body = { inviteeEmail = "unit2@acme.io", role = "ORGANIZATION_MEMBER" } } },
                   { policy = quick_policy() })[1]
      assert.are.same({ false, 503, "Service Unavailable", 1 }, { r.ok, r.err.status, r.err.message, r.attempts })
      assert.are.equal(1, #recorded("POST"))
    end)

    describe("an unknown outcome (the POST timed out)", function()
      local function job()
        return { method = "POST", path = ORG_PATH .. "/invites", timeout = 0.5,
                 body = { inviteeEmail = "unit3@acme.io", role = "ORGANIZATION_MEMBER" } }
      end

      before_each(function() box.sb:faults({ hang_next = 1, fault_methods = { "POST" } }) end)

      it("is handed to on_unknown, and retried when not confirmed", function()
        local seen = {}
        local r = engine.run(client, { job() }, { policy = quick_policy(), on_unknown = function(items)
          seen[#seen + 1] = #items .. ":" .. items[1].index .. ":" .. items[1].job.body.inviteeEmail
          return {}
        end })[1]
        assert.are.same({ "1:1:unit3@acme.io" }, seen)
        assert.are.same({ true, 2 }, { r.ok, r.attempts })
        assert.are.equal(2, #recorded("POST"))
      end)

      it("ends ok without a second request when on_unknown confirms it", function()
        local r = engine.run(client, { job() }, { policy = quick_policy(), on_unknown = function() return { [1] = true } end })[1]
        assert.are.same({ true, true }, { r.ok, r.confirmed })
        assert.are.equal(1, #recorded("POST"))
      end)

      it("fails, saying so, without on_unknown", function()
        local r = engine.run(client, { job() }, { policy = quick_policy() })[1]
        assert.is_false(r.ok)
        assert.are.equal("unknown", r.err.code)
        assert.matches("whether it took effect is unknown", r.err.message)
        assert.are.equal(1, #recorded("POST"))
      end)
    end)

    it("a dry-run client holds back the mutating jobs (planned) but sends the GETs", function()
      local plan_path = dir .. "/plan.txt"
      local plan = assert(io.open(plan_path, "w"))
      local dry = new_client({ dry_run = true, plan = plan })
      local results = engine.run(dry, {
        { method = "POST", path = ORG_PATH .. "/invites", body = { inviteeEmail = "dry@acme.io", role = "ORGANIZATION_MEMBER" } },
        { method = "GET", path = ORG_PATH .. "/users/" .. RAJ },
        { method = "POST", path = ORG_PATH .. "/users/" .. RAJ .. "/roles", body = { organizationRole = "ORGANIZATION_OWNER" } },
      })
      plan:close()
      assert.are.same({ true, true }, { results[1].ok, results[1].dry_run })
      assert.are.equal("raj.patel@acme.io", results[2].data.username)
      assert.is_true(results[3].dry_run)
      assert.are.equal(0, #recorded("POST"))
      assert.are.equal(1, #recorded("GET"))
      local text = h.read_file(plan_path)
      assert.is_truthy(text:find('dry run: POST ' .. ORG_PATH .. '/invites {"inviteeEmail":"dry@acme.io","role":"ORGANIZATION_MEMBER"}', 1, true))
      assert.is_truthy(text:find("dry run: POST " .. ORG_PATH .. "/users/" .. RAJ .. "/roles", 1, true))
      -- quiet_plan: the caller reports, nothing is printed
      plan = assert(io.open(plan_path, "w"))
      engine.run(new_client({ dry_run = true, plan = plan }),
        { { method = "DELETE", path = ORG_PATH .. "/users/" .. RAJ } }, { quiet_plan = true })
      plan:close()
      assert.are.equal("", h.read_file(plan_path))
      assert.are.equal(0, #recorded("DELETE"))
    end)

    it("stream_list hands the pages over in API order and returns count and total", function()
      local expected = {}
      for i, u in ipairs(box.sb:state().users[ORG]) do expected[i] = u.username end
      local offsets, names = {}, {}
      local n, total = listing.stream(client, ORG_PATH .. "/users", "users", function(items, offset)
        offsets[#offsets + 1] = offset .. "+" .. #items
        for _, u in ipairs(items) do names[#names + 1] = u.username end
      end, { page_size = 700 })
      assert.are.same({ 2503, 2503 }, { n, total })
      assert.are.same({ "0+700", "700+700", "1400+700", "2100+403" }, offsets)
      assert.are.same(expected, names)
    end)

    it("stream_list retries a later page answered 503 and keeps the order", function()
      local expected = {}
      for i, u in ipairs(box.sb:state().users[ORG]) do expected[i] = u.username end
      local offsets, names = {}, {}
      local n = listing.stream(client, ORG_PATH .. "/users", "users", function(items, offset)
        -- the other pages are asked for only after the first one: fail the next of them
        if offset == 0 then box.sb:faults({ fail_next = 1, fail_status = 503, fault_methods = { "GET" } }) end
        offsets[#offsets + 1] = offset
        for _, u in ipairs(items) do names[#names + 1] = u.username end
      end)
      assert.are.equal(2503, n)
      assert.are.same({ 0, 1000, 2000 }, offsets)
      assert.are.same(expected, names)
      local statuses = {}
      for _, r in ipairs(recorded("GET")) do statuses[#statuses + 1] = r.status end
      table.sort(statuses)
      assert.are.same({ 200, 200, 200, 503 }, statuses)
    end)

    it("stream_list returns nil and the API's error when a page cannot be had", function()
      local called = false
      local n, err = listing.stream(client, "/organizations/nope/users", "users", function() called = true end)
      assert.is_nil(n)
      assert.are.same({ 404, "Organization not found" }, { err.status, err.message })
      assert.is_false(called)
    end)
  end)
end)
