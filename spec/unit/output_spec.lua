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

  it("marks the highlighted row with * in place of its leading space when asked and colour is off", function()
    local hl = function(row) return row[1] == "Globex" end
    local text = output.table(headers, rows, { color = false, mark = true, highlight = hl })
    assert.are.equal(output.table(headers, rows):gsub("\n Globex ", "\n*Globex "), text)
    assert.is_nil(output.table(headers, rows, { color = true, mark = true, highlight = hl }):find("*", 1, true))
  end)

  describe("fitted to a width", function()
    local h = { "LINE", "EMAIL", "ROLE", "MESSAGE" }
    local r = { { "2", "a.very.long.address.indeed@example-company.io", "ORGANIZATION_OWNER",
                  "already a member (role ORGANIZATION_MEMBER)" },
                { "3", "zoë@acme.io", "ORGANIZATION_MEMBER", "" } }

    local function lines(text)
      local out = {}
      for l in text:gmatch("([^\n]*)\n") do out[#out + 1] = l end
      return out
    end

    it("is left as it is when it fits", function()
      assert.are.equal(output.table(h, r), output.table(h, r, { width = 200, shrink = { 2, 4 } }))
    end)

    it("cuts the widest of the shrinkable columns first, with an ellipsis, no line past the width", function()
      local text = output.table(h, r, { width = 60, shrink = { 2, 4 } })
      local l = lines(text)
      for _, line in ipairs(l) do assert.is_true(utf8.len(line) <= 60, line) end
      assert.are.equal(60, utf8.len(l[2]))
      assert.are.equal(" LINE  EMAIL            ROLE                 MESSAGE", l[1])
      assert.are.equal(" 2     a.very.long.ad…  ORGANIZATION_OWNER   already a memb…", l[2])
      assert.are.equal(" 3     zoë@acme.io      ORGANIZATION_MEMBER", l[3])
    end)

    it("stops at each column's header width (or 6): a width too small gives wider lines", function()
      local l = lines(output.table(h, r, { width = 10, shrink = { 2, 4 } }))
      assert.are.equal(" 2     a.ver…  ORGANIZATION_OWNER   alread…", l[2])
      assert.are.equal(" 3     zoë@a…  ORGANIZATION_MEMBER", l[3])
    end)
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
