-- astro.json: lua-cjson's decoder with its 2.1.0 quirks fixed, and our encoder.
local json = require("astro.json")

describe("astro.json", function()
  describe("decode", function()
    it("gives integers as Lua integers and keeps fractions as floats", function()
      local v = assert(json.decode('{"n":42,"big":9007199254740991,"neg":-3,"f":1.5,"list":[1,2]}'))
      assert.are.equal("integer", math.type(v.n))
      assert.are.equal("42", tostring(v.n))
      assert.are.equal(9007199254740991, v.big)
      assert.are.equal("integer", math.type(v.neg))
      assert.are.equal("float", math.type(v.f))
      assert.are.equal("integer", math.type(v.list[2]))
    end)

    it("returns nil and a message for invalid JSON instead of raising", function()
      local v, err = json.decode('{"a":')
      assert.is_nil(v)
      assert.is_string(err)
      v, err = json.decode("")
      assert.is_nil(v)
      assert.is_string(err)
    end)

    it("tells an empty object from an empty array, so both round-trip", function()
      local v = assert(json.decode('{"o":{},"a":[],"nested":[{},{"x":{ }}]}'))
      assert.is_true(json.is_object(v.o))
      assert.are.equal('{"a":[],"nested":[{},{"x":{}}],"o":{}}', json.encode(v))
    end)

    it("leaves braces inside strings alone", function()
      local v = assert(json.decode('{"s":"a {} b","t":"q\\"{}","u":"\\\\","w":{}}'))
      assert.are.equal("a {} b", v.s)
      assert.are.equal('q"{}', v.t)
      assert.are.equal("\\", v.u)
      assert.is_true(json.is_object(v.w))
    end)

    it("finds empty objects written with any whitespace, at the top and after other braces", function()
      assert.is_true(json.is_object(assert(json.decode(" {\n\t\r } "))))
      local v = assert(json.decode('{"a":{"b":1},"c":{\n},"d":[{"e":"{"},{  }],"f":"}{ }"}'))
      assert.are.equal('{"a":{"b":1},"c":{},"d":[{"e":"{"},{}],"f":"}{ }"}', json.encode(v))
    end)
    it("keeps braces, escapes and empty objects apart around escaped quotes and backslashes", function()
      local v = assert(json.decode('["\\\\",{},"\\"{}\\\\",{ },"{}\\\\\\"",{}]'))
      assert.are.equal('["\\\\",{},"\\"{}\\\\",{},"{}\\\\\\"",{}]', json.encode(v))
      assert.are.equal("\\", v[1])
      assert.are.equal('"{}\\', v[3])
    end)

    it("decodes 1 MB of empty objects, or of strings, in linear time", function()
      -- Each case runs in its own process under `timeout`: a decoder that rescans the rest of the
      -- text after every empty object needs minutes here (300 KB took two), a linear one well
      -- under a second.
      local h = require("spec.helpers")
      local dir = h.tmpdir()
      local script = dir .. "/decode.lua"
      h.write_file(script, [[
        local json = require("astro.json")
        if arg[1] == "strings" then -- many strings holding a brace, then one empty object
          local v = assert(json.decode("[" .. ('"{",'):rep(350000) .. "{}]"))
          assert(#v == 350001 and v[1] == "{" and json.is_object(v[350001]))
          return io.write("ok")
        end
        local body = "[" .. ("{},"):rep(350000) .. "{}" .. (arg[1] or "") .. "]"
        local v = assert(json.decode(body))
        assert(#v == 350001 + (arg[1] and 1 or 0) and json.is_object(v[350001]))
        io.write("ok")
      ]])
      for _, tail in ipairs({ "", ',"x"', ',"{}"', "strings" }) do
        local out = h.capture(string.format("timeout %d %s --lua %s %s", 10 * h.slack,
          h.shell_quote(h.astro), h.shell_quote(script), tail == "" and "" or h.shell_quote(tail)) .. " 2>&1")
        assert.are.equal("ok", out, "tail " .. tail)
      end
    end)

    it("finds every empty object of a text longer than the pieces it is read in", function()
      -- Pieces of about 1 MB, cut after a character that is neither `{` nor white space.
      local pad = ("{ \n }, "):rep(200000)
      local v = assert(json.decode("[" .. pad .. '"{}", ' .. pad .. "{   }]"))
      assert.are.equal(400002, #v)
      for i = 1, #v do
        if i ~= 200001 then assert(json.is_object(v[i]), i) end
      end
      assert.are.equal("{}", v[200001])
    end)

    it("gives up with nil, \"interrupted\" once Ctrl-C has set the interrupt flag", function()
      local sys = require("astro.core.sys")
      local real = sys.interrupted
      local ok, v, err = pcall(function()
        sys.interrupted = function() return 2 end
        return json.decode("[" .. ('"a",{},'):rep(10000) .. "{}]")
      end)
      sys.interrupted = real
      assert.is_true(ok, v)
      assert.are.same({ nil, "interrupted" }, { v, err })
      assert.are.equal(3, #assert(json.decode('[{},"a",{}]')))
    end)
  end)

  describe("encode", function()
    it("encodes an empty table as [] and a marked one as {}", function()
      assert.are.equal("[]", json.encode({}))
      assert.are.equal("{}", json.encode(json.object()))
      assert.are.equal('{"roles":[]}', json.encode({ roles = {} }))
    end)

    it("does not escape /", function()
      assert.are.equal('"https://api.astronomer.io/v1"', json.encode("https://api.astronomer.io/v1"))
    end)

    it("escapes quotes, backslashes and control characters", function()
      assert.are.equal('"a\\"b\\\\c\\n\\u0001"', json.encode('a"b\\c\n\1'))
    end)

    it("writes integers exactly, beyond 2^53 too", function()
      assert.are.equal("9007199254740993", json.encode(9007199254740993))
      assert.are.equal("0.1", json.encode(0.1))
      assert.are.equal("3", json.encode(3.0))
    end)

    it("orders keys: the given order first, then sorted", function()
      assert.are.equal('{"name":"a","id":"b","x":1,"y":2}',
        json.encode({ y = 2, x = 1, id = "b", name = "a" }, { order = { "name", "id" } }))
    end)

    it("pretty-prints with Go's MarshalIndent layout", function()
      assert.are.equal('{\n  "a": [\n    1,\n    2\n  ],\n  "b": {}\n}',
        json.encode({ a = { 1, 2 }, b = json.object() }, { indent = "  " }))
    end)

    it("raises on values JSON cannot hold", function()
      assert.has_error(function() json.encode({ f = print }) end)
      assert.has_error(function() json.encode(0 / 0) end)
      local t = {}
      t.self = t
      assert.has_error(function() json.encode(t) end)
    end)
  end)
end)
