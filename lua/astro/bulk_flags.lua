-- The flags `user invite` and `user update` take for files (--file, --strict, --json, --report,
-- --rate-limit). Kept apart from astro.bulk_users so that declaring those commands does not load the
-- bulk engine and the CSV reader: only running them with --file does.
local M = {}

M.FLAGS = {
  { name = "file", short = "f", type = "string", default = "",
    help = "CSV file of rows to process (header with email and role; - for standard input)" },
  { name = "strict", type = "bool", help = "With --file: send nothing at all if any row is invalid" },
  { name = "json", type = "bool", help = "With --file: print the report as JSON" },
  { name = "report", type = "string", default = "",
    help = "With --file: also write the report as CSV to this file (feed it back to retry the failed rows)" },
  { name = "rate-limit", type = "string", default = "",
    help = "With --file: requests per second per method, e.g. POST=10,GET=25 (the API's limits by default)" },
}

return M
