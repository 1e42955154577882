-- `user list` against servers that page otherwise than asked: pages smaller than the limit
-- asked for, a totalCount that overstates (10^6 with pages of one item), a list that grows
-- while it is paged, a count that understates. Every listing ends, lists every user once in API
-- order, and sends a bounded number of requests; the listing functions stop at their page cap.
local h = require("spec.helpers")
local json = require("astro.json")

local ORG = h.ids.ACME
local USERS = "/v1/organizations/" .. ORG .. "/users"

local function page_requests(sb) return h.recorded(sb, { method = "GET", path = USERS }) end

local function json_emails(stdout)
  local out = {}
  for i, u in ipairs(json.decode(stdout).users) do out[i] = u.email end
  return out
end

describe("user list against servers that page otherwise", function()
  local box = h.use_sandbox({ flags = { "--users", "300" } })
  local list = box.command({ "organization", "user", "list" })
  local expected

  lazy_setup(function()
    expected = {}
    for i, u in ipairs(box.sb:state().users[ORG]) do expected[i] = u.username end
  end)

  it("pages smaller than asked: every user once, in order, one request per page", function()
    box.sb:faults({ max_page_size = 7 })
    local r = list({ "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same(expected, json_emails(r.stdout))
    assert.are.equal(math.ceil(#expected / 7), #page_requests(box.sb))
  end)

  it("a totalCount of 10^6 with pages of one item: stops at the first empty page", function()
    box.sb:faults({ max_page_size = 1, total_count_claim = 1000000 })
    local r = list({ "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.same(expected, json_emails(r.stdout))
    local n = #page_requests(box.sb)
    -- One request per user, plus the empty pages already asked for when the first came back.
    assert.is_true(n > #expected and n <= #expected + 2 * 8 + 1, n .. " requests")
  end)

  it("a totalCount that overstates with full pages: stops at the first empty page", function()
    box.sb:faults({ max_page_size = 50, total_count_claim = 1000000 })
    local r = list({ "-o", "csv" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(#expected + 1, #h.lines(r.stdout))
    assert.is_true(#page_requests(box.sb) <= #expected / 50 + 1 + 16 + 1)
  end)

  it("a list that grows while it is paged: ends, with every user it started with, once each", function()
    box.sb:faults({ max_page_size = 20, grow_per_page = 25 })
    local r = list({ "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local got = json_emails(r.stdout)
    local seen = {}
    for _, e in ipairs(got) do
      assert.is_nil(seen[e], "listed twice: " .. e)
      seen[e] = true
    end
    for _, e in ipairs(expected) do assert.is_true(seen[e], "missing: " .. e) end
    -- Followed once past the first count, not forever: the list grows faster than it is paged.
    local n = #page_requests(box.sb)
    assert.is_true(n < 200, n .. " requests")
    assert.is_true(#got > #expected, "the growth seen by the last page is listed too")
  end)

  it("a totalCount that understates: the users of the pages asked for, no error", function()
    box.sb:faults({ max_page_size = 100, total_count_claim = 150 })
    local r = list({ "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local got = json_emails(r.stdout)
    assert.are.equal(200, #got)
    for i = 1, 200 do assert.are.equal(expected[i], got[i]) end
  end)
end)

describe("listing functions", function()
  local box = h.use_sandbox({ flags = { "--users", "40" }, home = false })
  local astro = require("astro")
  local listing = require("astro._core.listing")
  local client

  before_each(function()
    client = astro.new_client({ base_url = box.sb.url .. "/v1", authorization = "Bearer test-token",
                                organization = ORG })
  end)

  it("stream stops at its page cap with an error naming it", function()
    box.sb:faults({ max_page_size = 1, total_count_claim = 1000000 })
    local pages = 0
    local n, err = listing.stream(client, "/organizations/" .. ORG .. "/users", "users", function() pages = pages + 1 end,
      { max_pages = 10 })
    assert.is_nil(n)
    assert.are.equal("api", err.code)
    assert.matches("passed 10 pages and the API's answers still do not end %(totalCount 1000000%)", err.message)
    assert.is_true(#page_requests(box.sb) <= 10)
    assert.is_true(pages <= 10)
  end)

  it("each stops at an empty page and at its page cap", function()
    box.sb:faults({ max_page_size = 10, total_count_claim = 1000000 })
    local got = 0
    for item, err in listing.each(client, "/organizations/" .. ORG .. "/users", "users") do
      assert.is_truthy(item, err and err.message)
      got = got + 1
    end
    assert.are.equal(43, got)
    local seen_error
    for item, err in listing.each(client, "/organizations/" .. ORG .. "/users", "users", { max_pages = 2 }) do
      if not item then seen_error = err end
    end
    assert.matches("passed 2 pages", seen_error.message)
  end)

  it("stream keeps memory to a window: never more pages planned ahead than the window", function()
    box.sb:faults({ max_page_size = 1 })
    local max_ahead, delivered = 0, 0
    local n = listing.stream(client, "/organizations/" .. ORG .. "/users", "users", function()
      delivered = delivered + 1
      local asked = #page_requests(box.sb)
      max_ahead = math.max(max_ahead, asked - delivered)
    end, { window = 4, concurrency = 2 })
    assert.are.equal(43, n)
    assert.is_true(max_ahead <= 4, "planned " .. max_ahead .. " pages ahead")
  end)
end)
