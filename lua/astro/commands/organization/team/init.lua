-- `astro organization team`: the group of team commands.
return {
  command = "organization team",
  use = "team",
  aliases = { "te", "teams" },
  short = "Manage teams in your Astro Organization",
  long = "Manage teams in your Astro Organization.",
}
