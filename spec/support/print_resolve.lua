-- Prints what astro.core.auth.resolve gives for the context token in arg[1] (for auth_spec).
local header, source = require("astro.core.auth").resolve(arg[1])
print(tostring(header) .. "|" .. tostring(source))
