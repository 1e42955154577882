-- `astro run FILE [ARGS]`: runs a one-off automation with the public API loaded.
local astro = require("astro")
local errors = require("astro.errors")

return {
  command = "run",
  use = "run FILE [args]",
  short = "Run a Lua automation against the organization API",
  long = "Run a Lua file with the public API loaded: the global `astro` (also require(\"astro\")), " ..
         "`arg` holding FILE at 0 and the arguments after it from 1, and `...` the arguments. " ..
         "FILE may be a pipe (/dev/stdin, <(...)); - reads the script from standard input. " ..
         "Only source files are run, never bytecode. Reading or writing an undeclared global is an " ..
         "error. The file's return value, if an integer, is the exit status; returning nil, err (or an " ..
         "astro error) prints Error: <message> and exits 1 (2 for astro.errors.usage), as a plugin's run " ..
         "does. With --dry-run every request that would change something is printed instead of sent. " ..
         "See docs/automation.md.",
  example = "  astro run examples/role_audit.lua --csv\n  astro run --dry-run examples/bulk_invite.lua people.csv",
  args = { max = math.huge, passthrough = true },
  mutates = true,
  run = function(opts, ctx)
    local path = opts.args[1]
    if not path then return nil, errors.usage("astro run needs a Lua file: astro run FILE [ARGS]") end
    local script_args = {}
    for i = 2, #opts.args do script_args[i - 1] = opts.args[i] end
    local res, err = astro.run_script(path, script_args, ctx)
    -- A usage error of the script's own is about the script's arguments, which `astro run
    -- --help` does not describe: it exits 2 without the line pointing there.
    if res == nil and errors.is(err) and err.code == "usage" then err.hint = false end
    return res, err
  end,
}
