-- Hostile but valid data: API answers of the wrong JSON shape, config values of the wrong type
-- and errors raised inside a command end in one named `Error:` line, never in a Lua message;
-- `--json` and `-o csv` output is whole or absent.
local h = require("spec.helpers")
local json = require("astro.json")

local ACME = h.ids.ACME
local USERS = "/v1/organizations/" .. ACME .. "/users"

-- What a user must never see: a Lua message, a file of the tool, a table address.
local function assert_no_internals(text)
  for _, bad in ipairs({ "attempt to", "bad argument", "%.lua:%d", "table: 0x", "userdata: ", "stack traceback" }) do
    assert.is_nil(text:find(bad), "internal detail " .. bad .. " in: " .. text)
  end
end

-- One error line naming what was wrong, exit status 1, nothing on stdout.
local function assert_refused(r, pattern)
  assert.are.equal(1, r.code, r.stderr)
  assert.are.equal("", r.stdout)
  assert.is_truthy(r.stderr:find(pattern), "expected " .. pattern .. " in: " .. r.stderr)
  assert_no_internals(r.stderr)
end

describe("odd API answers", function()
  local box = h.use_sandbox({ flags = { "--users", "2500" } })

  -- The next answer of the paths under prefix is body (after skip answers served as usual).
  local function answer(prefix, body, skip)
    box.sb:faults({ answer_next = 1, answer_skip = skip or 0, answer_body = body, fault_path_prefix = prefix })
  end

  describe("a later page of the user list that cannot be read", function()
    for _, args in ipairs({ { "--json" }, { "-o", "csv" }, {} }) do
      it("leaves nothing on stdout with " .. (args[1] and table.concat(args, " ") or "the table"), function()
        answer(USERS, '{"users":"x","totalCount":2503}', 1)
        local r = box.run({ "organization", "user", "list", table.unpack(args) })
        assert_refused(r, '^Error: the API answered a page %(offset %d+%) whose "users" is a string, not a list\n$')
      end)
    end

    it("gives the whole document when every page is read", function()
      local r = box.run({ "organization", "user", "list", "--json" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal(2503, #assert(json.decode(r.stdout)).users)
    end)
  end)

  it("a page of 300 KB of empty objects is read in seconds (it took minutes), then refused as too long", function()
    -- Written to a file: the body is too long for a command-line argument.
    local path = h.tmpdir() .. "/faults.json"
    h.write_file(path, json.encode({ answer_next = 1, answer_skip = 0, fault_path_prefix = USERS,
      answer_body = '{"users":[' .. ("{},"):rep(99999) .. '{}],"totalCount":100000}' }))
    h.sh("curl -s -o /dev/null -H 'Content-Type: application/json' --data-binary @" .. path .. " " ..
      h.shell_quote(box.sb.url .. "/_sandbox/faults"))
    local t0 = require("astro.core.sys").now()
    local r = box.run({ "organization", "user", "list", "--json" })
    local took = require("astro.core.sys").now() - t0
    assert_refused(r, "^Error: the API answered 100000 items for a page of at most 1000 %(offset 0%)\n$")
    assert.is_true(took < 10 * h.slack, string.format("took %.1f s", took))
  end)

  describe("a page of the wrong shape is refused by name", function()
    local cases = {
      { '{"users":5,"totalCount":1}', 'whose "users" is a number, not a list' },
      { '{"users":{"a":1},"totalCount":1}', 'whose "users" is an object, not a list' },
      { '{"totalCount":1}', 'without a "users" list' },
      { '{"users":[1,2],"totalCount":2}', 'whose "users" item 1 is a number, not an object' },
      { '{"users":[[1]],"totalCount":1}', 'whose "users" item 1 is a list, not an object' },
      { '{"users":[null],"totalCount":1}', 'whose "users" item 1 is null, not an object' },
      { '{"users":[],"totalCount":-5}', "whose totalCount is %-5, not a non%-negative integer" },
      { '{"users":[],"totalCount":"1"}', 'whose totalCount is "1", not a non%-negative integer' },
      { '{"users":[{"id":"a"}],"totalCount":1e300}', "whose totalCount is 1e%+300, not a non%-negative integer" },
      { '[]', "that is a list, not an object" },
      { 'null', "that is null, not an object" },
    }
    for _, c in ipairs(cases) do
      for _, args in ipairs({ {}, { "--json" }, { "-o", "csv" } }) do
        it(c[1] .. " " .. table.concat(args, " "), function()
          answer(USERS, c[1])
          assert_refused(box.run({ "organization", "user", "list", table.unpack(args) }),
            "^Error: the API answered a page %(offset 0%) " .. c[2] .. "\n$")
        end)
      end
    end

    it("in the organization list too", function()
      answer("/v1/organizations", '{"organizations":[5,"x"],"totalCount":2}')
      assert_refused(box.run({ "organization", "list" }), '"organizations" item 1 is a number, not an object')
      answer("/v1/organizations", '{"organizations":{"a":1},"totalCount":1}')
      assert_refused(box.run({ "organization", "list", "--json" }), '"organizations" is an object, not a list')
    end)
  end)

  describe("fields of another JSON type", function()
    local ODD = '{"users":[{"fullName":5,"username":{"a":1},"id":[1],"organizationRole":true,"createdAt":12345},' ..
      '{"fullName":null,"username":null,"id":null,"organizationRole":null,"createdAt":null}],"totalCount":2}'

    it("are shown as their JSON text in --json, null as an empty string", function()
      answer(USERS, ODD)
      local r = box.run({ "organization", "user", "list", "--json" })
      assert.are.equal(0, r.code, r.stderr)
      local users = assert(json.decode(r.stdout)).users
      assert.are.same({ fullName = "5", email = '{"a":1}', id = "[1]", orgRole = "true", createdAt = "12345" },
        users[1])
      assert.are.same({ fullName = "", email = "", id = "", createdAt = "0001-01-01T00:00:00Z" }, users[2])
    end)

    it("are shown as their JSON text in CSV and in the table", function()
      answer(USERS, ODD)
      local r = box.run({ "organization", "user", "list", "-o", "csv" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.equal('full_name,email,id,organization_role,created_at,status\n5,"{""a"":1}",[1],true,12345,\n' ..
        ",,,,0001-01-01T00:00:00Z,\n", r.stdout)
      answer(USERS, ODD)
      r = box.run({ "organization", "user", "list" })
      assert.are.equal(0, r.code, r.stderr)
      assert.is_truthy(r.stdout:find(' 5 +{"a":1} +%[1%] +true +12345 '), r.stdout)
      assert_no_internals(r.stdout)
      answer("/v1/organizations", '{"organizations":[{"name":5,"id":{"a":1}},{"name":null,"id":[1,2]}],"totalCount":2}')
      r = box.run({ "organization", "list", "--json" })
      assert.are.equal(0, r.code, r.stderr)
      assert.are.same({ { name = "5", id = '{"a":1}', isCurrent = false }, { name = "", id = "[1,2]", isCurrent = false } },
        assert(json.decode(r.stdout)).organizations)
    end)

    it("are refused by name where an id goes into a request, and nothing is sent", function()
      answer(USERS, '{"users":[{"username":"mei.lin@acme.io","id":5}],"totalCount":1}')
      local r = box.run({ "organization", "user", "update", "mei.lin@acme.io", "--role", "ORGANIZATION_OWNER" })
      assert_refused(r, "^Error: the API answered user mei.lin@acme.io without an id %(id: 5%); nothing was changed\n$")
      assert.are.same({}, h.recorded(box.sb, { except = "GET" }))
    end)

    it("are refused by name where an id goes into the config file, which stays as it was", function()
      local path = box.home .. "/.astro/config.yaml"
      local before = h.read_file(path)
      answer("/v1/organizations/" .. h.ids.GLOBEX, '{"id":5,"name":"Globex"}')
      assert_refused(box.run({ "organization", "switch", h.ids.GLOBEX }),
        "^Error: the API answered the organization Globex without an id %(id: 5%); nothing was changed\n$")
      answer("/v1/organizations/" .. h.ids.GLOBEX, "[1]")
      assert_refused(box.run({ "organization", "switch", h.ids.GLOBEX }),
        "^Error: the API answered the organization that is not an object %(%[1%]%)")
      answer("/v1/organizations/" .. h.ids.GLOBEX .. "/workspaces",
        '{"workspaces":[{"name":"ops","id":7}],"totalCount":1}')
      assert_refused(box.run({ "organization", "switch", h.ids.GLOBEX }),
        "^Error: the API answered a workspace ops without an id %(id: 7%); nothing was changed\n$")
      assert.are.equal(before, h.read_file(path))
    end)
  end)
end)

describe("config values of the wrong type", function()
  local box = h.use_sandbox({ reset = "requests" })

  -- Runs `organization list` with the home's config made by edit(text) -> text.
  local function with_config(edit)
    local home = box.sb:home()
    local path = home .. "/.astro/config.yaml"
    h.write_file(path, edit(h.read_file(path)))
    return box.run({ "organization", "list" }, { home = home }), path
  end

  local cases = {
    { "contexts a list", function(t) return (t:gsub("contexts:\n.-\nlocal:", "contexts:\n  - a\n  - b\nlocal:")) end,
      "contexts must be a map of contexts, not a list" },
    { "contexts a string", function(t) return (t:gsub("contexts:\n.-\nlocal:", "contexts: hello\nlocal:")) end,
      "contexts must be a map of contexts, not a string" },
    { "the context a string", function(t) return (t:gsub("contexts:\n.-\nlocal:", "contexts:\n  localhost: x\nlocal:")) end,
      "contexts.localhost must be a map, not a string" },
    { "context a list", function(t) return (t:gsub("context: localhost", "context: [a]")) end,
      "context must be a string, not a list" },
    { "token a list", function(t) return (t:gsub("    token: [^\n]*", "    token: [a]")) end,
      "contexts.localhost.token must be a string, not a list" },
    { "organization a list", function(t) return (t:gsub("organization: c[^\n]*", "organization: [a]")) end,
      "contexts.localhost.organization must be a string, not a list" },
    { "domain a map", function(t) return (t:gsub("domain: localhost", "domain: {a: 1}")) end,
      "contexts.localhost.domain must be a string, not a map" },
    { "local.core a map", function(t) return (t:gsub("  core: [^\n]*", "  core: {a: 1}")) end,
      "local.core must be a string, not a map" },
    { "local a string", function(t) return (t:gsub("local:\n.*$", "local: x\n")) end,
      "local must be a map, not a string" },
  }
  for _, c in ipairs(cases) do
    it("names the file and the key: " .. c[1], function()
      local r, path = with_config(c[2])
      assert_refused(r, "^Error: config file " .. path:gsub("%p", "%%%0") .. ": " .. c[3]:gsub("[%-%.]", "%%%0") ..
        "; fix or remove it\n$")
      assert.are.same({}, box.sb:requests())
    end)
  end
end)

describe("an error raised inside a command", function()
  local RAISES = [[
return {
  command = "organization explode",
  use = "explode",
  short = "Raises",
  run = function() local t = nil; return t.field end,
}
]]

  it("is one Error line naming the command, exit status 1; ASTRO_DEBUG=1 adds the traceback", function()
    local home = h.tmpdir()
    h.install_plugin(home, "explode.lua", RAISES)
    local r = h.run({ "organization", "explode" }, { home = home })
    assert.are.equal(1, r.code)
    assert.are.equal("", r.stdout)
    assert.is_truthy(r.stderr:find("^Error: internal error in astro organization explode: .*attempt to index a nil " ..
      "value.*; run with ASTRO_DEBUG=1 for details\n$"), r.stderr)
    r = h.run({ "organization", "explode" }, { home = home, env = { ASTRO_DEBUG = "1" } })
    assert.are.equal(1, r.code)
    assert.is_truthy(r.stderr:find("^Error: internal error in astro organization explode: "), r.stderr)
    assert.is_truthy(r.stderr:find("\nstack traceback:\n", 1, true), r.stderr)
  end)
end)
