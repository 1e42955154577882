-- astro.jq (lua/astro/jq.lua) on astro.core.jq (src/jq.c, libjq): compile, run, errors, and a
-- filter that cannot reach the environment or files.
local jq = require("astro.jq")
local json = require("astro.json")

local function run(expr, input, opts)
  local out, err = jq.run(expr, input, opts)
  assert(out, err and err.message)
  return out
end

describe("astro.jq", function()
  it("runs a filter on JSON text and gives each output as compact JSON, or raw text", function()
    local body = '{"users":[{"username":"ada@example.com","n":1},{"username":"b\\u00e9@example.com","n":2.5}]}'
    assert.are.same({ '"ada@example.com"', '"bé@example.com"' }, run(".users[].username", body))
    assert.are.same({ "ada@example.com", "bé@example.com" }, run(".users[].username", body, { raw = true }))
    assert.are.same({ "1", "2.5" }, run(".users[].n", body, { raw = true }))
    assert.are.same({ '[1,2.5]' }, run("[.users[].n]", body))
    assert.are.same({ '{\n  "a": [\n    1\n  ]\n}' }, run(".", '{"a":[1]}', { pretty = true }))
    assert.are.same({}, run(".[]", "[]"))
  end)

  it("takes Lua values, runs once per value of NDJSON, and compiles once for many runs", function()
    assert.are.same({ "3" }, run("length", { 1, 2, 3 }))
    assert.are.same({ "1", "2", "3" }, run(".a", '{"a":1}\n{"a":2} {"a":3}\n'))
    local f = assert(jq.compile(".id"))
    for i = 1, 50 do assert.are.same({ tostring(i) }, f:run({ id = i })) end
  end)

  it("binds $name variables from Lua values", function()
    local users = { { email = "a@x", role = "ORGANIZATION_OWNER" }, { email = "b@x", role = "ORGANIZATION_MEMBER" } }
    assert.are.same({ '["a@x"]' }, run('[.[] | select(.role == $r) | .email]', users,
      { vars = { r = "ORGANIZATION_OWNER" } }))
    assert.are.same({ '{"k":[1,true]}' }, run("$v", "null", { vars = { v = { k = { 1, true } } } }))
    assert.has_error(function() jq.compile(".", { ["not a name"] = 1 }) end)
    assert.has_error(function() jq.compile(nil) end)
  end)

  it("returns jq's refusal of a filter as an error value, on one line, with the filter's line number", function()
    local f, err = jq.compile(".users[ | foo")
    assert.is_nil(f)
    assert.are.equal("jq", err.code)
    assert.matches("syntax error", err.message)
    assert.matches("line 1", err.message, 1, true)
    assert.is_nil(err.message:find("\n", 1, true))
    local _, err2 = jq.compile(".\n| .a |\n| .b")
    assert.matches("line 3", err2.message, 1, true)
    local _, err3 = jq.compile("undefined_function_xyz(1)")
    assert.matches("undefined_function_xyz", err3.message, 1, true)
  end)

  it("returns runtime errors, bad input and halt_error as error values", function()
    local cases = {
      { "error(\"boom\")", "1", "jq: boom" },
      { ".a", "1", 'Cannot index number with string "a"' },
      { ".a", "{", "the input is not JSON" },
      { ".a", "", "holds no JSON value" },
      { ".a", "   \n", "holds no JSON value" },
      { '"stop" | halt_error', "1", "halt_error: stop" },
    }
    for _, c in ipairs(cases) do
      local out, err = jq.run(c[1], c[2])
      assert.is_nil(out, c[1])
      assert.are.equal("jq", err.code)
      assert.matches(c[3], err.message, 1, true)
    end
    -- halt ends the run with the outputs so far; an empty filter is the identity
    assert.are.same({ "1" }, run("1, halt, 2", "null"))
    assert.are.same({ '{"a":1}' }, run("  ", '{"a":1}'))
  end)

  it("cannot read the environment or files", function()
    assert.truthy(os.getenv("PATH"))
    assert.are.same({ "{}" }, run("$ENV", "null"))
    assert.are.same({ "{}" }, run("env", "null"))
    assert.are.same({ "null" }, run("$ENV.PATH", "null"))
    assert.are.same({ "null" }, run("env.PATH", "null"))
    assert.are.same({ "{}" }, run("def f: $ENV; f", "null"))
    for _, expr in ipairs({ "input", "[inputs]" }) do
      local out, err = jq.run(expr, "1 2")
      assert.is_nil(out)
      assert.matches("not available", err.message)
    end
    local f = jq.compile('import "a" as a; .')
    assert.is_nil(f)
    local g = jq.compile('include "a"; .')
    assert.is_nil(g)
  end)

  it("keeps the text of strings whole: NUL, non-ASCII and control characters", function()
    local out = run(".s", json.encode({ s = "a\0b\1é\n" }), { raw = true })
    assert.are.equal("a\0b\1é\n", out[1])
    assert.are.same({ '"a\\u0000b"' }, run(".s", '{"s":"a\\u0000b"}'))
    local f, err = jq.compile(".a\0.b")
    assert.is_nil(f)
    assert.matches("NUL", err.message)
  end)
end)
