-- `astro organization list` against the sandbox API.
local h = require("spec.helpers")
local json = require("astro.json")

local ACME = h.ids.ACME

describe("astro organization list", function()
  local box = h.use_sandbox({ reset = "requests" })

  it("prints the table of the reference in API order, the current organization marked * when piped", function()
    local r = box.run({ "organization", "list" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(
      " NAME                   ID                            \n" ..
      "*Acme Data Platform     clt0acme000010bhys38c6ryb     \n" ..
      " Globex                 clu7glbx000020j7zc6npf32j     \n" ..
      " Initech Sandbox        clv2init000030es9qjsmo8nu     \n", r.stdout)
    assert.are.equal("", r.stderr)
  end)

  it("marks the current organization in a way a script reads: its line alone starts with *", function()
    local r = box.run({ "organization", "list" }, { home = box.sb:home({ organization = h.ids.GLOBEX }) })
    assert.are.equal(0, r.code, r.stderr)
    local marked = {}
    for line in r.stdout:gmatch("[^\n]+") do
      if line:sub(1, 1) == "*" then marked[#marked + 1] = line:match("^%*(%S+)") end
    end
    assert.are.same({ "Globex" }, marked)
    -- An organization that is not in the list (or none current): no line is marked.
    r = box.run({ "organization", "list" }, { home = box.sb:home({ organization = "clzzzzzzz00000000000000000" }) })
    assert.is_nil(r.stdout:find("\n*", 1, true))
  end)

  it("on a terminal shows the current row in green, unmarked; with NO_COLOR marks it with *", function()
    local r = box.run({ "organization", "list" }, { tty = true })
    assert.are.equal(0, r.code, r.stderr)
    assert.truthy(r.stdout:find("\27[1;32m Acme Data Platform     clt0acme000010bhys38c6ryb     \27[0m\n", 1, true))
    assert.is_nil(r.stdout:find("*", 1, true))
    r = box.run({ "organization", "list" }, { tty = true, env = { NO_COLOR = "1" } })
    assert.is_nil(r.stdout:find("\27", 1, true))
    assert.truthy(r.stdout:find("\n*Acme Data Platform     clt0acme000010bhys38c6ryb     \n", 1, true))
  end)

  it("answers to the aliases org ls", function()
    local r = box.run({ "org", "ls" })
    assert.are.equal(0, r.code, r.stderr)
    assert.matches("Acme Data Platform", r.stdout)
  end)

  it("prints JSON in the reference's shape with --json and -o json", function()
    local expected = table.concat({
      "{",
      '  "organizations": [',
      "    {",
      '      "name": "Acme Data Platform",',
      '      "id": "clt0acme000010bhys38c6ryb",',
      '      "isCurrent": true',
      "    },",
      "    {",
      '      "name": "Globex",',
      '      "id": "clu7glbx000020j7zc6npf32j",',
      '      "isCurrent": false',
      "    },",
      "    {",
      '      "name": "Initech Sandbox",',
      '      "id": "clv2init000030es9qjsmo8nu",',
      '      "isCurrent": false',
      "    }",
      "  ]",
      "}",
      "" }, "\n")
    local r = box.run({ "organization", "list", "--json" })
    assert.are.equal(0, r.code, r.stderr)
    assert.are.equal(expected, r.stdout)
    r = box.run({ "organization", "list", "-o", "json" })
    assert.are.equal(expected, r.stdout)
  end)

  it("sends one GET with the largest page, the token and the client headers", function()
    local r = box.run({ "organization", "list" })
    assert.are.equal(0, r.code, r.stderr)
    local reqs = box.sb:requests()
    assert.are.equal(1, #reqs)
    assert.are.equal("GET", reqs[1].method)
    assert.are.equal("/v1/organizations", reqs[1].path)
    assert.are.equal("limit=1000&offset=0", reqs[1].query)
    assert.are.equal("Bearer test-token", reqs[1].headers.Authorization)
    assert.are.equal("cli", reqs[1].headers["X-Astro-Client-Identifier"])
  end)

  it("never colours rows when stdout is not a terminal", function()
    local r = box.run({ "organization", "list" })
    assert.is_nil(r.stdout:find("\27", 1, true))
  end)

  it("refuses --json together with --output, before any request", function()
    local r = box.run({ "organization", "list", "--json", "-o", "table" })
    assert.are.equal(2, r.code)
    assert.matches("^Error: if any flags in the group %[json output%]", r.stderr)
    assert.are.equal(0, #box.sb:requests())
  end)

  it("refuses an unknown output format with a line naming its help, and exit 2", function()
    local r = box.run({ "organization", "list", "-o", "yaml" })
    assert.are.equal(2, r.code)
    assert.are.equal('Error: invalid format "yaml" (must be table, json or csv)\n' ..
      "Run 'astro organization list --help' for usage.\n", r.stderr)
    assert.are.equal("", r.stdout)
  end)

  it("shows the API's message as Error: with exit 1 when the token is refused", function()
    local bad = box.sb:home({ token = "wrong-token" })
    local r = h.run({ "organization", "list" }, { home = bad })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.matches("^Error: cannot connect to Astronomer%..*Details: Unauthorized\n$", r.stderr)
    assert.is_nil(r.stderr:find("wrong-token", 1, true))
  end)

  it("explains a missing config instead of failing obscurely", function()
    local empty = h.tmpdir()
    local r = h.run({ "organization", "list" }, { home = empty })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: no context set, have you authenticated to Astro or APC? Run astro login and try again\n",
      r.stderr)
  end)

  it("reports a server that cannot be reached as one Error line", function()
    local dead = box.sb:home()
    local cfgp = dead .. "/.astro/config.yaml"
    h.write_file(cfgp, (h.read_file(cfgp):gsub("core: http://127.0.0.1:%d+", "core: http://127.0.0.1:9")))
    local r = h.run({ "organization", "list" }, { home = dead })
    assert.are.equal(1, r.code)
    assert.matches("^Error: cannot connect to Astronomer.*Details: .*127%.0%.0%.1:9", r.stderr)
    assert.is_nil(r.stderr:find("traceback", 1, true))
  end)
end)

describe("astro organization list with many organizations", function()
  local box = h.use_sandbox({ flags = { "--orgs", "2500" }, home = { organization = ACME }, reset = false })

  it("fetches every page and prints them in API order", function()
    local r = box.run({ "organization", "list", "--json" })
    assert.are.equal(0, r.code, r.stderr)
    local data = assert(json.decode(r.stdout))
    local state = box.sb:state()
    assert.are.equal(#state.organizations, #data.organizations)
    for i, o in ipairs(state.organizations) do
      assert.are.equal(o.id, data.organizations[i].id)
    end
    local offsets = {}
    for _, req in ipairs(box.sb:requests()) do offsets[#offsets + 1] = req.query end
    table.sort(offsets)
    assert.are.same({ "limit=1000&offset=0", "limit=1000&offset=1000", "limit=1000&offset=2000" }, offsets)
  end)

  it("writes CSV with -o csv, the current organization marked in a column scripts can read", function()
    local r = box.run({ "organization", "list", "-o", "csv" })
    assert.are.equal(0, r.code, r.stderr)
    local lines = h.lines(r.stdout)
    assert.are.equal("name,id,is_current", lines[1])
    assert.are.equal("Acme Data Platform," .. ACME .. ",true", lines[2])
    assert.matches("^Globex,[%w]+,false$", lines[3])
    assert.are.equal("", r.stderr)
  end)
end)
