--- JSON for astro: lua-cjson's fast decoder with its 2.1.0 quirks fixed, and an encoder of our own.
--
-- * Decoding: integral numbers come back as Lua integers (lua-cjson 2.1.0 gives floats); an
--   empty JSON object decodes to a table marked with json.object(), so it encodes back as {}.
--   Errors are values: json.decode(text) -> value | nil, message.
-- * Encoding: an empty table, or a sequence, encodes as an array (`[]`); tables marked with
--   json.object() or with string keys encode as objects. `/` is never escaped. Object keys come
--   out in a stable order: those listed in opts.order first (in that order), then the rest sorted.
--   opts.indent (e.g. "  ") pretty-prints like Go's json.MarshalIndent.
local cjson = require("cjson.safe")
local sys = require("astro.core.sys")

local M = {}

--- The JSON null value (decoded `null` inside arrays and objects is this value).
M.null = cjson.null

local object_mt = { __name = "astro.json.object" }
local array_mt = { __name = "astro.json.array" }

--- Marks a table so it encodes as a JSON object, even when empty. Returns the table.
---@param t table|nil
---@return table
function M.object(t) return setmetatable(t or {}, object_mt) end

--- Marks a table so it encodes as a JSON array, even when empty. Returns the table.
---@param t table|nil
---@return table
function M.array(t) return setmetatable(t or {}, array_mt) end

--- Tells whether a table was marked as (or decoded from) a JSON object.
function M.is_object(t) return getmetatable(t) == object_mt end

-- An empty object `{}` goes through lua-cjson as this string, then becomes an empty table
-- marked as an object (a JSON string that decodes to exactly this value comes back as an
-- empty object too: it starts with a control character no API answer holds). A short string
-- rather than a marked object: the text lua-cjson reads is a third as long, and it makes no
-- table and key for each one (Lua interns the string).
local EMPTY_OBJECT = "\1{}"
local EMPTY_OBJECT_TOKEN = '"\\u0001{}"'

-- How many steps of the Lua part of a decode run between two looks at the interrupt flag.
local INTERRUPT_EVERY = 4096
local INTERRUPTED = setmetatable({}, { __name = "astro.json.interrupted" })

-- Raises INTERRUPTED when Ctrl-C (or SIGTERM) has arrived; M.decode turns it into an error value.
local function _check_interrupt()
  if sys.interrupted() then error(INTERRUPTED, 0) end
end

-- The text between strings goes through gsub in pieces of about this many bytes, with a look
-- at the interrupt flag between them.
local PIECE = 1 << 20

-- Replaces the empty objects of text outside strings (from..to), adding the result to out.
local function _mark_between(text, from, to, out)
  while from <= to do
    -- Cut after a character that is neither `{` nor white space: no `{ }` spans the cut.
    local cut = to
    if to - from > PIECE then cut = math.min(text:find("[^%s{]", from + PIECE) or to, to) end
    local piece = text:sub(from, cut)
    out[#out + 1] = piece:find("{", 1, true) and piece:gsub("{%s*}", EMPTY_OBJECT_TOKEN) or piece
    from = cut + 1
    if from <= to then _check_interrupt() end
  end
end

-- Replaces each empty object `{}` outside strings by a token that survives decoding, so it
-- can be told from an empty array afterwards. One pass: each string is skipped from its
-- opening quote to its closing one (a backslash escapes the character after it), and the
-- text between two strings is rewritten only when it holds an empty object. `brace`, the next
-- `{` at or after `pos`, is searched for again only once `pos` has passed it, so no stretch of
-- text is searched twice.
local function _mark_empty_objects(text)
  local brace = text:find("{", 1, true)  -- a plain search first: most bodies hold no `{ }`
  while brace and not text:find("^%s*}", brace + 1) do brace = text:find("{", brace + 1, true) end
  if not brace then return text end
  local out, last, pos, n, strings = {}, 1, 1, #text, 0   -- text before `last` is in out
  while pos <= n do
    local open = text:find('"', pos, true)
    local stop = (open or n + 1) - 1     -- pos..stop lies between strings
    if brace and brace < pos then brace = text:find("{", pos, true) end
    while brace and brace <= stop and not text:find("^%s*}", brace + 1) do
      brace = text:find("{", brace + 1, true)
    end
    if brace and brace <= stop then
      if last < pos then out[#out + 1] = text:sub(last, pos - 1) end
      _mark_between(text, pos, stop, out)
      last = stop + 1
    end
    if not open then break end
    local i = open + 1
    while true do                  -- to the closing quote, or the end of an unterminated string
      local c = text:find('["\\]', i)
      if not c then i = n + 1 break end
      i = c + 1
      if text:byte(c) == 34 then break end
      i = i + 1
    end
    pos = i
    strings = strings + 1
    if strings % INTERRUPT_EVERY == 0 then _check_interrupt() end
  end
  if last <= n then out[#out + 1] = text:sub(last) end
  return table.concat(out)
end

local tointeger, mtype = math.tointeger, math.type

-- Converts integral floats to integers and restores marked empty objects, in place. `n` counts
-- the tables visited so far (for the interrupt check); returns the new count.
local function _fix(v, n)
  n = n + 1
  if n % INTERRUPT_EVERY == 0 then _check_interrupt() end
  for k, x in pairs(v) do
    if x == EMPTY_OBJECT then
      v[k] = setmetatable({}, object_mt)
      n = n + 1
      if n % INTERRUPT_EVERY == 0 then _check_interrupt() end
    elseif type(x) == "table" then
      n = _fix(x, n)
    elseif mtype(x) == "float" then
      local i = tointeger(x)
      if i and x > -9007199254740992 and x < 9007199254740992 then v[k] = i end
    end
  end
  return n
end

-- The body of M.decode; raises INTERRUPTED when a signal arrives while it works.
local function _decode(text)
  local ok, value = pcall(cjson.decode, _mark_empty_objects(text))
  if not ok or (value == nil and text:match("^%s*null%s*$") == nil) then
    local msg = ok and "invalid JSON" or tostring(value)
    local _, err = cjson.decode(text)
    return nil, err or msg
  end
  _check_interrupt()
  if value == EMPTY_OBJECT then
    return setmetatable({}, object_mt)
  elseif type(value) == "table" then
    _fix(value, 0)
  elseif mtype(value) == "float" then
    value = tointeger(value) or value
  end
  return value
end

--- Decodes JSON text. Time and memory grow linearly with the text. The Lua part of the work
-- looks at the interrupt flag every few thousand steps: after Ctrl-C it gives up with
-- nil, "interrupted". lua-cjson's own pass, in C, runs to its end first: for the most a
-- response may hold (64 MB, all `{}`), about 3 s (bench/json_decode.lua).
---@param text string
---@return any value decoded value, or nil on error
---@return string|nil message why the text is not valid JSON, or "interrupted"
function M.decode(text)
  if type(text) ~= "string" then
    error("json.decode expects a string, got " .. type(text), 2)
  end
  local ok, value, err = pcall(_decode, text)
  if ok then return value, err end
  if value == INTERRUPTED then return nil, "interrupted" end
  error(value, 0)
end

-- Encoder ---------------------------------------------------------------------------------

local escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}
for i = 0, 31 do
  local c = string.char(i)
  if not escapes[c] then escapes[c] = string.format("\\u%04x", i) end
end
escapes["\127"] = "\\u007f"

local function _quote(s)
  return '"' .. s:gsub('[%c"\\]', escapes) .. '"'
end
M.quote = _quote

-- The \u escape of a UTF-8 sequence.
local function _u_escape(seq) return string.format("\\u%04x", utf8.codepoint(seq)) end

--- JSON text made safe for a terminal without changing its data: C1 controls (U+0080-U+009F),
-- bidi controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the line and
-- paragraph separators (U+2028, U+2029) become \u escapes, which decode to the same string;
-- a byte that is not UTF-8 (which no JSON may hold) becomes \ufffd. Non-ASCII bytes occur only
-- inside strings of encoded JSON, so only string contents change.
---@param text string encoded JSON
---@return string
function M.terminal_safe(text)
  if not text:find("[\128-\255]") then return text end
  local parts, i = {}, 1
  while true do
    local ok, bad = utf8.len(text, i)
    if ok then parts[#parts + 1] = text:sub(i) break end
    parts[#parts + 1] = text:sub(i, bad - 1)
    parts[#parts + 1] = "\\ufffd"
    i = bad + 1
  end
  text = table.concat(parts)
  text = text:gsub("\194[\128-\159]", _u_escape):gsub("\216\156", _u_escape)
    :gsub("\226\128[\142\143\168-\174]", _u_escape):gsub("\226\129[\166-\169]", _u_escape)
  return text
end

local function _number(n)
  if mtype(n) == "integer" then return string.format("%d", n) end
  if n ~= n or n == math.huge or n == -math.huge then
    error("cannot encode " .. tostring(n) .. " as JSON", 0)
  end
  local i = tointeger(n)
  if i and n > -1e15 and n < 1e15 then return string.format("%d", i) end
  for p = 15, 17 do
    local s = string.format("%." .. p .. "g", n)
    if tonumber(s) == n then return s end
  end
  return string.format("%.17g", n)
end

local function _is_array(t)
  local mt = getmetatable(t)
  if mt == array_mt then return true end
  if mt == object_mt then return false end
  local n = #t
  if n == 0 then
    local iter, state, first = pairs(t) -- pairs, not next: a read-only view of user code has __pairs
    return iter(state, first) == nil
  end
  local count = 0
  for _ in pairs(t) do count = count + 1 end
  return count == n
end

local function _sorted_keys(t, rank)
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then
      error("cannot encode a table with a " .. type(k) .. " key as a JSON object", 0)
    end
    keys[#keys + 1] = k
  end
  table.sort(keys, function(a, b)
    local ra, rb = rank[a], rank[b]
    if ra and rb then return ra < rb end
    if ra or rb then return ra ~= nil end
    return a < b
  end)
  return keys
end

local function _encode(v, buf, indent, depth, rank, seen)
  local t = type(v)
  if t == "string" then
    buf[#buf + 1] = _quote(v)
  elseif t == "number" then
    buf[#buf + 1] = _number(v)
  elseif t == "boolean" then
    buf[#buf + 1] = v and "true" or "false"
  elseif v == nil or v == M.null then
    buf[#buf + 1] = "null"
  elseif t == "table" then
    if seen[v] then error("cannot encode a table that contains itself as JSON", 0) end
    if depth > 100 then error("cannot encode JSON nested deeper than 100 levels", 0) end
    seen[v] = true
    local nl = indent and ("\n" .. indent:rep(depth + 1)) or ""
    local close_nl = indent and ("\n" .. indent:rep(depth)) or ""
    if _is_array(v) then
      if #v == 0 then
        buf[#buf + 1] = "[]"
      else
        buf[#buf + 1] = "["
        for i = 1, #v do
          if i > 1 then buf[#buf + 1] = "," end
          buf[#buf + 1] = nl
          _encode(v[i], buf, indent, depth + 1, rank, seen)
        end
        buf[#buf + 1] = close_nl .. "]"
      end
    else
      local keys = _sorted_keys(v, rank)
      if #keys == 0 then
        buf[#buf + 1] = "{}"
      else
        local sep = indent and '": ' or '":'
        buf[#buf + 1] = "{"
        for i, k in ipairs(keys) do
          if i > 1 then buf[#buf + 1] = "," end
          buf[#buf + 1] = nl .. _quote(k):sub(1, -2) .. sep
          _encode(v[k], buf, indent, depth + 1, rank, seen)
        end
        buf[#buf + 1] = close_nl .. "}"
      end
    end
    seen[v] = nil
  else
    error("cannot encode a " .. t .. " value as JSON", 0)
  end
end

--- Encodes a Lua value as JSON text. Raises on values JSON cannot hold (functions, cycles,
-- NaN): those are programming mistakes.
---@param value any
---@param opts? {indent?: string, order?: string[], depth?: integer, terminal?: boolean}
--   depth: the nesting level the value sits at (for streaming the items of a list);
--   terminal: the text is for a terminal (M.terminal_safe: same data, no terminal controls).
---@return string
function M.encode(value, opts)
  opts = opts or {}
  local rank = {}
  for i, k in ipairs(opts.order or {}) do rank[k] = i end
  local buf = {}
  local ok, err = pcall(_encode, value, buf, opts.indent, opts.depth or 0, rank, {})
  if not ok then error(err, 2) end
  if opts.terminal then return M.terminal_safe(table.concat(buf)) end
  return table.concat(buf)
end

return M
