-- `astro organization`: the group of organization commands.
return {
  command = "organization",
  use = "organization",
  aliases = { "org" },
  short = "Manage Astronomer Organizations",
  long = "Manage your Astro Organizations. These commands are for users in more than one Organization",
}
