-- `astro version`: what this build is, for bug reports and scripts.
return {
  use = "version",
  short = "Show the version of this tool and of what it is built on",
  long = "Show the version of this tool, the astro CLI version whose commands and API use it matches, " ..
         "and the versions of Lua and libcurl it runs on. `astro --version` prints the same.",
  example = "astro version",
  run = function(_, ctx)
    local host, api = require("astro.core.host"), require("astro.api")
    ctx.stdout:write(string.format(
      "astro-lua %s\ncompatible with: astro CLI %s (organization commands)\nLua: %s\nlibcurl: %s\n",
      host.version, api.CLIENT_VERSION, host.lua_release, require("astro.core.http").version()))
    return true
  end,
}
