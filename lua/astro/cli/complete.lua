--- Shell completion, as cobra-based CLIs give it: `astro completion bash|zsh|fish` prints a
-- script, and the script asks the binary for candidates at every Tab through the hidden
-- `astro __complete WORD... CURRENT`. Loaded by astro.cli only for those two commands.
--
-- The protocol of __complete (cobra's, cut down): the arguments are the words typed after
-- `astro` up to the cursor, the last one being the word under completion ("" for a new word).
-- The answer is one candidate a line, optionally followed by a tab and a description, then a
-- last line ":<directive>": 0 lets the shell complete file names when there is no candidate,
-- 4 (cobra's ShellCompDirectiveNoFileComp) does not. A candidate always has the whole word's
-- form: completing `--role=OR` gives `--role=ORGANIZATION_MEMBER`.
--
-- What is completed: command names at every level (an alias when no name fits), `help` and
-- `completion` at the top, long and short flags (the command's, the global ones, --help)
-- but those already given, the values of the flags named in VALUES, file names for the flags
-- named in FILE_FLAGS and for the file of a command whose arguments pass through (astro run
-- FILE). The tree is the one the command line parses, plugins mounted: their commands and
-- flags complete too. Nothing is sent and nothing is written.
local output = require("astro.output")
local roles = require("astro.roles")
local tree = require("astro.cli.tree")

local M = {}

--- The directives of the last line (cobra's values).
M.FILES, M.NO_FILES = 0, 4

--- What M.candidates gives (with nil) for a line whose first command word this tool does not
-- have: that command belongs to the astro CLI, which the command line hands it to.
M.FOREIGN = "foreign"

--- The values a flag takes, by flag name (a plugin's flag of the same name gets them too).
M.VALUES = {
  role = roles.VALID,
  output = { "table", "json", "csv" },
  verbosity = { "debug", "info", "warn", "error", "fatal", "panic", "trace" },
  method = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS" },
}

--- The flags whose value is a file name.
M.FILE_FLAGS = { file = true, report = true, ["output-file"] = true, input = true }

--- The shells a script is made for.
M.SHELLS = { "bash", "fish", "zsh" }

local _find_flag = tree.find_flag

-- A description on one line, safe for a terminal (a plugin's text shown by zsh and fish).
local function _one_line(text)
  return output.printable(((text or ""):gsub("[%c%s]+", " "):gsub("^ ", ""):gsub(" $", "")))
end

-- Tells whether a candidate can be typed as one word and shown as it is.
local function _typable(word)
  return word ~= "" and not word:find("[%s%c]") and output.printable(word) == word
end

local function _starts(s, prefix) return s:sub(1, #prefix) == prefix end

-- Candidates { value, description } for the value of flag f typed as `cur` after `lead` (the
-- "--name=" of the same word, or ""). Returns the list and the directive.
local function _values(f, cur, lead)
  if M.FILE_FLAGS[f.name] then return {}, M.FILES end
  local out = {}
  for _, v in ipairs(M.VALUES[f.name] or {}) do
    if _starts(v, cur) then out[#out + 1] = { lead .. v, "" } end
  end
  return out, M.NO_FILES
end

-- The flags of node (its own, the global ones, --help) that start with cur, but those in given
-- (a flag that may be given many times, type "strings", is offered again).
local function _flags(node, cur, given)
  local all = {}
  for _, set in ipairs({ node.flags, tree.GLOBAL_FLAGS, { tree.HELP_FLAG } }) do
    for _, f in ipairs(set) do all[#all + 1] = f end
  end
  table.sort(all, function(a, b) return a.name < b.name end)
  local out = {}
  for _, f in ipairs(all) do
    if not given[f.name] or f.type == "strings" then
      local help = f.name == "help" and ("help for " .. node.name) or _one_line(f.help)
      if _starts("--" .. f.name, cur) then out[#out + 1] = { "--" .. f.name, help } end
      if f.short and _starts("-" .. f.short, cur) then out[#out + 1] = { "-" .. f.short, help } end
    end
  end
  return out
end

-- The subcommands of node whose name starts with cur; when none does, those with an alias that
-- does (as the alias). At the top, `help` too, and with foreign, the astro CLI's commands when
-- there is one.
local function _commands(node, cur, foreign)
  local out, mine = {}, {}
  local children = tree.children(node)
  for _, c in ipairs(children) do
    mine[c.name] = true
    if _typable(c.name) and _starts(c.name, cur) then out[#out + 1] = { c.name, _one_line(c.spec.short) } end
  end
  for _, b in ipairs(tree.builtins(node)) do
    if _starts(b.name, cur) then out[#out + 1] = { b.name, b.short } end
  end
  -- At the top, with an astro CLI beside this tool: the commands it would be handed (their
  -- names from a list, not by asking that CLI, whose start at each Tab would cost too much).
  if foreign and node.parent == nil then
    local passthrough = require("astro._core.passthrough")
    local names = {}
    for name in pairs(passthrough.ASTRO_CLI_COMMANDS) do
      if not mine[name] and _starts(name, cur) then names[#names + 1] = name end
    end
    if #names > 0 and passthrough.find() then
      for _, name in ipairs(names) do out[#out + 1] = { name, "a command of the astro CLI" } end
    end
  end
  if #out == 0 then
    for _, c in ipairs(children) do
      for _, a in ipairs(c.spec.aliases or {}) do
        if type(a) == "string" and _typable(a) and _starts(a, cur) then
          out[#out + 1] = { a, _one_line(c.spec.short) }
        end
      end
    end
  end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end

--- The candidates for the last of words, the others being the words typed before it (after
-- `astro`), against the command tree root. Returns a list of { value, description } and the
-- directive (M.FILES or M.NO_FILES); or nil, M.FOREIGN when the first command word is not one
-- of this tool's.
---@param root table
---@param words string[]
---@return table[] candidates
---@return integer directive
function M.candidates(root, words)
  local cur = words[#words] or ""
  local n = #words - 1
  local node, positional, done_flags, help_mode = root, 0, false, false
  local given, pending = {}, nil
  local i = 1
  if n >= 1 and words[1] == "help" and not tree.child(root, "help") then help_mode, i = true, 2 end
  while i <= n do
    local a = words[i]
    if pending then
      pending = nil
    elseif done_flags or (positional > 0 and node.spec.args and node.spec.args.passthrough) then
      positional = positional + 1
    elseif a == "--" then
      done_flags = true
    elseif a:sub(1, 1) == "-" and #a > 1 then
      local long = a:match("^%-%-([^=]+)")
      if long then
        local f = _find_flag(node, long)
        if f then
          given[f.name] = true
          if f.type ~= "bool" and not a:find("=", 1, true) then pending = f end
        end
      else
        local body = a:sub(2)
        for j = 1, #body do
          local f = _find_flag(node, nil, body:sub(j, j))
          if not f then break end
          given[f.name] = true
          if f.type ~= "bool" then
            if j == #body then pending = f end
            break
          end
        end
      end
    elseif positional == 0 and tree.child(node, a) then
      node = tree.child(node, a)
    elseif node == root and positional == 0 and not help_mode then
      return nil, M.FOREIGN -- a command of the astro CLI's (passthrough)
    else
      positional = positional + 1
    end
    i = i + 1
  end
  if help_mode then
    if positional > 0 or cur:sub(1, 1) == "-" then return {}, M.NO_FILES end
    return _commands(node, cur), M.NO_FILES
  end
  if pending then return _values(pending, cur, "") end
  local passthrough = node.spec.args and node.spec.args.passthrough
  if not done_flags and cur:sub(1, 1) == "-" and not (passthrough and positional > 0) then
    local long, value = cur:match("^%-%-([^=]+)=(.*)$")
    if long then
      local f = _find_flag(node, long)
      if f and f.type ~= "bool" then return _values(f, value, "--" .. long .. "=") end
      return {}, M.NO_FILES
    end
    return _flags(node, cur, given), M.NO_FILES
  end
  if passthrough and node.spec.run then return {}, M.FILES end
  if positional == 0 and tree.has_children(node) then return _commands(node, cur, true), M.NO_FILES end
  return {}, M.NO_FILES
end

--- Answers `astro __complete WORD... CURRENT` on out: the candidates, one a line with a tab and
-- their description when they have one, then ":<directive>". Returns 0. A line whose first
-- command word is the astro CLI's is handed to that CLI's own __complete (exec), so
-- `astro deploy <Tab>` completes as the astro CLI does.
---@param root table the command tree, plugins mounted
---@param words string[]
---@param out file*
function M.complete(root, words, out)
  if not tree.child(root, "completion") then M.mount(root) end
  local list, directive = M.candidates(root, words)
  if list == nil then
    -- Completed by the astro CLI the command would be handed to, when there is one.
    require("astro._core.passthrough").complete(words)
    list, directive = {}, M.NO_FILES
  end
  for _, c in ipairs(list) do
    out:write(c[1], c[2] ~= "" and ("\t" .. c[2]) or "", "\n")
  end
  out:write(":", tostring(directive), "\n")
  return 0
end

M.BASH = [==[
# bash completion for astro                                 -*- shell-script -*-
# Generated by `astro completion bash`; needs bash 4 or later and nothing else (bash-completion
# is not needed). Every Tab asks the binary: `astro __complete WORD... CURRENT` prints the
# candidates, one a line (a tab and a description may follow), then ":<directive>" (bit 4: do
# not complete file names).

_astro() {
    local i w n real full out line c directive=0
    local -a words=() lines=()
    COMPREPLY=()
    # bash splits "--flag=value" at "=" (COMP_WORDBREAKS): put such words back together.
    for ((i = 1; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        n=${#words[@]}
        if ((n > 0)) && [[ $w == "=" && ${words[n-1]} == -* && ${words[n-1]} != *=* ]]; then
            words[n-1]+="="
        elif ((n > 0)) && [[ ${words[n-1]} == -*= && $w != "=" ]]; then
            words[n-1]+=$w
        else
            words+=("$w")
        fi
    done
    real=${COMP_WORDS[COMP_CWORD]}
    n=${#words[@]}
    full=${words[n-1]}
    unset 'words[n-1]'
    out=$("${COMP_WORDS[0]}" __complete "${words[@]}" "$full" 2>/dev/null) || return 0
    mapfile -t lines <<<"$out"
    n=${#lines[@]}
    if ((n > 0)) && [[ ${lines[n-1]} == :* ]]; then
        directive=${lines[n-1]#:}
        unset 'lines[n-1]'
    fi
    [[ $directive =~ ^[0-9]+$ ]] || directive=0
    # A candidate has the whole word's form; bash replaces only its last piece ($real).
    for line in "${lines[@]}"; do
        c=${line%%$'\t'*}
        [[ -n $c && $c == "$full"* ]] && COMPREPLY+=("${c:${#full}-${#real}}")
    done
    if ((${#COMPREPLY[@]} == 0 && (directive & 4) == 0)); then
        local pre="" fcur=$full
        if [[ $full == -*=* ]]; then
            pre=${full%%=*}=
            fcur=${full#*=}
        fi
        compopt -o filenames 2>/dev/null
        while IFS= read -r w; do
            c=$pre$w
            COMPREPLY+=("${c:${#full}-${#real}}")
        done < <(compgen -f -- "$fcur")
    fi
    return 0
}

complete -F _astro astro
]==]

M.ZSH = [==[
#compdef astro
compdef _astro astro

# zsh completion for astro, generated by `astro completion zsh`. Every Tab asks the binary:
# `astro __complete WORD... CURRENT` prints the candidates, one a line (a tab and a description
# may follow), then ":<directive>" (bit 4: do not complete file names).

_astro() {
    local cur=${words[CURRENT]} out line val desc directive=0
    local -a lines cands
    out=$(${words[1]} __complete "${(@)words[2,CURRENT-1]}" "$cur" 2>/dev/null) || return 1
    lines=("${(@f)out}")
    if (( ${#lines} > 0 )) && [[ ${lines[-1]} == :* ]]; then
        directive=${lines[-1]#:}
        lines[-1]=()
    fi
    [[ $directive == <-> ]] || directive=0
    for line in "${lines[@]}"; do
        [[ -n $line ]] || continue
        val=${line%%$'\t'*}
        desc=
        [[ $line == *$'\t'* ]] && desc=${line#*$'\t'}
        val=${val//:/\\:}
        if [[ -n $desc ]]; then cands+=("$val:$desc"); else cands+=("$val"); fi
    done
    if (( ${#cands} > 0 )); then
        _describe -t astro 'astro' cands
        return
    fi
    if (( (directive & 4) == 0 )); then
        [[ $cur == -*=* ]] && compset -P '*='
        _files
        return
    fi
    return 1
}

# When loaded from fpath (autoload), run at once; when sourced, compdef above is enough.
if [ "$funcstack[1]" = "_astro" ]; then
    _astro "$@"
fi
]==]

M.FISH = [==[
# fish completion for astro, generated by `astro completion fish`. Every Tab asks the binary:
# `astro __complete WORD... CURRENT` prints the candidates, one a line (a tab and a description
# may follow), then ":<directive>" (bit 4: do not complete file names).

function __astro_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l bin $tokens[1]
    set -e tokens[1]
    set -l out ($bin __complete $tokens $cur 2>/dev/null)
    or return
    set -l directive 0
    if test (count $out) -gt 0; and string match -qr -- '^:[0-9]+$' $out[-1]
        set directive (string sub -s 2 -- $out[-1])
        set -e out[-1]
    end
    if test (count $out) -gt 0
        printf '%s\n' $out
        return
    end
    if test (math "floor($directive / 4) % 2") -eq 0
        set -l pre (string match -r -- '^-[^=]*=' $cur)
        for p in (__fish_complete_path (string replace -r -- '^-[^=]*=' '' $cur))
            echo "$pre$p"
        end
    end
end

complete -c astro -e
complete -c astro -f -a '(__astro_complete)'
]==]

local SCRIPTS = { bash = M.BASH, zsh = M.ZSH, fish = M.FISH }

local LONG = {
  bash = "Generate the autocompletion script for the bash shell (4 or later; the bash-completion\n" ..
         "package is not needed).\n\n" ..
         "To load completions in your current shell session:\n\n" ..
         "\tsource <(astro completion bash)\n\n" ..
         "To load completions for every new session, execute once:\n\n" ..
         "\tastro completion bash > ~/.local/share/bash-completion/completions/astro\n\n" ..
         "(with bash-completion installed; without it, add the first line to ~/.bashrc).\n" ..
         "`cmake --install` puts it in <prefix>/share/bash-completion/completions/astro.\n\n" ..
         "You will need to start a new shell for this setup to take effect.",
  zsh = "Generate the autocompletion script for the zsh shell.\n\n" ..
        "If shell completion is not already enabled in your environment you will need\n" ..
        "to enable it.  You can execute the following once:\n\n" ..
        "\techo \"autoload -U compinit; compinit\" >> ~/.zshrc\n\n" ..
        "To load completions in your current shell session:\n\n" ..
        "\tsource <(astro completion zsh)\n\n" ..
        "To load completions for every new session, execute once:\n\n" ..
        "\tastro completion zsh > \"${fpath[1]}/_astro\"\n\n" ..
        "`cmake --install` puts it in <prefix>/share/zsh/site-functions/_astro.\n\n" ..
        "You will need to start a new shell for this setup to take effect.",
  fish = "Generate the autocompletion script for the fish shell.\n\n" ..
         "To load completions in your current shell session:\n\n" ..
         "\tastro completion fish | source\n\n" ..
         "To load completions for every new session, execute once:\n\n" ..
         "\tastro completion fish > ~/.config/fish/completions/astro.fish\n\n" ..
         "`cmake --install` puts it in <prefix>/share/fish/vendor_completions.d/astro.fish.\n\n" ..
         "You will need to start a new shell for this setup to take effect.",
}

-- The shells of M.SHELLS as a message names them: "bash, fish or zsh".
local function _shell_list()
  return table.concat(M.SHELLS, ", ", 1, #M.SHELLS - 1) .. " or " .. M.SHELLS[#M.SHELLS]
end

--- Adds the `completion` group (bash, fish, zsh) under root; astro.cli calls it when the
-- command line starts with `completion` and no plugin took that word.
---@param root table
function M.mount(root)
  local errors = require("astro.errors")
  local group = tree.new_node({
    use = "completion SHELL",
    short = "Generate the autocompletion script for the specified shell",
    long = "Generate the autocompletion script for astro for the specified shell.\n" ..
           "See each sub-command's help for details on how to use the generated script.",
    args = { max = 1 },
    run = function(opts)
      if opts.args[1] == nil then
        return nil, errors.usage("astro completion needs a shell: " .. _shell_list())
      end
      return nil, errors.usage(string.format('unknown shell "%s" for "astro completion": use %s',
        opts.args[1], _shell_list()))
    end,
  }, root, "astro.cli.complete")
  for _, shell in ipairs(M.SHELLS) do
    tree.add_child(group, tree.new_node({
      use = shell,
      short = "Generate the autocompletion script for " .. shell,
      long = LONG[shell],
      run = function(_, ctx)
        ctx.stdout:write(SCRIPTS[shell])
        return 0
      end,
    }, group, "astro.cli.complete"))
  end
  tree.add_child(root, group)
end

return M
