-- `astro organization user list` against the sandbox API.
local h = require("spec.helpers")
local json = require("astro.json")

local ACME = h.ids.ACME

-- fixtures/expected/organization-user-list.table.txt
local TABLE =
  " FULLNAME      EMAIL                 ID                            ORGANIZATION ROLE              CREATE DATE              \n" ..
  " Jane Doe      jane.doe@acme.io      clrjane00000109s3nj4egnyn     ORGANIZATION_OWNER             2023-02-01T15:04:05Z     \n" ..
  " Raj Patel     raj.patel@acme.io     clrraj0000002019nj9w0ji6b     ORGANIZATION_MEMBER            2024-05-17T21:45:09Z     \n" ..
  " Mei Lin       mei.lin@acme.io       clrmei00000030v4ds06npq50     ORGANIZATION_BILLING_ADMIN     2025-09-02T07:30:00Z     \n"

-- fixtures/expected/organization-user-list.json.txt, and each user's status (not in the astro CLI)
local JSON = table.concat({
  "{",
  '  "users": [',
  "    {",
  '      "fullName": "Jane Doe",',
  '      "email": "jane.doe@acme.io",',
  '      "id": "clrjane00000109s3nj4egnyn",',
  '      "createdAt": "2023-02-01T15:04:05Z",',
  '      "orgRole": "ORGANIZATION_OWNER",',
  '      "status": "ACTIVE"',
  "    },",
  "    {",
  '      "fullName": "Raj Patel",',
  '      "email": "raj.patel@acme.io",',
  '      "id": "clrraj0000002019nj9w0ji6b",',
  '      "createdAt": "2024-05-17T21:45:09.512Z",',
  '      "orgRole": "ORGANIZATION_MEMBER",',
  '      "status": "ACTIVE"',
  "    },",
  "    {",
  '      "fullName": "Mei Lin",',
  '      "email": "mei.lin@acme.io",',
  '      "id": "clrmei00000030v4ds06npq50",',
  '      "createdAt": "2025-09-02T07:30:00Z",',
  '      "orgRole": "ORGANIZATION_BILLING_ADMIN",',
  '      "status": "ACTIVE"',
  "    }",
  "  ]",
  "}",
  "" }, "\n")

describe("astro organization user list", function()
  local box = h.use_sandbox()

  it("prints the reference's table for the demo organization", function()
    local r = box.run({ "organization", "user", "list" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(TABLE, r.stdout)
    assert.are.equal("", r.stderr)
    assert.is_nil(r.stdout:find("\27", 1, true))
  end)

  it("prints the same table with -o table and through the aliases", function()
    for _, args in ipairs({ { "organization", "user", "list", "-o", "table" }, { "org", "us", "ls" },
                            { "org", "users", "list", "--output", "table" } }) do
      local r = box.run(args)
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(TABLE, r.stdout)
    end
  end)

  it("prints the reference's JSON with --json and with -o json", function()
    for _, flags in ipairs({ { "--json" }, { "-o", "json" }, { "--output", "json" } }) do
      local args = { "organization", "user", "list" }
      for _, f in ipairs(flags) do args[#args + 1] = f end
      local r = box.run(args)
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(JSON, r.stdout)
      assert.are.equal("", r.stderr)
    end
  end)

  it("asks for one page of 1000 users of the current organization with the context's token", function()
    local r = box.run({ "organization", "user", "list" })
    assert.are.equal(0, r.code, r.stderr)
    local reqs = box.sb:requests()
    assert.are.equal(1, #reqs)
    assert.are.equal("GET", reqs[1].method)
    assert.are.equal("/v1/organizations/" .. ACME .. "/users", reqs[1].path)
    assert.are.equal("limit=1000&offset=0", reqs[1].query)
    assert.are.equal("Bearer test-token", reqs[1].headers.Authorization)
    assert.are.equal("", reqs[1].body)
    assert.is_nil(r.stdout:find("test-token", 1, true))
    assert.is_nil(r.stderr:find("test-token", 1, true))
  end)

  it("lists the users of the organization the context names", function()
    local globex = box.sb:home({ organization = "clu7glbx000020j7zc6npf32j" })
    local r = h.run({ "organization", "user", "list" }, { home = globex })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(
      " FULLNAME         EMAIL                      ID                            ORGANIZATION ROLE       CREATE DATE              \n" ..
      " Jane Doe         jane.doe@acme.io           clrjane00000109s3nj4egnyn     ORGANIZATION_OWNER      2022-11-22T04:37:12Z     \n" ..
      " Hank Scorpio     hank.scorpio@globex.io     clrhank0000502p7c1d9e4wgs     ORGANIZATION_OWNER      2022-11-22T05:00:00Z     \n" ..
      "                  frank.grimes@globex.io     clrfrank000060q2w8e4r6t1y     ORGANIZATION_MEMBER     2026-06-01T09:15:00Z     \n",
      r.stdout)
    assert.are.equal("/v1/organizations/clu7glbx000020j7zc6npf32j/users", box.sb:requests()[1].path)
  end)

  it("shows each user's status (ACTIVE, PENDING, ...) in JSON and CSV, and not in the table", function()
    local globex = box.sb:home({ organization = h.ids.GLOBEX })
    local r = h.run({ "organization", "user", "list", "--json" }, { home = globex })
    assert.are.equal(0, r.code, r.stderr)
    local statuses = {}
    for i, u in ipairs(assert(json.decode(r.stdout)).users) do statuses[i] = u.email .. "=" .. tostring(u.status) end
    assert.are.same({ "jane.doe@acme.io=ACTIVE", "hank.scorpio@globex.io=ACTIVE", "frank.grimes@globex.io=PENDING" },
      statuses)
    assert.matches('"orgRole": "ORGANIZATION_MEMBER",\n      "status": "PENDING"\n', r.stdout)
    r = h.run({ "organization", "user", "list", "-o", "csv" }, { home = globex })
    assert.are.equal(0, r.code, r.stderr)
    local lines = h.lines(r.stdout)
    assert.are.equal("full_name,email,id,organization_role,created_at,status", lines[1])
    assert.are.equal(",frank.grimes@globex.io,clrfrank000060q2w8e4r6t1y,ORGANIZATION_MEMBER,2026-06-01T09:15:00Z,PENDING",
      lines[4])
    r = h.run({ "organization", "user", "list" }, { home = globex })
    assert.are.equal(0, r.code, r.stderr)
    assert.is_nil(r.stdout:find("STATUS", 1, true))
    assert.is_nil(r.stdout:find("PENDING", 1, true))
    -- Invited through this tool, a user shows as PENDING too.
    r = box.run({ "organization", "user", "invite", "new.person@example.com" })
    assert.are.equal(0, r.code, r.stderr)
    r = box.run({ "organization", "user", "list", "-o", "csv" })
    assert.matches("\n,new%.person@example%.com,c[%w]+,ORGANIZATION_MEMBER,[%dTZ:-]+,PENDING\n$", r.stdout)
  end)

  it("leaves out a missing role and keeps time offsets, with fractions only in JSON", function()
    box.sb:control("POST", "/_sandbox/seed", {
      organizations = { { id = ACME, name = "Acme Data Platform", product = "HOSTED" } },
      users = { [ACME] = {
        { id = "clrodd000000000000000000a", username = "odd@acme.io", fullName = "Odd Zone",
          createdAt = "2024-03-10T08:00:00.120+02:00" },
        { id = "clrutc000000000000000000b", username = "utc@acme.io", fullName = "Utc Zero",
          createdAt = "2024-03-10T08:00:00.500000Z", organizationRole = "ORGANIZATION_MEMBER" },
      } },
    })
    local r = box.run({ "organization", "user", "list" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(
      " FULLNAME     EMAIL           ID                            ORGANIZATION ROLE       CREATE DATE                   \n" ..
      " Odd Zone     odd@acme.io     clrodd000000000000000000a                             2024-03-10T08:00:00+02:00     \n" ..
      " Utc Zero     utc@acme.io     clrutc000000000000000000b     ORGANIZATION_MEMBER     2024-03-10T08:00:00Z          \n",
      r.stdout)
    r = box.run({ "organization", "user", "list", "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(table.concat({
      "{", '  "users": [', "    {",
      '      "fullName": "Odd Zone",', '      "email": "odd@acme.io",', '      "id": "clrodd000000000000000000a",',
      '      "createdAt": "2024-03-10T08:00:00.12+02:00"', "    },", "    {",
      '      "fullName": "Utc Zero",', '      "email": "utc@acme.io",', '      "id": "clrutc000000000000000000b",',
      '      "createdAt": "2024-03-10T08:00:00.5Z",', '      "orgRole": "ORGANIZATION_MEMBER"', "    }",
      "  ]", "}", "" }, "\n"), r.stdout)
  end)

  it("prints only the header, or an empty JSON list, for an organization without users", function()
    box.sb:control("POST", "/_sandbox/seed", { organizations = { { id = ACME, name = "Acme Data Platform" } } })
    local r = box.run({ "organization", "user", "list" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(" FULLNAME     EMAIL     ID     ORGANIZATION ROLE     CREATE DATE     \n", r.stdout)
    r = box.run({ "organization", "user", "list", "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal('{\n  "users": []\n}\n', r.stdout)
  end)

  it("shows control characters in CSV escaped on a terminal, and writes them as they are to a pipe", function()
    box.sb:control("POST", "/_sandbox/seed", {
      organizations = { { id = ACME, name = "Acme Data Platform", product = "HOSTED" } },
      users = { [ACME] = {
        { id = "clreve000000000000000000a", username = "eve@acme.io", fullName = "Eve \27[31mred\27[0m",
          createdAt = "2024-03-10T08:00:00Z", organizationRole = "ORGANIZATION_MEMBER" },
        { id = "clrtab000000000000000000b", username = "tab@acme.io", fullName = "Tab\there\nBell\7",
          createdAt = "2024-03-10T08:00:00Z", organizationRole = "ORGANIZATION_MEMBER" },
      } },
    })
    local header = "full_name,email,id,organization_role,created_at,status\n"
    local args = { "organization", "user", "list", "-o", "csv" }
    local r = box.run(args, { tty = true })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(header ..
      "Eve \\x1b[31mred\\x1b[0m,eve@acme.io,clreve000000000000000000a,ORGANIZATION_MEMBER,2024-03-10T08:00:00Z,\n" ..
      "Tab\\x09here\\x0aBell\\x07,tab@acme.io,clrtab000000000000000000b,ORGANIZATION_MEMBER,2024-03-10T08:00:00Z,\n",
      r.stdout)
    -- The table escapes them the same way.
    r = box.run({ "organization", "user", "list" }, { tty = true })
    assert.are.equal(0, r.code, r.stderr)
    assert.truthy(r.stdout:find(" Eve \\x1b[31mred\\x1b[0m ", 1, true), r.stdout)
    assert.is_nil(r.stdout:find("\27", 1, true))
    -- A pipe (or a file) gets the data byte for byte.
    r = box.run(args)
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(header ..
      "Eve \27[31mred\27[0m,eve@acme.io,clreve000000000000000000a,ORGANIZATION_MEMBER,2024-03-10T08:00:00Z,\n" ..
      '"Tab\there\nBell\7",tab@acme.io,clrtab000000000000000000b,ORGANIZATION_MEMBER,2024-03-10T08:00:00Z,\n',
      r.stdout)
    assert.are.equal("", r.stderr)
  end)

  it("refuses --json together with -o with exit 2 and sends nothing", function()
    local r = box.run({ "organization", "user", "list", "--json", "-o", "json" })
    assert.are.equal(2, r.code)
    assert.are.equal("", r.stdout)
    assert.matches("^Error: if any flags in the group %[json output%] are set none of the others can be", r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)

  it("refuses an unknown format with exit 2 and sends nothing", function()
    local r = box.run({ "organization", "user", "list", "-o", "template" })
    assert.are.equal(2, r.code)
    assert.matches('^Error: invalid format "template"', r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)

  it("shows the API's message and exits 1 when the API refuses", function()
    box.sb:faults({ fail_next = 1, fail_status = 403 })
    local r = box.run({ "organization", "user", "list" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("Error: Forbidden\n", r.stderr)
    assert.are.equal(1, #box.sb:requests())
  end)

  it("does not retry a 500 but retries a 503 on its GET", function()
    box.sb:faults({ fail_next = 1, fail_status = 500 })
    local r = box.run({ "organization", "user", "list" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: Internal Server Error\n", r.stderr)
    assert.are.equal(1, #box.sb:requests())
    box.sb:reset_requests()
    box.sb:faults({ fail_next = 1, fail_status = 503 })
    r = box.run({ "organization", "user", "list" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(TABLE, r.stdout)
    local reqs = box.sb:requests()
    assert.are.equal(2, #reqs)
    assert.are.equal(503, reqs[1].status)
    assert.are.equal(200, reqs[2].status)
  end)

  it("says how to log in when there are no credentials, and sends nothing", function()
    local bare = box.sb:home({ token = "" })
    local path = bare .. "/.astro/config.yaml"
    h.write_file(path, (h.read_file(path):gsub("token: Bearer \n", "token: \"\"\n")))
    local r = h.run({ "organization", "user", "list" }, { home = bare })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.matches("^Error: no credentials: set ASTRO_API_TOKEN", r.stderr)
    assert.are.equal(0, #box.sb:requests())
    r = h.run({ "organization", "user", "list" }, { home = h.tmpdir() })
    assert.are.equal(1, r.code)
    assert.matches("^Error: no context set", r.stderr)
  end)
end)

describe("astro organization user list with more than one page of users", function()
  local box = h.use_sandbox({ flags = { "--users", "2500" }, home = { organization = ACME }, reset = false })

  it("fetches every page of 1000 and prints all users in API order", function()
    local r = box.run({ "organization", "user", "list", "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local data = assert(json.decode(r.stdout))
    local users = box.sb:state().users[ACME]
    assert.are.equal(2503, #users)
    assert.are.equal(#users, #data.users)
    for i, u in ipairs(users) do
      assert.are.equal(u.id, data.users[i].id)
      assert.are.equal(u.username, data.users[i].email)
    end
    assert.are.equal("user02500@example.com", data.users[2503].email)
    local queries = {}
    for _, req in ipairs(box.sb:requests()) do
      assert.are.equal("/v1/organizations/" .. ACME .. "/users", req.path)
      queries[#queries + 1] = req.query
    end
    table.sort(queries)
    assert.are.same({ "limit=1000&offset=0", "limit=1000&offset=1000", "limit=1000&offset=2000" }, queries)
  end)

  it("prints one table row per user", function()
    local r = box.run({ "organization", "user", "list" })
    assert.are.equal(0, r.code, r.stderr)
    local lines = h.lines(r.stdout)
    assert.are.equal(2504, #lines)
    assert.matches("^ User 00001 +user00001@example%.com ", lines[5])
    assert.matches("^ User 02500 +user02500@example%.com ", lines[2504])
  end)
end)
