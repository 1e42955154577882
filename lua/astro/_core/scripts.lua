--- `astro run`'s automations: a Lua file (or standard input) compiled as source in an
-- environment of its own (astro._core.userenv), run with its arguments, its result turned into
-- what a command's run returns.
local env = require("astro.core.env")
local errors = require("astro.errors")
local userenv = require("astro._core.userenv")

local M = {}

-- Compiles the script at path (standard input when path is "-", chunk name "stdin") into env.
-- Returns the chunk, or nil and a message.
local function _load(path, script_env, stdin)
  if path ~= "-" then return userenv.loadfile(path, script_env) end
  local text, err = stdin:read("a")
  if not text then return nil, "cannot read stdin: " .. tostring(err) end
  return userenv.load_source(text, "=stdin", "stdin", script_env)
end

--- Runs the script at path with args (arg[1..n] and `...`; arg[0] is path). Returns true, an
-- exit status, false, or nil, err: an error raised in the script is its message (with a
-- traceback when ASTRO_DEBUG is on); returning nil, err or an astro error passes it on.
---@param path string a file, or "-" for standard input
---@param args? string[]
---@param opts? {stdin?: file*, stdout?: file*}
function M.run(path, args, opts)
  opts = opts or {}
  local script_env = userenv.new_env({ name = path == "-" and "stdin" or path })
  local script_args = { [0] = path }
  for i, a in ipairs(args or {}) do script_args[i] = a end
  rawset(script_env, "arg", script_args)
  local fn, err = _load(path, script_env, opts.stdin or io.stdin)
  if not fn then return nil, errors.new(err) end
  local results = table.pack(xpcall(fn, function(e)
    if env.flag("ASTRO_DEBUG") then return debug.traceback(tostring(e), 2) end
    return tostring(e)
  end, table.unpack(script_args, 1, #script_args)))
  if not results[1] then return nil, errors.new(results[2]) end
  local out = opts.stdout or io.stdout
  out:flush()
  local res, rerr = results[2], results[3]
  if errors.is(res) then return nil, res end           -- return astro.errors.new(...)
  if res == nil and rerr ~= nil then return nil, rerr end -- return nil, err
  if math.type(res) == "integer" then return res end
  if res == false then return 1 end
  return true
end

return M
