-- `astro organization team user`: the group of team member commands.
return {
  command = "organization team user",
  use = "user",
  aliases = { "us", "users" },
  short = "Manage users in your Astro Team",
  long = "Manage users in your Astro Team.",
}
