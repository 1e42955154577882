-- Prints the credential astro.auth resolves for a context with no token (for auth_spec).
local cred, err = require("astro._core.auth").credential({}, { token = "", domain = "astronomer.io" })
print(cred and (cred.source .. " " .. tostring(cred.organization)) or err.message)
