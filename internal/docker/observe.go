package docker

import "github.com/berth-sh/berth/playbooks"

// ObserveScript reads a stack's whole state in one round trip. Run it as
// `sh -s -- ARGS` with the script on stdin and ARGS from ObserveArgs:
//
//	STACK CONTAINER... -- VOLUME... -- NETWORK... -- IMAGE...
//
// It prints sections, each a line "### NAME" followed by docker's JSON:
// containers (the named ones plus every container labelled with the stack:
// orphans and backups), volumes, networks, images. Missing objects are simply
// absent; an empty result is []. When docker is missing or refuses the user it
// prints "### error" and a code instead. It always exits 0 and never calls
// exit, so a caller may prepend its own prelude (which shifts its own args) and
// sections; variables and functions are prefixed berth_ to stay out of its way.
const ObserveScript = `
berth_inspect() {
	berth_kind=$1
	shift
	berth_n=$#
	# Keep only the args before the first "--": append them, then drop the originals.
	for berth_a in "$@"; do
		if [ "$berth_a" = -- ]; then break; fi
		set -- "$@" "$berth_a"
	done
	shift "$berth_n"
	if [ "$berth_kind" = container ]; then
		# ids are hex only: unquoted, they split into words and nothing else.
		set -- "$@" $berth_ids
	fi
	berth_out=
	if [ $# -gt 0 ]; then
		# Missing objects make docker exit 1 after printing the found ones.
		berth_out=$(docker "$berth_kind" inspect "$@" 2>/dev/null)
	fi
	if [ -z "$berth_out" ]; then berth_out='[]'; fi
	printf '%s\n' "$berth_out"
}
berth_stack=$1
shift
if ! command -v docker >/dev/null 2>&1; then
	printf '### error\ndocker-not-found\n'
else
	berth_ids=$(docker ps -aq --no-trunc --filter "label=berth.stack=$berth_stack" 2>&1)
	if [ $? -ne 0 ]; then
		case $berth_ids in
		*"ermission denied"*) printf '### error\ndocker-permission\n%s\n' "$berth_ids" ;;
		*) printf '### error\ndocker-unavailable\n%s\n' "$berth_ids" ;;
		esac
	else
		berth_ids=$(printf '%s\n' "$berth_ids" | grep -E '^[0-9a-f]{12,64}$')
		echo '### containers'
		berth_inspect container "$@"
		while [ $# -gt 0 ]; do berth_a=$1; shift; if [ "$berth_a" = -- ]; then break; fi; done
		echo '### volumes'
		berth_inspect volume "$@"
		while [ $# -gt 0 ]; do berth_a=$1; shift; if [ "$berth_a" = -- ]; then break; fi; done
		echo '### networks'
		berth_inspect network "$@"
		while [ $# -gt 0 ]; do berth_a=$1; shift; if [ "$berth_a" = -- ]; then break; fi; done
		echo '### images'
		berth_inspect image "$@"
	fi
fi
`

// ObserveArgs builds ObserveScript's args for pb: the stack name, container
// names, "--", volume names, "--", network names, "--", image refs.
func ObserveArgs(stack string, pb *playbooks.Playbook) []string {
	args := []string{stack}
	for _, c := range pb.Containers {
		args = append(args, c.Name)
	}
	args = append(args, "--")
	for _, v := range pb.Volumes {
		args = append(args, v.Name)
	}
	args = append(args, "--")
	for _, n := range pb.Networks {
		args = append(args, n.Name)
	}
	args = append(args, "--")
	seen := map[string]bool{}
	for _, c := range pb.Containers {
		if !seen[c.Image] {
			seen[c.Image] = true
			args = append(args, c.Image)
		}
	}
	return args
}
