--- CSV for astro: users' files (bulk invites, `email,role` rows) and the report files we write.
--
-- Reading follows RFC 4180 plus what real files contain: a UTF-8 BOM, CRLF / LF / lone CR line
-- endings (mixed too), blank lines (skipped, still counted), spaces and tabs around unquoted
-- fields (trimmed; kept inside quotes), spaces around a quoted field, a last line without a
-- line ending. Quoted fields may hold `""`, commas and line breaks (kept as written).
-- Malformed input is an error value whose message names the physical line
-- (`line 7: unterminated quoted field`) and whose fields are code = "csv" and line. A field
-- over 64 KiB or a record over 1 MiB (both counted as written in the file) and NUL bytes are
-- refused, so a hostile or binary file cannot make us hold it all in memory.
--
-- Rows: with a header (the default), the first non-blank record names the columns (trimmed,
-- lower-cased) and each row is a table keyed by those names (`row.email`; missing trailing
-- fields are nil), plus `row._line`, the physical line (1-based) where the record starts, and
-- `row._fields`, the list of its fields. Without a header, each row is the list of its fields
-- plus `_line`.
--
-- Writing quotes a field only when it must, writes `\n` line endings, and by default
-- neutralises spreadsheet formulas (OWASP CSV injection): a field starting with = + - @ TAB or
-- CR gets a leading `'`.
local errors = require("astro.errors")

local M = {}

local byte, find, sub, gsub, lower, format = string.byte, string.find, string.sub, string.gsub,
  string.lower, string.format
local concat = table.concat
local mtype, tointeger = math.type, math.tointeger

local BOM = "\239\187\191"
local QUOTE, COMMA, CR, LF = 34, 44, 13, 10
local MAX_FIELD = 64 * 1024     -- bytes of one field as written (quotes and spaces included)
local MAX_RECORD = 1024 * 1024  -- bytes of one record as written (without its line ending)
local CHUNK = 64 * 1024         -- bytes asked of the file per read by csv.reader
local MORE = {}                 -- _record's answer when the text ends before it can tell

local function _err(line, message, ...)
  return errors.new(format("line %d: " .. message, line, ...), { code = "csv", line = line })
end

-- Strips spaces and tabs at both ends, without a backtracking pattern (hostile fields).
local function _trim(v)
  local b = byte(v, 1)
  if b ~= 32 and b ~= 9 then
    b = byte(v, -1)
    if b ~= 32 and b ~= 9 then return v end
  end
  local i = find(v, "[^ \t]")
  if not i then return "" end
  return sub(v, i, (find(v, "[^ \t][ \t]*$", i)))
end

-- Number of line breaks in v: CRLF, LF and lone CR count one each.
local function _breaks(v)
  if not find(v, "[\r\n]") then return 0 end
  local _, all = gsub(v, "[\r\n]", "")
  local _, crlf = gsub(v, "\r\n", "")
  return all - crlf
end

-- The error for a field reaching `bound`, the first byte past the nearer of its two limits.
local function _too_long(field_first, field_line, record_line)
  if field_first then return _err(field_line, "field longer than 64 KiB") end
  return _err(record_line, "record longer than 1 MiB")
end

local function _nul(line)
  return _err(line, "NUL byte (is this a UTF-8 text file?)")
end

-- Where a field ends, given d, the position of the byte that ends it (nil when none was found):
-- d; len + 1 when the text is all there (eof); MORE when more text may come; nil, err when the
-- field reaches bound first.
local function _field_end(d, len, bound, eof, field_first, field_line, line)
  if not d then
    if len >= bound then return nil, _too_long(field_first, field_line, line) end
    if not eof then return MORE end
    return len + 1
  end
  if d - 1 >= bound then return nil, _too_long(field_first, field_line, line) end
  return d
end

-- The general case of _record: quotes, NULs, long lines, a text that ends mid-record. Every
-- check depends only on the bytes up to where it looks, so a reader that feeds the text in
-- pieces (and re-runs the record on MORE) finds the same records and errors as one pass.
-- It goes on from the fast path's fields[1..n], which end before p (all unquoted, on `line`).
local function _record_slow(s, pos, line, eof, fields, n, p)
  local len = #s
  local ln = line
  local quoted = false
  local record_bound = pos + MAX_RECORD
  while true do
    local field_line = ln
    local bound, field_first = p + MAX_FIELD, true
    if record_bound < bound then bound, field_first = record_bound, false end
    local value, d
    local a = find(s, "[^ \t]", p)
    if a and byte(s, a) == QUOTE then
      quoted = true
      local i, q = a + 1, nil
      while true do
        q = find(s, '["\0]', i)
        if not q then
          if len >= bound then return nil, _too_long(field_first, field_line, line) end
          if not eof then return MORE end
          return nil, _err(field_line, "unterminated quoted field")
        end
        if q >= bound then return nil, _too_long(field_first, field_line, line) end
        if byte(s, q) == 0 then return nil, _nul(field_line + _breaks(sub(s, p, q))) end
        if q == len and not eof then return MORE end
        if byte(s, q + 1) ~= QUOTE then break end
        i = q + 2
      end
      local raw = sub(s, a + 1, q - 1)
      ln = ln + _breaks(raw)
      value = find(raw, '""', 1, true) and gsub(raw, '""', '"') or raw
      local err
      d, err = _field_end(find(s, "[^ \t]", q + 1), len, bound, eof, field_first, field_line, line)
      if d == nil or d == MORE then return d, err end
      local c = byte(s, d)
      if c == 0 then return nil, _nul(ln) end
      if c ~= nil and c ~= COMMA and c ~= CR and c ~= LF then
        return nil, _err(ln, "unexpected text after a closing quote")
      end
    else
      local err
      d, err = _field_end(find(s, '[,\r\n"\0]', p), len, bound, eof, field_first, field_line, line)
      if d == nil or d == MORE then return d, err end
      local c = byte(s, d)
      if c == QUOTE then return nil, _err(ln, 'unexpected " in an unquoted field') end
      if c == 0 then return nil, _nul(ln) end
      value = _trim(sub(s, p, d - 1))
    end
    n = n + 1
    fields[n] = value
    local c = byte(s, d)
    if c == COMMA then
      p = d + 1
    else
      local nxt = d + 1
      if c == CR then
        if d == len and not eof then return MORE end
        if byte(s, nxt) == LF then nxt = nxt + 1 end
      elseif c == nil then
        nxt = d
      end
      if n == 1 and not quoted and value == "" then return false, nxt, ln + 1 end
      return fields, nxt, ln + 1
    end
  end
end

-- Reads the record of s that starts at pos, on physical line `line`; eof tells whether s
-- holds the rest of the input. Returns its fields (false for a blank line) with the position
-- and line number after it; or nil and an error; or MORE when s ends too early to tell.
local function _record(s, pos, line, eof)
  -- Fast path: unquoted fields up to a line ending, one anchored find per field. Anything
  -- else (a quote, a NUL, the end of s, a long field or record) goes to _record_slow.
  local fields, n, p = {}, 0, pos
  while true do
    local _, e = find(s, '^[^,\r\n"\0]*', p)
    local d = e + 1
    if d - p >= MAX_FIELD or d - pos >= MAX_RECORD then break end
    local c = byte(s, d)
    if c == COMMA then
      n = n + 1
      fields[n] = _trim(sub(s, p, e))
      p = d + 1
    elseif c == LF or c == CR then
      local nxt = d + 1
      if c == CR then
        if d == #s and not eof then return MORE end
        if byte(s, nxt) == LF then nxt = nxt + 1 end
      end
      n = n + 1
      local value = _trim(sub(s, p, e))
      if n == 1 and value == "" then return false, nxt, line + 1 end
      fields[n] = value
      return fields, nxt, line + 1
    else
      break
    end
  end
  return _record_slow(s, pos, line, eof, fields, n, p)
end

-- Checks the header record and gives its names (trimmed, lower-cased).
local function _header(fields, line)
  local names, seen = {}, {}
  for i, f in ipairs(fields) do
    local name = lower(_trim(f))
    if name == "" then return nil, _err(line, "empty header name in column %d", i) end
    if name == "_line" or name == "_fields" then
      return nil, _err(line, 'header name "%s" is reserved', name)
    end
    if seen[name] then
      return nil, _err(line, 'duplicate header name "%s" (columns %d and %d)', name, seen[name], i)
    end
    seen[name], names[i] = i, name
  end
  return names
end

local function _check_required(required, header, line)
  local have = {}
  for _, h in ipairs(header) do have[h] = true end
  local missing, shown = {}, {}
  for _, r in ipairs(required) do
    -- r is a name, or a list of names any one of which will do (the first is the one named).
    local names = type(r) == "table" and r or { r }
    local found, quoted = false, {}
    for i, n in ipairs(names) do
      local name = lower(_trim(n))
      found = found or have[name] == true
      quoted[i] = '"' .. name .. '"'
    end
    if not found then
      missing[#missing + 1] = lower(_trim(names[1]))
      shown[#shown + 1] = quoted[1] .. (#quoted > 1 and (" (or " .. concat(quoted, " or ", 2) .. ")") or "")
    end
  end
  if #missing == 0 then return true end
  local what = (#missing == 1 and "missing required column " or "missing required columns ")
    .. concat(shown, ", ")
  local fields = { code = "csv", line = line, missing = missing, header = header }
  if #header == 0 then
    return nil, errors.new(what .. "; the file has no header line", fields)
  end
  return nil, errors.new(format("line %d: %s; the header has: %s", line, what,
    concat(header, ", ")), fields)
end

-- The parser shared by csv.parse (the whole text at once) and csv.reader (a file in chunks),
-- so both give the same rows and errors for the same bytes.
local Parser = {}
Parser.__index = Parser

local function _parser(opts, text, file)
  if opts ~= nil and type(opts) ~= "table" then error("csv: opts must be a table", 3) end
  opts = opts or {}
  if opts.header ~= nil and type(opts.header) ~= "boolean" then
    error("csv: opts.header must be a boolean", 3)
  end
  local required = opts.required
  if required ~= nil then
    if type(required) ~= "table" then error("csv: opts.required must be a list of names", 3) end
    for _, r in ipairs(required) do
      local ok = type(r) == "string"
      if type(r) == "table" and #r > 0 then
        ok = true
        for _, n in ipairs(r) do ok = ok and type(n) == "string" end
      end
      if not ok then error("csv: opts.required must be a list of names (or of lists of names)", 3) end
    end
    if opts.header == false then error("csv: opts.required needs a header", 3) end
  end
  return setmetatable({
    s = text, pos = 1, line = 1, eof = file == nil, file = file,
    want_header = opts.header ~= false, required = required,
    started = false, done = false, header = nil,
  }, Parser)
end

-- Reads more of the file. A record still unfinished after a read gets as much again (so the
-- re-runs of _record on a long record cost O(its length) in all).
function Parser:_refill()
  local chunk, err = self.file:read(math.max(CHUNK, #self.s - self.pos + 1))
  if chunk == nil and err ~= nil then
    return nil, errors.new("cannot read the CSV file: " .. tostring(err), { code = "io" })
  end
  if chunk == nil or chunk == "" then
    self.eof = true
  else
    self.s = sub(self.s, self.pos) .. chunk
    self.pos = 1
  end
  return true
end

-- The next non-blank record and the line it starts on; nil at the end; nil, err.
function Parser:_next_record()
  if not self.started then
    while #self.s < 3 and not self.eof do
      local ok, err = self:_refill()
      if not ok then return nil, err end
    end
    if sub(self.s, 1, 3) == BOM then self.pos = 4 end
    self.started = true
  end
  while true do
    local fields, nxt, nline
    if self.pos <= #self.s then
      fields, nxt, nline = _record(self.s, self.pos, self.line, self.eof)
    elseif self.eof then
      return nil
    else
      fields = MORE
    end
    if fields == MORE then
      local ok, err = self:_refill()
      if not ok then return nil, err end
    elseif fields == nil then
      return nil, nxt
    else
      local start = self.line
      self.pos, self.line = nxt, nline
      if fields then return fields, start end
    end
  end
end

function Parser:_fail(err)
  self.done = true
  return nil, err
end

-- The next row; nil at the end; nil, err (and then nil for ever).
function Parser:next()
  if self.done then return nil end
  local fields, line = self:_next_record()
  if not fields then
    if line then return self:_fail(line) end
    self.done = true
    if self.want_header and not self.header then
      self.header = {}
      if self.required then return self:_fail(select(2, _check_required(self.required, {}))) end
    end
    return nil
  end
  local header = self.header
  if self.want_header and not header then
    local err
    header, err = _header(fields, line)
    if not header then return self:_fail(err) end
    self.header, self.header_line = header, line
    if self.required then
      local ok
      ok, err = _check_required(self.required, header, line)
      if not ok then return self:_fail(err) end
    end
    return self:next()
  end
  if not header then
    fields._line = line
    return fields
  end
  local n = #fields
  if n > #header then
    return self:_fail(_err(line, "%d fields, the header has %d", n, #header))
  end
  local row = { _line = line, _fields = fields }
  for i = 1, n do row[header[i]] = fields[i] end
  return row
end

--- Parses CSV text. With opts.header (default true) the first non-blank record is the header
-- and each row is keyed by its names; opts.required lists header names that must be present
-- (an entry may be a list of names any one of which will do: { "email", { "role",
-- "organization_role" } }). An empty text gives no rows and an empty header.
---@param text string
---@param opts? {header?: boolean, required?: (string|string[])[]}
---@return table[]|nil rows nil on malformed input
---@return string[]|table|nil header_or_err header names (nil if opts.header is false), or the error
---@return integer|nil header_line the line the header is on (nil without one)
function M.parse(text, opts)
  if type(text) ~= "string" then error("csv.parse expects a string, got " .. type(text), 2) end
  local p = _parser(opts, text, nil)
  local rows, n = {}, 0
  while true do
    local row, err = p:next()
    if not row then
      if err then return nil, err end
      return rows, p.header, p.header_line
    end
    n = n + 1
    rows[n] = row
  end
end

local Reader = {}
Reader.__index = Reader
Reader.__name = "astro.csv.reader"

--- The next row, or nil at the end; on a malformed record (or a read error) false and the
-- error, once, then nil. `false` rather than nil so that a generic for still runs its body.
function Reader.__call(self)
  local row, err = self._parser:next()
  self.header = self._parser.header
  if row == nil and err ~= nil then return false, err end
  return row
end

--- Reads CSV rows from an open file (anything with :read(n)), a chunk at a time, so memory
-- stays flat however long the file is. Same options and rows as csv.parse. Use it in a for:
--   local r = csv.reader(f)
--   for row, err in r do if not row then return nil, err end ... end
-- (on a malformed record the loop gets `false, err` once, then stops). r.header holds the
-- header names once the first row (or the end) has been read.
---@param file file*|{read: fun(self: any, n: integer): string|nil}
---@param opts? {header?: boolean, required?: (string|string[])[]}
---@return table reader callable: reader() -> row | nil | false, err
function M.reader(file, opts)
  if (type(file) ~= "userdata" and type(file) ~= "table") or file.read == nil then
    error("csv.reader expects an open file, got " .. type(file), 2)
  end
  return setmetatable({ _parser = _parser(opts, "", file), header = nil }, Reader)
end

-- Writing ---------------------------------------------------------------------------------

local function _number(n)
  if mtype(n) == "integer" then return format("%d", n) end
  if n ~= n or n == math.huge or n == -math.huge then return tostring(n) end
  local i = tointeger(n)
  if i and n > -9007199254740992 and n < 9007199254740992 then return format("%d", i) end
  for digits = 15, 17 do
    local s = format("%." .. digits .. "g", n)
    if tonumber(s) == n then return s end
  end
  return format("%.17g", n)
end

local function _text(v)
  local t = type(v)
  if t == "string" then return v end
  if v == nil then return "" end
  if t == "number" then return _number(v) end
  if t == "boolean" then return v and "true" or "false" end
  local mt = getmetatable(v)
  if type(mt) == "table" and mt.__tostring then return tostring(v) end
  error("csv: cannot write a " .. t .. " value", 5)
end

local function _cell(v, neutralize)
  local s = _text(v)
  if s == "" then return s end
  if neutralize and find(s, "^[=+%-@\t\r]") then s = "'" .. s end
  if find(s, '[,"\r\n]') or find(s, "^[ \t]") or find(s, "[ \t]$") then
    s = '"' .. gsub(s, '"', '""') .. '"'
  end
  return s
end

--- Takes off the leading "'" the writers put before a cell starting with = + - @ TAB or CR
-- (neutralised against spreadsheet formulas), giving back the value that was written.
---@param value string
---@return string
function M.unneutralize(value)
  if type(value) ~= "string" then error("csv.unneutralize expects a string, got " .. type(value), 2) end
  return (gsub(value, "^'([=+%-@\t\r])", "%1"))
end

-- One line from values[1..n]. A lone empty field is written `""`, else it reads back as a
-- blank line.
local function _line(values, n, neutralize)
  local cells = {}
  for i = 1, n do cells[i] = _cell(values[i], neutralize) end
  if n == 1 and cells[1] == "" then return '""\n' end
  return concat(cells, ",") .. "\n"
end

local function _neutralize(opts)
  if opts ~= nil and type(opts) ~= "table" then error("csv: opts must be a table", 3) end
  return opts == nil or opts.neutralize ~= false
end

-- A row as a list of n values: row[i], else row[header[i]] (rows may be lists or maps).
local function _values(row, header)
  if type(row) ~= "table" then error("csv: a row must be a table, got " .. type(row), 3) end
  if not header then return row, row.n or #row end
  local n = #header
  if #row > n then error(format("csv: a row has %d fields, the header has %d", #row, n), 3) end
  local values = {}
  for i = 1, n do
    local v = row[i]
    if v == nil then v = row[header[i]] end
    values[i] = v
  end
  return values, n
end

local function _check_header(header, level)
  if type(header) ~= "table" or #header == 0 then
    error("csv: the header must be a non-empty list of names", level + 1)
  end
  for _, h in ipairs(header) do
    if type(h) ~= "string" then error("csv: the header must be a list of strings", level + 1) end
  end
end

--- Formats one CSV line, ending with "\n". A field is quoted when it holds `,` `"` CR or LF or
-- starts or ends with a space or tab; inner quotes are doubled. Unless opts.neutralize is
-- false, a field starting with = + - @ TAB or CR gets a leading `'` (spreadsheet formulas).
-- Numbers are written via tostring (integral ones without ".0"), booleans as true/false, nil
-- as an empty field. fields.n, when set, gives the number of fields (for nil holes).
---@param fields any[]
---@param opts? {neutralize?: boolean}
---@return string
function M.format_row(fields, opts)
  if type(fields) ~= "table" then
    error("csv.format_row expects a list, got " .. type(fields), 2)
  end
  return _line(fields, fields.n or #fields, _neutralize(opts))
end

local Writer = {}
Writer.__index = Writer
Writer.__name = "astro.csv.writer"

--- Writes one row, a list (in header order) or a map keyed by header names (other keys are
-- ignored).
---@param row table
---@return boolean|nil ok
---@return table|nil err when the file cannot be written
function Writer:write(row)
  local values, n = _values(row, self.header)
  return self:_put(values, n)
end

-- Writes the line of values[1..n]. Returns true or nil, err.
function Writer:_put(values, n)
  local ok, err = self._file:write(_line(values, n, self._neutralize))
  if not ok then
    return nil, errors.new("cannot write the CSV file: " .. tostring(err), { code = "io" })
  end
  return true
end

--- Starts writing CSV to an open file: writes the header line at once, then one line per
-- w:write(row). Returns the writer, or nil and an error when the header cannot be written.
---@param file file*|{write: fun(self: any, s: string): any}
---@param header string[]
---@param opts? {neutralize?: boolean}
---@return table|nil writer
---@return table|nil err
function M.writer(file, header, opts)
  if (type(file) ~= "userdata" and type(file) ~= "table") or file.write == nil then
    error("csv.writer expects an open file, got " .. type(file), 2)
  end
  _check_header(header, 2)
  local w = setmetatable({ _file = file, header = header, _neutralize = _neutralize(opts) },
    Writer)
  local ok, err = w:_put(header, #header)
  if not ok then return nil, err end
  return w
end

--- Formats a whole CSV text: the header line (when header is not nil), then the rows (lists,
-- or maps keyed by header names).
---@param header string[]|nil
---@param rows table[]
---@param opts? {neutralize?: boolean}
---@return string
function M.format(header, rows, opts)
  if header ~= nil then _check_header(header, 2) end
  if type(rows) ~= "table" then
    error("csv.format expects a list of rows, got " .. type(rows), 2)
  end
  local neutralize = _neutralize(opts)
  local out = {}
  if header then out[1] = _line(header, #header, neutralize) end
  for _, row in ipairs(rows) do
    local values, n = _values(row, header)
    out[#out + 1] = _line(values, n, neutralize)
  end
  return concat(out)
end

return M
