-- astro.core.gzip (src/gzip.c): gzip compress, decompress and the magic test through zlib.
local h = require("spec.helpers")
local gzip = require("astro.core.gzip")

describe("astro.core.gzip", function()
  it("tells gzip bytes by their magic", function()
    assert.is_true(gzip.is_gzip("\31\139"))
    assert.is_true(gzip.is_gzip("\31\139\8rest"))
    assert.is_false(gzip.is_gzip(""))
    assert.is_false(gzip.is_gzip("\31"))
    assert.is_false(gzip.is_gzip('{"a":1}\n'))
    assert.has_error(function() gzip.is_gzip(nil) end)
  end)

  it("compresses to one gzip member that gzip(1) and decompress read back", function()
    for _, text in ipairs({ "", "a", string.rep("event\n", 200000), "\0\255\31\139 binary" }) do
      local gz = gzip.compress(text)
      assert.is_true(gzip.is_gzip(gz))
      assert.are.equal(text, gzip.decompress(gz))
      local dir = h.tmpdir()
      h.write_file(dir .. "/x.gz", gz)
      assert.are.equal(text, h.capture("gzip -dc " .. h.shell_quote(dir .. "/x.gz")))
    end
    -- Modification time 0 and no name: the same text gives the same bytes.
    assert.are.equal(gzip.compress("same"), gzip.compress("same"))
    assert.are.equal("\0\0\0\0", gzip.compress("same"):sub(5, 8))
    assert.is_true(#gzip.compress(string.rep("x", 1000000)) < 5000)
  end)

  it("takes a level from -1 to 9 and refuses others", function()
    local text = string.rep("level test ", 1000)
    for level = -1, 9 do assert.are.equal(text, gzip.decompress(gzip.compress(text, level))) end
    assert.has_error(function() gzip.compress("x", 10) end)
    assert.has_error(function() gzip.compress("x", -2) end)
    assert.has_error(function() gzip.compress({}) end)
  end)

  it("reads what gzip(1) wrote, several members too", function()
    local dir = h.tmpdir()
    h.write_file(dir .. "/a", "first\n")
    h.write_file(dir .. "/b", "second\n")
    h.sh("gzip -c " .. h.shell_quote(dir .. "/a") .. " > " .. h.shell_quote(dir .. "/ab.gz") .. " && gzip -c " ..
      h.shell_quote(dir .. "/b") .. " >> " .. h.shell_quote(dir .. "/ab.gz"))
    assert.are.equal("first\nsecond\n", gzip.decompress(h.read_file(dir .. "/ab.gz")))
  end)

  it("answers nil, a message and \"gzip\" for what is not a whole gzip stream", function()
    local gz = gzip.compress(string.rep("some text ", 1000))
    local cases = {
      { "plain text", "^gzip: not gzip data" },
      { gz:sub(1, #gz - 4), "^gzip: the gzip data is cut short$" },
      { gz .. "trailing", "^gzip: bytes that are not gzip follow the gzip data$" },
      { gz:sub(1, 12) .. string.rep("\255", 40) .. gz:sub(53), "^gzip: " },
      { gz:sub(1, #gz - 8) .. "\0\0\0\0" .. gz:sub(#gz - 3), "^gzip: incorrect data check$" },
    }
    for _, case in ipairs(cases) do
      local text, msg, code = gzip.decompress(case[1])
      assert.is_nil(text)
      assert.matches(case[2], msg)
      assert.are.equal("gzip", code)
    end
  end)

  it("stops at max_bytes of decompressed text", function()
    local gz = gzip.compress(string.rep("z", 100000))
    assert.are.equal(100000, #gzip.decompress(gz, 100000))
    local text, msg = gzip.decompress(gz, 99999)
    assert.is_nil(text)
    assert.are.equal("gzip: the decompressed text is longer than max_bytes", msg)
    assert.has_error(function() gzip.decompress(gz, -1) end)
  end)
end)
