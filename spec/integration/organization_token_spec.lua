-- `astro organization token` (list, roles, create, update, rotate, delete) against the sandbox.
local h = require("spec.helpers")
local json = require("astro.json")
local output = require("astro.output")

local ACME, GLOBEX, ANALYTICS = h.ids.ACME, h.ids.GLOBEX, h.ids.ANALYTICS
local TOKENS = "/v1/organizations/" .. ACME .. "/tokens"
local CI = "clotokci00010r7u4hqw74ajw"          -- "CI/CD Token", ORGANIZATION_MEMBER + a workspace role
local DEPLOY1 = "clotokdp000200qimtjo8rnbo"     -- "Deploy Token", ORGANIZATION_OWNER
local DEPLOY2 = "clotokd2000300x8w1nq5v3rk"     -- "Deploy Token" (the same name), ORGANIZATION_MEMBER
local WS = "clotokws000400m3k7v2p9qzd"          -- "Analytics CI", a workspace-scoped token
local INVALID_ROLE = "Error: requested role is invalid. Possible values are ORGANIZATION_MEMBER, " ..
  "ORGANIZATION_BILLING_ADMIN and ORGANIZATION_OWNER \n"
local MENU_COLUMNS = { "#", "NAME", "DESCRIPTION", "ROLE", "EXPIRES" }
local ALL_MENU = "\nPlease select the Organization API token you would like to update:\n" ..
  output.table(MENU_COLUMNS, {
    { "1", "CI/CD Token", "GitHub Actions deploys", "ORGANIZATION_MEMBER", "365" },
    { "2", "Deploy Token", "", "ORGANIZATION_OWNER", "" },
    { "3", "Deploy Token", "Staging deploys", "ORGANIZATION_MEMBER", "90" },
  }) .. "\n> "
local DUP_MENU = "\nThere are more than one API tokens with name Deploy Token. Please select an API token:\n" ..
  output.table(MENU_COLUMNS, {
    { "1", "Deploy Token", "", "ORGANIZATION_OWNER", "" },
    { "2", "Deploy Token", "Staging deploys", "ORGANIZATION_MEMBER", "90" },
  }) .. "\n> "
-- The token values the sandbox mints: JWT-shaped.
local VALUE = "eyJ[%w_-]+%.[%w_-]+%.sandbox"

describe("astro organization token", function()
  local box = h.use_sandbox()
  local run = box.run

  local function tokens_of(org) return box.sb:state().api_tokens[org or ACME] end
  local function token(id)
    for _, t in ipairs(tokens_of()) do if t.id == id then return t end end
  end
  local function count(text, plain)
    local n, at = 0, 1
    while true do
      local a, b = text:find(plain, at, true)
      if not a then return n end
      n, at = n + 1, b + 1
    end
  end

  describe("list", function()
    it("shows the organization's organization-scoped tokens, all pages, in the astro CLI's table", function()
      local r = run({ "organization", "token", "list" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("", r.stderr)
      local tokens = require("astro.tokens")
      local now = os.time()
      assert.are.equal(output.table({ "ID", "NAME", "DESCRIPTION", "SCOPE", "ORGANIZATION ROLE", "CREATED", "CREATED BY" }, {
        { CI, "CI/CD Token", "GitHub Actions deploys", "ORGANIZATION", "ORGANIZATION_MEMBER",
          tokens.age("2026-08-01T10:00:00Z", now), "Jane Doe" },
        { DEPLOY1, "Deploy Token", "", "ORGANIZATION", "ORGANIZATION_OWNER", tokens.age("2025-11-15T08:00:00Z", now),
          "bootstrap-token" },
        { DEPLOY2, "Deploy Token", "Staging deploys", "ORGANIZATION", "ORGANIZATION_MEMBER",
          tokens.age("2026-01-10T09:30:00Z", now), "Jane Doe" },
      }), r.stdout)
      local reqs = box.sb:requests()
      assert.are.equal(1, #reqs)
      assert.are.equal("GET", reqs[1].method)
      assert.are.equal(TOKENS, reqs[1].path)
      assert.matches("^includeOnlyOrganizationTokens=true&limit=%d+&offset=0$", reqs[1].query)
    end)

    it("pages through a server that answers one token per page, through the alias to ls", function()
      box.sb:faults({ max_page_size = 1 })
      local r = run({ "org", "to", "ls", "--json" })
      assert.are.equal(0, r.code, r.stderr)
      local ids = {}
      for i, t in ipairs(assert(json.decode(r.stdout)).tokens) do ids[i] = t.id end
      assert.are.same({ CI, DEPLOY1, DEPLOY2 }, ids)
      assert.are.equal(3, #h.recorded(box.sb, { path = TOKENS }))
    end)

    it("says how long ago a token was made as the astro CLI does", function()
      local tokens = require("astro.tokens")
      local t0 = tokens.epoch("2026-01-01T00:00:00Z")
      assert.are.equal("Just now", tokens.age("2026-01-01T00:00:00Z", t0 + 59))
      assert.are.equal("1 minutes ago", tokens.age("2026-01-01T00:00:00Z", t0 + 60))
      assert.are.equal("23 hours ago", tokens.age("2026-01-01T00:00:00Z", t0 + 86399))
      assert.are.equal("1 days ago", tokens.age("2026-01-01T00:00:00Z", t0 + 86400))
      assert.are.equal("2 hours ago", tokens.age("2026-01-01T02:00:00+02:00", t0 + 7200))
    end)

    it("writes JSON and CSV", function()
      local r = run({ "organization", "token", "list", "--json" })
      assert.are.equal(0, r.code, r.stderr)
      local doc = assert(json.decode(r.stdout))
      assert.are.equal(3, #doc.tokens)
      local first = doc.tokens[1]
      assert.are.equal(CI, first.id)
      assert.are.equal("ORGANIZATION_MEMBER", first.organizationRole)
      assert.are.equal("Jane Doe", first.createdBy)
      assert.are.equal(365, first.expiryPeriodInDays)
      assert.is_nil(first.token)
      assert.is_nil(r.stdout:find("shortToken", 1, true))
      r = run({ "organization", "token", "list", "-o", "csv" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(
        "id,name,description,scope,organization_role,created_at,created_by,expiry_period_in_days,end_at,last_used_at\n" ..
        CI .. ",CI/CD Token,GitHub Actions deploys,ORGANIZATION,ORGANIZATION_MEMBER,2026-08-01T10:00:00Z,Jane Doe,365," ..
        "2027-08-01T10:00:00Z,2026-08-12T22:10:00Z\n" ..
        DEPLOY1 .. ",Deploy Token,,ORGANIZATION,ORGANIZATION_OWNER,2025-11-15T08:00:00Z,bootstrap-token,,,\n" ..
        DEPLOY2 .. ",Deploy Token,Staging deploys,ORGANIZATION,ORGANIZATION_MEMBER,2026-01-10T09:30:00Z,Jane Doe,90," ..
        "2026-04-10T09:30:00Z,\n", r.stdout)
    end)

    it("refuses --json with -o, and an unknown format, before any request", function()
      local r = run({ "organization", "token", "list", "--json", "-o", "csv" })
      assert.are.equal(2, r.code)
      assert.matches("^Error: if any flags in the group %[json output%]", r.stderr)
      r = run({ "organization", "token", "list", "-o", "yaml" })
      assert.are.equal(2, r.code)
      assert.matches('^Error: invalid format "yaml" %(must be table, json or csv%)', r.stderr)
      assert.are.same({}, box.sb:requests())
    end)

    it("leaves stdout empty when the API fails", function()
      box.sb:faults({ fail_next = 1, fail_status = 403, fault_path_prefix = TOKENS })
      local r = run({ "organization", "token", "list", "--json" })
      assert.are.equal(1, r.code)
      assert.are.equal("", r.stdout)
      assert.are.equal("Error: Forbidden\n", r.stderr)
    end)

    it("works on another organization with --organization-id", function()
      local r = run({ "organization", "token", "list", "--organization-id", GLOBEX, "--json" })
      assert.are.equal(0, r.code, r.stderr)
      local doc = assert(json.decode(r.stdout))
      assert.are.equal(1, #doc.tokens)
      assert.are.equal("Globex Ops", doc.tokens[1].name)
      assert.are.equal("/v1/organizations/" .. GLOBEX .. "/tokens", box.sb:requests()[1].path)
    end)
  end)

  describe("roles", function()
    local ROLES = output.table({ "ENTITY_TYPE", "ENTITY_ID", "ROLE" }, {
      { "ORGANIZATION", ACME, "ORGANIZATION_MEMBER" }, { "WORKSPACE", ANALYTICS, "WORKSPACE_AUTHOR" },
    })

    it("shows a token's roles by id, the id lower-cased", function()
      local r = run({ "organization", "token", "roles", CI:upper() })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(ROLES, r.stdout)
      assert.are.same({ "GET " .. TOKENS .. "/" .. CI }, h.trace(box.sb:requests()))
    end)

    it("picks the token from the menu of every token, answered on stdin", function()
      local r = run({ "organization", "token", "roles" }, { stdin = "1\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(ALL_MENU, r.stderr)
      assert.are.equal(ROLES, r.stdout)
    end)

    it("finds a token by --name, with the duplicates menu when several have it", function()
      local r = run({ "organization", "token", "roles", "--name", "Deploy Token" }, { stdin = "2\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(DUP_MENU, r.stderr)
      assert.are.equal(output.table({ "ENTITY_TYPE", "ENTITY_ID", "ROLE" }, { { "ORGANIZATION", ACME, "ORGANIZATION_MEMBER" } }),
        r.stdout)
      local reqs = h.trace(box.sb:requests())
      assert.are.equal("GET " .. TOKENS .. "/" .. DEPLOY2, reqs[#reqs])
    end)

    it("writes JSON and CSV", function()
      local r = run({ "organization", "token", "roles", CI, "--json" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ roles = {
        { entityType = "ORGANIZATION", entityId = ACME, role = "ORGANIZATION_MEMBER" },
        { entityType = "WORKSPACE", entityId = ANALYTICS, role = "WORKSPACE_AUTHOR" },
      } }, json.decode(r.stdout))
      r = run({ "organization", "token", "roles", CI, "-o", "csv" })
      assert.are.equal("entity_type,entity_id,role,deployment_id\nORGANIZATION," .. ACME .. ",ORGANIZATION_MEMBER,\n" ..
        "WORKSPACE," .. ANALYTICS .. ",WORKSPACE_AUTHOR,\n", r.stdout)
    end)

    it("fails with the astro CLI's messages: a bad choice, no such name, a workspace token", function()
      local r = run({ "organization", "token", "roles" }, { stdin = "4\n" })
      assert.are.equal(1, r.code)
      assert.matches("\n> Error: invalid Organization API token selection\n$", r.stderr)
      r = run({ "organization", "token", "roles", "--name", "Nope" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: organization token specified was not found\n", r.stderr)
      r = run({ "organization", "token", "roles", WS })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: the token selected is not of the type you are trying to modify\n", r.stderr)
      r = run({ "organization", "token", "roles", "clotokzz000000000000000000" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: API token not found\n", r.stderr)
    end)

    it("never waits on a closed stdin: the menus end with an error naming what to pass", function()
      local r = run({ "organization", "token", "roles" })
      assert.are.equal(1, r.code)
      assert.matches("Error: no token choice given: standard input ended; pass the token's id as an argument " ..
        "or its name with %-%-name\n$", r.stderr)
      r = run({ "organization", "token", "roles", "-t", "Deploy Token" })
      assert.are.equal(1, r.code)
      assert.matches("Error: no token choice given: standard input ended; pass the id of the token you mean", r.stderr)
    end)
  end)

  describe("create", function()
    it("posts the token and prints its value once, with the astro CLI's lines", function()
      local r = run({ "organization", "token", "create", "--name", "CI", "--role", "ORGANIZATION_MEMBER" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("", r.stderr)
      local value = r.stdout:match("\n\n(" .. VALUE .. ")\n")
      assert.truthy(value, r.stdout)
      assert.are.equal("\nAstro Organization API token CI was successfully created\n" ..
        "Copy and paste this API token for your records.\n\n" .. value .. "\n\n" ..
        "You will not be shown this API token value again.\n", r.stdout)
      local posts = h.writes(box.sb)
      assert.are.same({ "POST " .. TOKENS }, h.trace(posts))
      assert.are.equal('{"description":"","name":"CI","role":"ORGANIZATION_MEMBER","scope":"ORGANIZATION"}', posts[1].body)
      assert.are.equal(5, #tokens_of())
    end)

    it("sends the description and expiration, and prints only the value with --clean-output", function()
      local r = run({ "org", "to", "cr", "-n", "Deploy", "-d", "nightly deploys", "-r", "ORGANIZATION_OWNER", "-e", "30", "-c" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("^" .. VALUE .. "\n$", r.stdout)
      assert.are.equal("", r.stderr)
      assert.are.equal('{"description":"nightly deploys","name":"Deploy","role":"ORGANIZATION_OWNER",' ..
        '"scope":"ORGANIZATION","tokenExpiryPeriodInDays":30}', h.writes(box.sb)[1].body)
    end)

    it("asks for the name and the role on stdin", function()
      local r = run({ "organization", "token", "create" }, { stdin = "My Token\n2\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Enter a name for the new Organization API token: select a Organization Role for the new API token:\n" ..
        output.table({ "#", "ROLE" }, { { "1", "ORGANIZATION_MEMBER" }, { "2", "ORGANIZATION_BILLING_ADMIN" },
          { "3", "ORGANIZATION_OWNER" } }) .. "\n> ", r.stderr)
      assert.matches("token My Token was successfully created", r.stdout)
      assert.are.equal("ORGANIZATION_BILLING_ADMIN", json.decode(h.writes(box.sb)[1].body).role)
    end)

    it("refuses a bad role, a bad menu choice, an empty name and a bad expiration before any request", function()
      local hint = "Run 'astro organization token create --help' for usage.\n"
      local r = run({ "organization", "token", "create", "-n", "x", "-r", "ORGANIZATION_OBSERVE_ADMIN" })
      assert.are.equal(2, r.code)
      assert.are.equal(INVALID_ROLE .. hint, r.stderr)
      r = run({ "organization", "token", "create", "-n", "x" }, { stdin = "4\n" })
      assert.are.equal(2, r.code)
      assert.matches("\n> Error: invalid organization role selection\n" .. hint:gsub("%p", "%%%0") .. "$", r.stderr)
      r = run({ "organization", "token", "create", "-r", "ORGANIZATION_MEMBER" }, { stdin = "  \n" })
      assert.are.equal(1, r.code)
      assert.matches("Error: no name provided for the organization token. Retry with a valid name\n$", r.stderr)
      r = run({ "organization", "token", "create", "-n", "x", "-r", "ORGANIZATION_MEMBER", "-e", "ten" })
      assert.are.equal(2, r.code)
      assert.matches('^Error: invalid argument "ten" for "%-e, %-%-expiration" flag: strconv.ParseInt: parsing "ten": ' ..
        'invalid syntax\n', r.stderr)
      r = run({ "organization", "token", "create", "-n", "x", "-r", "ORGANIZATION_MEMBER", "-e", "3651" })
      assert.are.equal(2, r.code)
      assert.matches("^Error: the expiration must be a whole number of days from 1 to 3650[^\n]*\n" ..
        hint:gsub("%p", "%%%0") .. "$", r.stderr)
      assert.are.same({}, box.sb:requests())
    end)

    it("never waits on a closed stdin for the name or the role", function()
      local r = run({ "organization", "token", "create", "-r", "ORGANIZATION_MEMBER" })
      assert.are.equal(1, r.code)
      assert.matches("Error: no token name given: standard input ended; pass it with %-%-name\n$", r.stderr)
      r = run({ "organization", "token", "create", "-n", "x" })
      assert.are.equal(1, r.code)
      assert.matches("Error: no role choice given: standard input ended; pass it with %-%-role\n$", r.stderr)
      assert.are.same({}, h.writes(box.sb))
    end)

    it("shows the API's validation message", function()
      local r = run({ "organization", "token", "create", "-n", string.rep("n", 300), "-r", "ORGANIZATION_MEMBER" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: Invalid request: name must be at most 256 characters\n", r.stderr)
    end)

    it("makes nothing under --dry-run, and says so without a value", function()
      local r = run({ "organization", "token", "create", "-n", "CI", "-r", "ORGANIZATION_MEMBER", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("dry run: POST /organizations/" .. ACME .. '/tokens {"description":"","name":"CI",' ..
        '"role":"ORGANIZATION_MEMBER","scope":"ORGANIZATION"}\n' ..
        "Astro Organization API token CI would be created (dry run: no token was made)\n", r.stdout)
      assert.are.same({}, h.writes(box.sb))
      assert.are.equal(4, #tokens_of())
      -- With --clean-output stdout stays empty: a script gets no plan line for a token.
      r = run({ "organization", "token", "create", "-n", "CI", "-r", "ORGANIZATION_MEMBER", "--dry-run", "-c" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("", r.stdout)
      assert.matches("dry run: POST", r.stderr)
      assert.are.same({}, h.writes(box.sb))
    end)
  end)

  describe("the value of a new or rotated token", function()
    for _, cmd in ipairs({
      { "create", { "organization", "token", "create", "-n", "Traced", "-r", "ORGANIZATION_MEMBER" } },
      { "create -c", { "organization", "token", "create", "-n", "Traced", "-r", "ORGANIZATION_MEMBER", "-c" } },
      { "rotate", { "organization", "token", "rotate", CI, "--force" } },
      { "rotate -c", { "organization", "token", "rotate", CI, "--force", "-c" } },
    }) do
      it("appears once on stdout and nowhere in the debug trace: " .. cmd[1], function()
        local args = { table.unpack(cmd[2]) }
        args[#args + 1] = "--verbosity"
        args[#args + 1] = "debug"
        local r = run(args, { env = { ASTRO_DEBUG = "1" } })
        assert.are.equal(0, r.code, r.stderr)
        local value = r.stdout:match(VALUE)
        assert.truthy(value, r.stdout)
        assert.are.equal(1, count(r.stdout, value))
        local payload = value:match("^[^.]+%.([^.]+)%.")
        assert.are.equal(0, count(r.stderr, payload), r.stderr)
        assert.truthy(r.stderr:find('"token":"<redacted>"', 1, true), r.stderr)
        h.no_secret(r)
      end)
    end

    it("is redacted from an error line once a script has it", function()
      local script = box.file("leak.lua", [[
local t = assert(astro.tokens.create({ name = "Scripted", role = "ORGANIZATION_MEMBER" }))
io.stderr:write(#t.token > 20 and "got a value\n" or "no value\n")
return nil, astro.errors.new("could not store " .. t.token)
]])
      local r = run({ "run", script })
      assert.are.equal(1, r.code)
      assert.are.equal("got a value\nError: could not store <redacted>\n", r.stderr)
      assert.are.equal("", r.stdout)
    end)
  end)

  it("shows names from the API and the command line escaped, never as terminal controls", function()
    local evil = "\27]0;owned\7\226\128\174evil\nname"
    for _ = 1, 2 do
      local r = run({ "organization", "token", "create", "-n", evil, "-r", "ORGANIZATION_MEMBER" })
      assert.are.equal(0, r.code, r.stderr)
      assert.is_nil(r.stdout:find("\27", 1, true))
      assert.matches("token \\x1b%]0;owned\\x07\\u202eevil\\x0aname was successfully created", r.stdout)
    end
    local r = run({ "organization", "token", "list" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_nil(r.stdout:find("\27", 1, true))
    assert.is_nil(r.stdout:find("\226\128\174", 1, true))
    r = run({ "organization", "token", "rotate", "-t", evil }, { stdin = "1\ny\n" })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_nil((r.stdout .. r.stderr):find("\27", 1, true))
    assert.is_nil((r.stdout .. r.stderr):find("\226\128\174", 1, true))
    assert.matches("with name \\x1b%]0;owned", r.stderr)
  end)

  describe("update", function()
    it("renames a token found by id, keeping its description", function()
      local r = run({ "organization", "token", "update", CI, "--new-name", "Renamed" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Astro Organization API token CI/CD Token was successfully updated\n", r.stdout)
      local w = h.writes(box.sb)
      assert.are.same({ "POST " .. TOKENS .. "/" .. CI }, h.trace(w))
      assert.are.equal('{"description":"GitHub Actions deploys","name":"Renamed"}', w[1].body)
      assert.are.equal("Renamed", token(CI).name)
    end)

    it("sets the organization role, keeping the token's workspace roles", function()
      local r = run({ "org", "to", "up", "--name", "CI/CD Token", "-d", "new desc", "-r", "ORGANIZATION_OWNER" })
      assert.are.equal(0, r.code, r.stderr)
      local w = h.writes(box.sb)
      assert.are.same({ "POST " .. TOKENS .. "/" .. CI, "POST " .. TOKENS .. "/" .. CI .. "/roles" }, h.trace(w))
      assert.are.equal('{"description":"new desc","name":"CI/CD Token"}', w[1].body)
      assert.are.equal('{"roles":[{"entityId":"' .. ANALYTICS .. '","entityType":"WORKSPACE","role":"WORKSPACE_AUTHOR"},' ..
        '{"entityId":"' .. ACME .. '","entityType":"ORGANIZATION","role":"ORGANIZATION_OWNER"}]}', w[2].body)
      assert.are.equal("ORGANIZATION_OWNER", token(CI).roles[2].role)
    end)

    it("refuses a bad role before anything is sent (the astro CLI renames first)", function()
      local r = run({ "organization", "token", "update", CI, "--new-name", "Renamed", "--role", "OWNER" })
      assert.are.equal(2, r.code)
      assert.are.equal(INVALID_ROLE .. "Run 'astro organization token update --help' for usage.\n", r.stderr)
      assert.are.same({}, box.sb:requests())
      assert.are.equal("CI/CD Token", token(CI).name)
    end)

    it("uses the duplicates menu and the menu of every token, answered on stdin", function()
      local r = run({ "organization", "token", "update", "-d", "picked" }, { stdin = "1\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(ALL_MENU, r.stderr)
      assert.are.equal("picked", token(CI).description)
      r = run({ "organization", "token", "update", "--name", "Deploy Token", "-n", "Staging" }, { stdin = "2\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(DUP_MENU, r.stderr)
      assert.are.equal("Staging", token(DEPLOY2).name)
      assert.are.equal("Deploy Token", token(DEPLOY1).name)
    end)

    it("never waits on a closed stdin, and refuses a workspace token", function()
      local r = run({ "organization", "token", "update", "-n", "x" })
      assert.are.equal(1, r.code)
      assert.matches("Error: no token choice given: standard input ended; pass the token's id as an argument or its " ..
        "current name with %-%-name\n$", r.stderr)
      r = run({ "organization", "token", "update", WS, "-n", "x" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: the token selected is not of the type you are trying to modify\n", r.stderr)
      assert.are.same({}, h.writes(box.sb))
    end)

    it("changes nothing under --dry-run", function()
      local r = run({ "organization", "token", "update", CI, "-n", "Renamed", "-r", "ORGANIZATION_OWNER", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("^dry run: POST /organizations/" .. ACME .. "/tokens/" .. CI .. " ", r.stdout)
      assert.matches("\ndry run: POST /organizations/" .. ACME .. "/tokens/" .. CI .. "/roles ", r.stdout)
      assert.matches("\nAstro Organization API token CI/CD Token would be updated %(dry run: nothing was changed%)\n$", r.stdout)
      assert.are.same({}, h.writes(box.sb))
    end)
  end)

  describe("rotate", function()
    it("asks first, names the token even when found by id, and prints the new value", function()
      local r = run({ "organization", "token", "rotate", CI }, { stdin = "y\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("WARNING: API Token rotation will invalidate the current token and cannot be undone.\n" ..
        "\nAre you sure you want to rotate the CI/CD Token API token? (y/n) ", r.stderr)
      local value = r.stdout:match(VALUE)
      assert.are.equal("\nAstro Organization API token CI/CD Token was successfully rotated\n" ..
        "Copy and paste this API token for your records.\n\n" .. tostring(value) .. "\n\n" ..
        "You will not be shown this API token value again.\n", r.stdout)
      local w = h.writes(box.sb)
      assert.are.same({ "POST " .. TOKENS .. "/" .. CI .. "/rotate" }, h.trace(w))
      assert.are.equal("", w[1].body or "")
      assert.is_nil(w[1].headers["Content-Type"])
    end)

    it("cancels on any answer but y, with exit status 0", function()
      local r = run({ "organization", "token", "rotate", "-t", "CI/CD Token" }, { stdin = "yes\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Canceling token rotation\n", r.stdout)
      assert.are.same({}, h.writes(box.sb))
    end)

    it("never waits on a closed stdin: the confirmation names --force", function()
      local r = run({ "organization", "token", "rotate", CI })
      assert.are.equal(1, r.code)
      assert.matches("Error: no confirmation given: standard input ended; pass %-%-force to rotate without asking\n$",
        r.stderr)
      assert.are.same({}, h.writes(box.sb))
    end)

    it("prints only the value with --clean-output, and picks among duplicates", function()
      local r = run({ "org", "to", "ro", "-t", "Deploy Token", "-f", "-c" }, { stdin = "1\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.matches("^" .. VALUE .. "\n$", r.stdout)
      assert.are.same({ "POST " .. TOKENS .. "/" .. DEPLOY1 .. "/rotate" }, h.trace(h.writes(box.sb)))
    end)

    it("refuses a workspace token, and rotates nothing under --dry-run", function()
      local r = run({ "organization", "token", "rotate", WS, "-f" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: the token selected is not of the type you are trying to modify\n", r.stderr)
      r = run({ "organization", "token", "rotate", CI, "-f", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("dry run: POST /organizations/" .. ACME .. "/tokens/" .. CI .. "/rotate\n" ..
        "Astro Organization API token CI/CD Token would be rotated (dry run: no new token was made)\n", r.stdout)
      assert.are.same({}, h.writes(box.sb))
    end)
  end)

  describe("delete", function()
    it("asks first, then deletes the token", function()
      local r = run({ "organization", "token", "delete", "-t", "CI/CD Token" }, { stdin = "y\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("WARNING: API token deletion cannot be undone.\n" ..
        "\nAre you sure you want to delete the CI/CD Token API token? (y/n) ", r.stderr)
      assert.are.equal("Astro Organization API token CI/CD Token was successfully deleted\n", r.stdout)
      assert.are.same({ "DELETE " .. TOKENS .. "/" .. CI }, h.trace(h.writes(box.sb)))
      assert.is_nil(token(CI))
    end)

    it("cancels on n, fails on a closed stdin naming --force, deletes with --force", function()
      local r = run({ "organization", "token", "delete", CI }, { stdin = "n\n" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("Canceling API Token deletion\n", r.stdout)
      r = run({ "organization", "token", "delete", CI })
      assert.are.equal(1, r.code)
      assert.matches("Error: no confirmation given: standard input ended; pass %-%-force to delete without asking\n$",
        r.stderr)
      assert.are.same({}, h.writes(box.sb))
      r = run({ "org", "to", "de", CI:upper(), "-f" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("", r.stderr)
      assert.are.same({ "DELETE " .. TOKENS .. "/" .. CI }, h.trace(h.writes(box.sb)))
    end)

    it("deletes nothing under --dry-run, and refuses a workspace token", function()
      local r = run({ "organization", "token", "delete", CI, "-f", "--dry-run" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal("dry run: DELETE /organizations/" .. ACME .. "/tokens/" .. CI .. "\n" ..
        "Astro Organization API token CI/CD Token would be deleted (dry run: nothing was deleted)\n", r.stdout)
      r = run({ "organization", "token", "delete", WS, "-f" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: the token selected is not of the type you are trying to modify\n", r.stderr)
      assert.are.same({}, h.writes(box.sb))
      assert.are.equal(4, #tokens_of())
    end)
  end)
end)
