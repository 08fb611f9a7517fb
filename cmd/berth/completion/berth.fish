# fish completion for berth: berth completion fish > ~/.config/fish/completions/berth.fish
function __berth_complete
	# berth prints the candidates for the words typed so far, the last one included.
	set -l words (commandline -opc) (commandline -ct)
	berth __complete $words[2..-1] 2>/dev/null
end
complete -c berth -f -a '(__berth_complete)'
