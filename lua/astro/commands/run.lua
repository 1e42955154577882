-- `astro run FILE [ARGS]`: runs a one-off automation with the public API loaded.
local errors = require("astro.errors")

-- Compiles the script FILE (or standard input when FILE is "-", chunk name "stdin") into env.
-- Returns the chunk, or nil and a message.
local function _load(path, env)
  local sandbox = require("astro.sandbox")
  if path ~= "-" then return sandbox.loadfile(path, env) end
  local text, err = io.stdin:read("a")
  if not text then return nil, "cannot read stdin: " .. tostring(err) end
  return sandbox.load_source(text, "=stdin", "stdin", env)
end

return {
  use = "run FILE [args]",
  short = "Run a Lua automation against the organization API",
  long = "Run a Lua file with the public API loaded: the global `astro` (also require(\"astro\")), " ..
         "`arg` holding FILE at 0 and the arguments after it from 1, and `...` the arguments. " ..
         "FILE may be a pipe (/dev/stdin, <(...)); - reads the script from standard input. " ..
         "Only source files are run, never bytecode. Reading or writing an undeclared global is an " ..
         "error. The file's return value, if an integer, is the exit status; returning nil, err (or an " ..
         "astro error) prints Error: <message> and exits 1, as a plugin's run does. With --dry-run every " ..
         "request that would change something is printed instead of sent. See docs/automation.md.",
  example = "  astro run examples/role_audit.lua --csv\n  astro run --dry-run examples/bulk_invite.lua people.csv",
  args = { max = math.huge, passthrough = true },
  mutates = true,
  run = function(opts, ctx)
    local path = opts.args[1]
    if not path then return nil, errors.usage("astro run needs a Lua file: astro run FILE [ARGS]") end
    local env = require("astro.sandbox").new_env({ name = path == "-" and "stdin" or path })
    local script_args = { [0] = path }
    for i = 2, #opts.args do script_args[i - 1] = opts.args[i] end
    rawset(env, "arg", script_args)
    local fn, err = _load(path, env)
    if not fn then return nil, errors.new(err) end
    local results = table.pack(xpcall(fn, function(e)
      if (os.getenv("ASTRO_DEBUG") or "") ~= "" then return debug.traceback(tostring(e), 2) end
      return tostring(e)
    end, table.unpack(script_args, 1, #script_args)))
    if not results[1] then return nil, errors.new(results[2]) end
    ctx.stdout:flush()
    local res, err = results[2], results[3]
    if errors.is(res) then return nil, res end          -- return astro.errors.new(...)
    if res == nil and err ~= nil then return nil, err end -- return nil, err
    if math.type(res) == "integer" then return res end
    if res == false then return 1 end
    return true
  end,
}
