-- Entry point of the CLI: astro.main.run(args) -> exit code.
local M = {}

function M.run(args)
  return require("astro.cli").main(args)
end

return M
