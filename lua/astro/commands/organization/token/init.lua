-- `astro organization token`: the group of Organization API token commands.
return {
  command = "organization token",
  use = "token",
  aliases = { "to" },
  short = "Manage tokens in your Astro Organization",
  long = "Manage tokens in your Astro Organization.",
}
