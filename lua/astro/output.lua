--- Output helpers shared by the commands: tables in the astro CLI's layout, JSON, colour rules.
local json = require("astro.json")
local env = require("astro.core.env")
local sys = require("astro.core.sys")
local term = require("astro.core.term")

local M = {}

M.GREEN_BOLD = "\27[1;32m"
M.RESET = "\27[0m"

--- Tells whether colour escapes may be written to the given stream ("stdout" or "stderr"):
-- only to a terminal, and never when NO_COLOR is set (to anything) or TERM is "dumb".
---@param stream? string
---@return boolean
function M.color_enabled(stream)
  if env.is_set("NO_COLOR") or env.get("TERM") == "dumb" then return false end
  return sys.isatty(stream or "stdout")
end

local LINES = { lines = true }

--- Text safe to show on a terminal, so that data from the API or a file can neither break a
-- table's lines nor drive the terminal (src/term.c holds the rule): C0 controls (ESC, newline,
-- tab...), DEL and each byte that is not valid UTF-8 (a lone 0x9b, an 8-bit CSI) as \xNN; C1
-- controls (U+0080-U+009F) and the bidi controls and line separators (U+061C, U+200E, U+200F,
-- U+2028-U+202E, U+2066-U+2069) as \uNNNN; everything else, accents and wide characters
-- included, as it is. opts.lines = true keeps newline and tab, for text of several lines.
---@param s string
---@param opts? {lines?: boolean}
---@return string
function M.printable(s, opts)
  local lines = opts ~= nil and opts.lines
  if not s:find(lines and "[^\t\n -~]" or "[^ -~]") then return s end  -- printable ASCII
  return term.escape(s, lines and LINES or nil)
end

-- Gives v back as it is.
local function _unchanged(v) return v end

-- M.printable for a string value; any other value unchanged.
local function _printable_value(v)
  if type(v) == "string" then return M.printable(v) end
  return v
end

--- How data values are to be written to the given stream ("stdout" or "stderr"): on a
-- terminal, a function giving strings through M.printable (escaped as tables show them);
-- else (a file or a pipe) the identity, so the data goes out byte for byte.
---@param stream? string
---@return fun(v: any): any
function M.for_stream(stream)
  if sys.isatty(stream or "stdout") then return _printable_value end
  return _unchanged
end

local function _width(s)
  return utf8.len(s) or #s
end

--- The width, in columns, that lines written to a terminal on stream ("stdout" or "stderr")
-- must fit: COLUMNS when it is set to a whole number above 0, else the size the terminal
-- reports, else 80.
---@param stream? string
---@return integer
function M.width(stream)
  local columns = tonumber(env.get("COLUMNS") or "")
  if columns and columns >= 1 and columns == math.floor(columns) then return math.tointeger(columns) end
  return term.width(stream or "stdout") or 80
end

M.ELLIPSIS = "\u{2026}"

-- s cut to at most n characters (n >= 1), its last one an ellipsis when it was cut.
local function _cut(s, n)
  if _width(s) <= n then return s end
  return s:sub(1, utf8.offset(s, n) - 1) .. M.ELLIPSIS
end

-- Fits the widths of a table to a line of at most `width` characters, with 2 spaces between
-- columns and none after the last: cuts the widest of the columns in `shrink` by one, again
-- and again, none below its header's width or 6. Returns the new widths (a table wider than
-- width when even that is not enough).
local function _fit(headers, widths, width, shrink)
  local w = {}
  local total = 1 + 2 * (#widths - 1)
  for c, v in ipairs(widths) do w[c], total = v, total + v end
  local floor = {}
  for _, c in ipairs(shrink) do floor[c] = math.max(_width(headers[c]), 6) end
  while total > width do
    local widest
    for _, c in ipairs(shrink) do
      if w[c] > floor[c] and (not widest or w[c] > w[widest]) then widest = c end
    end
    if not widest then break end
    w[widest], total = w[widest] - 1, total - 1
  end
  return w
end

--- Renders rows as the astro CLI's tables: each column as wide as its widest cell plus 5,
-- one leading space, cells left-justified (padded by characters, so non-ASCII text lines up),
-- header first; every cell and header shown through M.printable. opts.highlight(row, index)
-- -> true wraps that line in green bold when opts.color is true, and otherwise (no colour:
-- a pipe, a file, NO_COLOR) marks it with a `*` in place of its leading space when opts.mark
-- is true. opts.width (e.g. M.width("stdout") on a terminal): a table wider than that many
-- characters is fitted to it: 2 spaces between columns and none at the end of a line, and the
-- columns listed in opts.shrink (indexes; default all) cut, the widest first, each cut cell
-- ending in an ellipsis (no column below its header's width or 6 characters).
---@param headers string[]
---@param rows string[][]
---@param opts? {highlight?: fun(row: string[], i: integer): boolean, color?: boolean, mark?: boolean, width?: integer, shrink?: integer[]}
---@return string
function M.table(headers, rows, opts)
  opts = opts or {}
  local ncol = #headers
  -- shown[1] is the header line, shown[i + 1] row i: cells escaped once, for widths and lines.
  local widths, shown = {}, { {} }
  for c = 1, ncol do
    shown[1][c] = M.printable(tostring(headers[c]))
    widths[c] = _width(shown[1][c])
  end
  for i, row in ipairs(rows) do
    local cells = {}
    for c = 1, ncol do
      local cell = M.printable(tostring(row[c] or ""))
      cells[c] = cell
      local w = _width(cell)
      if w > widths[c] then widths[c] = w end
    end
    shown[i + 1] = cells
  end
  local gap, fitted = 5, false
  if opts.width then
    local natural = 1
    for c = 1, ncol do natural = natural + widths[c] + 5 end
    if natural > opts.width then
      local shrink = opts.shrink
      if not shrink then
        shrink = {}
        for c = 1, ncol do shrink[c] = c end
      end
      gap, fitted, widths = 2, true, _fit(shown[1], widths, opts.width, shrink)
    end
  end
  local function line(cells)
    local parts = { " " }
    for c = 1, ncol do
      local cell = fitted and _cut(cells[c], widths[c]) or cells[c]
      parts[#parts + 1] = cell
      if not fitted or c < ncol then parts[#parts + 1] = string.rep(" ", widths[c] + gap - _width(cell)) end
    end
    if fitted then return (table.concat(parts):gsub(" +$", "")) end
    return table.concat(parts)
  end
  local out = { line(shown[1]) }
  for i, row in ipairs(rows) do
    local text = line(shown[i + 1])
    if opts.highlight and (opts.color or opts.mark) and opts.highlight(row, i) then
      if opts.color then text = M.GREEN_BOLD .. text .. M.RESET else text = "*" .. text:sub(2) end
    end
    out[#out + 1] = text
  end
  return table.concat(out, "\n") .. "\n"
end

--- Encodes a value as indented JSON with a trailing newline, keys in the given order first;
-- for a terminal (terminal = true, e.g. M.is_terminal("stdout")) without terminal controls in
-- its strings (astro.json.terminal_safe: the same data).
---@param value any
---@param order? string[]
---@param terminal? boolean
---@return string
function M.json(value, order, terminal)
  return json.encode(value, { indent = "  ", order = order, terminal = terminal }) .. "\n"
end

--- Tells whether a stream is a terminal: "stdout" (default) or "stderr", or a file handle
-- (io.stdout and io.stderr are the terminal when their descriptor is; any other file is not).
-- JSON written to a terminal is encoded with terminal = true (astro.json.terminal_safe).
---@param stream? string|file*
function M.is_terminal(stream)
  if stream == nil or stream == io.stdout then stream = "stdout" elseif stream == io.stderr then stream = "stderr" end
  return type(stream) == "string" and sys.isatty(stream)
end

--- Re-formats an RFC 3339 timestamp as the astro CLI prints it: the original UTC offset kept
-- ("Z" for a zero offset); fractional seconds dropped, or with fraction = true kept with
-- trailing zeros trimmed. An absent value prints as Go's zero time; text that is not a
-- timestamp is returned as it is.
---@param s string|nil
---@param fraction? boolean
---@return string
function M.rfc3339(s, fraction)
  if s == nil or s == "" then return "0001-01-01T00:00:00Z" end
  local base, frac, zone = tostring(s):match("^(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d)(%.?%d*)(.*)$")
  if not base then return s end
  if zone == "z" or zone == "+00:00" or zone == "-00:00" then zone = "Z" end
  if zone ~= "Z" and not zone:match("^[+-]%d%d:%d%d$") then return s end
  local f = ""
  if fraction and #frac > 1 then
    f = frac:gsub("0+$", "")
    if f == "." then f = "" end
  end
  return base .. f .. zone
end

--- Checks an output-format choice from --json / -o. Returns "table", "json" (or "csv" when
-- allow_csv), or nil and a usage error.
function M.format(opts, allow_csv)
  local o = opts.output or ""
  if opts.json and o ~= "" then
    return nil, require("astro.errors").usage(
      "if any flags in the group [json output] are set none of the others can be; [json output] were all set")
  end
  if opts.json or o == "json" then return "json" end
  if o == "" or o == "table" then return "table" end
  if allow_csv and o == "csv" then return "csv" end
  return nil, require("astro.errors").usage(
    string.format('invalid format "%s" (must be %s)', o, allow_csv and "table, json or csv" or "table or json"))
end

--- A value of an API answer shown where text is expected (a name, an email, a role, a
-- date): a string as it is, null or a missing field as "", any other value (a number, a
-- boolean, an object, a list) as its compact JSON text, so that what the server sent is shown
-- rather than lost or turned into a Lua address.
---@param v any
---@return string
function M.text(v)
  if type(v) == "string" then return v end
  if v == nil or v == json.null then return "" end
  local ok, s = pcall(json.encode, v)
  return ok and s or tostring(v)
end

--- Holds what is written to it until :commit() copies it all to stream, so a document is
-- either whole on stream or absent. The text waits in an anonymous temporary file
-- (io.tmpfile(), gone at exit), so memory stays flat however long it is; where no such file
-- can be made it waits in memory. :discard() drops it. Returns an object with :write(...),
-- :commit() (-> true, or nil, message when stream refuses the text) and :discard().
---@param stream file*
function M.spool(stream)
  local file = io.tmpfile()
  local parts = not file and {} or nil
  local sp, failed = {}, nil
  function sp:write(...)
    if failed then return self end
    if file then
      local ok, err = file:write(...)
      if not ok then failed = "cannot hold the output in a temporary file: " .. tostring(err) end
    else
      for i = 1, select("#", ...) do parts[#parts + 1] = select(i, ...) end
    end
    return self
  end
  function sp:commit()
    if failed then self:discard() return nil, failed end
    local ok, err = true, nil
    if not file then
      ok, err = stream:write(table.concat(parts))
    else
      file:seek("set", 0)
      while ok do
        local chunk = file:read(65536)
        if not chunk then break end
        ok, err = stream:write(chunk)
      end
    end
    self:discard()
    if not ok then return nil, "cannot write the output: " .. tostring(err) end
    return true
  end
  function sp:discard()
    if file then file:close() end
    file, parts = nil, {}
  end
  return sp
end

--- Writes a JSON document { <key>: [items...] } item by item, in the layout of M.json, so a
-- long list never has to be held whole in memory. The document goes to stream only at
-- :close(), whole (it waits in M.spool until then): a list that fails half-way leaves
-- nothing on stream. Returns an object with :add(item) and :close() (-> true, or nil, message).
---@param stream file*
---@param key string
---@param order string[] key order for the items
function M.json_list_writer(stream, key, order)
  local w = { n = 0 }
  local terminal = M.is_terminal(stream)
  local sp = M.spool(stream)
  sp:write("{\n  ", json.quote(key), ": [")
  function w:add(item)
    sp:write(self.n > 0 and ",\n    " or "\n    ", json.encode(item, { indent = "  ", order = order, depth = 2,
      terminal = terminal }))
    self.n = self.n + 1
  end
  function w:close()
    sp:write(self.n > 0 and "\n  ]\n}\n" or "]\n}\n")
    return sp:commit()
  end
  return w
end

--- Writes a list as JSON ({ <key>: [items...] }, as M.json_list_writer) or as CSV (a header,
-- then a row per item), item by item and whole or absent (M.spool): the one writer of the list
-- commands' --json and -o csv. spec: key and order (the JSON key and key order), json(item) ->
-- the item as a JSON table, header (the CSV column names), csv(item) -> its cells as strings
-- (on a terminal shown through M.printable, as the table shows them; a file or a pipe gets them
-- as they are). Returns an object with :add(item) and :close() (-> true, or nil, message: what a
-- command's run may return as it is).
---@param stream file*
---@param format string "json" or "csv"
---@param spec {key: string, order?: string[], json: fun(item: any): table, header: string[], csv: fun(item: any): string[]}
function M.list_writer(stream, format, spec)
  if format == "json" then
    local w = M.json_list_writer(stream, spec.key, spec.order)
    return { add = function(_, item) w:add(spec.json(item)) end, close = function() return w:close() end }
  end
  if format ~= "csv" then error("output.list_writer: format must be json or csv", 2) end
  local shown = M.is_terminal(stream) and _printable_value or _unchanged
  local sp = M.spool(stream)
  local w = require("astro.csv").writer(sp, spec.header)
  return {
    add = function(_, item)
      local cells = spec.csv(item)
      for i = 1, #spec.header do cells[i] = shown(cells[i] or "") end
      w:write(cells)
    end,
    close = function() return sp:commit() end,
  }
end

-- The line of a progress bar for a terminal `width` columns wide: at most width - 1
-- characters (so it never wraps, even where a terminal wraps at the last column), as
-- `label [####    ] done/total rate/s ETA Ns` with a bar of 10 to 50 characters; what does not
-- fit goes, in this order: the rate, the ETA, the bar; then the label is cut.
local function _progress_line(width, label, done, total, rate, eta)
  local limit = math.max(width - 1, 1)
  local count = string.format("%d/%d", done, total)
  local tails = { string.format("%s %.1f/s ETA %ds", count, rate, eta), string.format("%s ETA %ds", count, eta), count }
  local lw = _width(label)
  for _, tail in ipairs(tails) do
    local room = limit - lw - #tail - 4   -- the spaces around the bar and its brackets
    if room >= 10 then
      local bar = math.min(room, 50)
      local filled = math.floor(bar * done / total)
      return label .. " [" .. string.rep("#", filled) .. string.rep(" ", bar - filled) .. "] " .. tail
    end
  end
  if lw + 1 + #count <= limit then return label .. " " .. count end
  if #count + 2 <= limit then return _cut(label, limit - #count - 1) .. " " .. count end
  return count:sub(1, limit)
end

--- A progress bar on stderr with rate and ETA, drawn only when stderr is a terminal (the label
-- shown through M.printable), fitted at each step to the terminal's width (M.width("stderr")):
-- its line never wraps, however narrow or wide the window, and finish() clears it.
---@param total integer
---@param label string
function M.progress(total, label)
  label = M.printable(tostring(label))
  local enabled = sys.isatty("stderr") and total > 0
  local t0, done, last, drawn = sys.now(), 0, 0, 0
  local p = {}
  function p.step(n)
    done = done + (n or 1)
    if not enabled then return end
    local now = sys.now()
    if now - last < 0.1 and done < total then return end
    last = now
    local rate = done / math.max(now - t0, 1e-3)
    local eta = rate > 0 and (total - done) / rate or 0
    local width = M.width("stderr")
    local text = _progress_line(width, label, done, total, rate, math.ceil(eta))
    local len = _width(text)
    -- Spaces over what is left of a longer line drawn before (within the width: a window
    -- made narrower since must not wrap).
    drawn = math.min(drawn, width - 1)
    io.stderr:write("\r", text, string.rep(" ", drawn - len))
    drawn = math.max(len, drawn)
  end
  function p.finish()
    if not enabled or drawn == 0 then return end
    io.stderr:write("\r", string.rep(" ", math.min(drawn, M.width("stderr") - 1)), "\r")
  end
  return p
end

return M
