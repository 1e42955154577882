-- `astro version`: what this build is, for bug reports and scripts, and the astro CLI beside it.
local astro = require("astro")
local output = require("astro.output")

-- The line naming the astro CLI that commands this tool does not have are handed to.
local function _astro_cli_line()
  local cli, err = astro.astro_cli()
  if not cli then return "astro CLI: none (" .. output.printable(err.message) .. ")\n" end
  local about = cli.version or ("no version: " .. cli.problem)
  return string.format("astro CLI: %s (%s)\n", output.printable(cli.path), output.printable(about))
end

return {
  command = "version",
  use = "version",
  short = "Show the version of this tool and of what it is built on",
  long = "Show the version of this tool, the astro CLI version whose commands and API use it matches, " ..
         "the versions of Lua and libcurl it runs on, and the astro CLI that commands this tool does not " ..
         "have are handed to (its path and version). `astro --version` prints the same.",
  example = "astro version",
  run = function(_, ctx)
    local v = astro.versions()
    ctx.stdout:write(string.format(
      "astro-lua %s\ncompatible with: astro CLI %s (organization commands)\nLua: %s\nlibcurl: %s\n",
      v.astro, v.astro_cli, v.lua, v.libcurl))
    ctx.stdout:flush()
    ctx.stdout:write(_astro_cli_line())
    return true
  end,
}
