-- `astro organization role`: the group of role commands.
return {
  command = "organization role",
  use = "role",
  aliases = { "ro", "roles" },
  short = "Manage roles in your Astro Organization",
  long = "Manage roles in your Astro Organization.",
}
