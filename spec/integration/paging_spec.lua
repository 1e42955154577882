-- `user list` over many users: every user in API order (table, --json and -o csv streamed),
-- pages of 1000 fetched once each and concurrently, retried on 503 and 429, within the GET limit.
local h = require("spec.helpers")
local json = require("astro.json")
local sys = require("astro.core.sys")

local ORG = h.ids.ACME
local USERS = "/v1/organizations/" .. ORG .. "/users"

local function page_requests(sb) return h.recorded(sb, { method = "GET", path = USERS }) end

local function queries(sb)
  local q = {}
  for i, r in ipairs(page_requests(sb)) do q[i] = r.query end
  table.sort(q)
  return q
end

describe("user list over several pages", function()
  local box = h.use_sandbox({ flags = { "--users", "2500" } })
  local expected

  lazy_setup(function()
    expected = {}
    for i, u in ipairs(box.sb:state().users[ORG]) do expected[i] = u.username end
  end)

  local list = box.command({ "organization", "user", "list" })

  local function json_emails(stdout)
    local out = {}
    for i, u in ipairs(json.decode(stdout).users) do out[i] = u.email end
    return out
  end

  local function csv_emails(stdout)
    local lines = h.lines(stdout)
    assert.are.equal("full_name,email,id,organization_role,created_at,status", lines[1])
    local out = {}
    for i = 2, #lines do out[#out + 1] = lines[i]:match("^[^,]*,([^,]*),") end
    return out
  end

  it("--json gives all 2503 users in API order, each page of 1000 asked for once", function()
    local r = list({ "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(2503, #expected)
    assert.are.same(expected, json_emails(r.stdout))
    local last = json.decode(r.stdout).users[2503]
    assert.are.same({ fullName = "User 02500", email = "user02500@example.com", id = last.id,
                      createdAt = "2024-01-02T17:40:00Z", orgRole = "ORGANIZATION_OWNER", status = "ACTIVE" }, last)
    assert.are.same({ "limit=1000&offset=0", "limit=1000&offset=1000", "limit=1000&offset=2000" }, queries(box.sb))
  end)

  it("-o csv gives the same users in the same order, and so does the table", function()
    local r = list({ "-o", "csv" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same(expected, csv_emails(r.stdout))
    assert.matches("\nUser 01050,user01050@example%.com,cgu%w+,ORGANIZATION_BILLING_ADMIN,2024%-01%-01T17:30:00Z,ACTIVE\n", r.stdout)
    assert.are.same({ "limit=1000&offset=0", "limit=1000&offset=1000", "limit=1000&offset=2000" }, queries(box.sb))
    r = list()
    assert.are.equal(0, r.code, r.stderr)
    local lines = h.lines(r.stdout)
    assert.are.equal(2504, #lines)
    assert.matches("^ FULLNAME +EMAIL", lines[1])
    assert.matches(" user02500@example%.com ", lines[2504])
  end)

  it("fetches the pages after the first concurrently (300 ms each)", function()
    box.sb:faults({ latency_ms = 300 })
    local t0 = sys.now()
    local r = list({ "-o", "csv" })
    local elapsed = sys.now() - t0
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same(expected, csv_emails(r.stdout))
    local pages = page_requests(box.sb)
    assert.are.equal(3, #pages)
    -- Paced at 25 GET/s they start 40 ms apart; one after the other, the third page would start
    -- >= 300 ms after the second. The margin between the two absorbs a loaded machine.
    assert.is_true(pages[3].time - pages[2].time < 0.2,
      string.format("pages started %.3f s apart", pages[3].time - pages[2].time))
    assert.is_true(elapsed < 3 * h.slack, string.format("took %.2f s", elapsed))
  end)

  it("retries a page answered 503 and still gives every user in order", function()
    box.sb:faults({ fail_next = 1, fail_status = 503, fault_methods = { "GET" } })
    local r = list({ "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same(expected, json_emails(r.stdout))
    local statuses = {}
    for i, p in ipairs(page_requests(box.sb)) do statuses[i] = p.status end
    assert.are.same({ 503, 200, 200, 200 }, statuses)
    assert.are.same({ "limit=1000&offset=0", "limit=1000&offset=0", "limit=1000&offset=1000",
                      "limit=1000&offset=2000" }, queries(box.sb))
  end)

  it("waits out 429s on pages (Retry-After) and still gives every user in order", function()
    box.sb:faults({ rate_limits = { GET = 1 } })
    local r = list({ "-o", "csv" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same(expected, csv_emails(r.stdout))
    local refused = 0
    for _, p in ipairs(page_requests(box.sb)) do if p.status == 429 then refused = refused + 1 end end
    assert.is_true(refused > 0)
    assert.are.equal("", r.stderr)
  end)

  it("stays within a GET limit of 25/s over 5000 users: no 429, six pages", function()
    local big = h.sandbox({ "--users", "5000", "--rate-limit", "GET=25" })
    local ok, err = pcall(function()
      local r = list({ "-o", "csv" }, { home = big:home() })
      assert.are.equal(0, r.code, r.stderr)
      local emails = csv_emails(r.stdout)
      assert.are.equal(5003, #emails)
      assert.are.equal("user05000@example.com", emails[5003])
      local qs, refused = {}, 0
      for _, p in ipairs(page_requests(big)) do
        qs[#qs + 1] = p.query
        if p.status ~= 200 then refused = refused + 1 end
      end
      table.sort(qs)
      assert.are.same({ "limit=1000&offset=0", "limit=1000&offset=1000", "limit=1000&offset=2000",
                        "limit=1000&offset=3000", "limit=1000&offset=4000", "limit=1000&offset=5000" }, qs)
      assert.are.equal(0, refused)
    end)
    big:stop()
    assert(ok, err)
  end)
end)
