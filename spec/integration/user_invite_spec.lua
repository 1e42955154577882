-- `astro organization user invite` against the sandbox API.
local h = require("spec.helpers")
local json = require("astro.json")

local ACME = h.ids.ACME
local GLOBEX = h.ids.GLOBEX
local INVITES = "/v1/organizations/" .. ACME .. "/invites"
local PROMPT = "enter email address to invite a user: "
local INVALID_ROLE = "Error: requested role is invalid. Possible values are ORGANIZATION_MEMBER, " ..
  "ORGANIZATION_BILLING_ADMIN and ORGANIZATION_OWNER \n"
local NO_EMAIL = "Error: no email provided for the invite. Retry with a valid email address\n"

describe("astro organization user invite", function()
  local box = h.use_sandbox()

  local invite = box.command({ "organization", "user", "invite" })

  --- The Acme user with that username in the sandbox, or nil.
  local function member(username)
    for _, u in ipairs(box.sb:state().users[ACME]) do
      if u.username == username then return u end
    end
  end

  it("invites with the default member role: one POST with exactly the email and role", function()
    local r = invite({ "new.person@example.com" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("invite for new.person@example.com with role ORGANIZATION_MEMBER created\n", r.stdout)
    assert.are.equal("", r.stderr)
    local reqs = box.sb:requests()
    assert.are.equal(1, #reqs)
    assert.are.equal("POST", reqs[1].method)
    assert.are.equal(INVITES, reqs[1].path)
    assert.are.equal("", reqs[1].query)
    assert.are.equal('{"inviteeEmail":"new.person@example.com","role":"ORGANIZATION_MEMBER"}', reqs[1].body)
    assert.are.equal("Bearer test-token", reqs[1].headers.Authorization)
    assert.matches("^application/json", reqs[1].headers["Content-Type"])
    local u = assert(member("new.person@example.com"))
    assert.are.equal("PENDING", u.status)
    assert.are.equal("ORGANIZATION_MEMBER", u.organizationRole)
    assert.is_nil(r.stdout:find("test-token", 1, true))
  end)

  it("sends the role given with --role or -r, also through the alias inv", function()
    local r = invite({ "billing@example.com", "--role", "ORGANIZATION_BILLING_ADMIN" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("invite for billing@example.com with role ORGANIZATION_BILLING_ADMIN created\n", r.stdout)
    r = box.run({ "org", "users", "inv", "owner@example.com", "-r", "ORGANIZATION_OWNER" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("invite for owner@example.com with role ORGANIZATION_OWNER created\n", r.stdout)
    local reqs = box.sb:requests()
    assert.are.equal('{"inviteeEmail":"billing@example.com","role":"ORGANIZATION_BILLING_ADMIN"}', reqs[1].body)
    assert.are.equal('{"inviteeEmail":"owner@example.com","role":"ORGANIZATION_OWNER"}', reqs[2].body)
    assert.are.equal("ORGANIZATION_OWNER", member("owner@example.com").organizationRole)
  end)

  it("trims and lower-cases the email argument", function()
    local r = invite({ "  New.Person@Example.COM " })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("invite for new.person@example.com with role ORGANIZATION_MEMBER created\n", r.stdout)
    assert.are.equal("new.person@example.com", json.decode(box.sb:requests()[1].body).inviteeEmail)
  end)

  it("asks for the email on stderr when none is given, and trims and lower-cases the answer", function()
    local r = invite({}, { stdin = "  Typed.Person@Example.com \n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("invite for typed.person@example.com with role ORGANIZATION_MEMBER created\n", r.stdout)
    assert.are.equal(PROMPT, r.stderr)
    assert.are.equal('{"inviteeEmail":"typed.person@example.com","role":"ORGANIZATION_MEMBER"}',
      box.sb:requests()[1].body)
  end)

  it("fails at once when standard input ends at the prompt, and sends nothing", function()
    local r = invite({})
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal(PROMPT .. "\nError: no email address given: standard input ended; " ..
      "pass it as an argument: astro organization user invite EMAIL\n", r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)

  it("refuses an empty or blank email with the astro CLI's message", function()
    local r = invite({}, { stdin = "   \n" })
    assert.are.equal(1, r.code)
    assert.are.equal(PROMPT .. NO_EMAIL, r.stderr)
    r = invite({}, { stdin = "\n" })
    assert.are.equal(PROMPT .. NO_EMAIL, r.stderr)
    r = invite({ "" })
    assert.are.equal(1, r.code)
    assert.are.equal(NO_EMAIL, r.stderr)
    r = invite({ "  " })
    assert.are.equal(NO_EMAIL, r.stderr)
    assert.are.equal("", r.stdout)
    assert.are.equal(0, #box.sb:requests())
  end)

  it("refuses an invalid email before any request, even before reading the config", function()
    local cases = {
      { "jane.acme.io", 'Error: invalid email address "jane.acme.io": expected one @ between a name and a domain, like name@example.com\n' },
      { "a@b@acme.io", 'Error: invalid email address "a@b@acme.io": expected one @ between a name and a domain, like name@example.com\n' },
      { "jane doe@acme.io", 'Error: invalid email address "jane doe@acme.io": it contains spaces\n' },
      { "jane@localhost", 'Error: invalid email address "jane@localhost": the domain after @ has no dot\n' },
      { "ja\tne@acme.io", 'Error: invalid email address "ja\\x09ne@acme.io": it contains control characters\n' },
    }
    for _, c in ipairs(cases) do
      local r = invite({ c[1] })
      assert.are.equal(1, r.code, c[1])
      assert.are.equal("", r.stdout)
      assert.are.equal(c[2], r.stderr)
    end
    local r = invite({ "jane.acme.io" }, { home = h.tmpdir() })
    assert.are.equal(1, r.code)
    assert.matches('^Error: invalid email address "jane.acme.io"', r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)

  it("refuses a prompted email that is not an address", function()
    local r = invite({}, { stdin = "not-an-address\n" })
    assert.are.equal(1, r.code)
    assert.are.equal(PROMPT .. 'Error: invalid email address "not-an-address": expected one @ between ' ..
      "a name and a domain, like name@example.com\n", r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)

  it("refuses a role other than the three, with the reference's message as a usage error, and sends nothing", function()
    for _, role in ipairs({ "ADMIN", "organization_owner", "ORGANIZATION_OBSERVE_ADMIN", "" }) do
      local r = invite({ "new.person@example.com", "--role", role })
      assert.are.equal(2, r.code, role)
      assert.are.equal("", r.stdout)
      assert.are.equal(INVALID_ROLE .. "Run 'astro organization user invite --help' for usage.\n", r.stderr)
    end
    assert.are.equal(0, #box.sb:requests())
  end)

  it("shows the API's message when the person is already a member", function()
    local r = invite({ "Raj.Patel@acme.io" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("Error: User is already a member of this organization.\n", r.stderr)
    assert.are.equal('{"inviteeEmail":"raj.patel@acme.io","role":"ORGANIZATION_MEMBER"}', box.sb:requests()[1].body)
  end)

  it("shows the API's message when the person was already invited", function()
    local globex = box.sb:home({ organization = GLOBEX })
    local r = invite({ "frank.grimes@globex.io" }, { home = globex })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: User has already been invited to this organization.\n", r.stderr)
    assert.are.equal("/v1/organizations/" .. GLOBEX .. "/invites", box.sb:requests()[1].path)
    assert.are.equal(0, invite({ "twice@example.com" }).code)
    r = invite({ "TWICE@example.com" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: User has already been invited to this organization.\n", r.stderr)
  end)

  it("does not retry a POST answered 500 and invites nobody", function()
    box.sb:faults({ fail_next = 1, fail_status = 500 })
    local r = invite({ "new.person@example.com" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("Error: Internal Server Error\n", r.stderr)
    assert.are.equal(1, #box.sb:requests())
    assert.is_nil(member("new.person@example.com"))
  end)

  it("shows a refused token as the API's error without printing the token", function()
    local bad = box.sb:home({ token = "wrong-token" })
    local r = invite({ "new.person@example.com" }, { home = bad })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: Unauthorized\n", r.stderr)
    assert.are.equal("Bearer wrong-token", box.sb:requests()[1].headers.Authorization)
    assert.is_nil((r.stdout .. r.stderr):find("wrong-token", 1, true))
    assert.is_nil(member("new.person@example.com"))
  end)

  it("says how to log in when there are no credentials, and sends nothing", function()
    local bare = box.sb:home({ token = "" })
    local path = bare .. "/.astro/config.yaml"
    h.write_file(path, (h.read_file(path):gsub("token: Bearer \n", "token: \"\"\n")))
    local r = invite({ "new.person@example.com" }, { home = bare })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.matches("^Error: no credentials: set ASTRO_API_TOKEN", r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)
end)
