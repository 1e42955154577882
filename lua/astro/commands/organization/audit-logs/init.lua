-- `astro organization audit-logs`: the group of audit log commands.
return {
  command = "organization audit-logs",
  use = "audit-logs",
  aliases = { "al" },
  short = "Manage your Organization audit logs.",
  long = "Manage your Organization audit logs.",
}
