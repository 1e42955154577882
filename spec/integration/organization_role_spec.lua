-- `astro organization role list` against the sandbox API (spec/support/sandbox_roles.py).
local h = require("spec.helpers")
local json = require("astro.json")

local ACME, GLOBEX, INITECH = h.ids.ACME, h.ids.GLOBEX, h.ids.INITECH
local ROLES = "/v1/organizations/" .. ACME .. "/roles"

-- The custom roles of the demo organization Acme.
local TABLE =
  " NAME                  ID                             DESCRIPTION                              \n" ..
  " DAG Operator          clqrole0000100p1s8wuvk3mg      Can trigger and clear DAG runs only      \n" ..
  " Workspace Auditor     clqrole0000200k4d7s9wq2xbe     Read-only view of Workspace settings     \n"

-- fixtures/expected/organization-role-list.include-default.table.txt (the data of
-- fixtures/roles-list.json).
local FIXTURE_TABLE =
  " NAME                           ID                            DESCRIPTION                             \n" ..
  " ORGANIZATION_OWNER                                           Full access to the Organization         \n" ..
  " ORGANIZATION_BILLING_ADMIN                                   Manage billing for the Organization     \n" ..
  " ORGANIZATION_MEMBER                                          View the Organization                   \n" ..
  " DAG Operator                   clqrole0000100p1s8wuvk3mg     Can trigger and clear DAG runs only     \n"

describe("astro organization role list", function()
  local box = h.use_sandbox()
  local role_list = box.command({ "organization", "role", "list" })

  -- Seeds the sandbox with the data of fixtures/roles-list.json (Acme only).
  local function seed_fixture()
    local state = box.sb:state()
    local dag
    for _, r in ipairs(state.roles[ACME]) do
      if r.name == "DAG Operator" then dag = r end
    end
    box.sb:control("POST", "/_sandbox/seed", {
      organizations = { { id = ACME, name = "Acme Data Platform", product = "HOSTED" } },
      defaultRoles = { state.defaultRoles[1], state.defaultRoles[2], state.defaultRoles[3] },
      roles = { [ACME] = { dag } },
    })
  end

  it("prints the custom roles of the current organization in one request of the largest page", function()
    local r = role_list()
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(TABLE, r.stdout)
    assert.are.equal("", r.stderr)
    local reqs = box.sb:requests()
    assert.are.equal(1, #reqs)
    assert.are.equal("GET", reqs[1].method)
    assert.are.equal(ROLES, reqs[1].path)
    assert.are.equal("includeDefaultRoles=false&limit=1000&offset=0", reqs[1].query)
  end)

  it("prints the reference's table with --include-default-roles, default roles first, in one request", function()
    seed_fixture()
    for _, flag in ipairs({ "--include-default-roles", "-i", "--include-default-roles=true" }) do
      box.sb:reset_requests()
      local r = role_list({ flag })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(FIXTURE_TABLE, r.stdout)
      local reqs = box.sb:requests()
      -- The astro CLI always asks a second page (offset=100); one page of 1000 holds them all.
      assert.are.equal(1, #reqs)
      assert.are.equal("includeDefaultRoles=true&limit=1000&offset=0", reqs[1].query)
    end
  end)

  it("answers to its aliases", function()
    for _, args in ipairs({ { "org", "ro", "ls" }, { "org", "roles", "list" }, { "organization", "role", "ls" } }) do
      local r = box.run(args)
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(TABLE, r.stdout)
    end
  end)

  it("prints JSON with --json and -o json, default roles marked and without an id", function()
    seed_fixture()
    local want = table.concat({
      "{", '  "roles": [',
      "    {", '      "name": "ORGANIZATION_OWNER",', '      "description": "Full access to the Organization",',
      '      "scopeType": "ORGANIZATION",', '      "isDefault": true', "    },",
      "    {", '      "name": "ORGANIZATION_BILLING_ADMIN",',
      '      "description": "Manage billing for the Organization",', '      "scopeType": "ORGANIZATION",',
      '      "isDefault": true', "    },",
      "    {", '      "name": "ORGANIZATION_MEMBER",', '      "description": "View the Organization",',
      '      "scopeType": "ORGANIZATION",', '      "isDefault": true', "    },",
      "    {", '      "name": "DAG Operator",', '      "id": "clqrole0000100p1s8wuvk3mg",',
      '      "description": "Can trigger and clear DAG runs only",', '      "scopeType": "DEPLOYMENT",',
      '      "isDefault": false', "    }",
      "  ]", "}", "" }, "\n")
    for _, flags in ipairs({ { "-i", "--json" }, { "-i", "-o", "json" } }) do
      local r = role_list(flags)
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(want, r.stdout)
    end
    local r = role_list({ "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(1, #assert(json.decode(r.stdout)).roles)
  end)

  it("prints CSV with -o csv", function()
    seed_fixture()
    local r = role_list({ "-i", "-o", "csv" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("name,id,description,scope_type,is_default\n" ..
      "ORGANIZATION_OWNER,,Full access to the Organization,ORGANIZATION,true\n" ..
      "ORGANIZATION_BILLING_ADMIN,,Manage billing for the Organization,ORGANIZATION,true\n" ..
      "ORGANIZATION_MEMBER,,View the Organization,ORGANIZATION,true\n" ..
      "DAG Operator,clqrole0000100p1s8wuvk3mg,Can trigger and clear DAG runs only,DEPLOYMENT,false\n", r.stdout)
  end)

  it("pages with the size the server serves, and takes the default roles from the first page only", function()
    box.sb:faults({ max_page_size = 1 })
    local r = role_list({ "-i", "-o", "csv" })
    assert.are.equal(0, r.code, r.stderr)
    local lines = h.lines(r.stdout)
    assert.are.equal(1 + 9 + 2, #lines)
    assert.matches("^DAG Operator,", lines[11])
    assert.matches("^Workspace Auditor,", lines[12])
    local queries = {}
    for _, req in ipairs(box.sb:requests()) do queries[#queries + 1] = req.query end
    table.sort(queries)
    assert.are.same({ "includeDefaultRoles=true&limit=1000&offset=0", "includeDefaultRoles=true&limit=1000&offset=1" },
      queries)
  end)

  it("lists the roles of the organization the context names: a role without description, and none", function()
    local r = h.run({ "organization", "role", "list" }, { home = box.sb:home({ organization = GLOBEX }) })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(" NAME               ID                             DESCRIPTION     \n" ..
                     " Billing Viewer     clqrole0000300m6f8t0yr3zcn                     \n", r.stdout)
    local initech = box.sb:home({ organization = INITECH })
    r = h.run({ "organization", "role", "list" }, { home = initech })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(" NAME     ID     DESCRIPTION     \n", r.stdout)
    r = h.run({ "organization", "role", "list", "--json" }, { home = initech })
    assert.are.equal('{\n  "roles": []\n}\n', r.stdout)
  end)

  it("shows the custom roles alone when the first page has no defaultRoles, and escapes what it shows", function()
    box.sb:faults({ answer_next = 1, answer_skip = 0, fault_path_prefix = ROLES, answer_body =
      '{"roles":[{"id":"clqrole0000900aaaaaaaaaaaa","name":"Red \\u001b[31m","description":7}],"totalCount":1}' })
    local r = role_list({ "-i" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(" NAME             ID                             DESCRIPTION     \n" ..
                     " Red \\x1b[31m     clqrole0000900aaaaaaaaaaaa     7               \n", r.stdout)
  end)

  it("refuses an answer whose defaultRoles is not a list of objects", function()
    box.sb:faults({ answer_next = 1, answer_skip = 0, fault_path_prefix = ROLES,
      answer_body = '{"roles":[],"defaultRoles":"ORGANIZATION_OWNER","totalCount":0}' })
    local r = role_list({ "-i" })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("Error: the API answered a roles page whose defaultRoles is not a list\n", r.stderr)
  end)

  it("shows the API's message and exits 1 when the API refuses", function()
    box.sb:faults({ fail_next = 1, fail_status = 403 })
    local r = role_list()
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.are.equal("Error: Forbidden\n", r.stderr)
  end)

  it("refuses an unknown format or --json with -o with exit 2, sending nothing", function()
    for _, flags in ipairs({ { "-o", "template" }, { "--json", "-o", "csv" } }) do
      local r = role_list(flags)
      assert.are.equal(2, r.code)
      assert.matches("^Error: ", r.stderr)
    end
    assert.are.equal(0, #box.sb:requests())
  end)

  it("shows the reference's help", function()
    local r = role_list({ "--help" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("^List all custom roles in your Organization%. Custom roles define fine%-grained permissions", r.stdout)
    assert.matches("\n  %-i, %-%-include%-default%-roles +Should include default roles in response\n", r.stdout)
    r = box.run({ "organization", "role", "--help" })
    assert.matches("^Manage roles in your Astro Organization%.\n", r.stdout)
    assert.matches("\n  list +List all the roles in your Astro Organization\n", r.stdout)
  end)

  it("gives scripts astro.roles.list", function()
    local script = box.file("roles.lua", [[
local all = assert(astro.roles.list({ include_default = true }))
local custom = assert(astro.roles.list())
print(#all.default, #all.custom, all.default[1].name, all.custom[2].name, #custom.default, #custom.custom)
]])
    local r = box.run({ "run", script })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal("9\t2\tORGANIZATION_OWNER\tWorkspace Auditor\t0\t2\n", r.stdout)
  end)
end)
