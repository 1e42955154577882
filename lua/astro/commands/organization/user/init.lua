-- `astro organization user`: the group of user commands.
return {
  command = "organization user",
  use = "user",
  aliases = { "us", "users" },
  short = "Manage users in your Astro Organization",
  long = "Manage users in your Astro Organization.",
}
