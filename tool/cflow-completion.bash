# Bash completion for cflow: its commands, each command's options, export formats, option
# values the help lists, function names of the profile on the command line (annotate,
# --function), and files for profiles and other paths. Installed as
# share/bash-completion/completions/cflow; `source` it to try it by hand.
#
# Everything is asked of the tool itself at completion time (`cflow --help`, `cflow CMD
# --help`), so a command, an option or an export format added to the tool completes without a
# change here. The help's layout is GOption's (tool/cflow.c): command rows "  NAME  summary",
# option rows "  -o, --output=FILE  text", export's usage "FORMAT PROFILE  (FORMAT: a b c)",
# and value lists under a heading naming their option, e.g. "Views (--by):".

# _cflow_help TOOL ARGS...: the tool's help for ARGS, in the layout parsed below.
_cflow_help() {
    LC_ALL=C.UTF-8 "$@" --help 2>/dev/null
}

_cflow_commands() { # TOOL
    _cflow_help "$1" | sed -n 's/^  \([a-z][a-z0-9_-]*\)  .*/\1/p'
}

# _cflow_options TOOL CMD: one option a line, "--long[=ARG]" or "-s --long[=ARG]", from the
# help's option sections ("Help Options:", "Application Options:") only.
_cflow_options() {
    _cflow_help "$1" "$2" | awk '/^[A-Z][A-Za-z ]*Options:$/ { inopt = 1; next }
                                 /^$/ { inopt = 0 } inopt' |
        sed -n 's/^ \{1,\}\(-[[:alnum:]]\)\{0,1\}\(, \)\{0,1\}\(--[[:alnum:]-]\{1,\}\)\(=[^ ]*\)\{0,1\} .*/\1 \3\4/p'
}

# _cflow_option OPTIONS WORD: "LONG ARG" for the option WORD names (short or long; ARG empty
# for an option without a value), nothing for an unknown one.
_cflow_option() {
    printf '%s\n' "$1" | awk -v o="$2" '{ n = split($NF, a, "=")
        if ($1 == o || a[1] == o) { print a[1], (n > 1 ? a[2] : ""); exit } }'
}

# _cflow_values TOOL CMD OPTION: the values the help gives OPTION: a list under a heading
# naming it ("Sorts (--sort):", then "  NAME  text" rows), or its own text when that is just
# the values ("insn (default), function or line").
_cflow_values() {
    _cflow_help "$1" "$2" | awk -v opt="$3" '
        index($0, "(" opt "):") && $0 ~ /:$/ { inlist = 1; next }
        inlist && /^$/ { inlist = 0 }
        inlist && /^  [^ ]/ { print $1 }
        !inlist && /^ +(-[[:alnum:]], )?--/ {
            split($0, cols, /  +/)
            if (cols[2] != opt && cols[2] !~ ("^-[[:alnum:]], " opt "(=|$)") &&
                cols[2] !~ ("^" opt "="))
                next
            text = cols[3]
            gsub(/ \(default\)/, "", text)
            if (text ~ /^[a-z0-9_-]+(, [a-z0-9_-]+)* or [a-z0-9_-]+$/) {
                gsub(/,| or /, " ", text)
                print text
            }
        }' | tr ' ' '\n' | awk 'NF && !seen[$0]++'
}

_cflow_export_formats() { # TOOL
    _cflow_help "$1" export | sed -n 's/.*(FORMAT: \([^)]*\)).*/\1/p' | head -n 1 | tr -d ','
}

_cflow_files() { # CUR: paths, directories with their slash
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$1")
}

_cflow_words() { # WORDS CUR
    mapfile -t COMPREPLY < <(compgen -W "$1" -- "$2")
}

# _cflow_functions TOOL PROFILE: the function names `cflow report --by function` gives.
_cflow_functions() {
    [[ -f $2 ]] || return 0
    "$1" report --by function --topn 0 --format csv "$2" 2>/dev/null |
        awk -F, 'NR > 1 { gsub(/^"|"$/, "", $1); print $1 }'
}

# _cflow_profile FIRST: the profile the command line names: FIRST (the first argument before
# the cursor that is not an option), else the first file after the cursor.
_cflow_profile() {
    local i
    if [[ -n $1 ]]; then
        printf '%s\n' "$1"
        return 0
    fi
    for ((i = COMP_CWORD + 1; i < ${#COMP_WORDS[@]}; i++)); do
        if [[ ${COMP_WORDS[i]} != -* && -f ${COMP_WORDS[i]} ]]; then
            printf '%s\n' "${COMP_WORDS[i]}"
            return 0
        fi
    done
}

# _cflow_value TOOL CMD OPTIONS OPTION CUR FIRST: completes the value of OPTION: the values
# its help lists, functions of the profile for --function, files for an argument named like
# a path.
_cflow_value() {
    local long arg values
    read -r long arg <<<"$(_cflow_option "$3" "$4")"
    values=$(_cflow_values "$1" "$2" "$long")
    if [[ $long == --function ]]; then
        values=$(_cflow_functions "$1" "$(_cflow_profile "$6")")
    fi
    if [[ -n $values ]]; then
        _cflow_words "$values" "$5"
    elif [[ $arg == *FILE* || $arg == OUT* || $arg == PATH || $arg == ELF || $arg == DIR ]]; then
        _cflow_files "$5"
    fi
}

_cflow() {
    local tool=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    if [[ $tool == "~/"* ]]; then tool=$HOME/${tool#"~/"}; fi
    if ((COMP_CWORD == 1)); then
        if [[ $cur == -* ]]; then
            _cflow_words "--help --version" "$cur"
        else
            _cflow_words "$(_cflow_commands "$tool") help" "$cur"
        fi
        return 0
    fi
    local cmd=${COMP_WORDS[1]}
    if [[ $cmd == help ]]; then
        ((COMP_CWORD == 2)) && _cflow_words "$(_cflow_commands "$tool")" "$cur"
        return 0
    fi
    local opts
    opts=$(_cflow_options "$tool" "$cmd")
    # "--opt=VALUE": bash splits the word at '=' (COMP_WORDBREAKS)
    if [[ $prev == = ]] && ((COMP_CWORD >= 3)); then
        _cflow_value "$tool" "$cmd" "$opts" "${COMP_WORDS[COMP_CWORD - 2]}" "$cur" \
            "$(_cflow_profile "")"
        return 0
    fi
    # what the words before this one are: positional arguments (the first one kept), options
    # and their values, and (record) where the guest's command line starts
    local i w npos=0 guest=0 first=""
    for ((i = 2; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if ((guest)); then
            break
        elif [[ $w == -- ]]; then
            [[ $cmd == record ]] && guest=$((i + 1))
        elif [[ $w == -* ]]; then
            if [[ ${COMP_WORDS[i + 1]} == = ]]; then
                i=$((i + 2))
            elif [[ $w != *=* && $(_cflow_option "$opts" "$w") == *" "?* ]]; then
                if ((i + 1 == COMP_CWORD)); then
                    _cflow_value "$tool" "$cmd" "$opts" "$w" "$cur" "$first"
                    return 0
                fi
                i=$((i + 1))
            fi
        else
            npos=$((npos + 1))
            [[ -z $first ]] && first=$w
            [[ $cmd == record ]] && guest=$i
        fi
    done
    if [[ $cmd == record && $cur != -* ]] && ((!guest && npos == 0)); then
        guest=$COMP_CWORD # record's first argument that is not an option: the guest program
    fi
    if ((guest)); then # the guest program, then its arguments
        if ((guest == COMP_CWORD)) && [[ $cur != */* ]]; then
            mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
        else
            _cflow_files "$cur"
        fi
    elif [[ $cur == -* ]]; then
        _cflow_words "$(printf '%s\n' "$opts" | awk '{ split($NF, a, "="); print a[1] }')" "$cur"
    elif [[ $cmd == export ]] && ((npos == 0)); then
        _cflow_words "$(_cflow_export_formats "$tool")" "$cur"
    elif [[ $cmd == annotate ]] && ((npos == 1)); then
        _cflow_words "$(_cflow_functions "$tool" "$first")" "$cur"
    else
        _cflow_files "$cur"
    fi
    return 0
}

complete -F _cflow cflow
