package docker

import "github.com/berth-sh/berth/playbooks"

// ObserveScript reads a stack's whole state in one round trip. Run it as
// `sh -s -- ARGS` with the script on stdin and ARGS from ObserveArgs:
//
//	STACK CONTAINER... -- VOLUME... -- NETWORK... -- IMAGE...
//
// It prints sections, each a line "### NAME" followed by docker's JSON:
// containers (the named ones, whoever owns them, plus every container
// labelled with the stack: orphans and backups), volumes, networks, images. Missing objects are simply
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
# berth_group KIND N ARGS...: inspect the objects of the Nth "--"-separated group.
berth_group() {
	berth_kind=$1
	berth_g=$2
	shift 2
	while [ "$berth_g" -gt 0 ] && [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then berth_g=$((berth_g - 1)); fi
		shift
	done
	berth_inspect "$berth_kind" "$@"
}
berth_stack=$1
shift
if ! command -v docker >/dev/null 2>&1; then
	printf '### error\ndocker-not-found\n'
else
	# Volumes, networks and images do not depend on the docker ps below: each
	# docker CLI call costs tens of milliseconds, so ask for them meanwhile.
	berth_tmp=$(mktemp -d 2>/dev/null) || berth_tmp=
	if [ -n "$berth_tmp" ]; then
		berth_group volume 1 "$@" > "$berth_tmp/volumes" 2>/dev/null &
		berth_group network 2 "$@" > "$berth_tmp/networks" 2>/dev/null &
		berth_group image 3 "$@" > "$berth_tmp/images" 2>/dev/null &
	fi
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
		wait
		for berth_section in 1:volume:volumes 2:network:networks 3:image:images; do
			berth_n=${berth_section%%:*}
			berth_s=${berth_section##*:}
			berth_k=${berth_section#*:}
			berth_k=${berth_k%%:*}
			echo "### $berth_s"
			if [ -n "$berth_tmp" ]; then
				cat "$berth_tmp/$berth_s"
			else
				berth_group "$berth_k" "$berth_n" "$@"
			fi
		done
	fi
	wait
	[ -z "$berth_tmp" ] || rm -rf "$berth_tmp"
fi
`

// ObserveArgs builds ObserveScript's args for pb: the stack name, container
// names, "--", volume names, "--", network names, "--", image refs.
func ObserveArgs(stack string, pb *playbooks.Playbook) []string {
	args := []string{stack}
	for _, c := range pb.Containers {
		// The backup name too: one another stack or a person left there must
		// be seen, or a swap would remove it.
		args = append(args, c.Name, playbooks.BackupName(c.Name))
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
	return append(args, Images(pb)...)
}

// Images lists the image refs pb's containers run, each once, in order.
func Images(pb *playbooks.Playbook) []string {
	seen := map[string]bool{}
	var refs []string
	for _, c := range pb.Containers {
		if !seen[c.Image] {
			seen[c.Image] = true
			refs = append(refs, c.Image)
		}
	}
	return refs
}
