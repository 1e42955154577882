-- `astro plugin list`: which plugins are loaded from where, and which were refused and why.
local astro = require("astro")
local output = require("astro.output")

return {
  command = "plugin list",
  use = "list",
  aliases = { "ls" },
  short = "List the plugins found, what they add, and any that failed to load",
  example = "astro plugin list",
  run = function(_, ctx)
    local report = astro.plugins.report()
    ctx.stdout:write("Plugins folder: ", output.printable(report.dir or "(no config home)"), "\n\n")
    local rows = {}
    for _, p in ipairs(report.loaded) do
      for _, s in ipairs(p.specs) do
        rows[#rows + 1] = { p.name, "astro " .. s.command, s.wrap and "wraps" or "adds", p.path }
      end
    end
    ctx.stdout:write(output.table({ "NAME", "COMMAND", "STATUS", "FILE" }, rows))
    if #report.failed > 0 then
      ctx.stdout:write("\nNot loaded:\n")
      for _, f in ipairs(report.failed) do ctx.stdout:write("  ", output.printable(f.error), "\n") end
    end
    return #report.failed == 0 and true or 1
  end,
}
