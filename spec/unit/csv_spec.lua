-- astro.csv: reading users' CSV files (RFC 4180 plus what real files contain) and writing reports.
local csv = require("astro.csv")
local errors = require("astro.errors")

-- A file handle that gives at most `size` bytes per read, to cut records at every place.
local function trickle(text, size)
  local pos = 1
  return {
    read = function(_, n)
      if pos > #text then return nil end
      local k = math.min(n, size)
      local piece = text:sub(pos, pos + k - 1)
      pos = pos + k
      return piece
    end,
  }
end

local function tmpfile(text)
  local f = assert(io.tmpfile())
  assert(f:write(text))
  assert(f:seek("set"))
  return f
end

-- Reads a handle with csv.reader and answers like csv.parse: rows, header or nil, err.
local function read_all(f, opts)
  local r = csv.reader(f, opts)
  local rows = {}
  for row, err in r do
    if not row then
      assert.is_false(row)
      assert.is_nil(r())
      return nil, err
    end
    rows[#rows + 1] = row
  end
  return rows, r.header
end

-- parse's error for text, asserting it is an astro error of code "csv".
local function parse_error(text, opts)
  local rows, err = csv.parse(text, opts)
  assert.is_nil(rows)
  assert.is_true(errors.is(err))
  return err.message, err
end

describe("astro.csv", function()
  describe("parse", function()
    it("keys rows by the trimmed, lower-cased header, with _line and _fields", function()
      local rows, header = csv.parse(" Email , ROLE\na@x.io,ORGANIZATION_MEMBER\nb@x.io,ORGANIZATION_OWNER\n")
      assert.are.same({ "email", "role" }, header)
      assert.are.equal(2, #rows)
      assert.are.same({ email = "a@x.io", role = "ORGANIZATION_MEMBER", _line = 2,
        _fields = { "a@x.io", "ORGANIZATION_MEMBER" } }, rows[1])
      assert.are.equal("b@x.io", rows[2].email)
      assert.are.equal(3, rows[2]._line)
    end)

    it("gives lists of fields with _line when header is false", function()
      local rows, header = csv.parse("email,role\na@x.io,X\n", { header = false })
      assert.is_nil(header)
      assert.are.same({ { "email", "role", _line = 1 }, { "a@x.io", "X", _line = 2 } }, rows)
    end)

    it("skips a UTF-8 BOM at the start", function()
      local rows, header = csv.parse("\239\187\191email,role\na@x.io,X\n")
      assert.are.same({ "email", "role" }, header)
      assert.are.equal("a@x.io", rows[1].email)
      assert.are.equal(2, rows[1]._line)
    end)

    it("reads CRLF, LF, lone CR and mixed line endings alike", function()
      local want = { { "a", "b", _line = 1 }, { "c", "d", _line = 2 }, { "e", "f", _line = 3 } }
      for _, text in ipairs({
        "a,b\r\nc,d\r\ne,f\r\n", "a,b\nc,d\ne,f\n", "a,b\rc,d\re,f\r",
        "a,b\r\nc,d\re,f\n", "a,b\rc,d\ne,f", "a,b\nc,d\r\ne,f\r",
      }) do
        assert.are.same(want, (csv.parse(text, { header = false })))
      end
    end)

    it("reads quoted fields: commas, doubled quotes, spaces kept inside quotes", function()
      local rows = csv.parse('name,note\n"Doe, Jane","say ""hi"""\n"  padded  ",""\n', {})
      assert.are.equal("Doe, Jane", rows[1].name)
      assert.are.equal('say "hi"', rows[1].note)
      assert.are.equal("  padded  ", rows[2].name)
      assert.are.equal("", rows[2].note)
    end)

    it("allows spaces and tabs around a quoted field", function()
      local rows = csv.parse('a,b\n  "x" ,\t"y"\t\n', { header = true })
      assert.are.same({ "x", "y" }, rows[1]._fields)
    end)

    it("keeps line breaks inside quotes, and _line is where the record starts", function()
      local text = 'email,note\n' ..
        'a@x.io,"line one\nline two\r\nline three\rline four"\n' ..
        'b@x.io,plain\n' ..
        '"c@x.io","x\n\ny"\n' ..
        'd@x.io,z\n'
      local rows = csv.parse(text)
      assert.are.equal("line one\nline two\r\nline three\rline four", rows[1].note)
      assert.are.same({ 2, 6, 7, 10 }, { rows[1]._line, rows[2]._line, rows[3]._line, rows[4]._line })
      assert.are.equal("x\n\ny", rows[3].note)
    end)

    it("skips blank and whitespace-only lines but still counts them", function()
      local rows, header = csv.parse("\n  \r\nemail,role\n\n\t\na@x.io,X\r\n\r\n\rb@x.io,Y\n\n")
      assert.are.same({ "email", "role" }, header)
      assert.are.equal(2, #rows)
      assert.are.equal(6, rows[1]._line)
      assert.are.equal(9, rows[2]._line)
    end)

    it("keeps a line holding a quoted empty field, or only commas", function()
      local rows = csv.parse('a\n""\n,\n', { header = false })
      assert.are.same({ { "a", _line = 1 }, { "", _line = 2 }, { "", "", _line = 3 } }, rows)
    end)

    it("trims spaces and tabs around unquoted fields, not inside them", function()
      local rows = csv.parse("a,b,c\n  x y  ,\tz\t,   \n")
      assert.are.same({ "x y", "z", "" }, rows[1]._fields)
      assert.are.equal("x y", rows[1].a)
      assert.are.equal("", rows[1].c)
    end)

    it("reads a last line without a line ending", function()
      assert.are.same({ "x", "y" }, csv.parse("a,b\nx,y")[1]._fields)
      assert.are.same({ "x", "" }, csv.parse("a,b\nx,")[1]._fields)
      assert.are.same({ "x", "y z" }, csv.parse('a,b\nx,"y z"')[1]._fields)
      assert.are.same({ "x", "y" }, csv.parse('a,b\nx,"y"  ')[1]._fields)
    end)

    it("gives nil for missing trailing fields", function()
      local rows = csv.parse("email,role,name\na@x.io\nb@x.io,X\n")
      assert.are.equal("a@x.io", rows[1].email)
      assert.is_nil(rows[1].role)
      assert.is_nil(rows[1].name)
      assert.are.same({ "b@x.io", "X" }, rows[2]._fields)
    end)

    it("gives no rows and an empty header for a text without records", function()
      for _, text in ipairs({ "", "\n\r\n  \n", "\239\187\191" }) do
        local rows, header = csv.parse(text)
        assert.are.same({}, rows)
        assert.are.same({}, header)
      end
      assert.are.same({ "email" }, select(2, csv.parse("email\n")))
      assert.are.same({}, (csv.parse("email\n")))
    end)

    describe("errors name the line", function()
      it("of an unterminated quoted field (where the field starts)", function()
        assert.are.equal("line 3: unterminated quoted field", parse_error('a,b\nx,y\nz,"open\n\nmore\n'))
        assert.are.equal("line 5: unterminated quoted field",
          parse_error('a,b\nx,y\n\n"multi\nline",\t"open'))
        assert.are.equal("line 1: unterminated quoted field", parse_error('"', { header = false }))
      end)

      it('of a " in the middle of an unquoted field', function()
        local message, err = parse_error('email,role\na@x.io,X\nb"@x.io,Y\n')
        assert.are.equal('line 3: unexpected " in an unquoted field', message)
        assert.are.equal("csv", err.code)
        assert.are.equal(3, err.line)
        assert.are.equal('line 2: unexpected " in an unquoted field', parse_error('a,b\nx,y "z"\n'))
      end)

      it("of text after a closing quote", function()
        assert.are.equal("line 2: unexpected text after a closing quote", parse_error('a,b\n"x"y,z\n'))
        assert.are.equal("line 3: unexpected text after a closing quote",
          parse_error('a,b\n"x\ny" z,w\n'))
        assert.are.equal("line 2: unexpected text after a closing quote", parse_error('a,b\nx,"y"""z\n'))
      end)

      it("of a record with more fields than the header", function()
        local message, err = parse_error("email,role\na@x.io,X\n\nb@x.io,Y,extra\n")
        assert.are.equal("line 4: 3 fields, the header has 2", message)
        assert.are.equal(4, err.line)
      end)

      it("of a duplicate header name, compared after trimming and lower-casing", function()
        assert.are.equal('line 2: duplicate header name "email" (columns 1 and 3)',
          parse_error("\nemail,role, EMAIL \n"))
      end)

      it("of an empty header name", function()
        assert.are.equal("line 1: empty header name in column 2", parse_error("email,,role\n"))
        assert.are.equal("line 1: empty header name in column 3", parse_error('email,role,"  "\n'))
        assert.are.equal("line 1: empty header name in column 3", parse_error("email,role,\n"))
      end)

      it("of a header name that would hide _line or _fields", function()
        assert.are.equal('line 1: header name "_line" is reserved', parse_error("email,_LINE\n"))
        assert.are.equal('line 1: header name "_fields" is reserved', parse_error("_fields\n"))
      end)

      it("of a field longer than 64 KiB, quoted or not", function()
        local ok = string.rep("a", 65536)
        assert.are.equal(65536, #csv.parse("a,b\nx," .. ok .. "\n")[1].b)
        assert.are.equal(65534, #csv.parse('a,b\nx,"' .. ok:sub(3) .. '"\n')[1].b)
        assert.are.equal("line 2: field longer than 64 KiB", parse_error("a,b\nx," .. ok .. "a\n"))
        assert.are.equal("line 3: field longer than 64 KiB", parse_error('a,b\n\n"' .. ok .. '",y\n'))
        assert.are.equal("line 2: field longer than 64 KiB",
          parse_error('a,b\n"' .. ok .. ok .. ok .. '"'))
        assert.are.equal("line 2: field longer than 64 KiB", parse_error("a\n" .. ok .. "a"))
      end)

      it("of a record longer than 1 MiB", function()
        local field = string.rep("b", 65535)
        local fields = {}
        for i = 1, 16 do fields[i] = field end
        local just = table.concat(fields, ",") .. ","
        assert.are.equal(1048576, #just)
        assert.are.equal(17, #csv.parse("\n" .. just .. "\n", { header = false })[1])
        assert.are.equal("line 2: record longer than 1 MiB",
          parse_error("\n" .. just .. "c\n", { header = false }))
        assert.are.equal("line 2: record longer than 1 MiB",
          parse_error("\n" .. just .. ",\n", { header = false }))
      end)

      it("of a NUL byte, quoted or not", function()
        assert.are.equal("line 2: NUL byte (is this a UTF-8 text file?)", parse_error("a,b\nx,y\0z\n"))
        assert.are.equal("line 3: NUL byte (is this a UTF-8 text file?)", parse_error('a,b\nx,"y\n\0"\n'))
        assert.are.equal("line 1: NUL byte (is this a UTF-8 text file?)",
          parse_error("\255\254e\0m\0a\0i\0l\0\n\0"))
      end)
    end)

    describe("required columns", function()
      it("refuses a header without them, naming them and the header found", function()
        local message, err = parse_error("name,role\nJane,X\n", { required = { "email" } })
        assert.are.equal('line 1: missing required column "email"; the header has: name, role', message)
        assert.are.same({ "email" }, err.missing)
        assert.are.equal('line 2: missing required columns "email", "role"; the header has: name',
          parse_error("\nName\n", { required = { "email", "role" } }))
        assert.are.equal('missing required column "email"; the file has no header line',
          parse_error("\n\n", { required = { "email" } }))
      end)

      it("accepts them in any case and order, among other columns", function()
        local rows = csv.parse("Role,Note,EMAIL\nX,,a@x.io\n", { required = { "email", "Role" } })
        assert.are.equal("a@x.io", rows[1].email)
      end)

      it("takes a list of names any one of which will do, naming them all when none is there", function()
        local alt = { required = { "email", { "role", "organization_role" } } }
        local rows, header, line = csv.parse("\nemail,Organization_Role\na@x.io,X\n", alt)
        assert.are.same({ "X", { "email", "organization_role" }, 2 }, { rows[1].organization_role, header, line })
        assert.are.equal('line 1: missing required column "role" (or "organization_role"); the header has: email',
          parse_error("email\na@x.io\n", alt))
        assert.has_error(function() csv.parse("a", { required = { {} } }) end)
        assert.has_error(function() csv.parse("a", { required = { { 1 } } }) end)
      end)
    end)

    it("raises on programming mistakes", function()
      assert.has_error(function() csv.parse(nil) end)
      assert.has_error(function() csv.parse("a", { header = "yes" }) end)
      assert.has_error(function() csv.parse("a", { required = "email" }) end)
      assert.has_error(function() csv.parse("a", { header = false, required = { "a" } }) end)
    end)
  end)

  describe("reader", function()
    local inputs = {
      "", "\n", "\239\187\191", "\239\187", "\239\187\191email,role\na@x.io,X\n",
      " Email , ROLE\r\na@x.io,ORGANIZATION_MEMBER\r\n\r\nb@x.io , X\r\n",
      "a,b\rc,d\re,f\r", "a,b\r\nc,d\re,f\nxx,y", "a,b\rc,d\ne,f\r\n",
      'name,note\n"Doe, Jane","say ""hi"""\n"  padded  ",""\n',
      'email,note\na@x.io,"one\ntwo\r\nthree\rfour"\nb@x.io,plain\n"c@x.io","x\n\ny"\r\nd,z',
      "\n  \r\nemail,role\n\n\t\na@x.io,X\r\n\r\n\rb@x.io,Y\n\n",
      'a,b\n  "x" ,\t"y"\t\nq,"r"', "email,role,name\na@x.io\nb@x.io,X\n",
      'a,b\nx,y\nz,"open\n\nmore\n', 'a,b\nx,y "z"\n', 'a,b\n"x"y,z\n', 'a,b\nx,"y""\n',
      'a,b\nx,"y""', 'a,b\nx,"y"', 'a,b\nx,"y"\r', 'a,b\nx,"y" ',
      "email,role\na@x.io,X\n\nb@x.io,Y,extra\n", "\nemail,role, EMAIL \n", "email,,role\n",
      "a,b\nx,y\0z\n", 'a,b\nx,"y\n\0"\n', "email,_line\n",
      "a,b\nx," .. string.rep("a", 65536) .. "\n", "a,b\nx," .. string.rep("a", 65537) .. "\n",
      'a,b\n"' .. string.rep("q", 70000) .. '"\n', "a\n" .. string.rep(" ", 65537) .. "x\n",
    }

    it("gives the same rows and errors as parse, through a real file and in small pieces", function()
      for _, text in ipairs(inputs) do
        for _, opts in ipairs({ {}, { header = false }, { required = { "email" } } }) do
          local want, want_extra = csv.parse(text, opts)
          local function check(rows, extra)
            if want == nil then
              assert.is_nil(rows)
              assert.are.equal(want_extra.message, extra.message)
            else
              assert.are.same(want, rows)
              assert.are.same(want_extra, extra)
            end
          end
          check(read_all(tmpfile(text), opts))
          if #text < 1000 then
            for size = 1, 4 do check(read_all(trickle(text, size), opts)) end
          else
            check(read_all(trickle(text, 4093), opts))
          end
        end
      end
    end)

    it("gives false and the error once in a for loop, then stops", function()
      local seen = {}
      for row, err in csv.reader(tmpfile('email\na@x.io\nb"@x.io\nc@x.io\n')) do
        seen[#seen + 1] = row and row.email or tostring(err)
      end
      assert.are.same({ "a@x.io", 'line 3: unexpected " in an unquoted field' }, seen)
    end)

    it("gives the header once it has read it", function()
      local r = csv.reader(tmpfile("Email,Role\na@x.io,X\n"), { required = { "email" } })
      assert.is_nil(r.header)
      assert.are.equal("a@x.io", r().email)
      assert.are.same({ "email", "role" }, r.header)
      assert.is_nil(r())
      assert.is_nil(r())
    end)

    it("reads the file a piece at a time", function()
      local lines = { "email,role" }
      for i = 1, 100000 do lines[#lines + 1] = string.format("user%05d@example.com,ORGANIZATION_MEMBER", i) end
      local text = table.concat(lines, "\n")
      local consumed = 0
      local f = trickle(text, math.huge)
      local read = f.read
      f.read = function(self, n)
        local piece = read(self, n)
        consumed = consumed + (piece and #piece or 0)
        return piece
      end
      local r = csv.reader(f)
      assert.are.equal("user00001@example.com", r().email)
      assert.is_true(consumed < 200 * 1024)
      assert.is_true(#text > 4 * 1024 * 1024)
    end)

    it("stops on an endless line instead of reading it all", function()
      local consumed = 0
      local endless = {
        read = function(_, n)
          consumed = consumed + n
          return string.rep("x", n)
        end,
      }
      local row, err = csv.reader(endless)()
      assert.is_false(row)
      assert.are.equal("line 1: field longer than 64 KiB", err.message)
      assert.is_true(consumed <= 2 * 1024 * 1024)
      consumed = 0
      local commas = {
        read = function(_, n)
          consumed = consumed + n
          return string.rep("x,", n // 2)
        end,
      }
      row, err = csv.reader(commas, { header = false })()
      assert.is_false(row)
      assert.are.equal("line 1: record longer than 1 MiB", err.message)
      assert.is_true(consumed <= 2 * 1024 * 1024)
    end)

    it("gives a read error as an error value", function()
      local broken = { read = function() return nil, "Input/output error", 5 end }
      local row, err = csv.reader(broken)()
      assert.is_false(row)
      assert.are.equal("cannot read the CSV file: Input/output error", err.message)
      assert.are.equal("io", err.code)
    end)

    it("raises without a file", function()
      assert.has_error(function() csv.reader("a,b\n") end)
      assert.has_error(function() csv.reader(nil) end)
    end)
  end)

  describe("format_row", function()
    it("quotes only fields with a comma, quote, CR, LF or spaces at an end", function()
      assert.are.equal('plain,a b,"x,y","say ""hi""","a\nb","a\rb"," lead","trail ","\ttab"\n',
        csv.format_row({ "plain", "a b", "x,y", 'say "hi"', "a\nb", "a\rb", " lead", "trail ", "\ttab" },
          { neutralize = false }))
    end)

    it("neutralises formulas with a leading quote, before quoting", function()
      assert.are.equal("'=1+1,'+x,'-x,'@x,'\tx,\"'\rx\",\"'=SUM(A1,B1)\",a=b,'-5\n",
        csv.format_row({ "=1+1", "+x", "-x", "@x", "\tx", "\rx", "=SUM(A1,B1)", "a=b", -5 }))
    end)

    it("leaves formulas alone when neutralize is false", function()
      assert.are.equal("=1+1,+x,-x,@x,\"\tx\",-5\n",
        csv.format_row({ "=1+1", "+x", "-x", "@x", "\tx", -5 }, { neutralize = false }))
    end)

    it("writes numbers, booleans and nil", function()
      assert.are.equal("3,3,2.5,0.1,9007199254740993,true,false,,x\n",
        csv.format_row({ 3, 3.0, 2.5, 0.1, 9007199254740993, true, false, nil, "x", n = 9 }))
      assert.are.equal("1,,\n", csv.format_row({ 1, nil, nil, n = 3 }))
      assert.has_error(function() csv.format_row({ {} }) end)
      assert.has_error(function() csv.format_row("a") end)
    end)

    it("writes a lone empty field as \"\" so it does not read back as a blank line", function()
      assert.are.equal('""\n', csv.format_row({ "" }))
      assert.are.equal('""\n', csv.format_row({ n = 1 }))
      assert.are.equal(",\n", csv.format_row({ "", "" }))
    end)
  end)

  describe("writer", function()
    it("writes the header at once, then each row as it comes, lists or maps", function()
      local f = assert(io.tmpfile())
      local w = assert(csv.writer(f, { "email", "role", "note" }))
      assert.are.equal(#"email,role,note\n", f:seek("cur"))
      assert.is_true(w:write({ "a@x.io", "ORGANIZATION_MEMBER", "hi, there" }))
      assert.is_true(w:write({ email = "b@x.io", role = "ORGANIZATION_OWNER", other = "ignored" }))
      assert.is_true(w:write({ "c@x.io", nil, "=cmd" }))
      f:seek("set")
      assert.are.equal('email,role,note\na@x.io,ORGANIZATION_MEMBER,"hi, there"\n' ..
        "b@x.io,ORGANIZATION_OWNER,\nc@x.io,,'=cmd\n", f:read("a"))
    end)

    it("honours neutralize = false", function()
      local out = {}
      local sink = { write = function(_, s) out[#out + 1] = s return true end }
      local w = assert(csv.writer(sink, { "n" }, { neutralize = false }))
      w:write({ -5 })
      assert.are.equal("n\n-5\n", table.concat(out))
    end)

    it("gives write errors as error values", function()
      local full = { write = function() return nil, "No space left on device", 28 end }
      local w, err = csv.writer(full, { "email" })
      assert.is_nil(w)
      assert.are.equal("cannot write the CSV file: No space left on device", err.message)
      local n = 0
      local flaky = { write = function() n = n + 1 if n > 1 then return nil, "EIO" end return true end }
      w = assert(csv.writer(flaky, { "email" }))
      local ok
      ok, err = w:write({ "a@x.io" })
      assert.is_nil(ok)
      assert.are.equal("io", err.code)
    end)

    it("raises on programming mistakes", function()
      local f = assert(io.tmpfile())
      assert.has_error(function() csv.writer(f, {}) end)
      assert.has_error(function() csv.writer(f, { "a", 2 }) end)
      assert.has_error(function() csv.writer("file.csv", { "a" }) end)
      local w = assert(csv.writer(f, { "a", "b" }))
      assert.has_error(function() w:write({ 1, 2, 3 }) end)
      assert.has_error(function() w:write("a,b") end)
    end)
  end)

  describe("unneutralize", function()
    it("gives back what a neutralised cell stood for, and leaves every other value alone", function()
      for _, v in ipairs({ "=1+1", "+33 1", "-ops@acme.io", "@home", "\tx", "\rx", "plain", "'quoted'", "",
                           "'a", "''=x" }) do
        local text = csv.format({ "v" }, { { v } })
        local rows = assert(csv.parse(text))
        assert.are.equal(v, csv.unneutralize(rows[1].v), v)
      end
      assert.has_error(function() csv.unneutralize(3) end, "csv.unneutralize expects a string, got number")
    end)
  end)

  describe("format", function()
    it("gives the whole text: header, then rows", function()
      assert.are.equal("email,role\na@x.io,X\nb@x.io,\n",
        csv.format({ "email", "role" }, { { "a@x.io", "X" }, { email = "b@x.io" } }))
      assert.are.equal("1,2\n'-3,x\n", csv.format(nil, { { 1, 2 }, { -3, "x" } }))
      assert.are.equal("-3\n", csv.format(nil, { { -3 } }, { neutralize = false }))
      assert.are.equal("a\n", csv.format({ "a" }, {}))
    end)

    it("round-trips through parse, formulas coming back with their leading quote", function()
      local values = {
        { "plain", "Doe, Jane", 'say "hi"', "two\nlines", "crlf\r\nline" },
        { "  spaces  ", "\ttabs\t", "", "=1+1", "-x" },
        { "@x", "+x", "\tx", "\rx", "ünïcödé" },
        { "", "", "", "", "" },
      }
      local text = csv.format({ "a", "b", "c", "d", "e" }, values)
      local rows, header = assert(csv.parse(text))
      assert.are.same({ "a", "b", "c", "d", "e" }, header)
      assert.are.equal(#values, #rows)
      for i, row in ipairs(rows) do
        for j, v in ipairs(values[i]) do
          if v:find("^[=+%-@\t\r]") then v = "'" .. v end
          assert.are.equal(v, row._fields[j])
        end
      end
      local single = csv.format({ "only" }, { { "" }, { "x" }, { "" } })
      assert.are.same({ "", "x", "" }, (function()
        local out = {}
        for _, row in ipairs(csv.parse(single)) do out[#out + 1] = row.only end
        return out
      end)())
      local raw = assert(csv.parse(csv.format(nil, values, { neutralize = false }), { header = false }))
      for i, row in ipairs(raw) do
        for j, v in ipairs(values[i]) do assert.are.equal(v, row[j]) end
      end
    end)
  end)

  it("parses 100,000 rows", function()
    local lines = { "email,role" }
    for i = 1, 100000 do lines[#lines + 1] = string.format("user%05d@example.com,ORGANIZATION_MEMBER", i) end
    local rows = assert(csv.parse(table.concat(lines, "\n") .. "\n"))
    assert.are.equal(100000, #rows)
    assert.are.equal("user100000@example.com", rows[100000].email)
    assert.are.equal(100001, rows[100000]._line)
  end)
end)
