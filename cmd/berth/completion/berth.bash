# bash completion for berth: source <(berth completion bash)
_berth() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local IFS=$'\n'
	# berth prints the candidates for the words typed so far, the last one included.
	COMPREPLY=($(compgen -W "$(berth __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)" -- "$cur"))
	# A var name ends in "=": let its value follow without a space.
	if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]]; then
		compopt -o nospace 2>/dev/null
	fi
}
complete -o default -F _berth berth
