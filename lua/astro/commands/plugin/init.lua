-- `astro plugin`: the group of plugin commands.
return {
  command = "plugin",
  use = "plugin",
  aliases = { "plugins" },
  short = "Manage astro plugins",
  long = "Plugins are Lua files (name.lua) or folders (name/init.lua) in the plugins folder of the " ..
         "astro config home ($ASTRO_HOME/.astro/plugins or ~/.astro/plugins). See docs/automation.md.",
}
