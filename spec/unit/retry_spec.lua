-- The one retry decision (astro._core.retry.decide), row by row, and the same rows seen from
-- both roads that use it: a single request (client:request) and a batch (astro._core.engine)
-- against the sandbox, which must end the same way.
local h = require("spec.helpers")
local retry = require("astro._core.retry")
local engine = require("astro._core.engine")
local http = require("astro.http")


local function res(status, headers) return { status = status, headers = headers or {} } end

describe("the retry decision", function()
  local P = h.quick_policy(0.01, 0.02)
  -- method, response or nil, transport code, state, expected action
  local rows = {
    { "GET", res(200), nil, { attempt = 1 }, "done" },
    { "POST", res(400), nil, { attempt = 1 }, "done" },
    { "GET", res(500), nil, { attempt = 1 }, "done" },
    { "GET", res(503), nil, { attempt = 1 }, "retry" },
    { "GET", res(502), nil, { attempt = 3 }, "retry" },
    { "GET", res(504), nil, { attempt = 4 }, "done" },                         -- out of attempts
    { "POST", res(503), nil, { attempt = 1 }, "done" },                        -- a change is never repeated
    { "POST", res(503), nil, { attempt = 1, idempotent = true }, "retry" },    -- setting a role
    { "POST", res(429), nil, { attempt = 1 }, "retry" },                       -- not processed: safe
    { "POST", res(429), nil, { attempt = 9, throttled = 8 }, "retry" },        -- 429s have their own budget
    { "POST", res(429), nil, { attempt = 13, throttled = 12 }, "done" },
    { "GET", res(503), nil, { attempt = 5, throttled = 2 }, "retry" },         -- 429s do not use attempts
    { "POST", nil, "connect", { attempt = 1 }, "retry" },                      -- nothing was sent
    { "POST", nil, "connect", { attempt = 4 }, "done" },
    { "GET", nil, "timeout", { attempt = 1 }, "retry" },
    { "GET", nil, "recv", { attempt = 4 }, "done" },
    { "POST", nil, "timeout", { attempt = 1 }, "unknown" },                    -- it may have taken effect
    { "POST", nil, "send", { attempt = 1 }, "unknown" },
    { "DELETE", nil, "recv", { attempt = 1 }, "unknown" },
    { "PUT", nil, "recv", { attempt = 1, idempotent = true }, "retry" },
    { "GET", nil, "tls", { attempt = 1 }, "done" },
    { "GET", nil, "too_large", { attempt = 1 }, "done" },
    { "GET", nil, "interrupted", { attempt = 1 }, "stop" },
    { "POST", res(429, { ["retry-after"] = "3600" }), nil, { attempt = 1 }, "give_up" },
    { "GET", res(503, { ["retry-after"] = "61" }), nil, { attempt = 1 }, "give_up" },
  }
  for _, r in ipairs(rows) do
    local name = string.format("%s %s %s attempt %d (%d 429s%s): %s", r[1], r[2] and r[2].status or "no answer",
      r[3] or "", r[4].attempt, r[4].throttled or 0, r[4].idempotent and ", idempotent" or "", r[5])
    it(name, function()
      assert.are.equal(r[5], retry.decide(r[1], r[2], r[3], r[4], P).action)
    end)
  end

  it("waits the Retry-After the server asks for, within the policy's patience", function()
    local d = retry.decide("POST", res(429, { ["retry-after"] = "7" }), nil, { attempt = 1 }, P)
    assert.are.same({ "retry", 7, true }, { d.action, d.delay, d.throttled })
    d = retry.decide("GET", res(503), nil, { attempt = 1 }, P)
    assert.is_true(d.delay > 0 and d.delay <= P.max_delay)
  end)

  it("names the wait the server asked for when it is beyond the policy's patience", function()
    local d = retry.decide("POST", res(429, { ["retry-after"] = "3600", ["x-request-id"] = "rid-1" }), nil,
      { attempt = 1 }, P)
    assert.are.equal("give_up", d.action)
    assert.are.equal("the API answered 429 and asked to wait 1 h before trying again (Retry-After), longer " ..
      "than the 60 s this tool waits (astro.http.policy.max_retry_after): try again later", d.err.message)
    assert.are.same({ 429, 3600, "rid-1" }, { d.err.status, d.err.retry_after, d.err.requestId })
  end)
end)

describe("both roads decide alike", function()
  local box = h.use_sandbox({ home = false })
  local astro = require("astro")
  local ORG_PATH = "/organizations/" .. h.ids.ACME

  local function client()
    return astro.new_client({ base_url = box.sb.url .. "/v1", authorization = "Bearer test-token",
                              organization = h.ids.ACME })
  end

  -- Runs the same request once alone and once in a batch, each after the same faults; returns
  -- { single = { ok, status, message, sent }, batch = { ... } }.
  local function both(faults, method, path, body, policy)
    local out = {}
    for _, road in ipairs({ "single", "batch" }) do
      box.sb:control("POST", "/_sandbox/reset")          -- data, faults and record as at the start
      box.sb:faults(faults)
      local ok, status, message
      local saved = {}
      for k, v in pairs(policy) do saved[k] = http.policy[k]; http.policy[k] = v end
      if road == "single" then
        local data, err = client():request(method, path, { body = body })
        if data == nil then ok, status, message = false, err.status, err.message else ok = true end
      else
        local r = engine.run(client(), { { method = method, path = path, body = body } }, { policy = http.policy })[1]
        ok, status, message = r.ok, r.err and r.err.status, r.err and r.err.message
      end
      for k, v in pairs(saved) do http.policy[k] = v end
      out[road] = { ok = ok, status = status, message = message, sent = #h.recorded(box.sb, { method = method }) }
    end
    return out
  end

  local quick = { base_delay = 0.01, max_delay = 0.02, timeout = 0.5 }
  local cases = {
    { "a GET answered 503 once", { fail_next = 1, fail_status = 503 }, "GET", ORG_PATH },
    { "a POST answered 503 once", { fail_next = 1, fail_status = 503 }, "POST", ORG_PATH .. "/invites",
      { inviteeEmail = "roads1@acme.io", role = "ORGANIZATION_MEMBER" } },
    { "a GET answered 503 five times", { fail_next = 5, fail_status = 503 }, "GET", ORG_PATH },
    { "a POST answered 429 twice", { fail_next = 2, fail_status = 429 }, "POST", ORG_PATH .. "/invites",
      { inviteeEmail = "roads2@acme.io", role = "ORGANIZATION_MEMBER" } },
    { "a POST answered 429 asking for an hour", { fail_next = 1, fail_status = 429, retry_after_seconds = 3600 },
      "POST", ORG_PATH .. "/invites", { inviteeEmail = "roads3@acme.io", role = "ORGANIZATION_MEMBER" } },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      local started = os.time()
      local r = both(c[2], c[3], c[4], c[5], quick)
      local s, b = r.single, r.batch
      assert.are.same({ s.ok, s.status, s.sent }, { b.ok, b.status, b.sent })
      if s.message then assert.are.equal(s.message, b.message) end
      assert.is_true(os.time() - started < 10, "took too long")
    end)
  end

  it("a 429 asking for an hour ends at once, naming the wait, on either road", function()
    local r = both({ fail_next = 1, fail_status = 429, retry_after_seconds = 3600 }, "POST", ORG_PATH .. "/invites",
      { inviteeEmail = "roads4@acme.io", role = "ORGANIZATION_MEMBER" }, quick)
    for _, road in ipairs({ "single", "batch" }) do
      assert.is_false(r[road].ok, road)
      assert.are.equal(1, r[road].sent, road)
      assert.matches("asked to wait 1 h before trying again", r[road].message, 1, true)
    end
  end)
end)
