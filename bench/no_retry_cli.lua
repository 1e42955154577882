-- For bench/invite.sh: runs the CLI with retries turned off, as the astro CLI behaves (it
-- neither retries a 429 nor paces itself). astro --lua bench/no_retry_cli.lua ARGS...
require("astro.http").policy.max_attempts = 1
os.exit(require("astro.cli").main({ ... }))
