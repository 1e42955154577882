-- `astro version`: what this build is, for bug reports and scripts.
local astro = require("astro")

return {
  command = "version",
  use = "version",
  short = "Show the version of this tool and of what it is built on",
  long = "Show the version of this tool, the astro CLI version whose commands and API use it matches, " ..
         "and the versions of Lua and libcurl it runs on. `astro --version` prints the same.",
  example = "astro version",
  run = function(_, ctx)
    local v = astro.versions()
    ctx.stdout:write(string.format(
      "astro-lua %s\ncompatible with: astro CLI %s (organization commands)\nLua: %s\nlibcurl: %s\n",
      v.astro, v.astro_cli, v.lua, v.libcurl))
    return true
  end,
}
