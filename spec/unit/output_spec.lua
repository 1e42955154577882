-- astro.output: the astro CLI's table layout, JSON layout and format flags.
local output = require("astro.output")

describe("astro.output", function()
  local headers = { "NAME", "ID" }
  local rows = {
    { "Acme Data Platform", "clt0acme000010bhys38c6ryb" },
    { "Globex", "clu7glbx000020j7zc6npf32j" },
    { "Initech Sandbox", "clv2init000030es9qjsmo8nu" },
  }

  it("pads each column to its widest cell plus 5, with a leading space", function()
    local expected =
      " NAME                   ID                            \n" ..
      " Acme Data Platform     clt0acme000010bhys38c6ryb     \n" ..
      " Globex                 clu7glbx000020j7zc6npf32j     \n" ..
      " Initech Sandbox        clv2init000030es9qjsmo8nu     \n"
    assert.are.equal(expected, output.table(headers, rows))
  end)

  it("wraps the highlighted row in green bold only when colour is on", function()
    local hl = function(row) return row[2] == "clt0acme000010bhys38c6ryb" end
    local text = output.table(headers, rows, { color = true, highlight = hl })
    assert.are.equal("\27[1;32m Acme Data Platform     clt0acme000010bhys38c6ryb     \27[0m",
      text:match("\n([^\n]*)\n"))
    assert.is_nil(output.table(headers, rows, { color = false, highlight = hl }):find("\27", 1, true))
  end)

  it("pads by characters so non-ASCII names line up", function()
    local text = output.table({ "NAME", "ID" }, { { "Zürich", "x" }, { "Bern", "y" } })
    local lines = {}
    for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal(utf8.len(lines[2]), utf8.len(lines[3]))
  end)

  it("prints the header alone for an empty list", function()
    assert.are.equal(" NAME     ID     \n", output.table(headers, {}))
  end)

  it("resolves --json and --output, refusing both together and unknown formats", function()
    assert.are.equal("table", output.format({ output = "" }))
    assert.are.equal("json", output.format({ json = true, output = "" }))
    assert.are.equal("json", output.format({ output = "json" }))
    local f, err = output.format({ json = true, output = "json" })
    assert.is_nil(f)
    assert.are.equal(2, err.exit)
    f, err = output.format({ output = "yaml" })
    assert.is_nil(f)
    assert.are.equal('invalid format "yaml" (must be table or json)', err.message)
  end)

  it("shows control characters in cells escaped, so data cannot break lines or send terminal escapes", function()
    local text = output.table({ "NAME" }, { { "evil\27[2Jname\nsecond" } })
    assert.are.equal(" NAME                          \n evil\\x1b[2Jname\\x0asecond     \n", text)
  end)
end)
