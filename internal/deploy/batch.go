package deploy

import (
	"fmt"
	"os"
	"path"
	"strconv"
	"time"

	"github.com/berth-sh/berth/internal/docker"
	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/playbooks"
)

// batchScript applies a whole plan in one session and releases the deploy
// lock as its last step, so a deploy with changes costs three round trips:
// the look without the lock, the look under it, and this.
//
// The plan reaches it as positional data, never as shell text: Args: DIR INFO
// (the lock to release) then operations, each a word and its fields:
//
//	act I                   before plan action I: ask whether to go on
//	file PATH MODE          write a file whose lines berth sends on stdin
//	cmd N ARGV...           a docker command of N words
//	ctr MODE NAME BACKUP SECS PROBE REPROBE ENV MULTI N ARGV... K NET...
//	                        MODE start: start NAME, wait, probe;
//	                        create: write ENV ("-": none), run ARGV (MULTI 1:
//	                        then join the K networks), wait, probe; a
//	                        failure removes NAME;
//	                        replace: move NAME aside as BACKUP, create, then
//	                        remove BACKUP, or on failure roll back to it and
//	                        wait (and probe when REPROBE is 1) for it.
//
// Each step it runs reports "### done CODE", its output as "|" lines, and
// "### end"; a wait is announced by "### wait NAME"; its exit, whatever the
// cause, by "### exit CODE" (then berth closes its stdin: the session's end
// must not wait for it). Where it needs berth it
// asks ("### ask act I", "### ask file PATH", "### ask probe NAME", "### ask
// release -") and reads the answer on stdin: "go", the file as a line count
// then its lines, "ok". Anything else, or end of input (berth is gone), stops
// it: it applies nothing more and releases the lock. berth writes an answer
// only when asked, once sh has read the whole script (sh reads its script
// ahead, in blocks, from the same stdin).
//
// The building blocks are the scripts berth also runs on their own, as
// subshell functions: the same wait, swap-out, rollback and release.
const batchScript = `set -u
trap 'echo "### exit $?"' EXIT
umask 077
berth_dir=$1; berth_info=$2
shift 2
berth_poll() (
` + waitScript + `)
berth_swapout() (
` + swapOutScript + `)
berth_rollback() (
` + rollbackScript + `)
berth_release() (
` + releaseScript + `)
berth_done() {
	echo "### done $1"
	[ -z "$2" ] || printf '%s\n' "$2" | while IFS= read -r berth_l; do printf '|%s\n' "$berth_l"; done
	echo "### end"
	return "$1"
}
berth_ask() { echo "### ask $1 $2"; berth_reply=; IFS= read -r berth_reply || berth_reply=; }
# berth_idx FROM N: berth_q becomes "${FROM}" ... , N words for eval.
berth_idx() {
	berth_q=; berth_i=$1
	while [ "$berth_i" -lt $(($1 + $2)) ]; do berth_q="$berth_q \"\${$berth_i}\""; berth_i=$((berth_i + 1)); done
}
berth_cmd() { berth_e=$("$@" 2>&1 >/dev/null); berth_done $? "$berth_e"; }
berth_wait() { echo "### wait $1"; berth_e=$(berth_poll "$@"); berth_done $? "$berth_e"; }
berth_probe() { [ "$1" = 1 ] || return 0; berth_ask probe "$2"; [ "$berth_reply" = ok ]; }
berth_file() {
	berth_ask file "$1"
	case $berth_reply in ''|*[!0-9]*) berth_done 1 "no content for $1 on stdin"; return ;; esac
	berth_k=$berth_reply
	berth_e=$( { rm -f "$1.berth-tmp" && : >"$1.berth-tmp" && chmod "$2" "$1.berth-tmp"; } 2>&1 ); berth_c=$?
	while [ "$berth_k" -gt 0 ]; do
		IFS= read -r berth_l || { berth_c=1; berth_e="content for $1 cut short"; break; }
		[ "$berth_c" != 0 ] || printf '%s\n' "$berth_l" >>"$1.berth-tmp" || berth_c=1
		berth_k=$((berth_k - 1))
	done
	[ "$berth_c" != 0 ] || berth_e=$(mv -f "$1.berth-tmp" "$1" 2>&1) || berth_c=1
	[ "$berth_c" = 0 ] || rm -f "$1.berth-tmp"
	berth_done "$berth_c" "$berth_e"
}
berth_ctr() {
	berth_mode=$1; berth_name=$2; berth_backup=$3; berth_secs=$4; berth_pr=$5; berth_repr=$6; berth_env=$7; berth_multi=$8; berth_n=$9
	berth_idx 10 "$berth_n"; berth_run=$berth_q
	eval "berth_k=\${$((10 + berth_n))}"
	berth_idx $((11 + berth_n)) "$berth_k"; berth_nets=$berth_q
	if [ "$berth_mode" = replace ]; then
		berth_e=$(berth_swapout "$berth_name" "$berth_backup" 2>&1 >/dev/null)
		berth_done $? "$berth_e" || return 1
	fi
	berth_ok=1
	if [ "$berth_env" != - ]; then berth_file "$berth_env" 600 || berth_ok=0; fi
	if [ "$berth_ok" = 1 ] && [ "$berth_multi" = 1 ]; then
		eval "berth_cmd $berth_run" || berth_ok=0
		berth_run=
		if [ "$berth_ok" = 1 ]; then
			eval "set -- $berth_nets"
			for berth_net do berth_cmd docker network connect "$berth_net" "$berth_name" || { berth_ok=0; break; }; done
		fi
	fi
	if [ "$berth_ok" = 1 ]; then eval "berth_wait \"\$berth_name\" \"\$berth_secs\" $berth_run" || berth_ok=0; fi
	if [ "$berth_ok" = 1 ]; then berth_probe "$berth_pr" "$berth_name" || berth_ok=0; fi
	case $berth_mode in
	start) [ "$berth_ok" = 1 ] ;;
	create)
		[ "$berth_ok" = 1 ] && return 0
		berth_cmd docker rm -f "$berth_name"
		return 1 ;;
	*)
		if [ "$berth_ok" = 1 ]; then berth_cmd docker rm -f "$berth_backup"; return 0; fi
		berth_e=$(berth_rollback "$berth_name" "$berth_backup" 2>&1 >/dev/null)
		berth_done $? "$berth_e" && berth_wait "$berth_name" "$berth_secs" && berth_probe "$berth_repr" "$berth_name"
		return 1 ;;
	esac
}
berth_fail=0
while [ "$berth_fail" = 0 ] && [ $# -gt 0 ]; do
	berth_op=$1; shift
	case $berth_op in
	act) berth_ask act "$1"; berth_used=1; [ "$berth_reply" = go ] || berth_fail=1 ;;
	file) berth_used=2; berth_file "$1" "$2" || berth_fail=1 ;;
	cmd) berth_used=$(($1 + 1)); berth_idx 2 "$1"; eval "berth_cmd $berth_q" || berth_fail=1 ;;
	ctr) eval "berth_used=\$((10 + \${9} + \${$((10 + $9))}))"; berth_ctr "$@" || berth_fail=1 ;;
	*) echo "### bad operation: $berth_op"; exit 125 ;;
	esac
	shift "$berth_used"
done
berth_ask release -
berth_e=$(berth_release "$berth_dir" "$berth_info" 2>&1 >/dev/null)
berth_done $? "$berth_e"
`

// batchOps turns what a deploy will do into batchScript's arguments: the
// secrets file to store first (nil: none), then every action that changes
// something, then the lock to release.
type batchOps struct {
	args []string
}

func (b *batchOps) add(words ...string) { b.args = append(b.args, words...) }

// argv adds a word count and the words.
func (b *batchOps) argv(words []string) {
	b.add(strconv.Itoa(len(words)))
	b.add(words...)
}

// newBatch is the arguments of a batch that releases the lock dir/info last.
func newBatch(dir, info string) *batchOps { return &batchOps{args: []string{dir, info}} }

// file stores a file the batch asks berth for.
func (b *batchOps) file(p string, mode os.FileMode) {
	b.add("file", p, strconv.FormatUint(uint64(mode.Perm()), 8))
}

// actions adds the plan's actions that change something, in order.
func (b *batchOps) actions(a *applier, p *plan.Plan) error {
	for i, act := range p.Actions {
		if act.Kind == plan.Keep {
			continue
		}
		b.add("act", strconv.Itoa(i))
		if act.Object != plan.Container {
			if act.Kind == plan.Adopt {
				continue
			}
			args, err := a.objectArgs(act)
			if err != nil {
				return err
			}
			b.add("cmd")
			b.argv(args)
			continue
		}
		if err := b.container(a, act); err != nil {
			return err
		}
	}
	return nil
}

func (b *batchOps) container(a *applier, act plan.Action) error {
	if act.Kind == plan.Remove {
		b.add("cmd")
		b.argv(docker.RemoveArgs(act.Name))
		return nil
	}
	c := act.Container
	mode, backup, reprobe := "", "-", "0"
	switch act.Kind {
	case plan.Start:
		mode = "start"
	case plan.Create:
		mode = "create"
	case plan.Recreate, plan.Adopt:
		mode, backup = "replace", playbooks.BackupName(c.Name)
		if act.Current != nil && publishesReadyPort(c, act.Current.Ports) {
			reprobe = "1"
		}
	default:
		return fmt.Errorf("container %s: cannot %s", act.Name, act.Kind)
	}
	probe := "0"
	if c.Ready != nil && c.Ready.HTTP != "" {
		probe = "1"
	}
	env, run, multi := "-", docker.StartArgs(c.Name), "0"
	var nets []string
	if mode != "start" {
		envPath := ""
		if envFile(c, a.secrets) != nil {
			envPath = path.Join(a.dir, c.Name+".env")
			env = envPath
		}
		var err error
		if run, err = docker.RunArgs(a.stack, *c, envPath, a.digests); err != nil {
			return fmt.Errorf("container %s: %w", c.Name, err)
		}
		if len(c.Networks) > 1 {
			multi, nets = "1", c.Networks[1:]
		}
	}
	b.add("ctr", mode, c.Name, backup, strconv.Itoa(int(healthTimeout(c).Seconds())), probe, reprobe, env, multi)
	b.argv(run)
	b.argv(nets)
	return nil
}

// batchBound limits a batch session: each step's own limit (a swap's, which
// covers a rollback, for a container; step for the others), plus a margin
// for the files and the release.
func batchBound(p *plan.Plan, step time.Duration) time.Duration {
	d := step
	for _, act := range p.Actions {
		switch {
		case act.Kind == plan.Keep:
		case act.Container != nil:
			d += swapTimeout(act.Container)
		default:
			d += step
		}
	}
	return d
}
