--- The checks of a plugin's command tables: the fields a table and its flags may have, and the
-- messages that name what is wrong. Loaded by astro._core.plugins only when a plugin is loaded.
local M = {}

--- The fields a plugin's command table may have.
M.SPEC_FIELDS = { "command", "use", "aliases", "short", "long", "example", "flags", "args", "mutates",
                  "stdout_data", "wrap", "run" }
local known_field = {}
for _, f in ipairs(M.SPEC_FIELDS) do known_field[f] = true end

--- The fields of a flag declaration, and the flag types the command line knows.
M.FLAG_FIELDS = { "name", "short", "type", "default", "help" }
M.FLAG_TYPES = { string = true, bool = true, strings = true }
local known_flag_field = {}
for _, f in ipairs(M.FLAG_FIELDS) do known_flag_field[f] = true end

-- The message for the first key of t that known lacks, or nil: "<what>: unknown field "x"<where>
-- (known: <names>)".
local function _unknown_field(t, known, names, what, where)
  for k in pairs(t) do
    if not known[k] then
      return string.format("%s: unknown field %q%s (known: %s)", what, tostring(k), where or "",
        table.concat(names, ", "))
    end
  end
end

--- Checks the flags of a command table. Returns true or nil, message.
function M.flags(flags, path)
  if type(flags) ~= "table" then
    return nil, path .. ': flags must be a list such as { { name = "reason", type = "string" } }'
  end
  for i, f in ipairs(flags) do
    local what = string.format("%s: flag %d", path, i)
    if type(f) ~= "table" then return nil, what .. " must be a table such as { name = \"reason\", type = \"string\" }" end
    local unknown = _unknown_field(f, known_flag_field, M.FLAG_FIELDS, what)
    if unknown then return nil, unknown end
    if type(f.name) ~= "string" or not f.name:match("^%a[%w-]*$") then
      return nil, what .. ": name must be a word such as \"reason\" or \"dry-run\""
    end
    what = string.format("%s: flag --%s", path, f.name)
    local t = f.type or "string"
    if not M.FLAG_TYPES[t] then
      return nil, string.format('%s: type %q is not one the command line knows: use "string", "bool" or "strings"',
        what, tostring(f.type))
    end
    if f.short ~= nil and (type(f.short) ~= "string" or not f.short:match("^%a$")) then
      return nil, what .. ": short must be one letter"
    end
    if t == "strings" and f.default ~= nil then
      return nil, what .. ": a strings flag has no default (it holds the values given, in order, or an empty list)"
    end
    if f.default ~= nil and type(f.default) ~= (t == "bool" and "boolean" or "string") then
      return nil, string.format("%s: default must be a %s", what, t == "bool" and "boolean" or "string")
    end
    if f.help ~= nil and type(f.help) ~= "string" then return nil, what .. ": help must be a string" end
  end
  return true
end

--- Checks the shape of one command table a plugin returned (filling `use` from `command`
-- when it is left out). Returns true or nil, message.
function M.spec(spec, path)
  if type(spec) ~= "table" then
    return nil, path .. ": a plugin must return a command table (or a list of them), got " .. type(spec)
  end
  local unknown = _unknown_field(spec, known_field, M.SPEC_FIELDS, path, " in the command table")
  if unknown then return nil, unknown end
  if spec.args ~= nil and type(spec.args) ~= "table" then
    return nil, path .. ": args must be a table such as { min = 1, max = 1 }"
  end
  if type(spec.command) ~= "string" or not spec.command:match("%S") then
    return nil, path .. ': the command table needs `command`, e.g. command = "organization user offboard"'
  end
  local last = spec.command:match("(%S+)%s*$")
  if spec.use == nil then
    spec.use = last
  elseif type(spec.use) ~= "string" or spec.use:match("^(%S+)") ~= last then
    return nil, string.format("%s: use %q must start with the command's last word %q", path, tostring(spec.use), last)
  end
  if spec.flags ~= nil then
    local ok, err = M.flags(spec.flags, path)
    if not ok then return nil, err end
  end
  for _, k in ipairs({ "short", "long", "example" }) do
    if spec[k] ~= nil and type(spec[k]) ~= "string" then return nil, path .. ": " .. k .. " must be a string" end
  end
  if spec.run ~= nil and type(spec.run) ~= "function" then return nil, path .. ": run must be a function" end
  if spec.wrap and type(spec.run) ~= "function" then return nil, path .. ": a wrapping plugin needs a run function" end
  return true
end

-- A plain copy of a list of plain values (strings, numbers, booleans), or of a table of them.
local function _copy_values(t)
  if type(t) ~= "table" then return t end
  local c = {}
  for k, v in pairs(t) do
    if type(v) ~= "table" then c[k] = v end
  end
  return c
end

--- A plain copy of a command table that passed M.spec: its known fields read once, lists and
-- flags copied into tables of astro's own (no metatable), so nothing of the plugin's runs when
-- astro reads them later (the run function is the plugin's).
function M.copy(spec)
  local c = {}
  for _, k in ipairs(M.SPEC_FIELDS) do c[k] = _copy_values(spec[k]) end
  if spec.flags ~= nil then
    c.flags = {}
    for i, f in ipairs(spec.flags) do
      local fc = {}
      for _, k in ipairs(M.FLAG_FIELDS) do fc[k] = f[k] end
      c.flags[i] = fc
    end
  end
  return c
end

return M
