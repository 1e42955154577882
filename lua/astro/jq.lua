--- astro.jq: jq filters (Debian's libjq, jq 1.6) over JSON text or Lua values, the filters of
-- `astro api --jq`. A filter is compiled once and run on as many inputs as needed:
--
--   local jq = require("astro.jq")             -- or astro.jq
--   local names = assert(jq.compile(".users[].username"))
--   for _, name in ipairs(assert(names:run(body, { raw = true }))) do print(name) end
--   local owners = assert(jq.run('[.[] | select(.role == $r)]', users, { vars = { r = "ORGANIZATION_OWNER" } }))
--
-- Outputs are JSON texts (jq -c), indented with `pretty`, and strings as their raw text with
-- `raw` (jq -r); decode them with astro.json when you want Lua values. The filter cannot read
-- the environment (`env` and `$ENV` are {}: the environment holds the API token) nor any
-- file (`input`, `inputs`, `import` fail). Numbers are doubles, as in jq 1.6: integers past
-- 2^53 lose precision.
local core = require("astro.core.jq")
local errors = require("astro.errors")
local json = require("astro.json")

local M = {}

local Filter = {}
Filter.__index = Filter

-- The JSON text of a $name value: text given as is when opts says so, else the Lua value
-- encoded.
local function _vars(vars)
  if vars == nil then return nil end
  if type(vars) ~= "table" then error("astro.jq: vars must be a table of name = value", 3) end
  local out = {}
  for k, v in pairs(vars) do
    if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then
      error("astro.jq: a variable name must be an identifier, got " .. tostring(k), 3)
    end
    out[k] = json.encode(v)
  end
  return out
end

--- Compiles a jq filter. vars binds $name for each name = value (any Lua value JSON can hold).
-- Returns a filter, or nil, err (code "jq") naming what jq refused; code "jq_library" when libjq
-- cannot be opened (jq filters need Debian's libjq1).
---@param expr string
---@param vars? table
---@return table|nil filter
---@return table|nil err
function M.compile(expr, vars)
  if type(expr) ~= "string" then error("astro.jq.compile: the filter must be a string", 2) end
  local f, msg, why = core.compile(expr, _vars(vars))
  if not f then return nil, errors.new(msg, { code = why == "library" and "jq_library" or "jq" }) end
  return setmetatable({ expr = expr, _f = f }, Filter)
end

--- Runs the filter on input: JSON text (one value, or several one after another as in NDJSON)
-- or a Lua value (encoded with astro.json first). opts.raw: strings as their text;
-- opts.pretty: JSON indented by two spaces. Returns the list of outputs (strings), or nil, err
-- (code "jq") for input that is not JSON and for the filter's runtime errors.
---@param input string|table|number|boolean
---@param opts? {raw?: boolean, pretty?: boolean}
---@return string[]|nil
---@return table|nil err
function Filter:run(input, opts)
  opts = opts or {}
  local text = type(input) == "string" and input or json.encode(input)
  local flags = (opts.raw and "r" or "") .. (opts.pretty and "p" or "")
  local out, msg = self._f:run(text, flags)
  if not out then return nil, errors.new(msg, { code = "jq" }) end
  return out
end

--- Compiles expr (with opts.vars) and runs it on input once: Filter:run's result.
---@param expr string
---@param input string|table|number|boolean
---@param opts? {raw?: boolean, pretty?: boolean, vars?: table}
function M.run(expr, input, opts)
  local f, err = M.compile(expr, opts and opts.vars)
  if not f then return nil, err end
  return f:run(input, opts)
end

return M
