-- `astro organization user update` against the sandbox API.
local h = require("spec.helpers")

local ACME = h.ids.ACME
local USERS = "/v1/organizations/" .. ACME .. "/users"
local RAJ, MEI = h.ids.RAJ, h.ids.MEI
local ROLE_PROMPT = "enter a user Organization role(ORGANIZATION_MEMBER, ORGANIZATION_BILLING_ADMIN, " ..
  "ORGANIZATION_OWNER) to update user: "
local INVALID_ROLE = "Error: requested role is invalid. Possible values are ORGANIZATION_MEMBER, " ..
  "ORGANIZATION_BILLING_ADMIN and ORGANIZATION_OWNER \n"
local MENU = "\nPlease select the user:\n" ..
  " #     FULLNAME      EMAIL                 ID                            ORGANIZATION ROLE              CREATE DATE              \n" ..
  " 1     Jane Doe      jane.doe@acme.io      clrjane00000109s3nj4egnyn     ORGANIZATION_OWNER             2023-02-01T15:04:05Z     \n" ..
  " 2     Raj Patel     raj.patel@acme.io     clrraj0000002019nj9w0ji6b     ORGANIZATION_MEMBER            2024-05-17T21:45:09Z     \n" ..
  " 3     Mei Lin       mei.lin@acme.io       clrmei00000030v4ds06npq50     ORGANIZATION_BILLING_ADMIN     2025-09-02T07:30:00Z     \n" ..
  "\n> "

describe("astro organization user update", function()
  local box = h.use_sandbox()

  local update = box.command({ "organization", "user", "update" })

  local function role_of(id)
    for _, u in ipairs(box.sb:state().users[ACME]) do
      if u.id == id then return u.organizationRole end
    end
  end

  local function posts()
    local out = {}
    for _, r in ipairs(box.sb:requests()) do
      if r.method == "POST" then out[#out + 1] = r end
    end
    return out
  end

  it("lists the users, then posts only the new organization role of the one with that email", function()
    local r = update({ "raj.patel@acme.io", "--role", "ORGANIZATION_OWNER" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("The user raj.patel@acme.io role was successfully updated to ORGANIZATION_OWNER\n", r.stdout)
    assert.are.equal("", r.stderr)
    local reqs = box.sb:requests()
    assert.are.equal(2, #reqs)
    assert.are.equal("GET", reqs[1].method)
    assert.are.equal(USERS, reqs[1].path)
    assert.are.equal("limit=1000&offset=0", reqs[1].query)
    assert.are.equal("POST", reqs[2].method)
    assert.are.equal(USERS .. "/" .. RAJ .. "/roles", reqs[2].path)
    assert.are.equal("", reqs[2].query)
    assert.are.equal('{"organizationRole":"ORGANIZATION_OWNER"}', reqs[2].body)
    for _, q in ipairs(reqs) do assert.are.equal("Bearer test-token", q.headers.Authorization) end
    assert.are.equal("ORGANIZATION_OWNER", role_of(RAJ))
    assert.is_nil((r.stdout .. r.stderr):find("test-token", 1, true))
  end)

  it("matches the email whatever its case and shows the username, also through the alias up -r", function()
    local r = box.run({ "org", "us", "up", "  MEI.Lin@ACME.io", "-r", "ORGANIZATION_MEMBER" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("The user mei.lin@acme.io role was successfully updated to ORGANIZATION_MEMBER\n", r.stdout)
    assert.are.equal(USERS .. "/" .. MEI .. "/roles", posts()[1].path)
    assert.are.equal("ORGANIZATION_MEMBER", role_of(MEI))
  end)

  it("matches a username the API stores with capitals", function()
    box.sb:control("POST", "/_sandbox/seed", {
      organizations = { { id = ACME, name = "Acme Data Platform" } },
      users = { [ACME] = { { id = "clrpat00000000000000000a1", username = "Pat.Mixed@Acme.IO", fullName = "Pat" } } },
    })
    local r = update({ "pat.mixed@acme.io", "-r", "ORGANIZATION_OWNER" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("The user Pat.Mixed@Acme.IO role was successfully updated to ORGANIZATION_OWNER\n", r.stdout)
    assert.are.equal(USERS .. "/clrpat00000000000000000a1/roles", posts()[1].path)
  end)

  it("says so when no user has that email, and changes nothing", function()
    local r = update({ "nobody@acme.io", "--role", "ORGANIZATION_OWNER" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("Error: no user was found for the email you provided\n", r.stderr)
    assert.are.equal(0, #posts())
  end)

  it("refuses an email that is not an address before any request", function()
    local r = update({ "raj.patel", "--role", "ORGANIZATION_OWNER" })
    assert.are.equal(1, r.code)
    assert.are.equal('Error: invalid email address "raj.patel": expected one @ between a name and a domain, ' ..
      "like name@example.com\n", r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)

  it("refuses an empty email argument (a script's empty variable) instead of showing the menu", function()
    for _, empty in ipairs({ "", "  " }) do
      local r = update({ empty, "--role", "ORGANIZATION_OWNER" }, { stdin = "1\n" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: no email provided for the update. Retry with a valid email address, or leave it " ..
        "out to pick the user from a menu\n", r.stderr)
      assert.are.equal("", r.stdout)
    end
    assert.are.equal(0, #box.sb:requests())
  end)

  it("asks for the role on stderr when --role is missing", function()
    local r = update({ "raj.patel@acme.io" }, { stdin = "ORGANIZATION_BILLING_ADMIN\r\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(ROLE_PROMPT, r.stderr)
    assert.are.equal("The user raj.patel@acme.io role was successfully updated to ORGANIZATION_BILLING_ADMIN\n",
      r.stdout)
    assert.are.equal('{"organizationRole":"ORGANIZATION_BILLING_ADMIN"}', posts()[1].body)
  end)

  it("fails at once when standard input ends at the role prompt, and sends nothing", function()
    local r = update({ "raj.patel@acme.io" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal(ROLE_PROMPT .. "\nError: no role given: standard input ended; pass it with --role\n", r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)

  it("validates the role, given (a usage error) or typed (not one), before any request", function()
    for _, role in ipairs({ "OWNER", "organization_owner", "ORGANIZATION_OBSERVE_MEMBER" }) do
      local r = update({ "raj.patel@acme.io", "--role", role })
      assert.are.equal(2, r.code, role)
      assert.are.equal(INVALID_ROLE .. "Run 'astro organization user update --help' for usage.\n", r.stderr)
    end
    local r = update({ "raj.patel@acme.io" }, { stdin = " ORGANIZATION_OWNER\n" })
    assert.are.equal(1, r.code)
    assert.are.equal(ROLE_PROMPT .. INVALID_ROLE, r.stderr)
    r = update({ "raj.patel@acme.io" }, { stdin = "\n" })
    assert.are.equal(ROLE_PROMPT .. INVALID_ROLE, r.stderr)
    assert.are.equal(0, #box.sb:requests())
    assert.are.equal("ORGANIZATION_MEMBER", role_of(RAJ))
  end)

  it("shows a menu of the users on stderr without an email and updates the chosen row", function()
    local r = update({ "--role", "ORGANIZATION_OWNER" }, { stdin = "3\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(MENU, r.stderr)
    assert.are.equal("The user mei.lin@acme.io role was successfully updated to ORGANIZATION_OWNER\n", r.stdout)
    local p = posts()
    assert.are.equal(1, #p)
    assert.are.equal(USERS .. "/" .. MEI .. "/roles", p[1].path)
    assert.are.equal('{"organizationRole":"ORGANIZATION_OWNER"}', p[1].body)
    assert.are.equal("ORGANIZATION_OWNER", role_of(MEI))
  end)

  it("asks for the role first, then shows the menu", function()
    local r = update({}, { stdin = "ORGANIZATION_OWNER\n2\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(ROLE_PROMPT .. MENU, r.stderr)
    assert.are.equal("The user raj.patel@acme.io role was successfully updated to ORGANIZATION_OWNER\n", r.stdout)
  end)

  it("accepts only a row number at the menu", function()
    for _, answer in ipairs({ "0", "4", " 2", "2.0", "raj.patel@acme.io", "" }) do
      local r = update({ "--role", "ORGANIZATION_OWNER" }, { stdin = answer .. "\n" })
      assert.are.equal(1, r.code, answer)
      assert.are.equal("", r.stdout)
      assert.are.equal(MENU .. "Error: invalid User selected\n", r.stderr)
    end
    assert.are.equal(0, #posts())
  end)

  it("fails at once when standard input ends at the menu, and changes nothing", function()
    local r = update({ "--role", "ORGANIZATION_OWNER" })
    assert.are.equal(1, r.code)
    assert.are.equal(MENU .. "\nError: no user choice given: standard input ended; " ..
      "pass the user's email as an argument\n", r.stderr)
    assert.are.equal(0, #posts())
  end)

  it("shows the API's message when the update is refused, and the role stays", function()
    box.sb:faults({ fail_next = 1, fail_status = 403, fault_methods = { "POST" } })
    local r = update({ "raj.patel@acme.io", "--role", "ORGANIZATION_OWNER" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("Error: Forbidden\n", r.stderr)
    assert.are.equal(1, #posts())
    assert.are.equal("ORGANIZATION_MEMBER", role_of(RAJ))
  end)

  it("shows the API's message when listing the users fails, and posts nothing", function()
    box.sb:faults({ fail_next = 1, fail_status = 500 })
    local r = update({ "raj.patel@acme.io", "--role", "ORGANIZATION_OWNER" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: Internal Server Error\n", r.stderr)
    assert.are.equal(1, #box.sb:requests())
  end)

  it("in an organization with no users says so instead of showing an empty menu, and reads no answer", function()
    local state = box.sb:state()
    state.tokens, state.refresh_tokens = nil, nil
    state.users[ACME] = {}
    assert.is_true(box.sb:control("POST", "/_sandbox/seed", state).ok)
    box.sb:reset_requests()
    -- The astro CLI prints "Please select the user:", a menu of no rows and "> ", then refuses
    -- whatever is typed ("invalid User selected").
    local r = update({ "--role", "ORGANIZATION_OWNER" }, { stdin = "1\n" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("Error: no users found in your organization\n", r.stderr)
    r = update({ "raj.patel@acme.io", "--role", "ORGANIZATION_OWNER" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: no user was found for the email you provided\n", r.stderr)
    for _, q in ipairs(box.sb:requests()) do assert.are.equal("GET", q.method) end
    assert.are.equal(2, #box.sb:requests())
  end)

  it("says how to log in when there are no credentials, and sends nothing", function()
    local bare = box.sb:home({ token = "" })
    local path = bare .. "/.astro/config.yaml"
    h.write_file(path, (h.read_file(path):gsub("token: Bearer \n", "token: \"\"\n")))
    local r = update({ "raj.patel@acme.io", "--role", "ORGANIZATION_OWNER" }, { home = bare })
    assert.are.equal(1, r.code)
    assert.matches("^Error: no credentials: set ASTRO_API_TOKEN", r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)
end)

describe("astro organization user update in a large organization", function()
  local box = h.use_sandbox({ flags = { "--users", "1500" }, home = { organization = ACME }, reset = false })

  it("finds a user on the second page of 1000", function()
    local r = box.run({ "organization", "user", "update", "user01400@example.com", "-r", "ORGANIZATION_OWNER" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("The user user01400@example.com role was successfully updated to ORGANIZATION_OWNER\n", r.stdout)
    local target
    for _, u in ipairs(box.sb:state().users[ACME]) do
      if u.username == "user01400@example.com" then target = u end
    end
    assert.are.equal("ORGANIZATION_OWNER", target.organizationRole)
    local reqs = box.sb:requests()
    assert.are.equal(3, #reqs)
    assert.are.equal(USERS .. "/" .. target.id .. "/roles", reqs[3].path)
  end)
end)
