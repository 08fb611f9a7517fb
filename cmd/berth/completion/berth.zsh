#compdef berth
# zsh completion for berth: source <(berth completion zsh), after compinit.
_berth() {
	local -a candidates
	# berth prints the candidates for the words typed so far, the last one included.
	candidates=("${(@f)$(berth __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
	candidates=(${candidates:#})
	if (( ${#candidates} )); then
		compadd -S '' -a candidates
	else
		_files
	fi
}
if [[ $funcstack[1] == _berth ]]; then
	_berth "$@"
else
	compdef _berth berth
fi
