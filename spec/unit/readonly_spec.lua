-- Read-only views (astro._core.readonly) and how user code sees the public modules through them
-- (astro._core.userenv): reads, calls, iteration and identity work; writes are refused with the
-- path, except the settings outside the loading of a plugin.
local readonly = require("astro._core.readonly")
local userenv = require("astro._core.userenv")

-- Runs code in a fresh user environment; returns what it returns (errors raised as they are).
local function run(code, ...)
  local env = userenv.new_env({ name = "spec" })
  local fn = assert(userenv.load_source(code, "=spec", "spec", env))
  return fn(...)
end

-- The message of the error code raises in a user environment.
local function fails(code)
  local ok, err = pcall(run, code)
  assert.is_false(ok, "expected an error from: " .. code)
  return tostring(err)
end

describe("readonly.viewer", function()
  local data, view

  before_each(function()
    data = { list = { "a", "b", "c" }, nested = { deep = { n = 1 } }, f = function(x) return x * 2 end, s = "str" }
    view = readonly.viewer()(data, "data")
  end)

  it("reads fields, calls functions and gives nested tables as views", function()
    assert.are.equal("str", view.s)
    assert.are.equal(data.f, view.f)
    assert.are.equal(4, view.f(2))
    assert.are.equal(1, view.nested.deep.n)
    assert.is_true(readonly.is_view(view.nested.deep))
    assert.are.equal(view.nested, view.nested) -- made once, kept
    assert.is_false(readonly.is_view(data.nested))
  end)

  it("supports pairs, ipairs, #, table.concat and table.unpack", function()
    assert.are.equal(3, #view.list)
    assert.are.equal("a,b,c", table.concat(view.list, ","))
    assert.are.same({ "a", "b", "c" }, { table.unpack(view.list) })
    local seen = {}
    for i, v in ipairs(view.list) do seen[i] = v end
    assert.are.same({ "a", "b", "c" }, seen)
    local keys = {}
    for k, v in pairs(view) do
      keys[#keys + 1] = k
      if k == "nested" then assert.is_true(readonly.is_view(v)) end
    end
    table.sort(keys)
    assert.are.same({ "f", "list", "nested", "s" }, keys)
  end)

  it("refuses writes at any depth, naming the path, and leaves the table as it was", function()
    assert.has_error(function() view.s = "x" end,
      "data.s is read-only: the astro API is shared with the stock commands; keep values of your own in locals")
    local ok, err = pcall(function() view.nested.deep.n = 2 end)
    assert.is_false(ok)
    assert.matches("data%.nested%.deep%.n is read%-only", err)
    ok, err = pcall(table.insert, view.list, "d")
    assert.is_false(ok)
    assert.matches("data%.list%[4%] is read%-only", err)
    ok, err = pcall(function() view.nested["a key"] = 1 end)
    assert.matches('data%.nested%["a key"%] is read%-only', err)
    assert.are.equal("str", data.s)
    assert.are.equal(1, data.nested.deep.n)
    assert.are.equal(3, #data.list)
  end)

  it("protects its metatable", function()
    assert.is_false(getmetatable(view))
    assert.has_error(function() setmetatable(view, {}) end)
    assert.are.equal("data.nested", tostring(view.nested))
  end)

  it("lets the writable rule allow a path, and passes its reason on", function()
    local v = readonly.viewer({ writable = function(path)
      if path == "data.s" then return true end
      if path == "data.nested.deep.n" then return nil, "is held" end
    end })(data, "data")
    v.s = "changed"
    assert.are.equal("changed", data.s)
    local ok, err = pcall(function() v.nested.deep.n = 5 end)
    assert.is_false(ok)
    assert.matches("data%.nested%.deep%.n is held$", err)
  end)
end)

describe("the public modules seen by user code", function()
  it("refuses to replace a function of astro or of a required module, naming it", function()
    assert.matches("spec:1: astro%.invites%.create is read%-only", fails("astro.invites.create = print"))
    assert.matches("spec:1: astro%.output%.table is read%-only", fails("require('astro.output').table = print"))
    assert.matches("spec:1: astro%.roles%.VALID%[1%] is read%-only", fails("astro.roles.VALID[1] = 'X'"))
    assert.matches("spec:1: astro%.users%.COLUMNS%[6%] is read%-only",
      fails("table.insert(astro.users.COLUMNS, 'X')"))
    assert.matches("spec:1: astro%.json%.encode is read%-only", fails("rawset(astro.json, 'encode', print)"))
    assert.matches("spec:1: astro%.email is read%-only", fails("astro.email = {}"))
    assert.matches("spec:1: astro%.http%.policy is read%-only", fails("astro.http.policy = {}"))
    assert.are.equal(3, #require("astro.roles").VALID)
  end)

  it("keeps identity: errors, JSON markers and null, functions", function()
    assert.is_true(run([[
local e = astro.errors.new("x")
return astro.errors.is(e) and getmetatable(e) == getmetatable(astro.errors.new("y"))
  and astro.json.is_object(astro.json.object()) and astro.json.decode("[null]")[1] == astro.json.null
  and astro.json.object == require("astro.json").object and astro == require("astro")
  and tostring(e) == "x"
]]))
    assert.are.equal(require("astro").users.list, run("return astro.users.list"))
  end)

  it("gives the values functions return as the caller's own", function()
    assert.is_false(readonly.is_view(run("return astro.versions()")))
    assert.is_false(readonly.is_view(run("return astro.errors.new('x')")))
    assert.are.equal("y", run("local e = astro.errors.new('x') e.message = 'y' return e.message"))
  end)

  it("gives views that JSON, CSV and tables read as the tables they show", function()
    assert.are.equal('["ORGANIZATION_MEMBER","ORGANIZATION_BILLING_ADMIN","ORGANIZATION_OWNER"]',
      run("return astro.json.encode(astro.roles.VALID)"))
    assert.are.equal('{"DELETE":5,"GET":25,"PATCH":10,"POST":10,"PUT":10}', run("return astro.json.encode(astro.bulk.rates)"))
    assert.is_true(run("local n = 0 for _ in pairs(astro.http.policy.retry_statuses) do n = n + 1 end return n > 0"))
    assert.matches("^ FULLNAME%s+EMAIL", run("return astro.output.table(astro.users.COLUMNS, {})"))
    assert.are.equal("FULLNAME,EMAIL,ID,ORGANIZATION ROLE,CREATE DATE\n",
      run("return astro.output.csv(astro.users.COLUMNS, {})"))
  end)

  it("gives read-only views of metatables it did not set itself, and its own as they are", function()
    assert.matches("getmetatable%(astro%.Error%)%.__tostring is read%-only",
      fails("getmetatable(astro.errors.new('x')).__tostring = print"))
    assert.matches("getmetatable%(FILE%*%)%.__index%.write is read%-only",
      fails("getmetatable(io.stdout).__index.write = print"))
    assert.is_true(run("local mt = {} local t = setmetatable({}, mt) mt.x = 1 return getmetatable(t) == mt"))
    assert.is_false(run("return getmetatable('')"))
  end)

  it("lets settings change, except while a plugin loads", function()
    local policy, pacer = require("astro.http").policy, require("astro._core.pacer").settings
    local saved_timeout, saved_rates, saved_conc = policy.timeout, pacer.rates, pacer.concurrency
    finally(function() policy.timeout, pacer.rates, pacer.concurrency = saved_timeout, saved_rates, saved_conc end)
    run("astro.http.policy.timeout = 5 astro.bulk.concurrency = 2 astro.bulk.rates = { GET = 3 }")
    assert.are.equal(5, policy.timeout)
    assert.are.equal(2, pacer.concurrency)
    assert.are.equal(3, pacer.rates.GET)
    local ok, err = pcall(userenv.while_loading, run, "astro.http.policy.timeout = 9")
    assert.is_false(ok)
    assert.matches("spec:1: astro%.http%.policy%.timeout cannot be changed while plugins load", err)
    assert.are.equal(5, policy.timeout)
    assert.are.equal(0, userenv.loading)
    ok, err = pcall(userenv.while_loading, run, "setmetatable({}, { __gc = print })")
    assert.matches("__gc metamethod cannot be set while plugins load", err)
    ok, err = pcall(userenv.while_loading, run, "math.randomseed(1)")
    assert.matches("math%.randomseed cannot be changed while plugins load", err)
    assert.is_true(run("setmetatable({}, { __gc = function() end }) math.randomseed(1) return true"))
    -- A setting is told by its table, whatever path it is reached by.
    run("require('astro.http').policy.timeout = 6 astro.bulk.rates.GET = 4")
    assert.are.equal(6, policy.timeout)
    assert.are.equal(4, pacer.rates.GET)
    assert.is_false(run("return getmetatable(astro.bulk)"))
    assert.matches("astro%.bulk%.parse_rates is read%-only", fails("astro.bulk.parse_rates = print"))
  end)
end)
