-- The public Lua API (require "astro") against the sandbox, as scripts and plugins use it.
local h = require("spec.helpers")
local astro = require("astro")
local api = require("astro._core.client")

local ACME = h.ids.ACME
local GLOBEX = h.ids.GLOBEX
local RAJ = h.ids.RAJ
local USERS = "/v1/organizations/" .. ACME .. "/users"

describe("the public astro API", function()
  local sb

  lazy_setup(function() sb = h.sandbox({ "--users", "2500" }) end)

  lazy_teardown(function()
    astro.configure({})
    sb:stop()
    h.cleanup()
  end)

  before_each(function()
    sb:control("POST", "/_sandbox/reset")
    astro.configure({})
    astro.use(api.new({ base_url = sb.url .. "/v1", authorization = "Bearer test-token", organization = ACME }))
  end)

  local function queries(path)
    local out = {}
    for _, r in ipairs(sb:requests()) do
      if r.path == path then out[#out + 1] = r.method .. " " .. r.query end
    end
    return out
  end

  it("lists, gets and names the current organization", function()
    local orgs = assert(astro.organizations.list())
    local names = {}
    for i, o in ipairs(orgs) do names[i] = o.name end
    assert.are.same({ "Acme Data Platform", "Globex", "Initech Sandbox" }, names)
    assert.are.equal("Globex", assert(astro.organizations.get(GLOBEX)).name)
    assert.are.equal(ACME, astro.organizations.current_id())
    assert.are.equal("Acme Data Platform", assert(astro.organizations.current()).name)
  end)

  it("lists every user past one page, largest pages first", function()
    local users = assert(astro.users.list())
    assert.are.equal(2503, #users)
    assert.are.equal("jane.doe@acme.io", users[1].username)
    assert.are.equal("user02500@example.com", users[2503].username)
    local q = queries(USERS)
    table.sort(q)
    assert.are.same({ "GET limit=1000&offset=0", "GET limit=1000&offset=1000", "GET limit=1000&offset=2000" }, q)
  end)

  it("iterates users page by page with users.each", function()
    local n, last = 0, nil
    for u, err in astro.users.each() do
      assert.is_truthy(u, err and err.message)
      n, last = n + 1, u.username
      if n == 1 then assert.are.equal(1, #sb:requests()) end -- the first page only, so far
    end
    assert.are.equal(2503, n)
    assert.are.equal("user02500@example.com", last)
    assert.are.same({ "GET limit=1000&offset=0", "GET limit=1000&offset=1000", "GET limit=1000&offset=2000" },
      queries(USERS))
  end)

  it("gets one user by id, and returns the API's 404 for an unknown one", function()
    assert.are.equal("raj.patel@acme.io", assert(astro.users.get(RAJ)).username)
    local u, err = astro.users.get("cnobody00000000000000000")
    assert.is_nil(u)
    assert.are.equal("User not found", err.message)
    assert.are.equal(404, err.status)
  end)

  it("finds a user by email case-insensitively, or says not_found", function()
    assert.are.equal(RAJ, assert(astro.users.find("  Raj.Patel@ACME.io ")).id)
    local u, err = astro.users.find("ghost@acme.io")
    assert.is_nil(u)
    assert.are.equal("not_found", err.code)
    assert.are.equal("no user was found for the email you provided", tostring(err))
    sb:reset_requests()
    local list = { { id = "x1", username = "Someone@Example.com" } }
    assert.are.equal("x1", assert(astro.users.find("someone@example.com", list)).id)
    u, err = astro.users.find("not an address")
    assert.is_nil(u)
    assert.are.equal("email", err.code)
    assert.are.equal(0, #sb:requests())
  end)

  it("creates an invite with the default role", function()
    local inv = assert(astro.invites.create("New.Person@acme.io"))
    assert.are.equal("new.person@acme.io", inv.invitee.username)
    assert.are.equal(ACME, inv.organizationId)
    local reqs = sb:requests()
    assert.are.equal(1, #reqs)
    assert.are.equal("POST", reqs[1].method)
    assert.are.equal("/v1/organizations/" .. ACME .. "/invites", reqs[1].path)
    assert.are.equal('{"inviteeEmail":"new.person@acme.io","role":"ORGANIZATION_MEMBER"}', reqs[1].body)
  end)

  it("sends no invite when the email or the role is invalid", function()
    local inv, err = astro.invites.create("nobody-at-acme.io")
    assert.is_nil(inv)
    assert.matches('^invalid email address "nobody%-at%-acme%.io"', err.message)
    inv, err = astro.invites.create("ok@acme.io", "ORGANIZATION_KING")
    assert.is_nil(inv)
    assert.are.equal("role", err.code)
    assert.are.equal(astro.roles.VALID[1], "ORGANIZATION_MEMBER")
    assert.are.equal(0, #sb:requests())
  end)

  it("updates a role given a user table or an id, and sends nothing for an invalid role", function()
    local raj = assert(astro.users.find("raj.patel@acme.io"))
    sb:reset_requests()
    assert.are.equal("ORGANIZATION_OWNER", assert(astro.roles.update(raj, "ORGANIZATION_OWNER")).organizationRole)
    assert.are.equal("ORGANIZATION_BILLING_ADMIN",
      assert(astro.roles.update(RAJ, "ORGANIZATION_BILLING_ADMIN")).organizationRole)
    local reqs = sb:requests()
    assert.are.equal(2, #reqs)
    assert.are.equal(USERS .. "/" .. RAJ .. "/roles", reqs[2].path)
    assert.are.equal('{"organizationRole":"ORGANIZATION_BILLING_ADMIN"}', reqs[2].body)
    sb:reset_requests()
    local res, err = astro.roles.update(raj, "organization_owner")
    assert.is_nil(res)
    assert.are.equal("role", err.code)
    assert.has_error(function() astro.roles.update(nil, "ORGANIZATION_OWNER") end,
      "roles.update needs a user or a user id")
    assert.are.equal(0, #sb:requests())
  end)

  it("calls any path with request, replacing {org} with the current organization", function()
    local data, res = astro.request("GET", "/organizations/{org}/workspaces", { query = { limit = 5 } })
    assert.is_table(data, res and res.message)
    assert.are.equal(200, res.status)
    assert.are.equal("Analytics", data.workspaces[1].name)
    assert.are.same({ "GET limit=5" }, queries("/v1/organizations/" .. ACME .. "/workspaces"))
  end)

  it("lists any paginated path with list, and pages it with paginate", function()
    local items = assert(astro.list("/organizations/{org}/workspaces", "workspaces"))
    assert.are.equal(2, #items)
    sb:reset_requests()
    local n = 0
    for u, err in astro.paginate("/organizations/{org}/users", "users",
                                 { page_size = 1000, query = { sorts = "username:desc" } }) do
      assert.is_truthy(u, err and err.message)
      n = n + 1
      if n == 1 then assert.are.equal("user02500@example.com", u.username) end
    end
    assert.are.equal(2503, n)
    assert.are.same({ "GET limit=1000&offset=0&sorts=username%3Adesc", "GET limit=1000&offset=1000&sorts=username%3Adesc",
      "GET limit=1000&offset=2000&sorts=username%3Adesc" }, queries(USERS))
  end)

  it("fetch gives the answer as it came, whatever its status, with headers and the API's error", function()
    local res = assert(astro.fetch("GET", "/organizations/{org}/workspaces", { query = { limit = 1 },
      headers = { ["X-Trace"] = "t1" } }))
    assert.are.equal(200, res.status)
    assert.is_true(res.ok)
    assert.are.equal("application/json", res.headers["content-type"])
    assert.matches('^{"limit":1,', res.body)
    assert.is_nil(res.error)
    local req = sb:requests()[1]
    assert.are.equal("t1", req.headers["X-Trace"])
    res = assert(astro.fetch("DELETE", "/organizations/{org}/teams/clmnope"))
    assert.are.equal(404, res.status)
    assert.is_false(res.ok)
    assert.are.equal("Team not found", astro.json.decode(res.body).message)
    assert.are.equal("Team not found", res.error.message)
    assert.are.equal(404, res.error.status)
    -- A raw body goes as it is; neither Authorization nor Host may be set.
    res = assert(astro.fetch("POST", "/organizations/{org}/teams", { body = '{"name":"Raw"}' }))
    assert.are.equal(200, res.status)
    assert.are.equal('{"name":"Raw"}', h.recorded(sb, { method = "POST" })[1].body)
    for _, name in ipairs({ "authorization", "Host" }) do
      local none, err = astro.fetch("GET", "/organizations", { headers = { [name] = "x" } })
      assert.is_nil(none)
      assert.are.equal("usage", err.code)
    end
  end)

  it("fetch holds back a change under dry-run, and cleans the credential out of what it gives", function()
    astro.use(api.new({ base_url = sb.url .. "/v1", authorization = "Bearer test-token", organization = ACME,
                        dry_run = true, plan = io.open("/dev/null", "w") }))
    local res = assert(astro.fetch("DELETE", "/organizations/{org}/teams/x"))
    assert.is_true(res.dry_run)
    assert.are.same({}, sb:requests())
    astro.use(api.new({ base_url = sb.url .. "/v1", authorization = "Bearer test-token", organization = ACME }))
    sb:faults({ echo_token = true })
    res = assert(astro.fetch("GET", "/organizations/cnope"))
    assert.is_nil(res.body:find("test-token", 1, true), res.body)
    assert.are.equal("<redacted>", res.headers["x-echo-authorization"])
    sb:faults({ echo_token = false })
  end)

  it("stream_list with raw pages: each page's text and headers, the list's key told from the path", function()
    local texts, keys, counts = {}, {}, {}
    local n, total = assert(astro.stream_list("/organizations/{org}/users", nil, function(items, offset, page)
      texts[#texts + 1] = page.body
      keys[#keys + 1] = page.key
      counts[#counts + 1] = #items .. "@" .. offset
      assert.are.equal("application/json", page.headers["content-type"])
      assert.are.equal(#items, #page.data.users)
    end, { raw = true }))
    assert.are.equal(2503, n)
    assert.are.equal(2503, total)
    assert.are.same({ "users", "users", "users" }, keys)
    assert.are.same({ "1000@0", "1000@1000", "503@2000" }, counts)
    assert.matches('^{"limit":1000,"offset":2000,', texts[3])
  end)

  it("returns the API's errors with message, status and requestId; tostring is the message", function()
    local org, err = astro.organizations.get("cnope000000000000000000000")
    assert.is_nil(org)
    assert.are.equal("Organization not found", err.message)
    assert.are.equal(404, err.status)
    assert.are.equal("api", err.code)
    assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", err.requestId)
    assert.are.equal("Organization not found", tostring(err))
    assert.is_true(astro.errors.is(err))
    local item, perr = astro.paginate("/organizations/{org}/nothing", "things")()
    assert.is_false(item)
    assert.are.equal("Not Found", perr.message)
  end)

  it("returns a transport failure with code transport", function()
    astro.use(api.new({ base_url = "http://127.0.0.1:9/v1", authorization = "Bearer test-token", organization = ACME }))
    local saved = astro.http.policy.max_attempts
    astro.http.policy.max_attempts = 1
    local orgs, err = astro.organizations.list()
    astro.http.policy.max_attempts = saved
    assert.is_nil(orgs)
    assert.are.equal("transport", err.code)
    assert.matches("127%.0%.0%.1:9", err.message)
    assert.are.equal(err.message, tostring(err))
    assert.is_nil(err.status)
  end)

  it("says no organization is selected when the client has none", function()
    astro.use(api.new({ base_url = sb.url .. "/v1", authorization = "Bearer test-token" }))
    local users, err = astro.users.list()
    assert.is_nil(users)
    assert.are.equal("config", err.code)
    assert.matches("no organization is selected", err.message)
    assert.are.equal(0, #sb:requests())
  end)
end)
