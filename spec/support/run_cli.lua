-- Runs the astro CLI inside a script after changing the HTTP policy, for specs:
--   astro --lua spec/support/run_cli.lua '<policy as key=value,...>' organization list ...
-- Prints nothing itself; exits with the CLI's status.
local http = require("astro.http")
for k, v in (arg[1] or ""):gmatch("([%w_]+)=([^,]+)") do http.policy[k] = tonumber(v) or v end
local args = {}
for i = 2, #arg do args[#args + 1] = arg[i] end
os.exit(require("astro.cli").main(args))
